"""Pure functions from a trials table to the numbers the reports show.

Every function takes the DataFrame of :meth:`nasbench.study.Study.trials_dataframe`
(or several of them) and returns a DataFrame or a number; :mod:`nasbench.plots`
draws them. Objectives are read from the ``values_<metric>`` columns with their
directions; conversion to minimisation happens in :mod:`nasbench.hypervolume`.
"""

from __future__ import annotations

import math
import warnings
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .hypervolume import hypervolume, nondominated_mask, to_minimization
from .space import Boolean, Categorical, Integer, SearchSpace

__all__ = ["done_trials", "front_hypervolume", "dominating_reference", "pareto_fronts_by_generation", "population_over_time", "hypervolume_trace",
           "coverage", "param_importance", "incumbent_trace", "aggregate_traces", "top_trials",
           "reference_box", "igd", "hypervolume_summary", "optimization_history", "slice_table",
           "hyperparameter_evolution", "final_front", "named_points", "front_table", "method_comparison",
           "top_trials_by_method", "incumbents_over_seeds", "incumbent_test_table", "all_trials", "learning_curves"]


def _columns(directions: Mapping[str, str]) -> list[str]:
    return [f"values_{m}" for m in directions]


def done_trials(df: pd.DataFrame) -> pd.DataFrame:
    """The finished trials, with their elapsed time since the study's first trial started."""
    done = df[df["status"] == "done"].copy()
    t0 = df["started"].min() if len(df) else 0.0
    done["elapsed"] = done["finished"] - t0
    return done.reset_index(drop=True)


def _minimised(df: pd.DataFrame, directions: Mapping[str, str]) -> np.ndarray:
    return to_minimization(df[_columns(directions)].to_numpy(dtype=float), list(directions.values()))


def final_front(df: pd.DataFrame, directions: Mapping[str, str]) -> pd.DataFrame:
    """The non-dominated done trials, sorted by the first metric."""
    done = done_trials(df)
    if done.empty:
        return done
    front = done[nondominated_mask(_minimised(done, directions))]
    return front.sort_values(_columns(directions)[0]).reset_index(drop=True)


def front_hypervolume(df: pd.DataFrame, directions: Mapping[str, str], reference_point: Sequence[float]) -> float:
    """Hypervolume of the done trials w.r.t. a fixed reference point (metrics' own units);
    with one metric, the length from the best value to the reference point."""
    done = done_trials(df)
    ref = to_minimization([reference_point], list(directions.values()))[0]
    F = _minimised(done, directions).reshape(-1, len(directions))
    if len(F) and not (F < ref).all(axis=1).any():
        warnings.warn(f"none of the {len(F)} done trials dominates the reference point {list(reference_point)}: "
                      "the hypervolume is 0; choose a reference point worse, in every metric, than the trials it should count",
                      RuntimeWarning, stacklevel=2)
    if len(directions) == 1:
        return float(max(0.0, ref[0] - F[:, 0].min())) if len(F) else 0.0
    return hypervolume(F, ref) if len(F) else 0.0


def dominating_reference(df: pd.DataFrame, directions: Mapping[str, str], reference_point: Sequence[float]) -> int:
    """How many done trials strictly dominate the reference point (only they add hypervolume)."""
    done = done_trials(df)
    ref = to_minimization([reference_point], list(directions.values()))[0]
    return int((_minimised(done, directions).reshape(-1, len(directions)) < ref).all(axis=1).sum())


def pareto_fronts_by_generation(df: pd.DataFrame, directions: Mapping[str, str]) -> pd.DataFrame:
    """For each generation g, every done trial of generations <= g with ``on_front``
    telling whether it is non-dominated among them (the front as it stood)."""
    done = done_trials(df)
    frames = []
    for g in sorted(done["generation"].unique()):
        upto = done[done["generation"] <= g].copy()
        upto["on_front"] = nondominated_mask(_minimised(upto, directions)) if len(upto) else []
        upto["front_generation"] = g
        frames.append(upto)
    return pd.concat(frames, ignore_index=True) if frames else done.assign(on_front=[], front_generation=[])


def population_over_time(df: pd.DataFrame, generations: Mapping[int, Sequence[int]]) -> pd.DataFrame:
    """The surviving population after each generation (from ``Study.generations()``),
    one row per (generation, member)."""
    by_id = df.set_index("trial_id")
    rows = [by_id.loc[list(members)].assign(population_of=g) for g, members in sorted(generations.items()) if members]
    return pd.concat(rows).reset_index() if rows else df.iloc[0:0].assign(population_of=[])


def hypervolume_trace(df: pd.DataFrame, directions: Mapping[str, str], reference_point: Sequence[float],
                      max_points: int = 400, *, ideal: Sequence[float] | None = None,
                      best_known: float | None = None, true_front: np.ndarray | None = None) -> pd.DataFrame:
    """Hypervolume of the done trials so far, against evaluations and wall time,
    with a reference point fixed up front (in the metrics' own units).

    ``hypervolume_fraction`` is the share of the reference box (from ``ideal``, by
    default the best value each metric reached in ``df``, to the reference point);
    with ``best_known`` (a hypervolume) also ``hypervolume_of_best``. With
    ``true_front`` (an array of points on the true front in the metrics' own units,
    e.g. ``ZDT1().pareto_front()``): ``igd`` and ``igd_plus`` against it, and
    ``best_known`` defaults to that front's hypervolume."""
    done = done_trials(df).sort_values("finished").reset_index(drop=True)
    if done.empty:
        return pd.DataFrame(columns=["evaluations", "elapsed", "hypervolume", "hypervolume_fraction"])
    F = _minimised(done, directions)
    ref = to_minimization([reference_point], list(directions.values()))[0]
    steps = np.unique(np.linspace(1, len(done), min(max_points, len(done))).round().astype(int))
    if len(directions) == 1:
        hv = [max(0.0, ref[0] - F[:n, 0].min()) for n in steps]
    else:
        hv = [hypervolume(F[:n], ref) for n in steps]
    out = pd.DataFrame({"evaluations": steps, "elapsed": done["elapsed"].to_numpy()[steps - 1], "hypervolume": hv})
    out["hypervolume_fraction"] = out["hypervolume"] / reference_box(F, ref, ideal, directions)
    if true_front is not None:
        T = _true_front_minimised(true_front, directions)
        out["igd"], out["igd_plus"] = zip(*(_igd(F[:n], T) for n in steps))
        if best_known is None:
            best_known = hypervolume(T, ref) if len(directions) > 1 else float(max(0.0, ref[0] - T[:, 0].min()))
    if best_known is not None:
        if not best_known > 0:
            raise ValueError(f"best_known must be a hypervolume > 0, got {best_known!r}")
        out["hypervolume_of_best"] = out["hypervolume"] / best_known
    return out


def reference_box(F: np.ndarray, ref: np.ndarray, ideal: Sequence[float] | None = None,
                  directions: Mapping[str, str] | None = None) -> float:
    """Volume of the box from the ideal point to the reference point (minimised
    arrays; ``ideal`` in the metrics' own units, converted with ``directions``; by
    default the best value of each column of ``F``): the largest hypervolume possible."""
    if ideal is None:
        low = np.asarray(F, dtype=float).min(axis=0)
    else:
        low = to_minimization([ideal], list(directions.values()))[0] if directions else np.asarray(ideal, float)
    span = np.asarray(ref, dtype=float) - low
    if np.any(span <= 0):
        return float("nan")  # nothing dominates the reference point in that metric: no box
    return float(np.prod(span))


