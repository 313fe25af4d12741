"""Benchmark the baselines side by side: median (IQR) hypervolume on ZDT1 and DTLZ2, and the
optimisers' own cost per ask+tell next to one training trial.

Run from the repository root:

    python benchmarks/bench_baselines.py                 # full size: 200 and 1,000 evaluations, 10 seeds
    python benchmarks/bench_baselines.py --quick         # 16 and 40 evaluations, 2 seeds, small problems
    python benchmarks/bench_baselines.py --minutes 25 --out benchmarks/results/baselines.md
    python benchmarks/bench_baselines.py --reuse-only    # the table of the stored runs, none started

Methods (registry names of ``nasbench.optimizers``): nasbench ``nsga2`` and ``random``;
nasbench ``bo`` with ParEGO and with EHVI (EHVI is the 2-objective closed form, so not on
DTLZ2's 3 objectives); Optuna's ``optuna_tpe``, ``optuna_nsga2`` and ``optuna_gp``. Each
(method, problem, budget, seed) is a real ``nasbench.Study`` run in this process by
:class:`nasbench.comparison.Comparison` (its defaults: populations of a tenth of the budget,
8 to 100; everything else at the optimiser's defaults; BO runs inside a study, which asks
4 suggestions at a time with the kriging believer). Problems: ZDT1 with 10 variables (with
30, no method reaches inside the reference box within 200 evaluations) and DTLZ2 with 3
objectives and 12 variables; reference point 1.1 per objective; the indicator is the
hypervolume of all trials within the budget.

The model-based methods (TPE, both BOs, Optuna's GP) get expensive as observations grow.
The cheap ones run every seed at both budgets; then each model-based job gets an equal
share of the time left (``--minutes`` of wall time for the whole run, default 25) and runs
seed after seed while its share lasts: TPE (seconds a seed) at both budgets and the others
at 200 evaluations first, then the others at 1,000 only where one seed is estimated to fit
(its time per seed at 200 x 25). A further seed starts only
where the mean wall time of the runs so far still fits. The table says how many seeds each
cell holds, and the notes which runs were cut. Their seconds per ask+tell at 200
observations (BO, Optuna GP, BOHB) are measured first, next to one real training trial.

Every run is stored under ``--studies`` (default ``benchmarks/results/baselines_studies``),
so an interrupted benchmark resumes and a rerun reuses every stored seed whatever its
``--minutes`` (the table does not shrink); delete that folder after changing an optimiser.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, environment, markdown_table, timed, write_report  # noqa: E402
from bench_bo import observations  # noqa: E402

from nasbench.comparison import Comparison  # noqa: E402
from nasbench.objectives import DTLZ2, ZDT1, TrainingObjective  # noqa: E402
from nasbench.optimizers import make_optimizer  # noqa: E402
from nasbench.optimizers.base import Observation  # noqa: E402
from nasbench.space import preset  # noqa: E402

CHEAP = {"nasbench NSGA-II": ("nsga2", {}), "random search": ("random", {}), "Optuna NSGA-II": ("optuna_nsga2", {})}
MODEL = {"Optuna TPE": ("optuna_tpe", {}), "nasbench BO (ParEGO)": ("bo", {"config": {"multi_objective": "parego"}}),
      "nasbench BO (EHVI)": ("bo", {"config": {"multi_objective": "ehvi"}}),
      "Optuna GP": ("optuna_gp", {})}
DEFAULT_STUDIES = ROOT / "benchmarks" / "results" / "baselines_studies"


def problems(quick: bool) -> dict:
    # ZDT1 with 10 variables (as bench_bo.py): with 30, no method's trials reach inside the reference
    # box within 200 evaluations (measured: NSGA-II's and random search's hypervolume is 0 in 10 of 10 seeds)
    return {"ZDT1": ZDT1(n_var=5 if quick else 10), "DTLZ2": DTLZ2(n_obj=3, n_var=None if not quick else 5)}


def methods_for(problem, methods: dict) -> dict:
    return {k: v for k, v in methods.items() if not (len(problem.metrics) != 2 and "EHVI" in k)}


# --- the optimiser's own cost ----------------------------------------------------------------------
def ask_tell_seconds(name: str, options: dict, space, n_objectives: int, n_obs: int, repeats: int) -> float:
    """Best of ``repeats`` (ask(1) + tell(1)) after ``n_obs`` observations, each from the same
    state. nasbench's BO is told the observations directly (as ``bench_bo.py`` does); Optuna's
    GPSampler gets them as completed trials of an in-memory study (``add_trial``), then is timed
    through Optuna's own ask/tell (the adapter's replay would add its own cost)."""
    data = observations(space, n_objectives, n_obs + repeats)
    if name == "optuna_gp":
        return _optuna_gp_seconds(space, n_objectives, data, n_obs, repeats)
    opt = make_optimizer(name, space, n_objectives, seed=0, **options)
    opt.tell(data[:n_obs])
    state = json.dumps(opt.state_dict())
    best = float("inf")
    for r in range(repeats):
        fresh = make_optimizer(name, space, n_objectives, seed=0, **options)
        fresh.load_state_dict(json.loads(state))
        start = time.perf_counter()
        s = fresh.ask(1)[0]
        fresh.tell([Observation(n_obs, s.genome, data[n_obs + r].values)])
        best = min(best, time.perf_counter() - start)
    return best


def _optuna_gp_seconds(space, n_objectives: int, data: list[Observation], n_obs: int, repeats: int) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {n: optuna.distributions.FloatDistribution(0.0, 1.0) for n in space.names}  # ZDT/DTLZ: [0, 1]^d
    best = float("inf")
    for r in range(repeats):
        study = optuna.create_study(directions=["minimize"] * n_objectives,
                                    sampler=optuna.samplers.GPSampler(seed=r, warn_independent_sampling=False))
        for o in data[:n_obs]:
            study.add_trial(optuna.trial.create_trial(params=dict(zip(space.names, o.genome)), distributions=dists,
                                                      values=list(o.values)))
        start = time.perf_counter()
        trial = study.ask(dists)
        study.tell(trial, list(data[n_obs + r].values))
        best = min(best, time.perf_counter() - start)
    return best


def bohb_seconds(n_obs: int, repeats: int, max_fidelity: int) -> float:
    """BOHB on the ``mlp`` space driven through its own schedule for ``n_obs`` trials with
    synthetic values, then the mean seconds of the next ``repeats`` ask(1)+tell(1)."""
    space = preset("mlp")
    opt = make_optimizer("bohb", space, 1, seed=0, max_fidelity=max_fidelity, eta=3)
    rng = np.random.default_rng(0)
    times, told = [], 0
    while told < n_obs + repeats:
        start = time.perf_counter()
        s = opt.ask(1)
        if not s:  # a rung waits on nothing here (each ask is told at once), but stay safe
            break
        value = float(rng.random()) / (1 + (s[0].fidelity or 1))
        opt.tell([Observation(told, s[0].genome, (value,), fidelity=s[0].fidelity, warm_start=s[0].warm_start)])
        if told >= n_obs:
            times.append(time.perf_counter() - start)
        told += 1
    return float(np.mean(times))


def training_trial_seconds(epochs: int = 1) -> tuple[float, float]:
    """One real trial: the ``mlp`` preset's default on digits, ``epochs`` epochs (after a
    warm-up call that loads the data); and its ``jahs_cnn`` counterpart."""
    out = []
    for space in ("mlp", "jahs_cnn"):
        objective = TrainingObjective("digits", space, ["val_error"], protocol={"max_epochs": epochs})
        config = objective.space.default()
        objective(config, 0)
        out.append(timed(lambda: objective(config, 1))[0])
    return out[0], out[1]


# --- the quality runs ------------------------------------------------------------------------------
def run(label_methods: dict, problem, budget: int, seeds: int, studies: Path, tag: str) -> Comparison:
    cmp = Comparison(studies / f"{tag}_{budget}", problem, label_methods, seeds=seeds, budget=budget)
    cmp.run(show_progress=False)
    return cmp


def stored_seeds(label: str, problem, budget: int, seeds: int, studies: Path, tag: str) -> int:
    """How many of seeds 0, 1, ... already have a run stored (a rerun reuses them, or resumes
    one that was interrupted), so the table a rerun prints does not depend on the time left."""
    cmp = Comparison(studies / f"{tag}_{budget}", problem, {label: MODEL[label]}, seeds=seeds, budget=budget)
    n = 0
    while n < seeds and cmp.run_directory(label, n).exists():
        n += 1
    return n


def schedule(probs: dict, model: dict, budgets: tuple[int, int], seeds: int,
             studies: Path) -> list[list[tuple[int, str, str]]]:
    """The model-based runs as (budget, problem, method) in two phases; each phase shares the
    time left equally among the jobs still to run. First TPE at both budgets (seconds a seed at
    200, so it can afford 1,000) and the other methods at the small budget, those with no
    stored run before those with one (a first seed's length is unknown until it ends, so it
    goes where the later shares absorb an overrun); then the others at the large budget."""
    small, large = budgets
    pairs = [(p, k) for p in probs for k in methods_for(probs[p], model)]
    tpe = [(b, p, k) for b in budgets for p, k in pairs if model[k][0] == "optuna_tpe"]
    rest = [(small, p, k) for p, k in pairs if model[k][0] != "optuna_tpe"]
    rest.sort(key=lambda j: stored_seeds(j[2], probs[j[1]], j[0], seeds, studies, j[1].lower()) > 0)
    return [tpe + rest, [(large, p, k) for p, k in pairs if model[k][0] != "optuna_tpe"]]


def summary(cmp: Comparison, at: int, medians: dict, key: tuple) -> dict[str, str]:
    table = cmp.final_table("hypervolume", at=at).set_index("optimizer")
    for k, r in table.iterrows():
        medians[(*key, k)] = (float(r["median"]), int(r["runs"]))
    return {k: f"{r['median']:.4f} ({r['IQR']:.4f}, {int(r['runs'])} seeds)" for k, r in table.iterrows()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16 and 40 evaluations, 2 seeds, small problems")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=25.0,
                        help="wall-clock budget of the whole run; it sizes the model-based methods' seeds")
    parser.add_argument("--studies", type=Path, default=DEFAULT_STUDIES)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--reuse-only", action="store_true",
                        help="start no new model-based run: the table of the stored runs (a stored run that was "
                             "interrupted is still finished)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    budgets, seeds, n_obs = ((16, 40), 2, 20) if args.quick else ((200, 1000), args.seeds, 200)
    if args.quick:
        args.minutes = 0.5  # one seed per model-based method, none at the large budget
    studies = args.studies if not args.quick else Path(args.out or "/tmp/x").parent / "baselines_quick_studies"
    model = dict(MODEL)
    if args.quick:  # a smoke test: a few model-based asks only
        model = {k: (n, {"config": {**o["config"], "n_candidates": 200, "n_local": 20, "n_initial": 12}}) if n == "bo"
                 else (n, {"n_startup_trials": 14}) for k, (n, o) in MODEL.items()}
    probs = problems(args.quick)

    # 1. the optimisers' own seconds per ask+tell at n_obs observations, next to a training trial
    zdt = probs["ZDT1"]
    # Optuna GP: best of 2 (the first ask pays for importing torch and its first-call setup)
    cost = {k: ask_tell_seconds(n, o, zdt.space, 2, n_obs, 2 if args.quick or n == "optuna_gp" else 3)
            for k, (n, o) in model.items() if n != "optuna_tpe"}
    cost_rows = [[k, f"ZDT1 ({len(zdt.space)} variables)", n_obs, f"{v:.3f}"] for k, v in cost.items()]
    cost_rows.append(["nasbench BOHB", "mlp preset (R=27, eta=3)", n_obs, f"{bohb_seconds(n_obs, 10, 27):.4f}"])
    mlp_s, cnn_s = training_trial_seconds(1)
    cost_rows += [["one training trial: mlp default, digits, 1 epoch", "-", "-", f"{mlp_s:.3f}"],
                  ["one training trial: jahs_cnn default, digits, 1 epoch", "-", "-", f"{cnn_s:.3f}"]]

    # 2. the cheap methods at both budgets, every seed
    results: dict[tuple[str, int], dict[str, str]] = {}
    medians: dict[tuple, tuple[float, int]] = {}
    wall: dict[str, float] = {}
    for pname, p in probs.items():
        for b in budgets:
            t, cmp = timed(lambda: run(methods_for(p, CHEAP), p, b, seeds, studies, pname.lower()))
            wall[f"{pname} {b}: {', '.join(methods_for(p, CHEAP))}"] = t
            results[(pname, b)] = summary(cmp, b, medians, (pname, b))

    # 3. the model-based methods, seed after seed while their share of the time left lasts (see
    # schedule); at the large budget only where one seed is estimated to fit: its seconds per run
    # at the small budget times (large/small)^2 (a model's cost per ask grows with the observations)
    notes: list[str] = []
    per_seed: dict[tuple[str, str], float] = {}
    for jobs in schedule(probs, model, budgets, seeds, studies):
        for i, (b, pname, k) in enumerate(jobs):
            share = max(0.0, 60 * args.minutes - (time.perf_counter() - t0)) / (len(jobs) - i)
            estimate = per_seed.get((pname, k), 0.0) * (b / budgets[0]) ** 2
            stored = stored_seeds(k, probs[pname], b, seeds, studies, pname.lower())
            if args.reuse_only and not stored:
                notes.append(f"{k} on {pname}: not run at {b} evaluations (no stored run; --reuse-only)")
                results[(pname, b)][k] = "not run (see notes)"
                continue
            if b != budgets[0] and estimate > share and not stored:
                notes.append(f"{k} on {pname}: not run at {b} evaluations (one seed estimated at {estimate / 60:.0f} "
                             f"min from {per_seed[(pname, k)]:.0f} s a seed at {budgets[0]}; the time left allowed "
                             f"{share / 60:.1f} min)")
                results[(pname, b)][k] = "not run (too slow, see notes)"
                continue
            start = time.perf_counter()
            n = max(1, stored)
            cmp = run({k: model[k]}, probs[pname], b, n, studies, pname.lower())
            # one more seed only where the runs' own mean wall time (from their trials, so a
            # reused run counts what it cost when it ran) still fits in the share
            while not args.reuse_only and n < seeds and time.perf_counter() - start + float(cmp.final("hypervolume")["wall_s"].mean()) <= share:
                n += 1
                cmp = run({k: model[k]}, probs[pname], b, n, studies, pname.lower())
            wall[f"{pname} {b}: {k} ({n} seeds)"] = time.perf_counter() - start
            per_seed[(pname, k)] = float(cmp.final("hypervolume")["wall_s"].mean())
            if n < seeds:
                why = "the stored runs; --reuse-only" if args.reuse_only else "what its share of the time allowed"
                notes.append(f"{k} on {pname}: {n} seed(s) at {b} evaluations ({why}, "
                             f"{per_seed[(pname, k)]:.0f} s a seed), not {seeds}")
            results[(pname, b)].update(summary(cmp, b, medians, (pname, b)))

    # 4. the goal: BO at 200 reaches NSGA-II at 1,000 on ZDT1
    goal = goal_line(medians, budgets)

    labels = [*CHEAP, *MODEL]
    head = ["method", *[f"{p} @ {b}" for p in probs for b in budgets]]
    rows = [[k, *[results.get((p, b), {}).get(k, "n/a (EHVI: 2 objectives only)") for p in probs for b in budgets]]
            for k in labels]
    total = time.perf_counter() - t0
    report = "\n".join([
        "# Baselines: median (IQR) hypervolume, and the optimisers' own cost", "",
        environment("optuna", "sklearn", "scipy", "torch"), "",
        f"Total wall time {total / 60:.1f} min (budget {args.minutes:g} min, {seeds} seeds; the machine may be shared).",
        "",
        "## Hypervolume of all trials within the budget (reference 1.1 per objective): median (IQR, seeds)", "",
        markdown_table(head, rows), "", *[f"- {n}" for n in notes], "",
        "## Goal", "", goal, "",
        f"## Seconds per ask(1)+tell(1) at {n_obs} observations (best of 3; Optuna GP: best of 2; BOHB: mean of 10), next to one training trial",
        "", markdown_table(["what", "space", "observations", "seconds"], cost_rows), "",
        "## Wall time per group (s)", "", markdown_table(["group", "seconds"], [[k, f"{v:.0f}"] for k, v in wall.items()]),
    ])
    write_report(report, args.out)


def goal_line(medians: dict, budgets: tuple[int, int]) -> str:
    """Met / not met, from the data: each BO variant's median hypervolume on ZDT1 at the small
    budget against nasbench NSGA-II's median at the large one."""
    small, large = budgets
    target, n_target = medians[("ZDT1", large, "nasbench NSGA-II")]
    lines = [f"nasbench BO at {small} evaluations against nasbench NSGA-II at {large} on ZDT1 "
             f"(median {target:.4f}, {n_target} seeds):"]
    for k in ("nasbench BO (ParEGO)", "nasbench BO (EHVI)"):
        if ("ZDT1", small, k) not in medians:
            lines.append(f"- {k}: not run")
            continue
        got, n = medians[("ZDT1", small, k)]
        met = got >= target and got > 0
        why = "" if got > 0 or target > 0 else " (neither reaches inside the reference box)"
        lines.append(f"- {k}: median {got:.4f} ({n} seeds): **{'met' if met else 'not met'}**{why}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
