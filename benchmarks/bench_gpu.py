"""The trainer's CUDA paths, checked and timed on one GPU.

Run from the repository root:

    python benchmarks/bench_gpu.py --out benchmarks/results/gpu.md   # ~3 minutes on one H200
    python benchmarks/bench_gpu.py --quick                           # tiny sizes: a smoke test

On a machine without CUDA the checks that need it say ``skipped (no GPU)`` and the
timings run on the CPU alone, so the script is tested on every machine; it exits 1 when
a check fails. The checks (one row each, with what was seen):

1. placement: ``device="auto"`` resolves to CUDA; during a fit every Conv2d/Linear
   layer sees its input and weights on the GPU; the weights a fit returns are on the CPU
   (they go to the store); :func:`nasbench.training.score` records the device.
2. bf16 autocast: with ``amp=True`` (the default) every Conv2d/Linear output is
   bfloat16, in training and in evaluation, and the loss stays float32; ``amp=False``
   gives float32 throughout.
3. channels_last: the conv weights and every 4-D conv input are channels_last.
4. cuDNN flags: ``benchmark`` and ``deterministic`` come back after a fit with
   ``cudnn_benchmark=True``, and after one that raises.
5. RNG: a fit leaves the global CPU and CUDA generators as it found them.
6. repeatability: two fits with the same seed, compared epoch by epoch (reported, not
   required: cuDNN may choose kernels whose reductions are not ordered); and how closely
   the weights a fit returns repeat its recorded validation scores, on its own path, in
   float32 on the GPU and on the CPU.
7. out of memory: a forward pass that asks for twice the card's memory raises
   :class:`nasbench.training.OutOfMemory` naming the fix; the allocator's memory comes
   back to where it was; in a :class:`~nasbench.study.Study` that trial is recorded
   failed with that one line and the trials beside it are done.

Timings (best of ``--repeats``, the devices interleaved):

8. one default ``evo_cnn`` evaluation on digits (seed 000's protocol: 3-fold CV, here 10
   epochs without early stopping): GPU against the CPU (all its cores);
9. trainer throughput (training samples/s, ``train_epoch``) on digits upsampled to 32x32,
   batch 256, of the ``evo_cnn`` and ``jahs_cnn`` defaults and the ``jahs_cnn``
   configuration with the most MACs: bf16 autocast or float32, channels_last or NCHW, on
   the GPU; the defaults on the CPU too;
10. a whole study: 16 random ``jahs_cnn`` trials on digits, 5 epochs, holdout, GPU
    against CPU.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import environment, markdown_table, write_report  # noqa: E402

import nasbench  # noqa: E402,F401  before torch, as a user would
import torch  # noqa: E402
from torch import nn  # noqa: E402

from nasbench.data import load_dataset  # noqa: E402
from nasbench.models import build_model  # noqa: E402
from nasbench.objectives import TrainingObjective  # noqa: E402
from nasbench.space import Categorical, SearchSpace, preset  # noqa: E402
from nasbench.study import Study  # noqa: E402
from nasbench.training import OutOfMemory, TrainConfig, evaluate, fit, resolve_device, score, train_epoch  # noqa: E402

CUDA = torch.cuda.is_available()
SKIPPED = "skipped (no GPU)"


class Probe:
    """Forward hooks on every Conv2d/Linear layer of a model, recording what each call saw:
    the input's device and memory format, the weight's device and format, the output's
    dtype, and whether the model was training."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def attach(self, model: nn.Module) -> nn.Module:
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.register_forward_hook(self._hook)
        return model

    def _hook(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        x = inputs[0]
        self.calls.append({
            "kind": type(module).__name__, "training": module.training,
            "input_device": x.device.type, "weight_device": module.weight.device.type,
            "input_channels_last": x.dim() != 4 or x.is_contiguous(memory_format=torch.channels_last),
            "weight_channels_last": module.weight.dim() != 4
            or module.weight.is_contiguous(memory_format=torch.channels_last),
            "output_dtype": str(output.dtype).replace("torch.", "")})


def digits_split(image_size: int | None = None):
    data = load_dataset("digits", image_size=image_size)
    n_val = len(data.x) // 5
    perm = torch.randperm(len(data.x), generator=torch.Generator().manual_seed(0))
    va, tr = perm[:n_val], perm[n_val:]
    return data, (data.x[tr], data.y[tr]), (data.x[va], data.y[va])


def factory_for(space: str, data, probe: Probe | None = None):
    config = preset(space).default()

    def factory() -> nn.Module:
        model = build_model(config, data.input_shape, data.n_classes)
        return probe.attach(model) if probe is not None else model
    return factory


def check(rows: list, name: str, ok: bool | None, seen: str) -> None:
    rows.append([name, SKIPPED if ok is None else ("passed" if ok else "**FAILED**"), seen])


def checks(quick: bool) -> list[list]:
    """Rows of the checks table: name, verdict, what was seen."""
    rows: list[list] = []
    device = resolve_device("auto")
    check(rows, "device='auto'", (device.type == "cuda") if CUDA else None, f"resolves to {device}")
    data, train, val = digits_split()
    epochs = 2 if quick else 3

    for amp in (True, False):
        probe = Probe()
        result = fit(factory_for("jahs_cnn", data, probe), train, val, TrainConfig(max_epochs=epochs, amp=amp),
                     task="classification", seed=0)
        calls = probe.calls
        if not CUDA:
            if amp:
                check(rows, "placement", None, f"{len(calls)} layer calls on {sorted({c['input_device'] for c in calls})}")
                check(rows, "autocast", None, f"layer outputs {sorted({c['output_dtype'] for c in calls})}")
                check(rows, "channels_last", None, "")
            continue
        dtypes = sorted({c["output_dtype"] for c in calls})
        by_phase = {phase: sorted({c["output_dtype"] for c in calls if c["training"] == phase}) for phase in (True, False)}
        want = "bfloat16" if amp else "float32"
        check(rows, f"autocast, amp={amp}", dtypes == [want] and all(by_phase.values()),
              f"layer outputs {dtypes} (training {by_phase[True]}, evaluation {by_phase[False]}); "
              f"val_loss {result.metrics['val_loss']:.4f}")
        if amp:
            on_gpu = all(c["input_device"] == "cuda" and c["weight_device"] == "cuda" for c in calls)
            returned = sorted({v.device.type for v in result.state_dict.values()})
            check(rows, "placement", on_gpu and returned == ["cpu"],
                  f"{len(calls)} layer calls, inputs and weights on "
                  f"{sorted({c['input_device'] for c in calls} | {c['weight_device'] for c in calls})}; "
                  f"returned weights on {returned}")
            convs = [c for c in calls if c["kind"] == "Conv2d"]
            check(rows, "channels_last", bool(convs) and all(c["input_channels_last"] and c["weight_channels_last"]
                                                             for c in convs),
                  f"{sum(c['input_channels_last'] for c in convs)}/{len(convs)} conv inputs, "
                  f"{sum(c['weight_channels_last'] for c in convs)}/{len(convs)} conv weights channels_last")

    scores, _ = score(factory_for("jahs_cnn", data), data, TrainConfig(max_epochs=1), val_fraction=0.2, seed=0)
    check(rows, "score() records the device", scores["device"] == str(device), f"device metric {scores['device']!r}")

    cudnn = torch.backends.cudnn
    before = (cudnn.benchmark, cudnn.deterministic)
    fit(factory_for("jahs_cnn", data), train, val, TrainConfig(max_epochs=1, cudnn_benchmark=True),
        task="classification", seed=0)
    after_fit = (cudnn.benchmark, cudnn.deterministic)

    def diverge(epoch: int, scores: dict) -> None:
        raise RuntimeError("stopped on purpose")
    try:
        fit(factory_for("jahs_cnn", data), train, val, TrainConfig(max_epochs=2, cudnn_benchmark=True),
            task="classification", seed=0, on_epoch=diverge)
    except RuntimeError:
        pass
    after_raise = (cudnn.benchmark, cudnn.deterministic)
    check(rows, "cuDNN flags restored", after_fit == before and after_raise == before,
          f"(benchmark, deterministic) before {before}, after a fit {after_fit}, after a raising fit {after_raise}")

    cpu_state = torch.get_rng_state()
    cuda_state = torch.cuda.get_rng_state() if CUDA else None
    first = fit(factory_for("jahs_cnn", data), train, val, TrainConfig(max_epochs=epochs), task="classification", seed=3)
    same_cpu = torch.equal(cpu_state, torch.get_rng_state())
    same_cuda = torch.equal(cuda_state, torch.cuda.get_rng_state()) if CUDA else True
    check(rows, "global RNG untouched", same_cpu and same_cuda,
          f"CPU generator {'unchanged' if same_cpu else 'changed'}, CUDA generator "
          f"{('unchanged' if same_cuda else 'changed') if CUDA else 'n/a'}")

    second = fit(factory_for("jahs_cnn", data), train, val, TrainConfig(max_epochs=epochs), task="classification", seed=3)
    curves = [[row["val_loss"] for row in r.learning_curve] for r in (first, second)]
    equal = curves[0] == curves[1]
    gap = max(abs(a - b) for a, b in zip(*curves))
    weights_equal = all(torch.equal(first.state_dict[k], second.state_dict[k]) for k in first.state_dict)
    rows.append(["repeatability (same seed twice)", "bit for bit" if equal and weights_equal else "not bit for bit",
                 f"val_loss per epoch {'equal' if equal else f'differs by up to {gap:.2e}'}; best weights "
                 f"{'equal' if weights_equal else 'differ'} (on {device})"])

    rows += reproduced(data, train, val, epochs)
    rows += out_of_memory(data, train, val)
    return rows


def reproduced(data, train, val, epochs: int) -> list[list]:
    """How closely a fit's returned weights repeat its recorded validation loss and accuracy:
    on the fit's own path (bf16 autocast, channels_last), in float32 on the GPU (TF32
    convolutions, PyTorch's default) and in float32 on the CPU."""
    if not CUDA:
        return [["weights reproduce the recorded metrics", SKIPPED, "on the CPU: tests/test_training.py, to 1e-6"]]
    result = fit(factory_for("jahs_cnn", data), train, val, TrainConfig(max_epochs=epochs), task="classification",
                 seed=0)
    model = factory_for("jahs_cnn", data)()
    model.load_state_dict(result.state_dict)
    n = len(val[1])
    seen, own = [], None
    for label, device, amp in (("own path", "cuda", True), ("float32 on the GPU", "cuda", False),
                               ("float32 on the CPU", "cpu", False)):
        fmt = torch.channels_last if device == "cuda" else torch.contiguous_format
        again = evaluate(model.to(device).to(memory_format=fmt), val[0].to(device).contiguous(memory_format=fmt),
                         val[1].to(device), "classification", amp=amp)
        loss_gap = abs(again["loss"] - result.metrics["val_loss"]) / result.metrics["val_loss"]
        samples = round(abs(again["accuracy"] - result.metrics["val_accuracy"]) * n)
        own = loss_gap if own is None else own
        seen.append(f"{label}: loss off by {loss_gap:.1e} (relative), accuracy by {samples} of {n} samples")
    return [["weights reproduce the recorded metrics", "passed" if own < 1e-6 else "**FAILED**", "; ".join(seen)]]


class Greedy(nn.Module):
    """A model whose forward pass asks the GPU for ``nbytes`` first: an architecture too
    large for the card, without building one. Plain allocations, so a refusal is at once."""

    def __init__(self, inner: nn.Module, nbytes: int) -> None:
        super().__init__()
        self.inner, self.nbytes = inner, nbytes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_cuda:
            torch.empty(self.nbytes, dtype=torch.uint8, device=x.device)
        return self.inner(x)


def out_of_memory(data, train, val) -> list[list]:
    rows: list[list] = []
    if not CUDA:
        check(rows, "out of memory in a fit", None, "a CPU allocation that large would not fail at once")
        check(rows, "out of memory in a study", None, "")
        return rows
    nbytes = 2 * torch.cuda.get_device_properties(0).total_memory
    small = factory_for("jahs_cnn", data)
    gc.collect()
    before = torch.cuda.memory_allocated()
    try:
        fit(lambda: Greedy(small(), nbytes), train, val, TrainConfig(max_epochs=1), task="classification", seed=0)
        raised = "nothing"
    except OutOfMemory as exc:
        raised = f"OutOfMemory: {exc}"
    except Exception as exc:  # noqa: BLE001 - reported as the wrong exception
        raised = f"{type(exc).__name__}: {exc}"
    gc.collect()
    after = torch.cuda.memory_allocated()
    check(rows, "out of memory in a fit", raised.startswith("OutOfMemory") and "batch_size" in raised and after == before,
          f"raised {raised[:160]!r}; allocated {before:,} B before, {after:,} B after")

    def objective(config, seed):
        grow = nbytes if config["memory"] == "too_much" else 0
        scores, _ = score(lambda: Greedy(small(), grow) if grow else small(), data, TrainConfig(max_epochs=1),
                          val_fraction=0.2, seed=seed)
        return {"val_error": scores["val_error"]}

    space = SearchSpace((Categorical("memory", ("fits", "too_much", "fits_again")),))
    with tempfile.TemporaryDirectory() as tmp:
        study = Study.create(Path(tmp) / "oom", objective, space=space, metrics=["val_error"], optimizer="grid")
        study.optimize(3, show_progress=False)
        df = study.trials_dataframe()
        study.close()
    status = dict(zip(df["params_memory"], df["status"]))
    error = str(df.loc[df["params_memory"] == "too_much", "error"].iloc[0])
    gc.collect()
    check(rows, "out of memory in a study",
          status == {"fits": "done", "too_much": "failed", "fits_again": "done"} and error.startswith("OutOfMemory")
          and "\n" not in error and torch.cuda.memory_allocated() == before,
          f"statuses {status}; the error {error[:120]!r}; allocated after the study "
          f"{torch.cuda.memory_allocated():,} B")
    return rows


def devices() -> list[str]:
    return ["cuda", "cpu"] if CUDA else ["cpu"]


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def evaluation_times(quick: bool, repeats: int) -> list[list]:
    epochs = 1 if quick else 10
    objective = {d: TrainingObjective("digits", "evo_cnn", {"val_top3_accuracy": "maximize", "n_params": "minimize"},
                                      folds=3, protocol={"max_epochs": epochs, "patience": None, "device": d})
                 for d in devices()}
    times = {d: float("inf") for d in objective}
    seen = {}
    for _ in range(repeats):
        for d, obj in objective.items():
            start = time.perf_counter()
            seen[d] = obj(obj.space.default(), seed=0)
            synchronize(d)
            times[d] = min(times[d], time.perf_counter() - start)
    base = times["cpu"]
    return [[d, f"{times[d]:.2f}", f"{base / times[d]:.1f}x", f"{seen[d]['val_top3_accuracy']:.4f}",
             f"{seen[d]['val_accuracy']:.4f}", seen[d]["device"]] for d in objective]


def throughput_cases(quick: bool) -> list[tuple[str, dict, bool]]:
    """(label, configuration, also on the CPU): the two CNN presets' defaults and the
    ``jahs_cnn`` configuration with the most MACs (:func:`nasbench.models.largest_configs`)."""
    from nasbench.models import largest_configs

    cases = [("evo_cnn default", preset("evo_cnn").default(), True),
             ("jahs_cnn default", preset("jahs_cnn").default(), True)]
    if not quick:
        size = 32
        cases.append(("jahs_cnn, most MACs", largest_configs(preset("jahs_cnn"), (1, size, size), 10)["macs"], False))
    return cases


def throughput(quick: bool, repeats: int) -> list[list]:
    from nasbench.models import count_macs

    epochs = 1 if quick else 5
    batch = 256
    size = 16 if quick else 32
    data = load_dataset("digits", image_size=size)
    paths = [("cuda", True, True, "bf16 autocast + channels_last"),
             ("cuda", True, False, "bf16 autocast, NCHW"),
             ("cuda", False, True, "float32, channels_last"),
             ("cuda", False, False, "float32, NCHW"),
             ("cpu", False, False, "CPU, float32 (all cores)")]
    rows = []
    for label, config, on_cpu in throughput_cases(quick):
        torch.manual_seed(0)
        init = build_model(config, data.input_shape, data.n_classes).state_dict()
        macs = count_macs(build_model(config, data.input_shape, data.n_classes), data.input_shape)
        variants = [v for v in paths if v[0] in devices() and (on_cpu or v[0] == "cuda")]
        best = {v: float("inf") for v in variants}
        for _ in range(repeats):
            for v in variants:
                device, amp, channels_last = v[:3]
                fmt = torch.channels_last if channels_last else torch.contiguous_format
                model = build_model(config, data.input_shape, data.n_classes)
                model.load_state_dict(init)
                model = model.to(device).to(memory_format=fmt)
                x = data.x.to(device).contiguous(memory_format=fmt)
                y = data.y.to(device)
                cfg = TrainConfig(batch_size=batch, amp=amp, device=device)
                opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
                generator = torch.Generator(device=device).manual_seed(0)
                train_epoch(model, x, y, opt, cfg, "classification", generator)  # warm-up: kernels, cuDNN's choice
                synchronize(device)
                start = time.perf_counter()
                for _ in range(epochs):
                    train_epoch(model, x, y, opt, cfg, "classification", generator)
                synchronize(device)
                best[v] = min(best[v], time.perf_counter() - start)
        samples = len(data.x) * epochs
        base = best[variants[3]] if CUDA else best[variants[-1]]  # float32 NCHW on the GPU
        rows += [[label, f"{macs / 1e6:,.1f}M", v[3], f"{samples / best[v]:,.0f}", f"{base / best[v]:.2f}x"]
                 for v in variants]
    return rows


def study_times(quick: bool) -> list[list]:
    trials = 4 if quick else 16
    rows = []
    for device in devices():
        objective = TrainingObjective("digits", "jahs_cnn", ["val_error"],
                                      protocol={"max_epochs": 1 if quick else 5, "device": device})
        with tempfile.TemporaryDirectory() as tmp:
            study = Study.create(Path(tmp) / device, objective, optimizer="random", seed=0)
            start = time.perf_counter()
            study.optimize(trials, show_progress=False)
            wall = time.perf_counter() - start
            df = study.trials_dataframe()
        done = int((df["status"] == "done").sum())
        rows.append([device, trials, done, f"{wall:.1f}", f"{trials / wall:.2f}",
                     f"{df['values_val_error'].min():.4f}", ", ".join(sorted(set(df["metrics_device"].astype(str))))])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many timings (default 3)")
    parser.add_argument("--out", type=Path, help="write the markdown report here")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    repeats = 1 if args.quick else args.repeats
    gpu = torch.cuda.get_device_name(0) if CUDA else "none"
    lines = [f"# The trainer's CUDA paths{' (quick)' if args.quick else ''}\n",
             environment("torch", "deap", "moocore"),
             f"\nGPU: {gpu}; torch CUDA {torch.version.cuda}; CPU threads {torch.get_num_threads()}\n"]
    started = time.perf_counter()
    rows = checks(args.quick)
    lines += ["## Checks\n", markdown_table(["check", "verdict", "seen"], rows), ""]
    print("\n".join(lines[-3:]), flush=True)
    lines += [f"## One default evo_cnn evaluation (digits, 3-fold CV, {1 if args.quick else 10} epochs, no early "
              f"stop), best of {repeats}\n",
              markdown_table(["device", "wall s", "speed-up over CPU", "val_top3_accuracy", "val_accuracy",
                              "device metric"], evaluation_times(args.quick, repeats)), ""]
    print("\n".join(lines[-3:]), flush=True)
    lines += [f"## Trainer throughput: digits at {16 if args.quick else 32}x{16 if args.quick else 32}"
              f", batch 256, best of {repeats}\n",
              markdown_table(["model", "MACs a sample", "path", "training samples/s",
                              "over float32 NCHW" if CUDA else "over CPU"], throughput(args.quick, repeats)), ""]
    print("\n".join(lines[-3:]), flush=True)
    lines += [f"## A study: random jahs_cnn trials on digits, {1 if args.quick else 5} epochs, holdout\n",
              markdown_table(["device", "trials", "done", "wall s", "trials/s", "best val_error", "device metric"],
                             study_times(args.quick)), ""]
    lines.append(f"Total {time.perf_counter() - started:.0f} s.")
    write_report("\n".join(lines), args.out)
    return 1 if any(r[1] == "**FAILED**" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
