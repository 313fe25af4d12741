"""Several optimisers x several seeds on one problem and one budget.

Each (optimiser, seed) is a real :class:`nasbench.Study`, run in this process and
stored under ``directory/<label>/seed<k>/``, so a rerun (a notebook re-rendered, a
killed benchmark) resumes its unfinished runs and reuses the finished ones. The
results come back as tidy pandas frames::

    from nasbench.comparison import Comparison
    cmp = Comparison("studies/04_zdt1", "zdt1", optimizers="nsga2,random,bo", seeds=5, budget=200)
    cmp.run()                         # {(label, seed): trials DataFrame}
    cmp.traces()                      # one row per trial: label, seed, evaluations, epochs, cost,
                                      #   hypervolume, best_<metric> (all so far)
    cmp.bands("hypervolume")          # median and quartiles over seeds on the budget grid (step-wise)
    cmp.final("hypervolume")          # one row per run: the value reached within the budget
    cmp.final_table("hypervolume")    # per optimiser: mean ± standard error, median, quartiles, IQR
    cmp.rank_tests("hypervolume")     # pairwise rank tests, Holm-corrected (analysis.holm)
    cmp.verdict("hypervolume")        # one sentence computed from those numbers
    band_figure(cmp.bands("hypervolume"), "hypervolume")   # step lines with quartile bands

``objective``: a problem name of :func:`nasbench.objectives.problem` (``problem_params``
go to it) or any objective a :class:`~nasbench.Study` takes (a
:class:`~nasbench.objectives.TrainingObjective`). ``optimizers``: registry names
(:data:`nasbench.optimizers.OPTIMIZERS`) as a list or a comma-separated string, or
``{label: (name, options)}`` to run one optimiser under several settings (BO with
ParEGO and with EHVI). ``options`` (``{label: optimizer_options}``) override
:func:`suggested_options`, which sizes populations to the budget and sets the
multi-fidelity optimisers' ``max_fidelity`` to the objective's epochs.

The budget counts ``"evaluations"`` (trials), or ``"epochs"`` (the default for a
training objective): epochs actually trained, summed over trials (a promoted trial
that continues a checkpoint counts only its new epochs; a pruned one the epochs it
reported; per fold, i.e. in epochs of the protocol). A run on epochs is continued one
generation (or one trial) at a time until it has spent the budget; its last batch may
overshoot, and every number here counts only trials that finished within the budget.
Hypervolume uses the fixed reference point of the objective (or ``reference_point``);
``best_<metric>`` is the best value of each metric on its own. Done trials and pruned
trials that reported values count (a pruned trial's model was really trained to that
point); failed ones cost their reported epochs and count nothing.
"""

from __future__ import annotations

import math
import numbers
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import analysis
from .hypervolume import hypervolume, nondominated_mask, to_minimization
from .objectives import PROBLEMS, TrainingObjective, problem
from .optimizers import OPTIMIZERS
from .study import Study

__all__ = ["Comparison", "OptimizerComparison", "applicable", "suggested_options", "max_epochs", "trial_epochs",
           "run_trace", "band_figure",
           "FIDELITY_OPTIMIZERS", "UNITS"]

#: Optimisers whose suggestions carry a fidelity (epochs): they need an objective that has one.
FIDELITY_OPTIMIZERS = ("successive_halving", "hyperband", "bohb", "pbt")
UNITS = ("evaluations", "epochs")
_LABEL = re.compile(r"[^A-Za-z0-9_.+-]+")


# --- validation ----------------------------------------------------------------------------------
def _a(value: Any) -> str:
    name = type(value).__name__
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def _positive_int(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r} ({_a(value)})")
    return int(value)


