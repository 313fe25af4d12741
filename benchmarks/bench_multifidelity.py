"""Benchmark the optimisers on a training objective at equal epochs: median (IQR) best
validation error and hypervolume for NSGA-II, random search, Hyperband, BOHB, BO and PBT,
and how many epochs each needs to reach random search's final median best error.

Run from the repository root:

    python benchmarks/bench_multifidelity.py                 # full size: 5 seeds, 270 epochs a run (~30 min, 2 cores)
    python benchmarks/bench_multifidelity.py --quick         # 2 seeds, 12 epochs a run, a small data set
    python benchmarks/bench_multifidelity.py --out benchmarks/results/multifidelity.md
    python benchmarks/bench_multifidelity.py --objectives error    # val_error alone (the goal's metric)
    python benchmarks/bench_multifidelity.py --objectives error --max-epochs 27 --budget 810 \
        --min-epochs 1,3,9 --only hyperband,bohb          # Hyperband/BOHB from 1, 3 and 9 epochs, beside random
    python benchmarks/bench_multifidelity.py ... --seeds 20 --first-seed 10   # fresh seeds 10-29 (a confirmatory run)
    python benchmarks/bench_multifidelity.py --objectives error --space jahs_cnn --max-epochs 27 --budget 810 \
        --only hyperband,bohb                    # seed 004's CNN space on mnist1d, whose low rungs rank well

The task: the seed-003 ``mlp`` space on ``mnist1d`` (2,000 generated samples, a stratified
holdout of 20 % for validation), top-1 validation error and parameter count, both minimised
(``--objectives error``: the error alone, so that Hyperband and BOHB promote by the metric the
goal is stated on, not by non-dominated rank and crowding, which also favours small models);
every trial trains for at most ``--max-epochs`` (R = 9) epochs, Adam at lr 1e-3, batch 128,
no early stopping, one thread. The default configuration (2 x 64 ReLU) is far from the
metric's ceiling there (its error is printed in the report, next to the best found).
``--space jahs_cnn`` searches seed 004's CNN space instead (1-D convolutions on mnist1d; its
learning rate, batch size, optimiser and weight decay override the protocol's), and
``--samples`` sets how many mnist1d samples are generated; each such task keeps its studies
in a folder of its own (:func:`default_studies`).

Equal epochs: every run gets the same budget, the epochs actually trained summed over its
trials (:func:`nasbench.comparison.trial_epochs`: a promoted trial that continues its
checkpoint counts only its new epochs). Random search, NSGA-II (population 8) and BO
(EI, on ParEGO's scalarisation with two objectives; the defaults) train every trial for R epochs; Hyperband and BOHB are synchronous
with ``max_fidelity`` = R and eta = 3 (brackets 9@1 3@3 1@9, 5@3 1@9, 3@9), and once more per
other minimum fidelity in ``--min-epochs`` (or with another ``--eta``), labelled with it; PBT runs
``budget // R`` members in steps of 3 epochs up to R each (so no model trains longer than
R epochs anywhere), exploring dropout, the space's one training hyperparameter. Each
(optimiser, seed) is a real :class:`nasbench.Study` run by
:class:`nasbench.comparison.Comparison`; only trials finished within the budget count.
Hypervolume uses the objective's fixed reference point (error 1, 1.1 x the space's largest
parameter count).

The seeds run one round at a time (every optimiser on seed 0, then seed 1, ...), and the
report is rewritten after each round, so a run stopped early still leaves a table for the
seeds it finished (its header says how many). Studies are kept under ``--studies``
(default ``benchmarks/results/multifidelity_studies``): a rerun reuses finished runs and
resumes unfinished ones; ``--fresh`` starts over (delete the folder after changing an
optimiser).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, environment, int_list, markdown_table, write_report  # noqa: E402

from nasbench import analysis  # noqa: E402
from nasbench.comparison import Comparison  # noqa: E402
from nasbench.objectives import TrainingObjective  # noqa: E402

DEFAULT_STUDIES = ROOT / "benchmarks" / "results" / "multifidelity_studies"
BASELINE = "random search"
GOAL_METHODS = ("hyperband", "bohb")  # registry names: every variant of these is judged
REGISTRY = ("nsga2", "random", "hyperband", "bohb", "bo", "pbt")
SIZES = {"full": {"n_samples": 2000, "max_epochs": 9, "budget": 270, "seeds": 5},
         "quick": {"n_samples": 400, "max_epochs": 3, "budget": 12, "seeds": 2}}


OBJECTIVES = {"error,size": {"val_error": "minimize", "n_params": "minimize"}, "error": {"val_error": "minimize"}}


SPACES = ("mlp", "jahs_cnn")  # the space presets offered on mnist1d (jahs_cnn: seed 004's, 1-D convolutions here)


def make_objective(n_samples: int, max_epochs: int, objectives: str = "error,size",
                   space: str = "mlp") -> TrainingObjective:
    return TrainingObjective("mnist1d", space, dict(OBJECTIVES[objectives]),
                             protocol={"max_epochs": max_epochs, "patience": None}, n_samples=n_samples,
                             threads=1)


def methods(max_epochs: int, budget: int, n_objectives: int = 2, *, eta: int = 3,
            min_epochs: Sequence[int] = (1,), only: Sequence[str] | None = None) -> dict[str, tuple[str, dict]]:
    """``{label: (registry name, options)}``; the options not given are Comparison's suggestions
    (NSGA-II's population, Hyperband's and BOHB's max_fidelity = R with eta 3). Hyperband and
    BOHB run once per minimum fidelity in ``min_epochs``; a variant other than eta 3 from 1
    epoch carries its settings in its label (and so in its own studies folder). ``only``:
    the registry names to keep (random search, the goal's baseline, always stays)."""
    step = min(3, max_epochs)
    pbt = {"config": {"population_size": max(2, budget // max_epochs), "step_epochs": step,
                      "max_epochs": max_epochs}}
    out = {"NSGA-II": ("nsga2", {}), BASELINE: ("random", {})}
    for low in min_epochs:
        plain = (eta, low) == (3, 1)  # the suggested options, as the earlier runs stored them
        tag, options = ("", {}) if plain else (f" (eta {eta}, from {low} epochs)", {"eta": eta, "min_fidelity": low})
        for label, name in (("Hyperband", "hyperband"), ("BOHB", "bohb")):
            out[label + tag] = (name, dict(options))
    out.update({"BO (ParEGO)" if n_objectives > 1 else "BO (EI)": ("bo", {}), "PBT": ("pbt", pbt)})
    if only is not None:
        out = {label: v for label, v in out.items() if label == BASELINE or v[0] in only}
    return out


# --- the numbers ------------------------------------------------------------------------------------
def epochs_to_reach(traces, column: str, target: float, budget: float, scale: float = 1.0,
                    lower_is_better: bool = True) -> dict[tuple[str, int], float]:
    """Per run, the epochs spent when ``column`` (divided by ``scale``) first reached
    ``target`` (inf when it did not within the budget)."""
    out = {}
    for (label, seed), t in traces.groupby(["optimizer", "seed"], sort=False):
        value = t[column] / scale
        reached = value <= target if lower_is_better else value >= target
        hit = t[reached & (t["epochs"] <= budget)]
        out[(label, seed)] = float(hit["epochs"].iloc[0]) if len(hit) else math.inf
    return out


def median_or_inf(values: list[float]) -> float:
    """The median, where a run that never reached counts as infinitely late."""
    return float(np.median(np.array(values, dtype=float))) if values else math.nan


def fmt(values: np.ndarray, digits: int = 3) -> str:
    q25, med, q75 = np.percentile(values, [25, 50, 75])
    return f"{med:.{digits}f} ({q25:.{digits}f}-{q75:.{digits}f})"


def fmt_epochs(median: float, reached: int, runs: int) -> str:
    head = "not reached" if math.isinf(median) else f"{median:.0f}"
    return f"{head} ({reached}/{runs} runs reach it)"


def summarise(cmp: Comparison, default_error: float, sizes: dict, seeds_done: int, first_seed: int = 0,
              rungs: Sequence[int] = (), eta: int = 3) -> str:
    """The markdown report: the task, the table, and the goal's verdict, all from the runs."""
    budget, half = cmp.budget, cmp.budget / 2
    err = cmp.final("best_val_error").set_index(["optimizer", "seed"])
    hv = cmp.final("hypervolume").set_index(["optimizer", "seed"])
    traces = cmp.traces()
    box = float(np.prod(cmp.reference_point))  # both metrics are >= 0: HV as a fraction of [0, ref]
    two = len(cmp.metrics) > 1  # one objective: the hypervolume is 1 - best error, left out
    base_err = err.loc[BASELINE, "best_val_error"].to_numpy()
    base_hv = hv.loc[BASELINE, "hypervolume"].to_numpy() / box
    target, target_hv = float(np.median(base_err)), float(np.median(base_hv))
    reach = epochs_to_reach(traces, "best_val_error", target, budget)
    reach_hv = epochs_to_reach(traces, "hypervolume", target_hv, budget, box, lower_is_better=False)
    rows, medians = [], {}
    for label in cmp.optimizers:
        e, h = err.loc[label, "best_val_error"].to_numpy(), hv.loc[label, "hypervolume"].to_numpy() / box
        runs = err.loc[label]
        to_reach = [reach[(label, s)] for s in runs.index]
        to_reach_hv = [reach_hv[(label, s)] for s in runs.index]
        medians[label] = median_or_inf(to_reach)
        p_err = p_hv = "-"
        if label != BASELINE:
            p_err = f"{analysis.compare_independent(e, base_err, (label, BASELINE))['p_value']:.3g}"
            p_hv = f"{analysis.compare_independent(h, base_hv, (label, BASELINE))['p_value']:.3g}"
        rows.append([label, len(e), fmt(e), p_err, *([fmt(h, 4), p_hv] if two else []),
                     fmt_epochs(medians[label], int(np.isfinite(to_reach).sum()), len(to_reach)),
                     *([fmt_epochs(median_or_inf(to_reach_hv), int(np.isfinite(to_reach_hv).sum()),
                                   len(to_reach_hv))] if two else []),
                     f"{runs['trials'].median():.0f}", f"{runs['wall_s'].median():.0f}"])
    judged = [label for label, (name, _) in cmp.optimizers.items() if name in GOAL_METHODS]
    verdicts = [f"{label}: {'not reached' if math.isinf(medians[label]) else f'{medians[label]:.0f} epochs'} "
                f"({'<=' if medians[label] <= half else '>'} {half:g}) -> "
                f"{'met' if medians[label] <= half else 'not met'}" for label in judged]
    met = bool(judged) and all(medians[label] <= half for label in judged)
    complete = "complete" if seeds_done == sizes["seeds"] else "INCOMPLETE: fewer seeds than planned"
    wall = float(err["wall_s"].sum())  # the runs' own wall times (a rerun that reuses them reports the same)
    head = (f"## Multi-fidelity baselines at equal epochs\n\n"
            f"{environment('torch', 'scipy', 'sklearn')}\n\n"
            f"Task: `{sizes.get('space', 'mlp')}` space on `mnist1d` ({sizes['n_samples']} samples, 20 % holdout), "
            f"{' and '.join(cmp.metrics)} (minimised), at most R = {sizes['max_epochs']} epochs a trial, no early stopping, 1 thread. "
            f"Default configuration: val_error {default_error:.3f} at R epochs (trial seed 0); best found by any run "
            f"{float(err['best_val_error'].min()):.3f}; random search's single trials at R epochs: median "
            f"{np.nanmedian(_trial_errors(cmp, BASELINE)):.3f}.\n\n"
            f"**Budget: {budget} epochs per run, {seeds_done} of {sizes['seeds']} seeds** "
            f"(seeds {first_seed}-{first_seed + sizes['seeds'] - 1}; {complete}); the runs' "
            f"wall times add up to {wall / 60:.1f} min ({os.cpu_count()} cores, load average "
            f"{os.getloadavg()[0]:.1f} when the report was written).\n\n"
            f"Cells: median (25th-75th percentile) over seeds of the value reached within the budget; "
            + (f"hypervolume as a fraction of the box from (0, 0) to the reference point "
               f"{tuple(round(v, 1) for v in cmp.reference_point)}; " if two else "")
            + f"trials and wall s: medians per run; p: two-sided "
            f"Mann-Whitney U vs random search (`nasbench.analysis.compare_independent`, not corrected). "
            f"\"epochs to reach\": median over seeds of the epochs spent when the run's best val_error first got "
            f"<= random search's final median best error ({target:.3f})"
            + (f", or its hypervolume >= random search's final median ({target_hv:.4f})" if two else "")
            + "; a run that never does counts as infinitely late.\n\n")
    table = markdown_table(["optimizer", "seeds", "best val_error", "p (error)",
                            *(["hypervolume (fraction)", "p (HV)"] if two else []),
                            f"epochs to reach error {target:.3f}",
                            *([f"epochs to reach HV {target_hv:.4f}"] if two else []), "trials", "wall s"], rows)
    goal = (f"\n\n**Goal** \"BOHB and Hyperband reach random search's final quality with at most half its epochs\" "
            f"(<= {half:g} of {budget}, on best val_error): {'; '.join(verdicts)}. "
            f"Overall: **{'met' if met else 'not met'}**.\n")
    ranking = rung_ranking(cmp, sizes["max_epochs"], rungs, eta)
    if ranking:
        goal += ("\n**How well the low rungs rank** (random search's trials, each trained to R epochs): "
                 f"the ranking at a rung is what Hyperband and BOHB cut on.\n\n"
                 + markdown_table(["epochs e", f"Spearman rho (val_error at e vs at {sizes['max_epochs']})",
                                   f"best tenth at {sizes['max_epochs']} kept by a top-1/{eta} cut at e", "trials"],
                                  ranking) + "\n")
    return head + table + goal


def default_studies(objectives: str, space: str, n_samples: int) -> Path:
    """Each task its own studies folder by default (a Study refuses to resume with another
    objective): ``multifidelity_studies`` for the first task, a suffix per setting changed."""
    task = [objectives] if objectives != "error,size" else []
    task += [space] if space != "mlp" else []
    task += [f"n{n_samples}"] if n_samples != SIZES["full"]["n_samples"] else []
    return DEFAULT_STUDIES.with_name("_".join([DEFAULT_STUDIES.name, *task]))


def rungs_below(max_epochs: int, min_epochs: Sequence[int], eta: int) -> list[int]:
    """The epochs at which Hyperband/BOHB cut (m, m*eta, ... below R), over every variant
    (the report adds the default ladder from 1 epoch, for comparison)."""
    out = set()
    for low in min_epochs:
        e = low
        while e < max_epochs:
            out.add(e)
            e *= eta
    return sorted(out)


def rung_ranking(cmp: Comparison, max_epochs: int, rungs: Sequence[int], eta: int) -> list[list[str]]:
    """How well a rung's ranking predicts the one at R, from random search's trials (each
    trained to R epochs, its val_error after every epoch kept in ``metrics_intermediate``):
    Spearman's rho between val_error after e and after R epochs, and the share of the best
    tenth at R that a cut to the top 1/eta at e keeps (one cut over all the trials at once)."""
    from scipy.stats import spearmanr

    column = list(cmp.metrics).index("val_error")
    curves = []
    for (label, _), df in cmp.frames().items():
        if label != BASELINE or "metrics_intermediate" not in df:
            continue
        for curve in df.loc[df["status"] == "done", "metrics_intermediate"]:
            at = {int(step): point[column] for step, point in (curve or [])}
            if all(e in at for e in (*rungs, max_epochs)):
                curves.append([at[e] for e in (*rungs, max_epochs)])
    if len(curves) < 10 or not rungs:
        return []
    A = np.array(curves, dtype=float)
    final = A[:, -1]
    best = np.argsort(final, kind="stable")[:max(1, len(final) // 10)]
    rows = []
    for i, e in enumerate(rungs):
        kept = set(np.argsort(A[:, i], kind="stable")[:max(1, len(final) // eta)].tolist())
        rows.append([str(e), f"{spearmanr(A[:, i], final)[0]:.2f}", f"{np.mean([b in kept for b in best]):.2f}",
                     str(len(final))])
    return rows


def _trial_errors(cmp: Comparison, label: str) -> np.ndarray:
    values = [df.loc[df["status"] == "done", "values_val_error"].to_numpy(dtype=float)
              for (lab, _), df in cmp.frames().items() if lab == label]
    return np.concatenate(values) if values else np.array([np.nan])


def _names(text: str) -> tuple[str, ...]:
    names = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = sorted(set(names) - set(REGISTRY))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown optimizer(s) {unknown or text!r}; use names from {','.join(REGISTRY)}")
    return names


# --- main -------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--out", type=Path, default=None, help="write the markdown report here")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per optimiser (default 5; quick 2)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="the first seed (default 0): fresh seeds for a confirmatory run, e.g. --first-seed 10")
    parser.add_argument("--budget", type=int, default=None, help="epochs per run (default 270; quick 12)")
    parser.add_argument("--max-epochs", type=int, default=None, help="R: epochs of a full trial (default 9; quick 3)")
    parser.add_argument("--studies", type=Path, default=None,
                        help=f"where the runs are kept (default {DEFAULT_STUDIES.relative_to(ROOT)}; quick: a temp dir)")
    parser.add_argument("--fresh", action="store_true", help="delete nasbench's studies there and start over")
    parser.add_argument("--objectives", choices=tuple(OBJECTIVES), default="error,size",
                        help="val_error and n_params (default), or val_error alone; each kept in its own studies folder")
    parser.add_argument("--eta", type=int, default=3, help="Hyperband's and BOHB's eta (default 3)")
    parser.add_argument("--min-epochs", type=int_list("minimum epochs", 1, "1,3"), default=(1,),
                        help="Hyperband's and BOHB's minimum fidelity; a comma list runs one variant each (default 1)")
    parser.add_argument("--space", choices=SPACES, default="mlp",
                        help="the search space on mnist1d: seed 003's mlp (default) or seed 004's jahs_cnn, whose "
                             "learning rate, batch size and optimiser spread the trials widely")
    parser.add_argument("--samples", type=int, default=None,
                        help="mnist1d samples generated (default 2000; quick 400)")
    parser.add_argument("--only", type=_names, default=None,
                        help=f"comma list of optimizers to run, of {','.join(REGISTRY)} (random search always runs)")
    args = parser.parse_args(argv)
    sizes = dict(SIZES["quick" if args.quick else "full"])
    for key, value in (("seeds", args.seeds), ("budget", args.budget), ("max_epochs", args.max_epochs),
                       ("n_samples", args.samples)):
        if value is not None:
            sizes[key] = value
    sizes["space"] = args.space
    if sizes["n_samples"] < 100:
        parser.error(f"--samples must be an integer >= 100 (20 of them validate), got {sizes['n_samples']}")
    if sizes["budget"] < sizes["max_epochs"]:
        parser.error(f"--budget ({sizes['budget']}) must be >= --max-epochs ({sizes['max_epochs']}): one full trial")
    if max(args.min_epochs) > sizes["max_epochs"]:
        parser.error(f"--min-epochs ({max(args.min_epochs)}) must be <= --max-epochs ({sizes['max_epochs']})")
    if args.first_seed < 0:
        parser.error(f"--first-seed must be an integer >= 0, got {args.first_seed}")
    if args.eta < 2:
        parser.error(f"--eta must be an integer >= 2, got {args.eta}")

    import tempfile

    tmp = tempfile.TemporaryDirectory() if args.quick and args.studies is None else None
    studies = Path(tmp.name) if tmp else (args.studies or DEFAULT_STUDIES)
    if args.studies is None and not tmp:
        studies = default_studies(args.objectives, args.space, sizes["n_samples"])
    objective = make_objective(sizes["n_samples"], sizes["max_epochs"], args.objectives, args.space)
    default_error = objective(objective.space.default(), seed=0)["val_error"]
    optimizers = methods(sizes["max_epochs"], sizes["budget"], len(objective.metrics), eta=args.eta,
                         min_epochs=args.min_epochs, only=args.only)
    start = time.perf_counter()
    done: list[int] = []
    seeds = range(args.first_seed, args.first_seed + sizes["seeds"])
    for seed in seeds:  # one round of every optimiser per seed: a partial table after each
        Comparison(studies, objective, optimizers, [seed], sizes["budget"], unit="epochs",
                   fresh=args.fresh).run(show_progress=False)
        done.append(seed)
        cmp = Comparison(studies, objective, optimizers, done, sizes["budget"], unit="epochs")
        cmp.run(show_progress=False)  # reloads the finished runs
        report = summarise(cmp, default_error, sizes, len(done), args.first_seed,
                           rungs_below(sizes["max_epochs"], sorted({1, *args.min_epochs}), args.eta), args.eta)
        if seed != seeds[-1]:
            print(f"[seed {seed} done, {(time.perf_counter() - start) / 60:.1f} min]", flush=True)
            if args.out is not None:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(report + "\n")
    write_report(report, args.out)
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
