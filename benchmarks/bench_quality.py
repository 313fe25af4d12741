"""Benchmark search quality: nasbench's NSGA-II vs pymoo's NSGA2 vs Optuna's NSGAIISampler.

Run from the repository root:

    python benchmarks/bench_quality.py            # 4 problems x 3 methods x 10 seeds, 10,000 evaluations
    python benchmarks/bench_quality.py --quick    # 300 evaluations, population 20, 2 seeds: a smoke test
    python benchmarks/bench_quality.py --seeds 5 --evals 5000 --out benchmarks/results/quality.md

Problems: ZDT1, ZDT2, ZDT3 (30 variables) and DTLZ2 (3 objectives, 12
variables), all variables in [0, 1]. Each method runs with population 100 and
a budget of 10,000 evaluations per (problem, seed), seeds 0..9:

* ``nasbench``: ``Study.create(tmp, problem, optimizer="nsga2",
  optimizer_options={"config": {"population_size": 100}}, seed=s)`` and
  ``study.optimize(n_trials=10_000)`` (SQLite store included), nasbench's
  NSGA-II defaults (SBX eta 15, polynomial mutation eta 20, duplicate avoidance).
* ``nasbench_deap``: the same with ``vectorized=False``: each pair varied through DEAP's
  ``cxSimulatedBinaryBounded`` and ``mutPolynomialBounded``, not on arrays. Same
  distributions, another random stream. Not in the default set; it separates what the
  array path does from what the algorithm does.
* ``pymoo``: ``minimize(get_problem(name), NSGA2(pop_size=100), ("n_eval", 10_000),
  seed=s)`` on pymoo's own (vectorised) problem definitions, checked here to
  give the same objective values as nasbench's.
* ``optuna``: ``optuna.create_study(directions=["minimize"] * m,
  sampler=NSGAIISampler(population_size=100, seed=s))`` in memory, one
  ``suggest_float(name, 0, 1)`` per variable, evaluated by nasbench's problem,
  10,000 trials. Optuna's defaults are kept: uniform crossover (not SBX) and
  mutation by resampling a parameter at random.

The indicator is the same for all three: ``nasbench.hypervolume.hypervolume``
of *all evaluated points* (every trial / every pymoo evaluation, recorded by
wrapping the problem's ``_evaluate``) w.r.t. the reference point 1.1 per
objective. The true front's hypervolume (``problem.pareto_front(100_000)``)
is given for reference. Wall time covers the optimisation only, not the
indicator.

Runs are spread over ``--workers`` processes; each result is appended to a
JSON-lines file as soon as it finishes (``--results``), and runs already in
that file with the same budget and population are not repeated, so an
interrupted benchmark continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, environment, markdown_table, write_report  # noqa: E402

from nasbench.hypervolume import hypervolume  # noqa: E402
from nasbench.objectives import DTLZ2, ZDT1, ZDT2, ZDT3, Problem  # noqa: E402

PROBLEMS = ("zdt1", "zdt2", "zdt3", "dtlz2")
METHODS = ("nasbench", "pymoo", "optuna")
DEFAULT_RESULTS = ROOT / "benchmarks" / "results" / "quality.jsonl"


def nasbench_problem(name: str) -> Problem:
    return {"zdt1": ZDT1, "zdt2": ZDT2, "zdt3": ZDT3}[name](n_var=30) if name != "dtlz2" else DTLZ2(n_obj=3)


def pymoo_problem(name: str):
    """pymoo's definition of the same problem, with nasbench's variable count."""
    from pymoo.problems import get_problem

    if name == "dtlz2":
        return get_problem("dtlz2", n_var=12, n_obj=3)
    return get_problem(name, n_var=30)


def check_definitions(n: int = 200, seed: int = 0) -> dict[str, float]:
    """Largest |nasbench - pymoo| objective value per problem, on random points and on
    points of the Pareto set (x_1.. = 0 for ZDT, 0.5 for DTLZ2's distance variables)."""
    rng = np.random.default_rng(seed)
    gaps = {}
    for name in PROBLEMS:
        ours, theirs = nasbench_problem(name), pymoo_problem(name)
        assert theirs.n_var == len(ours.space) and theirs.n_obj == len(ours.metrics), name
        X = rng.random((2 * n, theirs.n_var))
        X[n:, len(ours.metrics) - 1:] = 0.5 if name == "dtlz2" else 0.0  # on the Pareto set
        expected = np.array([ours.evaluate(x) for x in X])
        diff = np.abs(theirs.evaluate(X) - expected)
        gaps[name] = float(diff.max())
        gaps[f"{name} on the Pareto set"] = float(diff[n:].max())
    return gaps


def describe_gaps(gaps: dict[str, float], tol: float = 1e-12) -> str:
    differ = [name for name in PROBLEMS if gaps[name] > tol]
    if not differ:
        return "nasbench's and pymoo's problem definitions agree on random points (checked)."
    parts = [f"{name} (max |diff| {gaps[name]:.3g} on random points, "
             f"{gaps[name + ' on the Pareto set']:.3g} on the Pareto set)" for name in differ]
    return ("nasbench's and pymoo's problem definitions DIFFER for " + "; ".join(parts) + "; the others "
            "agree. Each method runs on its own library's definition (Optuna on nasbench's).")


def reference(name: str) -> np.ndarray:
    return np.asarray(nasbench_problem(name).reference_point, dtype=float)


# --- one run per method; each returns (all evaluated minimised values, wall seconds) ---------------
def run_nasbench(name: str, seed: int, evals: int, pop: int, **config: Any) -> tuple[np.ndarray, float]:
    from nasbench.study import Study

    problem = nasbench_problem(name)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        study = Study.create(Path(tmp) / "study", problem, optimizer="nsga2",
                             optimizer_options={"config": {"population_size": pop, **config}}, seed=seed)
        study.optimize(n_trials=evals, show_progress=False)
        wall = time.perf_counter() - start
        df = study.trials_dataframe()
        if "trial_id" in df.columns:
            df = df.sort_values("trial_id")  # evaluation order, for the hypervolume at smaller budgets
        done = df[df["status"] == "done"]
        F = done[[f"values_{m.name}" for m in problem.metrics]].to_numpy(dtype=float)
        own = study.hypervolume()
        study.close()
    assert own is not None and np.isclose(own, hypervolume(F, reference(name)), rtol=1e-12), (own, name)
    return F, wall


def run_pymoo(name: str, seed: int, evals: int, pop: int) -> tuple[np.ndarray, float]:
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.optimize import minimize

    problem = pymoo_problem(name)
    record: list[np.ndarray] = []
    base = type(problem)

    class Recording(base):  # type: ignore[misc, valid-type]
        def _evaluate(self, x, out, *args, **kwargs):
            super()._evaluate(x, out, *args, **kwargs)
            record.append(np.array(out["F"], dtype=float))

    problem.__class__ = Recording
    start = time.perf_counter()
    minimize(problem, NSGA2(pop_size=pop), ("n_eval", evals), seed=seed, verbose=False)
    wall = time.perf_counter() - start
    return np.concatenate(record), wall


def run_optuna(name: str, seed: int, evals: int, pop: int) -> tuple[np.ndarray, float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    problem = nasbench_problem(name)
    names = problem.space.names

    def objective(trial: optuna.Trial) -> tuple[float, ...]:
        x = np.array([trial.suggest_float(v, 0.0, 1.0) for v in names])
        return tuple(float(f) for f in problem.evaluate(x))

    start = time.perf_counter()
    sampler = optuna.samplers.NSGAIISampler(population_size=pop, seed=seed)
    study = optuna.create_study(directions=["minimize"] * len(problem.metrics), sampler=sampler)
    study.optimize(objective, n_trials=evals)
    wall = time.perf_counter() - start
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return np.array([t.values for t in done], dtype=float), wall


def run_nasbench_deap(name: str, seed: int, evals: int, pop: int) -> tuple[np.ndarray, float]:
    return run_nasbench(name, seed, evals, pop, vectorized=False)


EARLY_BUDGETS = (1_000, 2_000)  # NAS studies are small: the hypervolume after this many evaluations too
RUNNERS = {"nasbench": run_nasbench, "nasbench_deap": run_nasbench_deap, "pymoo": run_pymoo, "optuna": run_optuna}


def run_one(problem: str, method: str, seed: int, evals: int, pop: int) -> dict[str, Any]:
    """One (problem, method, seed) run: its hypervolume, evaluation count and wall time."""
    F, wall = RUNNERS[method](problem, seed, evals, pop)
    budgets = sorted({b for b in EARLY_BUDGETS if b < evals} | {evals})
    # F is in evaluation order, so its first b rows are what a run with budget b had seen
    hv_at = {str(b): hypervolume(F[:b], reference(problem)) for b in budgets}
    return dict(problem=problem, method=method, seed=seed, evals=evals, pop=pop, n_evaluated=len(F),
                hv=hypervolume(F, reference(problem)), hv_at=hv_at, wall_s=wall)


def load_results(path: Path, evals: int, pop: int) -> list[dict[str, Any]]:
    """Results already in ``path`` for this budget and population."""
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["evals"] == evals and r["pop"] == pop]


def run_grid(problems: list[str], methods: list[str], seeds: list[int], evals: int, pop: int,
             workers: int, path: Path) -> list[dict[str, Any]]:
    """Run every missing (problem, method, seed), appending each result to ``path``."""
    rows = load_results(path, evals, pop)
    have = {(r["problem"], r["method"], r["seed"]) for r in rows}
    todo = [(p, m, s) for s in seeds for p in problems for m in methods if (p, m, s) not in have]
    path.parent.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_one, p, m, s, evals, pop) for p, m, s in todo]
        for future in as_completed(futures):
            row = future.result()
            with path.open("a") as fh:
                fh.write(json.dumps(row) + "\n")
            rows.append(row)
            print(f"{row['problem']} {row['method']} seed={row['seed']}: hv={row['hv']:.6f} "
                  f"evaluated={row['n_evaluated']} wall={row['wall_s']:.1f}s", file=sys.stderr, flush=True)
    wanted = {(p, m, s) for p in problems for m in methods for s in seeds}
    return [r for r in rows if (r["problem"], r["method"], r["seed"]) in wanted]