def _seeds(seeds: Any) -> tuple[int, ...]:
    """``seeds``: a count n (seeds 0..n-1) or a list of distinct non-negative integers."""
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        return tuple(range(_positive_int("seeds (how many)", seeds)))
    if isinstance(seeds, str) or not isinstance(seeds, Sequence) or not seeds:
        raise ValueError(f"seeds must be a count >= 1 (e.g. seeds=5) or a non-empty list of seeds, got {seeds!r}")
    out = tuple(_positive_int("each seed", s, 0) for s in seeds)
    if len(set(out)) != len(out):
        raise ValueError(f"seeds must be distinct, got {list(out)}; a repeated seed repeats the same run")
    return out


def _optimizers(optimizers: Any) -> dict[str, tuple[str, dict]]:
    """``{label: (registry name, options)}`` from names, a comma-separated string or such a dict."""
    if isinstance(optimizers, str):
        optimizers = [s.strip() for s in optimizers.split(",") if s.strip()]
    if isinstance(optimizers, Mapping):
        items = [(str(k), *(v if isinstance(v, (tuple, list)) else (v, {}))) for k, v in optimizers.items()]
    elif isinstance(optimizers, Sequence):
        items = [(name, name, {}) for name in optimizers]
    else:
        raise ValueError(f"optimizers must be names such as 'nsga2,random' (a string or a list) or "
                         f"{{label: (name, options)}}, got {optimizers!r}")
    if not items:
        raise ValueError("optimizers is empty; name at least one, e.g. optimizers='nsga2,random'")
    out: dict[str, tuple[str, dict]] = {}
    for label, name, options in items:
        if name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {name!r}; use one of {sorted(OPTIMIZERS)}")
        if not isinstance(options, Mapping):
            raise ValueError(f"the options of {label!r} must be a dict of optimizer_options, got {options!r}")
        if label in out:
            raise ValueError(f"optimizer {label!r} is named twice; give each variant its own label with "
                             "{label: (name, options)}")
        out[label] = (name, dict(options))
    return out


def _objective(objective: Any, params: Mapping[str, Any] | None) -> Any:
    if isinstance(objective, str):
        if objective not in PROBLEMS:
            raise ValueError(f"unknown problem {objective!r}; use one of {sorted(PROBLEMS)}, or pass an objective "
                             "such as TrainingObjective('mnist1d', 'mlp')")
        return problem(objective, **dict(params or {}))
    if params:
        raise ValueError("problem_params apply to a problem given by name (e.g. 'zdt1'); drop them, or pass the "
                         "problem by name")
    if not callable(objective) or getattr(objective, "metrics", None) is None or getattr(objective, "space", None) is None:
        raise ValueError(f"objective must be a problem name or an objective carrying space and metrics (a "
                         f"TrainingObjective), got {_a(objective)}")
    return objective


def max_epochs(objective: Any) -> int | None:
    """The most epochs a trial of ``objective`` trains: its fidelity cap, its protocol's
    ``max_epochs``, or a problem's ``max_fidelity``; None when it has no such budget."""
    if isinstance(objective, TrainingObjective):
        cap = objective.protocol.max_epochs
        return min(cap, objective.fidelity) if objective.fidelity else cap
    return getattr(objective, "max_fidelity", None)