def _true_front_minimised(front, directions: Mapping[str, str]) -> np.ndarray:
    T = np.asarray(front, dtype=float)
    if T.ndim != 2 or T.shape[1] != len(directions):
        raise ValueError(f"true_front must be an array of shape (points, {len(directions)}), got shape {T.shape}")
    return to_minimization(T, list(directions.values()))


def _igd(F: np.ndarray, T: np.ndarray) -> tuple[float, float]:
    import moocore

    front = F[nondominated_mask(F)]
    return float(moocore.igd(front, ref=T)), float(moocore.igd_plus(front, ref=T))


def igd(df: pd.DataFrame, directions: Mapping[str, str], true_front: np.ndarray) -> dict[str, float]:
    """IGD and IGD+ (Ishibuchi et al. 2015) of the done trials' front against points of
    the true front (in the metrics' own units), via moocore, as pymoo reports them."""
    done = done_trials(df)
    if done.empty:
        return {"igd": float("nan"), "igd_plus": float("nan")}
    value, plus = _igd(_minimised(done, directions), _true_front_minimised(true_front, directions))
    return {"igd": value, "igd_plus": plus}


def hypervolume_summary(df: pd.DataFrame, directions: Mapping[str, str], reference_point: Sequence[float], *,
                        ideal: Sequence[float] | None = None, best_known: float | None = None,
                        true_front: np.ndarray | None = None) -> pd.DataFrame:
    """One row: the final hypervolume raw and normalised (share of the reference box,
    of the best known), and IGD/IGD+ when ``true_front`` is given."""
    trace = hypervolume_trace(df, directions, reference_point, max_points=2, ideal=ideal, best_known=best_known,
                              true_front=true_front)
    if trace.empty:
        return pd.DataFrame({"trials": [0], "hypervolume": [0.0]})
    last = trace.iloc[-1]
    keep = [c for c in ("hypervolume", "hypervolume_fraction", "hypervolume_of_best", "igd", "igd_plus") if c in trace]
    names = {"hypervolume_fraction": "share of reference box", "hypervolume_of_best": "share of best known"}
    return pd.DataFrame({"trials": [int(last["evaluations"])], **{names.get(c, c): [float(last[c])] for c in keep}})


def coverage(df: pd.DataFrame, space: SearchSpace, bins: int = 10) -> pd.DataFrame:
    """How the search covered each parameter: counts per choice (categorical, bool)
    or per equal-width bin of its (log) range (numeric), and the share of bins hit."""
    rows = []
    for p in space:
        values = df[f"params_{p.name}"].dropna()
        if isinstance(p, (Categorical, Boolean)):
            choices = list(p.choices) if isinstance(p, Categorical) else [False, True]
            labels, counts = [str(c) for c in choices], [int((values == c).sum()) for c in choices]
        elif isinstance(p, Integer):
            labels, counts = _integer_bins(p, values.astype(int).to_numpy(), bins)
        else:
            lo, hi = p.encoded_bounds
            enc = np.array([p.encode(v) for v in values])
            counts_arr, edges = np.histogram(enc, bins=bins, range=(lo, hi))
            labels = [f"{p.decode(a):.3g}..{p.decode(b):.3g}" for a, b in zip(edges[:-1], edges[1:])]
            counts = counts_arr.tolist()
        hit = sum(c > 0 for c in counts) / len(counts)
        rows += [{"parameter": p.name, "bin": i, "label": lab, "count": c, "share_hit": hit}
                 for i, (lab, c) in enumerate(zip(labels, counts))]
    return pd.DataFrame(rows)


def _integer_bins(p: Integer, values: np.ndarray, bins: int) -> tuple[list[str], list[int]]:
    """Integers counted by value when there are at most ``bins`` of them, else in
    ``bins`` runs of whole numbers (equal width on the parameter's scale) labelled ``a–b``."""
    if p.high - p.low + 1 <= bins:
        choices = range(p.low, p.high + 1)
        return [str(k) for k in choices], [int((values == k).sum()) for k in choices]
    lo, hi = p.encoded_bounds
    # an integer k falls in the bin [e_j, e_j+1) of the encoded scale when k >= e_j (exp(e_j) on a log scale)
    edges = np.linspace(lo, hi, bins + 1)[:-1]
    starts = sorted({max(p.low, math.ceil((math.exp(e) if p.log else e) - 1e-9)) for e in edges} | {p.low})
    ends = [b - 1 for b in starts[1:]] + [p.high]
    labels = [f"{a}" if a == b else f"{a}–{b}" for a, b in zip(starts, ends)]
    return labels, [int(((values >= a) & (values <= b)).sum()) for a, b in zip(starts, ends)]


def param_importance(df: pd.DataFrame, space: SearchSpace, metric: str, direction: str = "minimize",
                     seed: int = 0) -> pd.Series:
    """fANOVA importance of each parameter for ``metric`` (Hutter, Hoos & Leyton-Brown
    2014) over the full genome, conditional parameters included: :func:`importance`."""
    return importance(df, space, metric, direction, "fanova", seed=seed)


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _distribution(p):
    import optuna.distributions as d

    if isinstance(p, Categorical):
        return d.CategoricalDistribution(list(p.choices))
    if isinstance(p, Boolean):
        return d.CategoricalDistribution([False, True])
    if p.kind == "int":
        return d.IntDistribution(p.low, p.high, log=p.log)
    return d.FloatDistribution(p.low, p.high, log=p.log)


def incumbent_trace(df: pd.DataFrame, metric: str, direction: str = "minimize") -> pd.DataFrame:
    """Best value of ``metric`` so far, against evaluations and wall time."""
    done = done_trials(df).sort_values("finished").reset_index(drop=True)
    values = done[f"values_{metric}"].to_numpy(dtype=float)
    best = np.minimum.accumulate(values) if direction == "minimize" else np.maximum.accumulate(values)
    return pd.DataFrame({"evaluations": np.arange(1, len(done) + 1), "elapsed": done["elapsed"].to_numpy(),
                         "incumbent": best, "trial_id": done["trial_id"].to_numpy()})


def optimization_history(df: pd.DataFrame, metric: str, direction: str = "minimize") -> pd.DataFrame:
    """Each done trial's ``metric`` in the order trials finished, with the best so far
    (the data of Optuna's ``plot_optimization_history``)."""
    trace = incumbent_trace(df, metric, direction)
    done = done_trials(df).set_index("trial_id")
    return trace.assign(value=done.loc[trace["trial_id"], f"values_{metric}"].to_numpy(dtype=float),
                        generation=done.loc[trace["trial_id"], "generation"].to_numpy())


def slice_table(df: pd.DataFrame, space: SearchSpace, metric: str, params: Sequence[str] | None = None) -> pd.DataFrame:
    """Long table (parameter, value, metric value, trial, generation) of the done trials
    where each parameter is active: the data of Optuna's ``plot_slice``."""
    done = done_trials(df)
    names = list(params) if params is not None else list(space.names)
    unknown = [n for n in names if n not in space.names]
    if unknown:
        raise ValueError(f"no parameters {unknown} in the space; it has {list(space.names)}")
    rows = [pd.DataFrame({"parameter": n, "value": done[f"params_{n}"], "objective": done[f"values_{metric}"],
                          "trial_id": done["trial_id"], "generation": done["generation"]}).dropna(subset=["value"])
            for n in names]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["parameter", "value", "objective", "trial_id", "generation"])