def true_front_hv(name: str, n: int = 100_000) -> float:
    problem = nasbench_problem(name)
    return hypervolume(problem.pareto_front(n), reference(name))


def median_gap_interval(a: np.ndarray, b: np.ndarray, level: float = 0.90, seed: int = 0) -> tuple[float, float]:
    """Bootstrap percentile interval (``level``, 9,999 resamples of each sample) of the
    relative difference of medians, ``(median(a) - median(b)) / median(b)``. A 90 %
    interval inside +-margin is the two one-sided tests (TOST) of equivalence at 5 % each
    (Schuirmann 1987). ``scipy.stats.bootstrap`` draws the resamples."""
    from scipy.stats import bootstrap

    def gap(x, y, axis=-1):
        return (np.median(x, axis=axis) - np.median(y, axis=axis)) / np.median(y, axis=axis)

    ci = bootstrap((a, b), gap, confidence_level=level, method="percentile", vectorized=True,
                   random_state=np.random.default_rng(seed)).confidence_interval
    return float(ci.low), float(ci.high)


def summarise_budgets(rows: list[dict[str, Any]], problems: list[str], methods: list[str],
                      margin: float | None = None) -> str:
    """Median [IQR] per budget; against each other method the median difference, the
    two-sided Mann-Whitney p and the 90 % bootstrap interval of the difference; with
    ``margin`` (per cent), whether that interval lies inside +-margin (equivalent)."""
    from scipy.stats import mannwhitneyu

    budgets = sorted({int(b) for r in rows for b in r.get("hv_at", {})})
    others = [m for m in methods if m != "nasbench"]
    head = ["problem", "evals"] + [f"{m} HV median [IQR]" for m in methods]
    head += [f"nasbench vs {m}: median diff %, p, 90 % interval" for m in others]
    if margin is not None:
        head += [f"within +-{margin:g} % of {m}" for m in others]
    body = []
    for p in problems:
        for b in budgets:
            hv = {m: np.array([r["hv_at"][str(b)] for r in rows if r["problem"] == p and r["method"] == m
                               and str(b) in r.get("hv_at", {})]) for m in methods}
            cells: list[Any] = [p, f"{b:,}"]
            for m in methods:
                if len(hv[m]) == 0:
                    cells.append("n/a")
                    continue
                q1, med, q3 = np.percentile(hv[m], [25, 50, 75])
                cells.append(f"{med:.4f} [{q1:.4f}, {q3:.4f}] (n={len(hv[m])})")
            verdicts = []
            for m in others:
                if "nasbench" not in hv or len(hv["nasbench"]) == 0 or len(hv[m]) == 0:
                    cells.append("n/a")
                    verdicts.append("n/a")
                    continue
                a, c = np.median(hv["nasbench"]), np.median(hv[m])
                if c == 0:  # no point inside the reference box yet: no relative difference
                    cells.append("tie at 0" if a == 0 else "n/a (other at 0)")
                    verdicts.append("n/a")
                    continue
                pval = mannwhitneyu(hv["nasbench"], hv[m], alternative="two-sided").pvalue
                low, high = median_gap_interval(hv["nasbench"], hv[m])
                cells.append(f"{100 * (a - c) / c:+.2f} %, p={pval:.3f}, [{100 * low:+.2f}, {100 * high:+.2f}] %")
                if margin is not None:
                    inside = -margin < 100 * low and 100 * high < margin
                    verdicts.append("yes" if inside else "no")
            body.append(cells + (verdicts if margin is not None else []))
    return markdown_table(head, body)


