"""Benchmark training-based evaluation: the trainer, one seed-000 evaluation, Dask, study overhead.

Run from the repository root:

    python benchmarks/bench_training.py            # the full measurements (about 10 minutes on 2 cores)
    python benchmarks/bench_training.py --quick    # tiny sizes: a smoke test
    python benchmarks/bench_training.py --out benchmarks/results/training.md
    python benchmarks/bench_training.py --throughput-only --busy-load --out benchmarks/results/training_busy.md
    python benchmarks/bench_training.py --load-only --out benchmarks/results/training_load.md   # ~3 minutes

1. Throughput (training samples/s) of nasbench's trainer (``train_epoch``: data
   resident on the device, batches as index slices of a device-side permutation)
   vs a textbook loop (``TensorDataset`` + ``DataLoader(shuffle=True)``, the usual
   ``for xb, yb in loader`` step) on the same model, initial weights, optimiser,
   batch size (128), epochs and data: the seed-004 CNN (``jahs_cnn`` default) on
   digits and the seed-003 MLP (``mlp`` default) on digits and on sinewave.
   Interleaved (one run of each loop, then again), best of ``--repeats``. Measured
   twice in the same run: with PyTorch's default intra-op thread count (one per
   core), then with ``torch.set_num_threads(1)``. On a small machine the default
   can be dominated by OpenMP threads spin-waiting for a core (another process
   running is enough), which hides the data-path difference; the one-thread
   table shows the loops' own ratio. The later measurements run with the default.
   ``--busy-load`` runs one busy-looping Python process beside both tables (a
   machine with something else running); ``--throughput-only`` stops after them.
2. One seed-000 evaluation: 3-fold CV, at most 50 epochs, patience 10, of the
   ``evo_cnn`` default on digits: wall time and epochs per fold.
3. A population of 16 trials (random ``jahs_cnn`` configurations, 5 epochs, holdout)
   on a 2-worker Dask ``LocalCluster`` (1 thread each) vs one process using both
   cores: trials/s, with and without the cluster's start-up.
4. The share of a study's wall time that is not training: NSGA-II on ``jahs_cnn``,
   digits, 3 generations of 8, 5 epochs; wall time minus the trials' own
   training time (``train_time``: model build, training and validation).
5. Training under load: one default ``evo_cnn`` evaluation on digits (3-fold CV, 10
   epochs, no early stop) with PyTorch's default threads, with one thread, and with
   nasbench's per-trial choice (``TrainingObjective(threads=None)``:
   :func:`nasbench.training.auto_threads`), idle and beside one CPU-bound process that
   the benchmark starts itself (``while True: pass``). Interleaved: per repeat, the
   three policies idle, then the three beside the busy process; best of ``--repeats``.
   Goals: idle, auto no slower than the default; beside the busy process, auto within
   1.3x of the one-thread time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_of, environment, markdown_table, write_report  # noqa: E402

import nasbench  # noqa: E402,F401  before torch, as a user would
import numpy as np  # noqa: E402
import torch  # noqa: E402

# nasbench leaves OMP_WAIT_POLICY alone (a PASSIVE default cost 2-4x on an idle machine);
# OMP_WAIT_POLICY= (empty) keeps libgomp's own default, with a warning from libgomp
OMP_WAIT_POLICY_AT_TORCH_IMPORT = {None: "unset", "": "'' (libgomp's default)"}.get(
    os.environ.get("OMP_WAIT_POLICY"), os.environ.get("OMP_WAIT_POLICY"))
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from nasbench.data import load_dataset  # noqa: E402
from nasbench.models import build_model  # noqa: E402
from nasbench.objectives import TrainingObjective  # noqa: E402
from nasbench.space import preset  # noqa: E402
from nasbench.study import Study  # noqa: E402
from nasbench.training import TrainConfig, train_epoch  # noqa: E402


def textbook_epochs(model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig, task: str,
                    epochs: int) -> None:
    """The DataLoader loop of every tutorial."""
    loader = DataLoader(TensorDataset(x, y), batch_size=cfg.batch_size, shuffle=True)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    loss_fn = nn.CrossEntropyLoss() if task == "classification" else nn.MSELoss()
    model.train()
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()


def nasbench_epochs(model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig, task: str,
                    epochs: int) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    generator = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        train_epoch(model, x, y, opt, cfg, task, generator)


def throughput(quick: bool, repeats: int, threads: int | None = None) -> list[list]:
    """Rows of the throughput table; with ``threads``, run under ``torch.set_num_threads(threads)``
    and restore the previous count afterwards."""
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _throughput(quick, repeats)
    finally:
        torch.set_num_threads(previous)


def _throughput(quick: bool, repeats: int) -> list[list]:
    epochs = 1 if quick else 10
    cases = [("seed-004 CNN (jahs_cnn default)", "jahs_cnn", "digits"), ("seed-003 MLP (mlp default)", "mlp", "digits"),
             ("seed-003 MLP (mlp default)", "mlp", "sinewave")]
    cfg = TrainConfig(batch_size=128)
    rows = []
    for label, space, dataset in cases:
        data = load_dataset(dataset)
        x, y = data.x, data.y
        n_out = data.n_classes or 1
        config = preset(space).default()
        torch.manual_seed(0)
        init = build_model(config, data.input_shape, n_out).state_dict()

        def fresh():
            model = build_model(config, data.input_shape, n_out)
            model.load_state_dict(init)
            return model

        times = {"textbook": float("inf"), "nasbench": float("inf")}
        for _ in range(repeats):  # interleaved: machine noise hits both loops alike
            for name, loop in (("textbook", textbook_epochs), ("nasbench", nasbench_epochs)):
                t = best_of(lambda: loop(fresh(), x, y, cfg, data.task, epochs), 1)[0]
                times[name] = min(times[name], t)
        samples = len(x) * epochs
        rows.append([label, dataset, epochs, f"{samples / times['textbook']:,.0f}", f"{samples / times['nasbench']:,.0f}",
                     f"{times['textbook'] / times['nasbench']:.2f}x"])
    return rows


def seed000_evaluation(quick: bool) -> list[list]:
    objective = TrainingObjective("digits", "evo_cnn", {"val_top3_accuracy": "maximize", "n_params": "minimize"},
                                  folds=3, protocol={"max_epochs": 2 if quick else 50, "patience": 10})
    start = time.perf_counter()
    scores = objective(objective.space.default(), seed=0)
    wall = time.perf_counter() - start
    return [["evo_cnn default, digits, 3-fold CV", f"{wall:.1f}", ", ".join(map(str, scores["epochs_per_fold"])),
             ", ".join(map(str, scores["best_epoch"])), f"{scores['val_top3_accuracy']:.4f}",
             f"{scores['val_accuracy']:.4f}", f"{scores['n_params']:,}"]]


def population(quick: bool) -> list[list]:
    from nasbench.evaluators import DaskEvaluator

    n, epochs = (4, 1) if quick else (16, 5)
    objective = TrainingObjective("digits", "jahs_cnn", ["val_error"], protocol={"max_epochs": epochs, "patience": None})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        Study.create(Path(tmp) / "serial", objective, optimizer="random", seed=0).optimize(n, show_progress=False)
        serial = time.perf_counter() - start
        start = time.perf_counter()
        with DaskEvaluator(n_workers=2, threads_per_worker=1) as ev:
            ev.parallelism  # start the cluster
            ready = time.perf_counter()
            Study.create(Path(tmp) / "dask", objective, optimizer="random", seed=0).optimize(
                n, evaluator=ev, show_progress=False)
            done = time.perf_counter()
    rows.append([f"one process ({torch.get_num_threads()} torch threads)", n, f"{serial:.1f}", f"{n / serial:.3f}", "1.00x", "-"])
    rows.append(["Dask LocalCluster, 2 workers x 1 thread", n, f"{done - ready:.1f} (+{ready - start:.1f} start)",
                 f"{n / (done - ready):.3f}", f"{serial / (done - ready):.2f}x", f"{serial / (done - start):.2f}x"])
    return rows


def overhead(quick: bool) -> list[list]:
    gens, pop, epochs = (2, 4, 1) if quick else (3, 8, 5)
    objective = TrainingObjective("digits", "jahs_cnn", ["val_error", "n_params"],
                                  protocol={"max_epochs": epochs, "patience": None})
    with tempfile.TemporaryDirectory() as tmp:
        study = Study.create(Path(tmp) / "s", objective, seed=0, optimizer_options={"config": {"population_size": pop}})
        start = time.perf_counter()
        study.optimize(gens * pop, show_progress=False)
        wall = time.perf_counter() - start
        df = study.trials_dataframe()
    training = float(df["metrics_train_time"].sum())
    other = wall - training
    return [[f"NSGA-II, jahs_cnn on digits, {gens} x {pop} trials, {epochs} epochs", f"{wall:.1f}", f"{training:.1f}",
             f"{other:.2f}", f"{100 * other / wall:.1f}%"]]


def under_load(quick: bool, repeats: int) -> tuple[list[list], list[list]]:
    """Section 5: rows of (policy, idle s, busy s) and the goal rows."""
    epochs = 1 if quick else 10
    default = torch.get_num_threads()
    policies = [(f"PyTorch's default ({default} threads)", default), ("torch.set_num_threads(1)", 1),
                ("nasbench auto (threads=None)", None)]
    best = {(name, load): float("inf") for name, _ in policies for load in ("idle", "busy")}
    chosen: dict[str, set] = {"idle": set(), "busy": set()}
    for _ in range(repeats):
        for load in ("idle", "busy"):
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if load == "busy" else None
            try:
                if busy is not None:
                    time.sleep(0.5)  # let it get going, as a competing job would be
                for name, threads in policies:
                    objective = TrainingObjective("digits", "evo_cnn", ["val_top3_accuracy"], folds=3, threads=threads,
                                                  protocol={"max_epochs": epochs, "patience": None})
                    objective.data  # loaded outside the timing
                    start = time.perf_counter()
                    scores = objective(objective.space.default(), seed=0)
                    best[(name, load)] = min(best[(name, load)], time.perf_counter() - start)
                    if threads is None:
                        chosen[load].add(scores["threads"])
            finally:
                if busy is not None:
                    busy.kill()
                    busy.wait()
    rows = [[name + (f" (chose {sorted(chosen['idle'])} idle, {sorted(chosen['busy'])} busy)" if t is None else ""),
             f"{best[(name, 'idle')]:.2f}", f"{best[(name, 'busy')]:.2f}",
             f"{best[(name, 'busy')] / best[(name, 'idle')]:.2f}x"] for name, t in policies]
    auto, one, dflt = (policies[2][0], policies[1][0], policies[0][0])
    idle_ratio = best[(auto, "idle")] / best[(dflt, "idle")]
    busy_ratio = best[(auto, "busy")] / best[(one, "busy")]
    busy_idle_ratio = best[(auto, "busy")] / best[(one, "idle")]
    goals = [["idle: auto no slower than PyTorch's default", f"{idle_ratio:.2f}x the default",
              "met" if idle_ratio <= 1.05 else "not met"],
             ["beside one busy process: auto within 1.3x of one thread", f"{busy_ratio:.2f}x one thread beside it, "
              f"{busy_idle_ratio:.2f}x one thread idle", "met" if busy_ratio <= 1.3 else "not met"]]
    return rows, goals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="write the markdown report here")
    parser.add_argument("--throughput-only", action="store_true", help="only the two throughput tables")
    parser.add_argument("--busy-load", action="store_true",
                        help="run one busy-looping Python process beside the throughput tables (a loaded "
                             "machine: shows the cost of PyTorch's default thread count)")
    parser.add_argument("--load-only", action="store_true",
                        help="only section 5: training idle and beside a busy process, three thread policies")
    args = parser.parse_args()
    if args.load_only:
        rows, goals = under_load(args.quick, 1 if args.quick else args.repeats)
        write_report("\n".join([
            f"# Training under load\n\nEnvironment: {environment('torch')}\n",
            f"## One evo_cnn evaluation (digits, 3-fold CV, {1 if args.quick else 10} epochs), best of the repeats\n",
            markdown_table(["threads", "idle (s)", "beside one busy process (s)", "busy / idle"], rows),
            "\n## Goals\n", markdown_table(["goal", "result", "verdict"], goals)]), args.out)
        return
    torch.set_num_threads(torch.get_num_threads())
    default_threads = torch.get_num_threads()
    repeats = 1 if args.quick else args.repeats
    head = ["model", "data", "epochs", "textbook (samples/s)", "nasbench (samples/s)", "speed-up"]
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy_load else None
    try:
        default_rows = throughput(args.quick, repeats)
        one_thread_rows = throughput(args.quick, repeats, threads=1)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    load = " (with one busy-looping process beside them: --busy-load)" if busy is not None else ""
    parts = [f"# Training benchmarks\n\nEnvironment: {environment('torch', 'distributed')}, "
             f"torch.get_num_threads() = {default_threads} (intra-op, the default), "
             f"torch.get_num_interop_threads() = {torch.get_num_interop_threads()}, "
             f"OMP_NUM_THREADS = {os.environ.get('OMP_NUM_THREADS', 'unset')}, "
             f"OMP_WAIT_POLICY = {OMP_WAIT_POLICY_AT_TORCH_IMPORT} (when torch was imported)\n",
             f"## Trainer throughput vs a textbook DataLoader loop{load} (goal: CNN >= 1.2x, MLP >= 1.5x)\n",
             f"### PyTorch's default, {default_threads} intra-op threads\n",
             markdown_table(head, default_rows),
             "\n### The same comparison with `torch.set_num_threads(1)` (same run)\n",
             markdown_table(head, one_thread_rows)]
    if args.throughput_only:
        write_report("\n".join(parts), args.out)
        return
    parts += [f"\nThe sections below run with the default {default_threads} threads again"
              f"{' and without the busy process' if busy is not None else ''}.\n",
              "\n## One seed-000 evaluation (3-fold CV, <= 50 epochs, patience 10)\n",
              markdown_table(["model", "wall (s)", "epochs per fold", "best epoch per fold", "top-3 acc", "top-1 acc",
                              "parameters"], seed000_evaluation(args.quick)),
              "\n## A population of 16 trials: 2-worker Dask LocalCluster vs one process (goal >= 1.3x)\n",
              markdown_table(["evaluator", "trials", "wall (s)", "trials/s", "throughput vs one process",
                              "incl. cluster start"], population(args.quick)),
              "\n## Share of a study's wall time that is not training (goal < 5%)\n",
              markdown_table(["study", "wall (s)", "training (s)", "other (s)", "not training"], overhead(args.quick))]
    write_report("\n".join(parts), args.out)


if __name__ == "__main__":
    main()
