"""Benchmark nasbench's GP Bayesian optimisation: seconds per ask at N observations.

Run from the repository root:

    python benchmarks/bench_bo.py                # 200 observations, default settings
    python benchmarks/bench_bo.py --quick        # 40 observations, 300 candidates: a smoke test
    python benchmarks/bench_bo.py --out benchmarks/results/bo.md

For each space (seed 004's ``jahs_cnn``: 14 parameters, 25 encoded inputs; ZDT1 with
10 variables) and each acquisition (EI on one objective; ParEGO and EHVI on two), an
optimiser is told N random configurations with synthetic values (a fixed random
linear function of the encoding, plus a quadratic term, for the presets), then asked
for 1 and for 4 suggestions; the time is the best of ``--repeats`` asks, each from the
same saved state. It is the optimiser's own time: no training, no study.

The baseline, in the same run: the same ask with scikit-learn's own L-BFGS-B objective
(its generic kernel gradient, which builds an n x n x d tensor), as nasbench ran it before
the hand-written Matern 5/2 likelihood (``matern52_log_marginal_likelihood``). Both find the
same hyperparameters, so the suggestions are the same; the ratio is the speed-up.
``--observations 200,1000`` measures each size in turn.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_of, environment, int_list, markdown_table, write_report  # noqa: E402

from nasbench.objectives import ZDT1  # noqa: E402
from nasbench.optimizers.base import Observation  # noqa: E402
from nasbench.optimizers import bayesian  # noqa: E402
from nasbench.optimizers.bayesian import BayesianOptimization, GenomeEncoder  # noqa: E402
from nasbench.space import SearchSpace, preset  # noqa: E402

METHODS = {"EI": (1, {"acquisition": "ei"}), "ParEGO (EI)": (2, {"multi_objective": "parego"}),
           "EHVI": (2, {"multi_objective": "ehvi"})}


def observations(space: SearchSpace, n_objectives: int, n: int, seed: int = 0) -> list[Observation]:
    """``n`` random configurations with smooth synthetic values (minimised)."""
    rng = np.random.default_rng(seed)
    encoder = GenomeEncoder(space)
    weights = rng.normal(size=(encoder.dim, n_objectives))
    out = []
    for i in range(n):
        genome = space.sample_genome(rng)
        x = encoder.encode(genome)
        values = x @ weights + ((x - 0.5) ** 2).sum()
        out.append(Observation(i, genome, tuple(float(v) for v in values)))
    return out


def seconds_per_ask(space: SearchSpace, method: str, n_obs: int, batch: int, repeats: int, config: dict,
                    sklearn_gradient: bool = False) -> float:
    n_objectives, options = METHODS[method]
    opt = BayesianOptimization(space, n_objectives, {**options, **config}, seed=0)
    opt.tell(observations(space, n_objectives, n_obs))
    state = json.dumps(opt.state_dict())

    def ask() -> None:
        fresh = BayesianOptimization(space, n_objectives, {**options, **config}, seed=1)
        fresh.load_state_dict(json.loads(state))
        fresh.ask(batch)

    fast = bayesian._fast_lbfgs
    if sklearn_gradient:  # the baseline: scikit-learn's default optimizer on its own objective
        bayesian._fast_lbfgs = lambda X, y: "fmin_l_bfgs_b"
    try:
        return best_of(ask, repeats)[0]
    finally:
        bayesian._fast_lbfgs = fast


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 observations, 300 candidates, 1 repeat")
    parser.add_argument("--observations", type=int_list("each number of observations", 2, "200,1000"), default=(200,),
                        help="comma list (default 200)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    sizes, repeats, config = args.observations, args.repeats, {}
    if args.quick:
        sizes, repeats, config = (40,), 1, {"n_candidates": 300, "n_local": 50}
    spaces = {"jahs_cnn": preset("jahs_cnn"), "zdt1 (10 variables)": ZDT1(n_var=10).space}
    rows = []
    for n_obs in sizes:
        for label, space in spaces.items():
            for method in METHODS:
                one, four = (seconds_per_ask(space, method, n_obs, b, repeats, config) for b in (1, 4))
                before = seconds_per_ask(space, method, n_obs, 1, repeats, config, sklearn_gradient=True)
                rows.append([label, GenomeEncoder(space).dim, method, n_obs, f"{one:.2f}", f"{four:.2f}",
                             f"{before:.2f}", f"{before / one:.1f}x"])
    head = ["space", "inputs", "acquisition", "observations", "s per ask(1)", "s per ask(4)",
            "s per ask(1), scikit-learn's gradient", "speed-up"]
    report = "\n".join([f"# GP Bayesian optimisation: seconds per ask (best of {repeats})", "",
                        environment("sklearn", "scipy"), "", markdown_table(head, rows)])
    write_report(report, args.out)


if __name__ == "__main__":
    main()
