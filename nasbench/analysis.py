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
    by seed, or lists in seed order); ``<`` in the verdict means lower values."""
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
            "p_value": p, "median_a": float(np.median(x)), "median_b": float(np.median(y)),
            "verdict": _sentence(names, lower, p, alpha, how)}


def compare_independent(a: Sequence[float], b: Sequence[float], names: Sequence[str] = ("a", "b"),
                        alpha: float = 0.05) -> dict:
    """Mann-Whitney U test of two methods' independent runs; ``statistic`` is a's U."""
    from scipy import stats

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) == 0 or len(y) == 0:
        raise ValueError(f"compare_independent needs at least one value in each of a and b, got {len(x)} and {len(y)}")
    result = stats.mannwhitneyu(x, y, alternative="two-sided")
    u, p = float(result.statistic), float(result.pvalue)
    middle = len(x) * len(y) / 2
    lower = None if u == middle else u < middle
    return {"test": "Mann-Whitney U", "a": names[0], "b": names[1], "n_a": len(x), "n_b": len(y), "statistic": u,
            "p_value": p, "median_a": float(np.median(x)), "median_b": float(np.median(y)),
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