def summarise(rows: list[dict[str, Any]], problems: list[str], methods: list[str]) -> str:
    head = ["problem", "true front HV"]
    for m in methods:
        head += [f"{m} HV median [IQR]", f"{m} runs", f"{m} wall s (median)"]
    head += ["nasbench median >= others"]
    body = []
    for p in problems:
        cells: list[Any] = [p, f"{true_front_hv(p):.4f}"]
        medians = {}
        for m in methods:
            hv = np.array([r["hv"] for r in rows if r["problem"] == p and r["method"] == m])
            wall = [r["wall_s"] for r in rows if r["problem"] == p and r["method"] == m]
            if len(hv) == 0:
                cells += ["n/a", "0", "n/a"]
                continue
            q1, med, q3 = np.percentile(hv, [25, 50, 75])
            medians[m] = med
            cells += [f"{med:.4f} [{q1:.4f}, {q3:.4f}]", str(len(hv)), f"{np.median(wall):.1f}"]
        others = [v for k, v in medians.items() if k != "nasbench"]
        if "nasbench" not in medians or not others:
            cells.append("n/a")
        else:
            worse = [k for k, v in medians.items() if k != "nasbench" and medians["nasbench"] < v]
            cells.append("yes" if not worse else f"no (below {', '.join(worse)})")
        body.append(cells)
    return markdown_table(head, body)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 evaluations, population 20, 2 seeds (smoke test)")
    parser.add_argument("--out", type=Path, help="also write the markdown table here")
    parser.add_argument("--seeds", type=int, default=10, help="how many seeds (default 10: seeds 0..9)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="the first seed (default 0): fresh seeds for a confirmatory run, e.g. --first-seed 10")
    parser.add_argument("--evals", type=int, default=10_000, help="evaluations per run")
    parser.add_argument("--pop", type=int, default=100, help="population size")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=PROBLEMS)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(RUNNERS))
    parser.add_argument("--margin", type=float, default=None,
                        help="equivalence margin in per cent (e.g. 0.5): a column says whether the 90 %% bootstrap "
                             "interval of the median difference lies inside +-margin (two one-sided tests)")
    parser.add_argument("--results", type=Path, default=None,
                        help=f"JSON-lines file of finished runs (default {DEFAULT_RESULTS.relative_to(ROOT)}; "
                             "--quick uses a temporary file)")
    args = parser.parse_args(argv)
    seeds, evals, pop = (2, 300, 20) if args.quick else (args.seeds, args.evals, args.pop)
    if args.first_seed < 0 or seeds < 1:
        parser.error(f"--first-seed must be >= 0 and --seeds >= 1, got {args.first_seed} and {seeds}")
    if args.margin is not None and not args.margin > 0:
        parser.error(f"--margin must be a positive percentage such as 0.5, got {args.margin}")
    first = args.first_seed
    gaps = check_definitions()
    import optuna  # noqa: F401  imported before the workers fork, once
    import pymoo.algorithms.moo.nsga2  # noqa: F401

    with tempfile.TemporaryDirectory() as tmp:
        path = args.results or (Path(tmp) / "quality.jsonl" if args.quick else DEFAULT_RESULTS)
        start = time.perf_counter()
        rows = run_grid(args.problems, args.methods, list(range(first, first + seeds)), evals, pop, args.workers, path)
        total = time.perf_counter() - start
    report = "\n\n".join([
        f"Environment: {environment('deap', 'moocore', 'pymoo', 'optuna')}",
        f"### NSGA-II search quality: hypervolume of all evaluated points, reference 1.1 per objective "
        f"({evals:,} evaluations, population {pop}, seeds {first}..{first + seeds - 1}, {args.workers} worker processes; "
        f"this invocation {total:.0f} s)",
        summarise(rows, args.problems, args.methods),
        "Hypervolume after the first 1,000, 2,000 and all evaluations of the same runs "
        "(Mann-Whitney U, two-sided; the interval is a 90 % bootstrap percentile interval of the relative "
        "difference of medians):",
        summarise_budgets(rows, args.problems, args.methods, args.margin),
        describe_gaps(gaps) + " Wall times are per run, with the other worker busy on the second core. "
        "Optuna keeps its defaults (uniform crossover, random-resampling mutation); nasbench and pymoo "
        "use SBX + polynomial mutation.",
    ])
    write_report(report, args.out)


if __name__ == "__main__":
    main()