def aggregate_traces(traces: Mapping[str, pd.DataFrame], x: str = "elapsed", points: int = 100) -> pd.DataFrame:
    """Median and quartiles of several incumbent traces (e.g. one per seed) on a
    common grid of ``x``; a trace counts from its first point on (step-wise)."""
    if not traces:
        raise ValueError("aggregate_traces needs at least one trace")
    hi = max(t[x].max() for t in traces.values())
    lo = min(t[x].min() for t in traces.values())
    grid = np.linspace(lo, hi, points)
    table = []
    for t in traces.values():
        idx = np.searchsorted(t[x].to_numpy(), grid, side="right") - 1
        table.append(np.where(idx >= 0, t["incumbent"].to_numpy()[np.clip(idx, 0, None)], np.nan))
    table = np.array(table)
    with np.errstate(all="ignore"):
        return pd.DataFrame({x: grid, "median": np.nanmedian(table, 0), "q25": np.nanpercentile(table, 25, 0),
                             "q75": np.nanpercentile(table, 75, 0), "runs": (~np.isnan(table)).sum(0)})


def top_trials(df: pd.DataFrame, metric: str, direction: str = "minimize", k: int = 10) -> pd.DataFrame:
    """The ``k`` best done trials by ``metric``."""
    done = done_trials(df)
    return done.sort_values(f"values_{metric}", ascending=direction == "minimize").head(k).reset_index(drop=True)


def hyperparameter_evolution(df: pd.DataFrame, space: SearchSpace) -> pd.DataFrame:
    """Long table of (generation, trial, parameter, value) for numeric parameters,
    with categorical choices as their index: how each hyperparameter moved (seed 003)."""
    rows = []
    for p in space:
        col = f"params_{p.name}"
        for _, r in df[["trial_id", "generation", col]].dropna().iterrows():
            value = r[col]
            rows.append({"trial_id": r["trial_id"], "generation": r["generation"], "parameter": p.name,
                         "value": float(p.encode(value) if isinstance(p, (Categorical, Boolean)) else value)})
    return pd.DataFrame(rows)


def named_points(df: pd.DataFrame, trials: Mapping[str, int], directions: Mapping[str, str]) -> dict[str, dict]:
    """Objective values of named trials, e.g. ``{"default model": 0}``, for marking on plots."""
    by_id = df.set_index("trial_id")
    out = {}
    for name, trial_id in trials.items():
        if trial_id in by_id.index and by_id.loc[trial_id, "status"] == "done":
            out[name] = {m: float(by_id.loc[trial_id, f"values_{m}"]) for m in directions}
    return out


def front_table(df: pd.DataFrame, directions: Mapping[str, str], space: SearchSpace | None = None,
                *, inactive: str = "–") -> pd.DataFrame:
    """The final front as a readable table, indexed by trial: generation, metrics,
    parameters. Whole-number columns (``n_params``, integer parameters: from ``space``
    when given) show as integers, a parameter that is inactive in a trial as
    ``inactive``, and a parameter inactive in every front trial is left out."""
    front = final_front(df, directions)
    params = [c for c in front.columns if c.startswith("params_") and front[c].notna().any()]
    table = front[["trial_id", "generation", *_columns(directions), *params]].copy()
    integers = {f"params_{p.name}" for p in space if isinstance(p, Integer)} if space is not None else set()
    for col in table.columns[2:]:
        table[col] = _readable(table[col], col in integers, inactive)
    table = table.rename(columns=lambda c: c.removeprefix("values_").removeprefix("params_"))
    return table.set_index("trial_id").rename_axis("trial")


def _readable(col: pd.Series, integer: bool, inactive: str = "–") -> pd.Series:
    """Whole numbers as ints, missing values as ``inactive`` (an object column then)."""
    present = col.dropna()
    numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
    whole = present.to_numpy(dtype=float) if numeric else np.array([0.5])
    # a count (650.0 parameters) reads as one; a 0/1 accuracy stays a fraction
    if numeric and len(present) and (integer or (np.all(np.mod(whole, 1) == 0) and np.abs(whole).max() > 1)):
        if col.isna().any():
            return col.map(lambda v: inactive if pd.isna(v) else int(v)).astype(object)
        return col.astype("int64")
    return col.astype(object).where(col.notna(), inactive) if col.isna().any() else col


def method_comparison(frames: Mapping[str, pd.DataFrame], metric: str, direction: str = "minimize") -> pd.DataFrame:
    """Per method: trials, failures, best value of ``metric`` and the trial that reached it."""
    rows = []
    for method, df in frames.items():
        best = top_trials(df, metric, direction, k=1)
        rows.append({"method": method, "trials": len(df), "failed": int((df["status"] == "failed").sum()),
                     f"best {metric}": best[f"values_{metric}"].iloc[0] if len(best) else np.nan,
                     "best trial": int(best["trial_id"].iloc[0]) if len(best) else -1})
    return pd.DataFrame(rows)


def top_trials_by_method(frames: Mapping[str, pd.DataFrame], metric: str, direction: str = "minimize",
                         k: int = 10) -> pd.DataFrame:
    """The ``k`` best trials of all methods together, named like seed 003's table
    (``GA-<generation>-<trial>``, ``<method>-<trial>``)."""
    parts = []
    for method, df in frames.items():
        done = done_trials(df).assign(method=method)
        done["name"] = [f"{method}-{g}-{t}" if method == "GA" else f"{method}-{t}"
                        for g, t in zip(done["generation"], done["trial_id"])]
        parts.append(done)
    both = pd.concat(parts, ignore_index=True)
    top = both.sort_values(f"values_{metric}", ascending=direction == "minimize").head(k)
    params = [c for c in top.columns if c.startswith("params_")]
    return top[["name", *params, f"values_{metric}"]].rename(
        columns=lambda c: c.removeprefix("params_").removeprefix("values_")).reset_index(drop=True)


def incumbents_over_seeds(frames: Mapping[int, pd.DataFrame], metric: str, direction: str = "minimize",
                          x: str = "elapsed") -> pd.DataFrame:
    """Median and quartiles over seeds of the incumbent's ``metric`` (seed 004, Figure 2)."""
    return aggregate_traces({s: incumbent_trace(df, metric, direction) for s, df in frames.items()}, x=x)


def incumbent_test_table(frames: Mapping[int, pd.DataFrame], baseline: pd.DataFrame, metric: str = "val_error",
                         method: str = "optimizer") -> pd.DataFrame:
    """Test accuracy (mean and std over seeds) of each seed's incumbent and of the
    baseline configuration (seed 004, Table 2)."""
    incumbents = [top_trials(df, metric, "minimize", k=1) for df in frames.values()]
    acc = np.array([float(t["metrics_test_accuracy"].iloc[0]) for t in incumbents if len(t)])
    base = baseline["test_accuracy"].to_numpy(dtype=float)
    fmt = "{:.1f} ± {:.1f}".format
    return pd.DataFrame({"method": ["baseline", method], "seeds": [len(base), len(acc)],
                         "test accuracy (%)": [fmt(100 * base.mean(), 100 * base.std()),
                                               fmt(100 * acc.mean(), 100 * acc.std())]})


