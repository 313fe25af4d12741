"""Pure functions from a trials table to the numbers the reports show.

Every function takes the DataFrame of :meth:`nasbench.study.Study.trials_dataframe`
(or several of them) and returns a DataFrame or a number; :mod:`nasbench.plots`
draws them. Objectives are read from the ``values_<metric>`` columns with their
directions; conversion to minimisation happens in :mod:`nasbench.hypervolume`.
"""

from __future__ import annotations

import warnings
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .hypervolume import hypervolume, nondominated_mask, to_minimization
from .space import Boolean, Categorical, SearchSpace

__all__ = ["done_trials", "front_hypervolume", "dominating_reference", "pareto_fronts_by_generation", "population_over_time", "hypervolume_trace",
           "coverage", "param_importance", "incumbent_trace", "aggregate_traces", "top_trials",
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
                      max_points: int = 400) -> pd.DataFrame:
    """Hypervolume of the done trials so far, against evaluations and wall time,
    with a reference point fixed up front (in the metrics' own units)."""
    done = done_trials(df).sort_values("finished").reset_index(drop=True)
    if done.empty:
        return pd.DataFrame(columns=["evaluations", "elapsed", "hypervolume"])
    F = _minimised(done, directions)
    ref = to_minimization([reference_point], list(directions.values()))[0]
    steps = np.unique(np.linspace(1, len(done), min(max_points, len(done))).round().astype(int))
    if len(directions) == 1:
        hv = [max(0.0, ref[0] - F[:n, 0].min()) for n in steps]
    else:
        hv = [hypervolume(F[:n], ref) for n in steps]
    return pd.DataFrame({"evaluations": steps, "elapsed": done["elapsed"].to_numpy()[steps - 1], "hypervolume": hv})


def coverage(df: pd.DataFrame, space: SearchSpace, bins: int = 10) -> pd.DataFrame:
    """How the search covered each parameter: counts per choice (categorical, bool)
    or per equal-width bin of its (log) range (numeric), and the share of bins hit."""
    rows = []
    for p in space:
        values = df[f"params_{p.name}"].dropna()
        if isinstance(p, (Categorical, Boolean)):
            choices = list(p.choices) if isinstance(p, Categorical) else [False, True]
            labels, counts = [str(c) for c in choices], [int((values == c).sum()) for c in choices]
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


def param_importance(df: pd.DataFrame, space: SearchSpace, metric: str, direction: str = "minimize",
                     seed: int = 0) -> pd.Series:
    """fANOVA importance of each parameter for ``metric`` (Hutter, Hoos & Leyton-Brown
    2014), through Optuna's ``FanovaImportanceEvaluator``; parameters that are
    conditional (absent from some trials) are left out, as Optuna does."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    done = done_trials(df)
    if len(done) < 2:
        raise ValueError(f"importance needs at least 2 done trials, got {len(done)}")
    dists = {p.name: _distribution(p) for p in space}
    study = optuna.create_study(direction=direction)
    for _, row in done.iterrows():
        params = {n: _plain(row[f"params_{n}"]) for n in dists if pd.notna(row[f"params_{n}"])}
        study.add_trial(optuna.trial.create_trial(params=params, distributions={n: dists[n] for n in params},
                                                  value=float(row[f"values_{metric}"])))
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    return pd.Series(optuna.importance.get_param_importances(study, evaluator=evaluator), name="importance")


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


def front_table(df: pd.DataFrame, directions: Mapping[str, str]) -> pd.DataFrame:
    """The final front as a readable table: trial, generation, metrics, parameters."""
    front = final_front(df, directions)
    params = [c for c in front.columns if c.startswith("params_")]
    table = front[["trial_id", "generation", *_columns(directions), *params]]
    return table.rename(columns=lambda c: c.removeprefix("values_").removeprefix("params_"))


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