def suggested_options(name: str, budget: int, objective: Any, unit: str = "evaluations") -> dict:
    """Options that fit a budget: evolutionary populations of about a tenth of the trials
    (8 to 100), and the multi-fidelity optimisers' ``max_fidelity`` set to the objective's
    epochs (:func:`max_epochs`) with ``eta`` 3. Empty for the others (their defaults)."""
    trials = budget if unit == "evaluations" else max(1, budget // max(1, max_epochs(objective) or 1))
    population = int(min(100, max(8, trials // 10)))
    if name in ("nsga2", "ga", "nsga2_async"):
        return {"config": {"population_size": population}}
    if name == "optuna_nsga2":
        return {"population_size": population}
    if name in FIDELITY_OPTIMIZERS and name != "pbt":
        return {"max_fidelity": int(max_epochs(objective) or 1), "eta": 3}
    return {}


# --- the traces ----------------------------------------------------------------------------------
def trial_epochs(df: pd.DataFrame) -> np.ndarray:
    """Epochs each trial trained (see the module): ``metrics_epochs_trained``, else the
    epochs it reported (``metrics_intermediate``), else 0."""
    trained = df["metrics_epochs_trained"] if "metrics_epochs_trained" in df else pd.Series(np.nan, index=df.index)
    reported = df["metrics_intermediate"] if "metrics_intermediate" in df else pd.Series(None, index=df.index, dtype=object)
    out = []
    for t, r in zip(trained, reported):
        if t is not None and not (isinstance(t, float) and math.isnan(t)):
            out.append(float(t))
        else:
            out.append(float(len(r)) if isinstance(r, list) else 0.0)
    return np.array(out, dtype=float)


def run_trace(df: pd.DataFrame, directions: Mapping[str, str], reference_point: Sequence[float] | None) -> pd.DataFrame:
    """One row per finished trial of one study, in trial order: evaluations and epochs so
    far, hypervolume of the counted trials so far and each metric's best so far."""
    df = df[df["status"] != "pending"].sort_values("trial_id").reset_index(drop=True)
    cols = [f"values_{m}" for m in directions]
    counted = df["status"].isin(("done", "pruned")) & df[cols].notna().all(axis=1)
    F = to_minimization(df[cols].to_numpy(dtype=float), list(directions.values()))
    out = pd.DataFrame({"trial_id": df["trial_id"].to_numpy(), "evaluations": np.arange(1, len(df) + 1),
                        "epochs": np.cumsum(trial_epochs(df)) if len(df) else np.zeros(0)})
    if reference_point is not None:
        out["hypervolume"] = _prefix_hypervolume(F, counted.to_numpy(),
                                                 to_minimization([reference_point], list(directions.values()))[0])
    for j, (m, d) in enumerate(directions.items()):
        best = np.minimum.accumulate(np.where(counted, F[:, j], np.inf)) if len(df) else np.zeros(0)
        best = np.where(np.isinf(best), np.nan, best)
        out[f"best_{m}"] = best if d == "minimize" else -best
    return out


def _prefix_hypervolume(F: np.ndarray, counted: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Hypervolume of the counted points among the first i, for every i; it changes only
    when a point enters the non-dominated set, so only then is it recomputed."""
    out, front, hv = np.zeros(len(F)), np.zeros((0, F.shape[1])), 0.0
    for i, point in enumerate(F):
        if counted[i] and (point < ref).all() and not ((front <= point).all(axis=1)).any():
            front = np.vstack([front, point])
            front = front[nondominated_mask(front)]
            hv = hypervolume(front, ref) if F.shape[1] > 1 else float(ref[0] - front[:, 0].min())
        out[i] = hv
    return out


def _at(trace: pd.DataFrame, x: str, grid: np.ndarray, column: str) -> np.ndarray:
    """``column`` after the last trial with ``x`` <= each grid point (NaN before the first)."""
    idx = np.searchsorted(trace[x].to_numpy(), grid, side="right") - 1
    values = trace[column].to_numpy(dtype=float)
    return np.where(idx >= 0, values[np.clip(idx, 0, None)] if len(values) else np.nan, np.nan)


# --- the comparison ------------------------------------------------------------------------------
class Comparison:
    """Optimisers x seeds on one objective and one budget (see the module)."""

    def __init__(self, directory: str | Path, objective: Any, optimizers: Any, seeds: Any = 5, budget: int = 200,
                 *, unit: str | None = None, options: Mapping[str, Mapping] | None = None, fresh: bool = False,
                 reference_point: Sequence[float] | None = None, problem_params: Mapping[str, Any] | None = None,
                 alpha: float = 0.05, name: str | None = None) -> None:
        from .workflows import _directory, _flag  # the checks the seed recipes use

        _directory(directory)
        _flag("fresh", fresh)
        self.directory, self.fresh = Path(directory), fresh
        self.objective = _objective(objective, problem_params)
        self.optimizers = _optimizers(optimizers)
        self.seeds = _seeds(seeds)
        self.budget = _positive_int("budget", budget)
        self.unit = unit or ("epochs" if isinstance(self.objective, TrainingObjective) else "evaluations")
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {list(UNITS)}, got {unit!r}")
        if self.unit == "epochs" and max_epochs(self.objective) is None:
            raise ValueError("unit='epochs' needs an objective that trains for epochs (a TrainingObjective); "
                             "use unit='evaluations'")
        self._check_fidelity()
        self.options = self._options(options or {})
        self.metrics = {m.name: m.direction for m in self.objective.metrics}
        self.reference_point = self._reference(reference_point)
        if not (isinstance(alpha, float) and 0 < alpha < 1):
            raise ValueError(f"alpha must be a number in (0, 1), e.g. 0.05, got {alpha!r}")
        self.alpha = alpha
        self.name = name or getattr(self.objective, "name", None) or type(self.objective).__name__
        self._frames: dict[tuple[str, int], pd.DataFrame] = {}

    def _check_fidelity(self) -> None:
        for label, (name, _) in self.optimizers.items():
            if name in FIDELITY_OPTIMIZERS and max_epochs(self.objective) is None:
                raise ValueError(f"{label} ({name}) needs an objective with a fidelity (epochs), such as a "
                                 f"TrainingObjective or 'learning_curve'; drop it for {self._name()}")

    def _options(self, options: Mapping[str, Mapping]) -> dict[str, dict]:
        unknown = sorted(set(options) - set(self.optimizers))
        if unknown:
            raise ValueError(f"options for {unknown}, which is not among the optimizers {list(self.optimizers)}")
        out = {}
        for label, (name, own) in self.optimizers.items():
            merged = {**suggested_options(name, self.budget, self.objective, self.unit), **own,
                      **dict(options.get(label, {}))}
            out[label] = merged
        return out

    def _reference(self, point: Sequence[float] | None) -> list[float] | None:
        if point is not None:
            if len(point) != len(self.metrics):
                raise ValueError(f"reference_point needs {len(self.metrics)} numbers (one per metric "
                                 f"{list(self.metrics)}), got {list(point)}")
            return [float(v) for v in point]
        try:
            own = getattr(self.objective, "reference_point", None)
        except ValueError:  # a metric with no fixed worst value (val_mse): no hypervolume
            own = None
        return None if own is None else [float(v) for v in own]

    def _name(self) -> str:
        return getattr(self, "name", None) or getattr(self.objective, "name", None) or type(self.objective).__name__

    def run_directory(self, label: str, seed: int) -> Path:
        return self.directory / _LABEL.sub("_", label) / f"seed{seed}"

    # --- running -------------------------------------------------------------------------------
    def run(self, show_progress: bool = True) -> dict[tuple[str, int], pd.DataFrame]:
        """Run (or resume, or reuse) every (optimiser, seed) to the budget; their trials tables."""
        from tqdm.auto import tqdm

        from .workflows import _prepare

        runs = [(label, seed) for label in self.optimizers for seed in self.seeds]
        bar = tqdm(runs, desc=f"{self._name()}: runs", disable=not show_progress, leave=False)
        for label, seed in bar:
            bar.set_postfix_str(f"{label} seed {seed}")
            name = self.optimizers[label][0]
            study = Study.create(_prepare(self.run_directory(label, seed), self.fresh), self.objective,
                                 optimizer=name, optimizer_options=self.options[label], seed=seed,
                                 reference_point=self.reference_point, load_if_exists=True)
            try:
                self._continue(study)
                self._frames[(label, seed)] = study.trials_dataframe()
            finally:
                study.close()
        bar.close()
        return dict(self._frames)

    def _continue(self, study: Study) -> None:
        if self.unit == "evaluations":
            study.optimize_until(self.budget, show_progress=False)
            return
        if not study.is_complete:  # a killed run: finish its open batch first, as it was asked
            study.resume(show_progress=False)
        while trial_epochs(study.trials_dataframe()).sum() < self.budget:
            before = study.n_trials
            study.optimize(study.optimizer.generation_size or 1, show_progress=False)
            if study.n_trials == before:  # the optimiser has nothing more to propose
                break

    def frames(self) -> dict[tuple[str, int], pd.DataFrame]:
        if not self._frames:
            raise ValueError("nothing has run yet; call run() first")
        return dict(self._frames)

    # --- the numbers ---------------------------------------------------------------------------
    @property
    def x(self) -> str:
        """The trace column the budget counts: ``evaluations`` or ``epochs``."""
        return self.unit

    def columns(self) -> list[str]:
        """What the traces measure: ``hypervolume`` (with a reference point) and ``best_<metric>``."""
        return (["hypervolume"] if self.reference_point is not None else []) + [f"best_{m}" for m in self.metrics]

    def _direction(self, column: str) -> str:
        if column == "hypervolume":
            if self.reference_point is None:
                raise ValueError("no hypervolume without a reference point; pass reference_point=[...]")
            return "maximize"
        if column.startswith("best_") and column[5:] in self.metrics:
            return self.metrics[column[5:]]
        raise ValueError(f"unknown column {column!r}; use one of {self.columns()}")

    def traces(self) -> pd.DataFrame:
        """One row per finished trial of every run (see :func:`run_trace`), with ``optimizer``,
        ``seed`` and ``cost`` (the budget's unit)."""
        parts = [run_trace(df, self.metrics, self.reference_point).assign(optimizer=label, seed=seed)
                 for (label, seed), df in self.frames().items()]
        out = pd.concat(parts, ignore_index=True)
        out["cost"] = out[self.x]
        return out[["optimizer", "seed", "trial_id", "evaluations", "epochs", "cost", *self.columns()]]

    def bands(self, column: str = "hypervolume", points: int = 200) -> pd.DataFrame:
        """Median and quartiles over seeds of ``column`` at each point of the budget grid
        (``cost``), per optimiser; a run's value is its last trial's within that cost."""
        self._direction(column)
        grid = (np.arange(1, self.budget + 1) if self.unit == "evaluations" and self.budget <= 5 * points
                else np.unique(np.linspace(0, self.budget, points + 1)))
        traces, parts = self.traces(), []
        for label in self.optimizers:
            runs = traces[traces["optimizer"] == label]
            table = np.array([_at(t, "cost", grid, column) for _, t in runs.groupby("seed")])
            with np.errstate(all="ignore"), _no_empty_warning():
                parts.append(pd.DataFrame({"optimizer": label, "cost": grid, "median": np.nanmedian(table, 0),
                                           "q25": np.nanpercentile(table, 25, 0), "q75": np.nanpercentile(table, 75, 0),
                                           "runs": (~np.isnan(table)).sum(0)}))
        return pd.concat(parts, ignore_index=True)

    def final(self, column: str = "hypervolume", at: float | None = None) -> pd.DataFrame:
        """One row per run: ``column`` reached within ``at`` (default: the budget), the trials
        and epochs that took, and the run's wall time and the optimiser's share of it
        (wall time minus the trials' own time: ask, tell and the store)."""
        self._direction(column)
        at = self.budget if at is None else at
        traces, rows = self.traces(), []
        for (label, seed), df in self.frames().items():
            t = traces[(traces["optimizer"] == label) & (traces["seed"] == seed)]
            within = t[t["cost"] <= at]
            finished = df[df["status"] != "pending"]
            wall = float(finished["finished"].max() - finished["started"].min()) if len(finished) else 0.0
            rows.append({"optimizer": label, "seed": seed, column: _at(t, "cost", np.array([at]), column)[0],
                         "trials": len(within), "epochs": float(within["epochs"].max()) if len(within) else 0.0,
                         "wall_s": wall, "optimizer_s": max(0.0, wall - float(finished["duration"].sum()))})
        return pd.DataFrame(rows)

    def final_table(self, column: str = "hypervolume", at: float | None = None) -> pd.DataFrame:
        """Per optimiser over its seeds: mean ± standard error, median, quartiles and IQR of
        ``column`` at the budget; best median first."""
        final = self.final(column, at)
        rows = []
        for label, group in final.groupby("optimizer", sort=False):
            v = group[column].to_numpy(dtype=float)
            se = float(np.std(v, ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan")
            q25, med, q75 = np.percentile(v, [25, 50, 75])
            rows.append({"optimizer": label, "runs": len(v), "mean": float(v.mean()), "se": se,
                         "mean ± se": f"{v.mean():.4g} ± {se:.2g}", "median": float(med), "q25": float(q25),
                         "q75": float(q75), "IQR": float(q75 - q25)})
        table = pd.DataFrame(rows)
        return table.sort_values("median", ascending=self._direction(column) == "minimize",
                                 kind="stable").reset_index(drop=True)

    def rank_tests(self, column: str = "hypervolume", at: float | None = None, paired: bool = False) -> pd.DataFrame:
        """Every pair of optimisers on ``column`` at the budget: Mann-Whitney U on their
        independent seeds (:func:`analysis.compare_independent`), Holm-corrected over the
        pairs (:func:`analysis.holm`); ``paired=True``: Wilcoxon signed-rank by seed
        (:func:`analysis.compare_paired`), for runs that share something per seed.
        ``verdict``: ``"a > b"`` means a's values are higher (better for hypervolume)."""
        self._direction(column)
        final = self.final(column, at)
        # a seed with no finished trial (or none by ``at``) has no value: it is left out, not ranked as NaN
        values = {label: g.set_index("seed")[column].dropna() for label, g in final.groupby("optimizer", sort=False)}
        labels = list(values)
        if len(labels) < 2:
            raise ValueError("rank tests need at least 2 optimizers")
        rows = []
        for i, a in enumerate(labels):
            for b in labels[i + 1:]:
                if paired:
                    test = analysis.compare_paired(values[a].to_dict(), values[b].to_dict(), (a, b), self.alpha)
                else:
                    test = analysis.compare_independent(values[a].to_numpy(), values[b].to_numpy(), (a, b), self.alpha)
                rows.append({"a": a, "b": b, "test": test["test"], "median_a": test["median_a"],
                             "median_b": test["median_b"], "a_lower": test["a_lower"], "p_value": test["p_value"]})
        out = pd.DataFrame(rows)
        out["p_holm"] = analysis.holm(out["p_value"].to_numpy())
        out["verdict"] = [_pair_sentence(r, self.alpha) for r in out.itertuples()]
        return out

    def verdict(self, column: str = "hypervolume", at: float | None = None, paired: bool = False) -> str:
        """Which optimiser reached the best median ``column`` within the budget, and whom it beat
        after Holm's correction: a sentence computed from :meth:`final_table` and :meth:`rank_tests`."""
        table = self.final_table(column, at)
        best = table.iloc[0]
        unit = f"{self.budget if at is None else at:g} {self.unit}"
        ties = table[table["median"] == best["median"]]["optimizer"].tolist()
        if len(ties) > 1:  # no single best median: say so rather than name the first of them
            return (f"{self._name()}, {unit}: {', '.join(ties)} tie for the best median {column} "
                    f"({best['median']:.4g}); no optimizer stands out.")
        head = (f"{self._name()}, {unit}, {int(best['runs'])} seeds each: {best['optimizer']} has the best median "
                f"{column} ({best['median']:.4g}, IQR {best['IQR']:.2g})")
        if len(table) < 2:
            return head + "."
        tests = self.rank_tests(column, at, paired)
        mine = tests[(tests["a"] == best["optimizer"]) | (tests["b"] == best["optimizer"])]
        better = self._direction(column) == "maximize"
        beaten, tied, behind = [], [], []
        for r in mine.itertuples():
            other = r.b if r.a == best["optimizer"] else r.a
            # ahead in the direction the test measured (its statistic), not the medians': they can disagree
            best_lower = None if r.a_lower is None else (r.a_lower if r.a == best["optimizer"] else not r.a_lower)
            ahead = best_lower is not None and best_lower != better
            significant = r.p_holm < self.alpha and best_lower is not None
            (beaten if significant and ahead else behind if significant else tied).append(f"{other} (p={r.p_holm:.3g})")
        test = "Wilcoxon signed-rank" if paired else "Mann-Whitney U"
        parts = []
        if beaten:
            parts.append(f"it beats {', '.join(beaten)}")
        if tied:
            parts.append(f"it is not significantly different from {', '.join(tied)}")
        if behind:  # the medians and the rank test disagree: the test's direction stands
            parts.append(f"yet the rank test puts {', '.join(behind)} ahead of it")
        return f"{head}; {' and '.join(parts)} ({test}, Holm-corrected, alpha={self.alpha:g})."


def _pair_sentence(r: Any, alpha: float) -> str:
    """``a > b`` when the test found a's values higher (its statistic's direction)."""
    if not r.p_holm < alpha or r.a_lower is None:
        return f"no significant difference between {r.a} and {r.b} (Holm p={r.p_holm:.3g})"
    return f"{r.a} {'<' if r.a_lower else '>'} {r.b} (Holm p={r.p_holm:.3g})"


class _no_empty_warning:
    """Silence numpy's all-NaN-slice warning (a grid point before any run's first trial)."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)


# --- the figure ----------------------------------------------------------------------------------
def band_figure(bands: pd.DataFrame, column: str = "hypervolume", unit: str = "evaluations", title: str | None = None):
    """Median (line) and 25-75 % band (shaded) of ``column`` against the budget, one colour per
    optimiser, drawn as step functions (``line_shape="hv"``): the value holds until the
    next trial changes it."""
    import plotly.express as px
    import plotly.graph_objects as go

    from .plots import TEMPLATE, label

    fig = go.Figure()
    colours = px.colors.qualitative.D3
    for i, (name, b) in enumerate(bands.groupby("optimizer", sort=False)):
        c = colours[i % len(colours)]
        b = b.dropna(subset=["median"])
        step = dict(shape="hv", width=0)
        fig.add_trace(go.Scatter(x=b["cost"], y=b["q25"], line=step, legendgroup=name, showlegend=False,
                                 hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=b["cost"], y=b["q75"], line=step, fill="tonexty", fillcolor=_alpha(c, 0.2),
                                 legendgroup=name, showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=b["cost"], y=b["median"], line=dict(shape="hv", color=c), legendgroup=name,
                                 name=name, customdata=b[["q25", "q75"]].to_numpy(),
                                 hovertemplate=f"{name}<br>%{{x}} {unit}<br>median %{{y:.4g}} "
                                               "(quartiles %{customdata[0]:.4g} to %{customdata[1]:.4g})<extra></extra>"))
    what = column.removeprefix("best_")
    fig.update_layout(title=title or f"{'best ' if column.startswith('best_') else ''}{label(what)}: median and "
                                     "25-75% band over seeds",
                      xaxis_title=f"{unit} spent", yaxis_title=("best " if column.startswith("best_") else "") + label(what),
                      template=TEMPLATE, legend_title_text="optimizer")
    return fig


def _alpha(colour: str, opacity: float) -> str:
    """A ``#rrggbb`` colour as ``rgba(...)`` with ``opacity``."""
    h = colour.lstrip("#")
    return f"rgba({int(h[0:2], 16)}, {int(h[2:4], 16)}, {int(h[4:6], 16)}, {opacity})"


# --- the recipe of notebook 04 -------------------------------------------------------------------
def _names(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        value = [s.strip() for s in value.split(",") if s.strip()]
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} must be names separated by commas, e.g. {what}='zdt1,dtlz2', got {value!r}")
    return list(value)


def applicable(optimizers: Sequence[str], objective: Any) -> list[str]:
    """The optimisers of ``optimizers`` that can run on ``objective``: the multi-fidelity ones
    (:data:`FIDELITY_OPTIMIZERS`) only where trials train for epochs."""
    return [o for o in optimizers if o not in FIDELITY_OPTIMIZERS or max_epochs(_objective(objective, None)) is not None]


#: Problem parameters of :class:`OptimizerComparison` (the others take their defaults).
PROBLEM_PARAMS = {"zdt1": {"n_var": 10}, "zdt2": {"n_var": 10}, "zdt3": {"n_var": 10}}


class OptimizerComparison:
    """Notebook 04 as a validated recipe: the optimisers (registry names) x ``seeds`` on each
    synthetic problem (``problems``, ``budget`` evaluations; the multi-fidelity optimisers
    are left out there, as they need epochs) and on one training objective (the ``mlp``
    space on ``dataset``, validation error, at most ``max_epochs`` epochs a trial, which is
    also Hyperband's and BOHB's R; ``epochs_budget`` epochs a run). Studies live under
    ``study_dir/<problem>/<optimizer>/seed<k>/``; a rerun reuses them, ``fresh`` starts over."""

    def __init__(self, study_dir: str | Path, *, optimizers: Any, problems: Any = "zdt1,dtlz2", seeds: int = 5,
                 budget: int = 100, dataset: str = "mnist1d", max_epochs: int = 9, epochs_budget: int = 120,
                 fresh: bool = False) -> None:
        from .workflows import _dataset, _directory, _flag

        _directory(study_dir)
        _flag("fresh", fresh)
        self.optimizers = list(_optimizers(optimizers))
        self.problems = _names(problems, "problems")
        for p in self.problems:
            _objective(p, None)
        self.seeds, self.budget = _seeds(seeds), _positive_int("budget", budget)
        _dataset(dataset)
        self.dataset, self.max_epochs = dataset, _positive_int("max_epochs", max_epochs)
        self.epochs_budget = _positive_int("epochs_budget", epochs_budget, self.max_epochs)
        self.study_dir, self.fresh = Path(study_dir), fresh

    def synthetic(self) -> dict[str, Comparison]:
        """One comparison per problem, with the optimisers that need no fidelity (ZDT problems
        with 10 variables: with 30, no trial of a 100-evaluation run reaches the reference box)."""
        return {p: Comparison(self.study_dir / p, p, applicable(self.optimizers, p), self.seeds, self.budget,
                              fresh=self.fresh, problem_params=PROBLEM_PARAMS.get(p)) for p in self.problems}

    def objective(self) -> TrainingObjective:
        return TrainingObjective(self.dataset, "mlp", ["val_error"], protocol={"max_epochs": self.max_epochs})

    def training(self) -> Comparison:
        """Every optimiser on the training objective, ``epochs_budget`` epochs a run."""
        return Comparison(self.study_dir / f"{self.dataset}_mlp", self.objective(), self.optimizers, self.seeds,
                          self.epochs_budget, unit="epochs", fresh=self.fresh, name=f"mlp on {self.dataset}")

    def plan(self) -> pd.DataFrame:
        """What will run: one row per objective."""
        rows = [{"objective": f"{p} {PROBLEM_PARAMS.get(p, '')}".strip(), "optimizers": ", ".join(applicable(self.optimizers, p)),
                 "left out (need epochs)": ", ".join(sorted(set(self.optimizers) - set(applicable(self.optimizers, p)))),
                 "seeds": len(self.seeds), "budget": f"{self.budget} evaluations"} for p in self.problems]
        rows.append({"objective": f"mlp on {self.dataset} (val_error, <= {self.max_epochs} epochs a trial)",
                     "optimizers": ", ".join(self.optimizers), "left out (need epochs)": "", "seeds": len(self.seeds),
                     "budget": f"{self.epochs_budget} epochs"})
        return pd.DataFrame(rows)