def all_trials(frames: Mapping[object, pd.DataFrame]) -> pd.DataFrame:
    """Several studies' trials in one table, with a ``run`` column."""
    return pd.concat([df.assign(run=key) for key, df in frames.items()], ignore_index=True)


def learning_curves(df: pd.DataFrame, trial_ids: Sequence[int]) -> pd.DataFrame:
    """Long table of (trial, fold, epoch, train_loss, val_loss) from the trials' stored curves."""
    rows = []
    by_id = df.set_index("trial_id")
    for t in trial_ids:
        curves = by_id.loc[t].get("metrics_learning_curves") if "metrics_learning_curves" in by_id else None
        if not isinstance(curves, list):
            continue
        for fold, curve in enumerate(curves):
            rows += [{"trial_id": t, "fold": fold, **point} for point in curve]
    return pd.DataFrame(rows)


# --- importance over the full genome ------------------------------------------------------------------
#: How :func:`importance` measures: fANOVA (Hutter, Hoos & Leyton-Brown 2014) or
#: PED-ANOVA (Watanabe, Bansal & Hutter 2023), both through Optuna's evaluators.
IMPORTANCE_METHODS = ("fanova", "ped_anova")


def importance(df: pd.DataFrame, space: SearchSpace, metric: str, direction: str = "minimize",
               method: str = "fanova", *, seed: int = 0) -> pd.Series:
    """Importance of each parameter for ``metric``, largest first (summing to 1).

    Every trial is given every parameter, inactive ones at their defaults (the full,
    fixed-length genome): Optuna's evaluators silently drop a parameter that some
    trials lack, so conditional parameters would otherwise never be scored.
    """
    import optuna

    if method not in IMPORTANCE_METHODS:
        raise ValueError(f"method must be one of {IMPORTANCE_METHODS}, got {method!r}")
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
    study = _genome_study(df, space, metric, direction)
    evaluator = (optuna.importance.FanovaImportanceEvaluator(seed=seed) if method == "fanova"
                 else optuna.importance.PedAnovaImportanceEvaluator())
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        scores = optuna.importance.get_param_importances(study, evaluator=evaluator)
    finally:
        optuna.logging.set_verbosity(verbosity)
    return pd.Series(scores, name="importance", dtype=float)


def importances(df: pd.DataFrame, space: SearchSpace, directions: Mapping[str, str], method: str = "fanova",
                *, seed: int = 0) -> pd.DataFrame:
    """:func:`importance` per objective: one column per metric, parameters in space order."""
    return pd.DataFrame({m: importance(df, space, m, d, method, seed=seed) for m, d in directions.items()}).reindex(
        [p.name for p in space])


def _genome_study(df: pd.DataFrame, space: SearchSpace, metric: str, direction: str):
    """An in-memory Optuna study of the done trials, each with its full genome."""
    import optuna

    missing = [c for c in [f"values_{metric}", *(f"params_{p.name}" for p in space)] if c not in df.columns]
    if missing:
        raise ValueError(f"the trials table has no column {missing[0]!r}; pass the metric and the space the study ran with")
    done = done_trials(df)
    done = done[done[f"values_{metric}"].notna()]
    if len(done) < 2:
        raise ValueError(f"importance needs at least 2 done trials with a value of {metric!r}, got {len(done)}")
    dists = {p.name: _distribution(p) for p in space}
    study = optuna.create_study(direction=direction)
    for _, row in done.iterrows():
        params = {p.name: p.validate(_plain(row[f"params_{p.name}"])) if pd.notna(row[f"params_{p.name}"])
                  else p.default for p in space}
        study.add_trial(optuna.trial.create_trial(params=params, distributions=dists,
                                                  value=float(row[f"values_{metric}"])))
    return study


# --- rank tests across seeds ---------------------------------------------------------------------------
#: Post-hoc tests of :func:`compare_many`; ``"auto"`` is Nemenyi when scikit-posthocs is installed.
POST_HOC = ("auto", "nemenyi", "wilcoxon_holm")


def _p_text(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def _sentence(names: Sequence[str], lower: bool | None, p: float, alpha: float, how: str) -> str:
    """``"A < B (p=0.008, Wilcoxon, 8 paired seeds)"``, or no significant difference."""
    a, b = names
    if lower is None or not p < alpha:
        return f"no significant difference between {a} and {b} ({_p_text(p)}, {how})"
    return f"{a} {'<' if lower else '>'} {b} ({_p_text(p)}, {how})"


def _paired(a, b) -> tuple[np.ndarray, np.ndarray]:
    """Two aligned arrays from mappings seed -> value (paired by seed) or equal-length sequences."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        only_a, only_b = sorted(set(a) - set(b), key=str), sorted(set(b) - set(a), key=str)
        if only_a or only_b:
            where = f"only in a: {only_a}" if only_a else f"only in b: {only_b}"
            raise ValueError(f"compare_paired needs the same seeds in a and b; {where}; drop the unpaired seeds")
        keys = sorted(a, key=str)
        a, b = [a[k] for k in keys], [b[k] for k in keys]
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) == 0:
        raise ValueError(f"compare_paired needs two equally long lists of values, one per seed, got {len(x)} and {len(y)}")
    return x, y


def _lower(d: np.ndarray) -> bool | None:
    """Whether the first of a pair is lower, by the signed ranks of the differences ``d``
    (None: they balance)."""
    from scipy import stats

    nonzero = d[d != 0]
    signed = float((np.sign(nonzero) * stats.rankdata(np.abs(nonzero))).sum())
    return None if signed == 0 else signed < 0


def compare_paired(a, b, names: Sequence[str] = ("a", "b"), alpha: float = 0.05) -> dict:
    """Wilcoxon signed-rank test of two methods run on the same seeds (``a``, ``b``: values
    by seed, or lists in seed order); ``<`` in the verdict means lower values. ``a_lower``:
    the test's own direction, by the signed ranks of the differences (None: they balance),
    which the medians need not share."""
    from scipy import stats

    x, y = _paired(a, b)
    d = x - y
    how = f"Wilcoxon, {len(x)} paired seeds"
    if not d.any():
        p, statistic, lower = 1.0, 0.0, None
        how += f": all {len(x)} paired differences are zero"
    else:
        result = stats.wilcoxon(x, y)
        p, statistic, lower = float(result.pvalue), float(result.statistic), _lower(d)
    return {"test": "Wilcoxon signed-rank", "a": names[0], "b": names[1], "n": len(x), "statistic": statistic,
            "p_value": p, "median_a": float(np.median(x)), "median_b": float(np.median(y)), "a_lower": lower,
            "verdict": _sentence(names, lower, p, alpha, how)}


def compare_independent(a: Sequence[float], b: Sequence[float], names: Sequence[str] = ("a", "b"),
                        alpha: float = 0.05) -> dict:
    """Mann-Whitney U test of two methods' independent runs; ``statistic`` is a's U;
    ``a_lower``: the test's direction, a's U below its null mean n_a n_b / 2 (None: at it),
    which the medians need not share."""
    from scipy import stats

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) == 0 or len(y) == 0:
        raise ValueError(f"compare_independent needs at least one value in each of a and b, got {len(x)} and {len(y)}")
    result = stats.mannwhitneyu(x, y, alternative="two-sided")
    u, p = float(result.statistic), float(result.pvalue)
    middle = len(x) * len(y) / 2
    lower = None if u == middle else u < middle
    return {"test": "Mann-Whitney U", "a": names[0], "b": names[1], "n_a": len(x), "n_b": len(y), "statistic": u,
            "p_value": p, "median_a": float(np.median(x)), "median_b": float(np.median(y)), "a_lower": lower,
            "verdict": _sentence(names, lower, p, alpha, f"Mann-Whitney U, {len(x)} and {len(y)} runs")}


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment of p-values (Holm 1979), in the input order."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order]))
    out = np.empty_like(p)
    out[order] = adjusted
    return out


def _check_table(table: pd.DataFrame, post_hoc: str) -> str:
    if post_hoc not in POST_HOC:
        raise ValueError(f"post_hoc must be one of {POST_HOC}, got {post_hoc!r}")
    if not isinstance(table, pd.DataFrame) or table.shape[1] < 3 or table.shape[0] < 2:
        shape = table.shape if isinstance(table, pd.DataFrame) else type(table).__name__
        raise ValueError(f"compare_many needs at least 3 methods (columns) and 2 seeds (rows), got {shape}; "
                         "compare two methods with compare_paired")
    gaps = table.index[table.isna().any(axis=1)].tolist()
    if gaps:
        raise ValueError(f"seeds {gaps} lack a value for some method; drop those rows or run the missing seeds")
    if post_hoc == "auto":
        try:
            import scikit_posthocs  # noqa: F401
        except ImportError:
            return "wilcoxon_holm"
        return "nemenyi"
    return post_hoc


def compare_many(table: pd.DataFrame, alpha: float = 0.05, post_hoc: str = "auto") -> dict:
    """Friedman test of several methods (columns) over the same seeds (rows), then a
    post-hoc test of each pair: Nemenyi through scikit-posthocs (``"nemenyi"``; the
    ``"auto"`` choice when it is installed), else Holm-corrected pairwise Wilcoxon
    signed-rank tests (``"wilcoxon_holm"``). Lower values rank first."""
    from scipy import stats

    post_hoc = _check_table(table, post_hoc)
    values = table.to_numpy(dtype=float)
    friedman = stats.friedmanchisquare(*values.T)
    ranks = pd.Series(stats.rankdata(values, axis=1).mean(axis=0), index=table.columns, name="mean_rank")
    pairs = _pairs(table, post_hoc, alpha)
    n, k, p = len(table), table.shape[1], float(friedman.pvalue)
    summary = ", ".join(f"{m} {r:.1f}" for m, r in ranks.sort_values(kind="stable").items())
    head = f"the {k} methods differ" if p < alpha else f"no significant difference among the {k} methods"
    return {"test": "Friedman", "statistic": float(friedman.statistic), "p_value": p, "n_seeds": n,
            "mean_ranks": ranks, "post_hoc": pairs.attrs["post_hoc"], "pairs": pairs,
            "verdict": f"{head} ({_p_text(p)}, Friedman, {n} seeds); mean ranks: {summary}"}


def _pairs(table: pd.DataFrame, post_hoc: str, alpha: float) -> pd.DataFrame:
    """One row per pair of methods: raw and adjusted p-value and a verdict."""
    cols = list(table.columns)
    pairs = [(i, j) for i in range(len(cols)) for j in range(i + 1, len(cols))]
    tests = [compare_paired(table[cols[i]].to_numpy(), table[cols[j]].to_numpy(), (str(cols[i]), str(cols[j])))
             for i, j in pairs]
    raw = [t["p_value"] for t in tests]
    if post_hoc == "nemenyi":
        import scikit_posthocs

        matrix = scikit_posthocs.posthoc_nemenyi_friedman(table.to_numpy(dtype=float)).to_numpy()
        adjusted, name, how = [float(matrix[i, j]) for i, j in pairs], "Nemenyi (scikit-posthocs)", "Nemenyi"
    else:
        adjusted, name, how = holm(raw).tolist(), "Holm-corrected pairwise Wilcoxon signed-rank", "Holm-corrected Wilcoxon"
    rows = []
    for (i, j), t, p_raw, p_adj in zip(pairs, tests, raw, adjusted):
        lower = _lower(table[cols[i]].to_numpy(dtype=float) - table[cols[j]].to_numpy(dtype=float))
        rows.append({"a": cols[i], "b": cols[j], "p_value": p_raw, "p_adjusted": p_adj,
                     "verdict": _sentence((str(cols[i]), str(cols[j])), lower, p_adj, alpha,
                                          f"{how}, {len(table)} paired seeds")})
    out = pd.DataFrame(rows)
    out.attrs["post_hoc"] = name
    return out


__all__ += ["IMPORTANCE_METHODS", "importance", "importances", "POST_HOC", "compare_paired", "compare_independent",
            "compare_many", "holm"]


# --- seed 004: the incumbents against the provided baseline ----------------------------------------------
def incumbent_trace_by_epochs(df: pd.DataFrame, metric: str, direction: str = "minimize") -> pd.DataFrame:
    """Best ``metric`` so far against the epochs trained so far (seed 004's cost over budget).

    Every finished trial adds the epochs it trained (``metrics_epochs_trained``: a promoted
    trial that continues its lower rung's checkpoint counts only its new epochs), pruned
    and failed ones included, since their epochs were spent too; only done trials can
    become the incumbent."""
    if "metrics_epochs_trained" not in df.columns:
        raise ValueError("the trials table has no metrics_epochs_trained column; it needs a training objective's trials")
    ended = df[df["status"].isin(["done", "pruned", "failed"])].sort_values("finished")
    spent = np.cumsum(ended["metrics_epochs_trained"].fillna(0).to_numpy(dtype=float))
    values = np.where(ended["status"] == "done", ended[f"values_{metric}"].to_numpy(dtype=float), np.nan)
    values = values if direction == "minimize" else -values
    best = np.fmin.accumulate(values) if len(values) else values  # NaN until the first done trial
    best = best if direction == "minimize" else -best
    keep = ~np.isnan(best)
    return pd.DataFrame({"epochs": spent[keep], "incumbent": best[keep], "trial_id": ended["trial_id"].to_numpy()[keep]})


def incumbent_quartiles(frames: Mapping[int, pd.DataFrame], metric: str, direction: str = "minimize",
                    x: str = "elapsed") -> pd.DataFrame:
    """Median and 25-75 % quartiles over runs of the incumbent's ``metric`` against ``x``:
    ``"elapsed"`` (wall time, s), ``"evaluations"`` (trials) or ``"epochs"`` (epochs trained)."""
    if x not in ("elapsed", "evaluations", "epochs"):
        raise ValueError(f"x must be 'elapsed', 'evaluations' or 'epochs', got {x!r}")
    trace = incumbent_trace_by_epochs if x == "epochs" else incumbent_trace
    return aggregate_traces({s: trace(df, metric, direction) for s, df in frames.items()}, x=x)


def incumbents_against_baseline(frames: Mapping[int, pd.DataFrame], baseline: pd.DataFrame,
                                metric: str = "val_error") -> pd.DataFrame:
    """One row per run: its incumbent (the done trial with the lowest ``metric``), the
    incumbent's test accuracy, the baseline's test accuracy with the same seed, and the
    gain in points; ``baseline`` has one row per ``seed`` with ``test_accuracy``."""
    by_seed = baseline.set_index("seed")["test_accuracy"]
    rows = []
    for seed, df in frames.items():
        if seed not in by_seed.index:
            raise ValueError(f"the baseline has no row for seed {seed}; score the baseline with every run's seed")
        best = top_trials(df, metric, "minimize", k=1)
        if best.empty:
            raise ValueError(f"run {seed} has no done trial; run its study first")
        acc, base = float(best["metrics_test_accuracy"].iloc[0]), float(by_seed.loc[seed])
        rows.append({"seed": seed, "incumbent trial": int(best["trial_id"].iloc[0]),
                     f"incumbent {metric}": float(best[f"values_{metric}"].iloc[0]),
                     "incumbent test accuracy": acc, "baseline test accuracy": base,
                     "gain (points)": 100 * (acc - base), "beats baseline": acc > base})
    return pd.DataFrame(rows)


def _mean_std(values: np.ndarray) -> str:
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{100 * values.mean():.1f} ± {100 * std:.1f}"


def incumbent_accuracy_table(table: pd.DataFrame, method: str) -> pd.DataFrame:
    """Seed 004's Table 2 from :func:`incumbents_against_baseline`: test accuracy (%) as
    mean ± sample standard deviation over runs, baseline and ``method``."""
    base, inc = (table[c].to_numpy(dtype=float) for c in ("baseline test accuracy", "incumbent test accuracy"))
    return pd.DataFrame({"method": ["baseline", method], "runs": [len(base), len(inc)],
                         "test accuracy (%)": [_mean_std(base), _mean_std(inc)]})


def baseline_verdict(table: pd.DataFrame, method: str, claim: str = "beats the provided baseline in every run") -> dict:
    """Whether ``method`` beat the baseline's test accuracy run by run (seed 004: in all 8
    runs, +1.8 points on average), from :func:`incumbents_against_baseline`: wins, runs,
    mean and median gain (points), a paired Wilcoxon test, and the sentence a report prints.
    The claim is reproduced when every run wins; partly when most do."""
    wins, runs = int(table["beats baseline"].sum()), len(table)
    gain = table["gain (points)"].to_numpy(dtype=float)
    if runs == 0:
        raise ValueError("no runs to judge; run the studies first")
    status = "reproduced" if wins == runs else "partly reproduced" if wins > runs / 2 else "not reproduced"
    test = compare_paired(table["incumbent test accuracy"].to_numpy(dtype=float),
                          table["baseline test accuracy"].to_numpy(dtype=float), (method, "baseline")) if runs >= 2 else None
    p = f", paired Wilcoxon {_p_text(test['p_value'])}" if test is not None and np.isfinite(test["p_value"]) else ""
    sentence = (f"{status.capitalize()}: {method} beat the baseline's test accuracy in {wins} of {runs} runs "
                f"(mean gain {gain.mean():+.1f} points, median {np.median(gain):+.1f}{p}); "
                f"the claim was that it {claim}.")
    return {"wins": wins, "runs": runs, "mean_gain": float(gain.mean()), "median_gain": float(np.median(gain)),
            "p_value": None if test is None else float(test["p_value"]), "status": status, "sentence": sentence}


def better_than(df: pd.DataFrame, metric: str, threshold: float, direction: str = "minimize",
                what: str = "the baseline") -> tuple[pd.Series, str]:
    """Which done trials are better than ``threshold`` in ``metric`` (a boolean mask over
    ``df``'s rows) and a caption that is true of them, none included."""
    values = df[f"values_{metric}"].to_numpy(dtype=float)
    mask = pd.Series(values < threshold if direction == "minimize" else values > threshold, index=df.index)
    mask &= (df["status"] == "done") if "status" in df.columns else True
    n, total = int(mask.sum()), len(df)
    if n == 0:
        caption = (f"None of the {total} trials is better than {what} ({metric} {threshold:.4g}): "
                   "every line is grey.")
    else:
        caption = (f"{n} of {total} trials ({100 * n / max(total, 1):.0f} %) are better than {what} "
                   f"({metric} {'<' if direction == 'minimize' else '>'} {threshold:.4g}): drawn in blue, the rest grey.")
    return mask, caption


def dominating_baseline(df: pd.DataFrame, directions: Mapping[str, str], point: Mapping[str, float]) -> pd.DataFrame:
    """The done trials that Pareto-dominate ``point`` (e.g. the baseline's error and size):
    no worse in every metric, better in one."""
    done = done_trials(df)
    F = _minimised(done, directions)
    p = to_minimization([[point[m] for m in directions]], list(directions.values()))[0]
    mask = (F <= p).all(axis=1) & (F < p).any(axis=1)
    return done[mask].reset_index(drop=True)


__all__ += ["incumbent_trace_by_epochs", "incumbent_quartiles", "incumbents_against_baseline", "incumbent_accuracy_table",
            "baseline_verdict", "better_than", "dominating_baseline"]


def incumbent_configurations(frames: Mapping[int, pd.DataFrame], table: pd.DataFrame, space: SearchSpace) -> pd.DataFrame:
    """The baseline configuration (the space's default) and each run's incumbent from
    :func:`incumbents_against_baseline`, one row each, parameters as columns."""
    rows = [{"run": "baseline", **space.default()}]
    for seed, trial in zip(table["seed"], table["incumbent trial"]):
        df = frames[seed].set_index("trial_id")
        rows.append({"run": f"seed {seed} (trial {trial})",
                     **{p.name: _plain(df.loc[trial, f"params_{p.name}"]) for p in space}})
    return pd.DataFrame(rows).set_index("run")


def front_summary(df: pd.DataFrame, directions: Mapping[str, str], reference_point: Sequence[float],
                  point: Mapping[str, float], name: str = "the baseline") -> str:
    """One sentence on a multi-objective study: its front, its hypervolume raw and as a
    fraction of the box between the ideal point (0 for minimised metrics: errors, sizes;
    1 for maximised ones: accuracies) and the reference point, and how many done trials
    dominate ``point``."""
    front, done = final_front(df, directions), done_trials(df)
    hv = front_hypervolume(df, directions, reference_point)
    ref = to_minimization([reference_point], list(directions.values()))[0]
    lo = to_minimization([[0.0 if d == "minimize" else 1.0 for d in directions.values()]], list(directions.values()))[0]
    box = float(np.prod(ref - lo))
    n = len(dominating_baseline(df, directions, point))
    return (f"{len(front)} of {len(done)} done trials are on the final front; hypervolume {hv:.4g} "
            f"({100 * hv / box:.1f} % of the reference box); {n} of {len(done)} trials dominate {name} "
            f"({', '.join(f'{m} {point[m]:.4g}' for m in directions)}).")


__all__ += ["incumbent_configurations", "front_summary"]


# --- seed 003: a method against a baseline over several seeds (appended by helper h7) ----------------
def best_by_seed(runs: Mapping[str, Mapping[int, pd.DataFrame]], metric: str, direction: str = "minimize") -> pd.DataFrame:
    """The best done value of ``metric`` per seed (rows) and method (columns), from
    ``runs[method][seed]`` trials tables; NaN where a run has no done trial."""
    table = {}
    for method, by_seed in runs.items():
        table[method] = {}
        for seed, df in by_seed.items():
            values = done_trials(df)[f"values_{metric}"].to_numpy(dtype=float)
            table[method][seed] = (values.min() if direction == "minimize" else values.max()) if len(values) else np.nan
    return pd.DataFrame(table).rename_axis("seed").sort_index()


def convergence_over_seeds(runs: Mapping[str, Mapping[int, pd.DataFrame]], metric: str,
                           direction: str = "minimize") -> dict[str, pd.DataFrame]:
    """Per method: the median and quartiles over seeds of the best ``metric`` so far
    after each evaluation (trials in the order they finished; failed ones count as
    evaluations and keep the best), columns ``evaluations, median, q25, q75, runs``."""
    out = {}
    for method, by_seed in runs.items():
        curves = [_best_so_far(df, metric, direction) for df in by_seed.values()]
        length = max((len(c) for c in curves), default=0)
        table = np.full((len(curves), length), np.nan)
        for i, c in enumerate(curves):
            table[i, :len(c)] = c
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an evaluation no seed has reached yet
            out[method] = pd.DataFrame({"evaluations": np.arange(1, length + 1), "median": np.nanmedian(table, 0),
                                        "q25": np.nanpercentile(table, 25, 0), "q75": np.nanpercentile(table, 75, 0),
                                        "runs": (~np.isnan(table)).sum(0)})
    return out


def _best_so_far(df: pd.DataFrame, metric: str, direction: str) -> np.ndarray:
    ended = df[df["status"].isin(["done", "failed", "pruned"])].sort_values(["finished", "trial_id"])
    values = np.where(ended["status"] == "done", ended[f"values_{metric}"].to_numpy(dtype=float), np.nan)
    sign = 1.0 if direction == "minimize" else -1.0
    best = np.fmin.accumulate(sign * values) if len(values) else values
    return sign * best


def hyperparameter_evolution_named(df: pd.DataFrame, space: SearchSpace, metric: str | None = None) -> pd.DataFrame:
    """Long table (trial, generation, parameter, value) with each value as the space
    states it: categorical choices by name (``"gelu"``, not a code), numbers as numbers;
    with ``metric``, its value as one more "parameter" row per trial (seed 003, Figure 1:
    hyperparameters on top, the metric below). ``attrs["categories"]`` holds each
    categorical parameter's choices in the space's order."""
    done = done_trials(df)
    names = list(space.names) + ([metric] if metric else [])
    rows = []
    for name in names:
        col = f"values_{name}" if name == metric else f"params_{name}"
        part = done[["trial_id", "generation", col]].dropna()
        rows.append(pd.DataFrame({"trial_id": part["trial_id"].to_numpy(), "generation": part["generation"].to_numpy(),
                                  "parameter": name, "value": part[col].astype(object).to_numpy()}))
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["trial_id", "generation", "parameter",
                                                                                "value"])
    out.attrs["categories"] = {p.name: [str(c) for c in p.choices] for p in space if isinstance(p, Categorical)}
    out.attrs["metric"] = metric
    return out


def top_trials_over_seeds(runs: Mapping[str, Mapping[int, pd.DataFrame]], metric: str, direction: str = "minimize",
                          k: int = 10) -> pd.DataFrame:
    """The ``k`` best trials of every method and seed together, named like seed 003's
    table (``GA-s<seed>-<generation>-<trial>``, ``<method>-s<seed>-<trial>``), with the
    parameters by name (activations as words) and integers as integers."""
    parts = []
    for method, by_seed in runs.items():
        for seed, df in by_seed.items():
            done = done_trials(df)
            names = [f"{method}-s{seed}-{g}-{t}" if method == "GA" else f"{method}-s{seed}-{t}"
                     for g, t in zip(done["generation"], done["trial_id"])]
            parts.append(done.assign(name=names, method=method, run_seed=seed))
    if not parts:
        return pd.DataFrame(columns=["name", "method", "seed", metric])
    both = pd.concat(parts, ignore_index=True)
    top = both.sort_values(f"values_{metric}", ascending=direction == "minimize", kind="stable").head(k)
    params = [c for c in top.columns if c.startswith("params_")]
    table = top[["name", "method", "run_seed", *params, f"values_{metric}"]].rename(columns={"run_seed": "seed"})
    for col in params:
        values = table[col].dropna()
        if pd.api.types.is_numeric_dtype(values) and len(values) and np.all(np.mod(values.to_numpy(float), 1) == 0):
            table[col] = table[col].astype("Int64")
    return table.rename(columns=lambda c: c.removeprefix("params_").removeprefix("values_")).reset_index(drop=True)


def method_vs_baseline(best: pd.DataFrame, method: str, baseline: str, *, claim: str, task: str, metric: str,
                       alpha: float = 0.05) -> dict:
    """Wins, medians and a Mann-Whitney U test of ``method`` against ``baseline`` on the
    best values per seed (``best``: seeds x methods, lower is better, from
    :func:`best_by_seed`), and a verdict sentence on ``claim`` (``method`` or
    ``baseline``: which of the two the seed found better on this task).

    The runs are independent samples (the two methods share nothing but the seed
    number), hence Mann-Whitney U rather than Wilcoxon's paired test, which with 5
    pairs could never fall below p = 0.0625. ``"reproduced"`` needs the claimed winner
    to have the lower median and a significant test; a lower median alone is ``"same
    direction, not significant"``; otherwise ``"not reproduced"``."""
    if claim not in (method, baseline):
        raise ValueError(f"claim must name one of the two methods ({method!r} or {baseline!r}), got {claim!r}")
    missing = [m for m in (method, baseline) if m not in best.columns]
    if missing:
        raise ValueError(f"no column {missing} in the table of best values; it has {list(best.columns)}")
    pairs = best[[method, baseline]].dropna()
    a, b = pairs[method].to_numpy(dtype=float), pairs[baseline].to_numpy(dtype=float)
    if len(a) == 0:
        raise ValueError(f"no seed has a done trial of both {method} and {baseline}; run the studies first")
    test = compare_independent(a, b, names=(method, baseline), alpha=alpha)
    wins, losses = int((a < b).sum()), int((a > b).sum())
    other = baseline if claim == method else method
    # the direction the test measured (U against its null mean), not the medians': they can disagree
    claimed_lower = test["a_lower"] is not None and test["a_lower"] == (claim == method)
    significant = test["p_value"] < alpha
    outcome = "reproduced" if claimed_lower and significant else \
        "same direction, not significant" if claimed_lower else "not reproduced"
    fmt = "{:.4g}".format
    sentence = (f"{task}: {method} had the lower best {metric} in {wins} of {len(a)} seeds, {baseline} in {losses} "
                f"(median {fmt(test['median_a'])} vs {fmt(test['median_b'])}; {_p_text(test['p_value'])}, "
                f"Mann-Whitney U, {len(a)} runs each). Seed 003 found {claim} better than {other} here: {outcome}.")
    return {"task": task, "method": method, "baseline": baseline, "seeds": len(a), "wins": wins, "losses": losses,
            "ties": len(a) - wins - losses, "median_method": test["median_a"], "median_baseline": test["median_b"],
            "p_value": test["p_value"], "statistic": test["statistic"], "claim": claim, "outcome": outcome,
            "verdict": sentence}


__all__ += ["best_by_seed", "convergence_over_seeds", "hyperparameter_evolution_named", "top_trials_over_seeds",
            "method_vs_baseline"]


# --- seed 000: NSGA-II against its baselines and reference networks (appended by helper h6) -------------
def _fixed_box(directions: Mapping[str, str], reference_point: Sequence[float]) -> float:
    """Volume of the box between the ideal point (1 for a maximised accuracy, 0 for a
    minimised error or size) and the reference point, in minimised units."""
    ref = to_minimization([reference_point], list(directions.values()))[0]
    ideal = to_minimization([[1.0 if d == "maximize" else 0.0 for d in directions.values()]],
                            list(directions.values()))[0]
    return float(np.prod(ref - ideal))


def method_hypervolumes(frames: Mapping[str, pd.DataFrame], directions: Mapping[str, str],
                        reference_point: Sequence[float]) -> pd.DataFrame:
    """One row per method: done trials, final hypervolume (fixed reference point), its share
    of the reference box (ideal to reference point) and of the best known (the hypervolume
    of every method's trials together), and its rank (1 = largest)."""
    union = front_hypervolume(pd.concat([done_trials(df) for df in frames.values()]), directions, reference_point)
    box = _fixed_box(directions, reference_point)
    rows = [{"method": name, "trials": len(done_trials(df)),
             "hypervolume": front_hypervolume(df, directions, reference_point)} for name, df in frames.items()]
    out = pd.DataFrame(rows)
    out["share of reference box"] = out["hypervolume"] / box
    out["share of best known"] = out["hypervolume"] / union if union > 0 else np.nan
    out["rank"] = out["hypervolume"].rank(ascending=False, method="min").astype(int)
    return out.set_index("method")


def hypervolume_traces(frames: Mapping[str, pd.DataFrame], directions: Mapping[str, str],
                       reference_point: Sequence[float]) -> dict[str, pd.DataFrame]:
    """:func:`hypervolume_trace` of each method, normalised by the same fixed reference box."""
    box = _fixed_box(directions, reference_point)
    out = {}
    for name, df in frames.items():
        trace = hypervolume_trace(df, directions, reference_point)
        trace["hypervolume_fraction"] = trace["hypervolume"] / box
        out[name] = trace
    return out


def default_share(df: pd.DataFrame, directions: Mapping[str, str], reference_point: Sequence[float],
                  trial_id: int = 0) -> float:
    """The share of the final hypervolume that trial ``trial_id`` (the default model) holds
    alone: near 1 means the search added almost nothing to it."""
    total = front_hypervolume(df, directions, reference_point)
    alone = front_hypervolume(df[df["trial_id"] == trial_id], directions, reference_point)
    return alone / total if total > 0 else float("nan")


def _point_text(point: Mapping[str, float], directions: Mapping[str, str]) -> str:
    return ", ".join(f"{m} {int(point[m]):,}" if m in ("n_params", "macs") else f"{m} {point[m]:.3f}"
                     for m in directions)


def default_verdict(df: pd.DataFrame, directions: Mapping[str, str], default: Mapping[str, float]) -> dict:
    """Seed 000's first claim, "models found with better performance and smaller size than
    the default model": how many done trials Pareto-dominate the default's point, and how
    many of them are strictly better in every metric. Reproduced when at least one is."""
    done = done_trials(df)
    dominating = dominating_baseline(df, directions, default)
    F = _minimised(dominating, directions).reshape(-1, len(directions))
    p = to_minimization([[default[m] for m in directions]], list(directions.values()))[0]
    strict = int((F < p).all(axis=1).sum())
    ok = strict > 0
    sentence = (f"{'Reproduced' if ok else 'Not reproduced'}: {len(dominating)} of {len(done)} models dominate the "
                f"default ({_point_text(default, directions)}), {strict} of them better in both metrics.")
    if not ok:
        sentence += (" No model is both more accurate and smaller than the default at this budget; "
                     "more generations or a larger population would let the search look further.")
    return {"dominating": len(dominating), "strictly_better": strict, "trials": len(done), "reproduced": ok,
            "sentence": sentence}


def hypervolume_verdict(table: pd.DataFrame, method: str) -> dict:
    """Seed 000's second claim, "both baselines outperformed by hypervolume", from
    :func:`method_hypervolumes`: reproduced when ``method``'s hypervolume is larger than
    every other method's."""
    if method not in table.index:
        raise ValueError(f"method {method!r} is not in the table; use one of {list(table.index)}")
    others = table.drop(index=method)
    mine = float(table.loc[method, "hypervolume"])
    beaten = [name for name, value in others["hypervolume"].items() if mine > value]
    ok = len(beaten) == len(others) and len(others) > 0
    parts = ", ".join(f"{name} {100 * row['share of reference box']:.2f} %" for name, row in table.iterrows())
    sentence = (f"{'Reproduced' if ok else 'Not reproduced'}: {method} beat {len(beaten)} of {len(others)} baselines "
                f"by hypervolume (share of the reference box: {parts}; one seed, the same budget of trials).")
    return {"beaten": beaten, "reproduced": ok, "sentence": sentence}


def reference_verdict(df: pd.DataFrame, directions: Mapping[str, str], references: Mapping[str, Mapping[str, float]],
                      *, accuracy: str, size: str = "n_params", tolerance: float = 0.01) -> dict:
    """Seed 000's third claim, "found models similar to ResNet-50 and AlexNet in terms of
    both metrics": for each reference network, the smallest done trial whose ``accuracy``
    is at least the reference's less ``tolerance`` (absolute). Reproduced for a reference
    when such a trial exists and has no more parameters than it."""
    done = done_trials(df)
    rows, ok = [], []
    for name, point in references.items():
        close = done[done[f"values_{accuracy}"] >= point[accuracy] - tolerance]
        if close.empty:
            gap = point[accuracy] - done[f"values_{accuracy}"].max() if len(done) else float("nan")
            rows.append(f"{name} ({_point_text(point, directions)}): no model within {tolerance:.2f} of its "
                        f"{accuracy} (the best found is {gap:.3f} below)")
            ok.append(False)
            continue
        match = close.loc[close[f"values_{size}"].idxmin()]
        ratio = match[f"values_{size}"] / point[size]
        ok.append(bool(ratio <= 1.0))
        rows.append(f"{name} ({_point_text(point, directions)}): trial {int(match['trial_id'])} reaches "
                    f"{match[f'values_{accuracy}']:.3f} with {ratio:.2f} x its parameters")
    reproduced = bool(ok) and all(ok)
    word = "Reproduced" if reproduced else ("Partly reproduced" if any(ok) else "Not reproduced")
    return {"per_reference": dict(zip(references, ok)), "reproduced": reproduced,
            "sentence": f"{word}: " + "; ".join(rows) + "."}


__all__ += ["method_hypervolumes", "hypervolume_traces", "default_share", "default_verdict", "hypervolume_verdict",
            "reference_verdict"]
