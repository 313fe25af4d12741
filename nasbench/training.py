"""Train and score one model, fast on CPU and GPU.

The whole dataset lives on the device as one tensor; a batch is an index slice
of a device-side permutation; augmentation (random horizontal flip, random
rotation) runs batched on the device. On CUDA: bf16 autocast, channels_last,
and ``cudnn.benchmark`` only when the protocol asks for speed over determinism
(``TrainConfig(cudnn_benchmark=True)``), for the duration of a fit. Early
stopping restores the best epoch's weights. :func:`score` turns one
configuration into the scores a trial records (k-fold CV or a holdout split).
Every random draw (initialisation, permutation, dropout, augmentation) comes
from the trial's seed inside :func:`torch.random.fork_rng`, so a run is
reproducible and leaves the global RNG state as it found it.

A loss that becomes NaN/inf raises :class:`TrainingDiverged`; running out of
memory raises :class:`OutOfMemory`; both are recorded as failed trials.
"""

from __future__ import annotations

import copy
import math
import numbers
import os
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from .data import Dataset, stratified_kfold, train_val_test_split
from .models import count_macs, count_parameters

__all__ = ["TrainConfig", "FitResult", "TrainingDiverged", "OutOfMemory", "resolve_device", "fit", "evaluate",
           "train_epoch", "cross_validate", "holdout", "score", "score_test_set", "augment", "rotate", "limit_threads",
           "cudnn_flags", "load_trial_model", "free_cores", "auto_threads"]


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite."""


class OutOfMemory(RuntimeError):
    """The model or batch did not fit in memory."""


@dataclass(frozen=True)
class TrainConfig:
    """A training protocol. ``from_config`` takes the hyperparameters a search
    configuration holds (batch size, optimiser, learning rate, weight decay,
    augmentation) over these defaults. ``cudnn_benchmark`` trades determinism for
    speed on CUDA (cuDNN autotuning), only while a fit runs."""

    max_epochs: int = 50
    patience: int | None = 10
    batch_size: int = 128
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    random_flip: bool = False
    rotation_degrees: float = 0.0
    top_k: int = 3
    device: str = "auto"
    amp: bool = True
    eval_batch_size: int = 2048
    cudnn_benchmark: bool = False

    def __post_init__(self) -> None:
        for name in ("max_epochs", "batch_size", "top_k", "eval_batch_size"):
            self._number(name, int, lambda v: v >= 1, ">= 1")
        if self.patience is not None:
            self._number("patience", int, lambda v: v >= 1, ">= 1 (or None)")
        self._number("learning_rate", float, lambda v: v > 0, "> 0")
        for name in ("weight_decay", "momentum"):
            self._number(name, float, lambda v: v >= 0, ">= 0")
        self._number("rotation_degrees", float, lambda v: 0 <= v <= 180, "in [0, 180]")
        for name in ("random_flip", "amp", "cudnn_benchmark"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {_shown(getattr(self, name))}; pass a bool")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if not isinstance(self.device, (str, torch.device)):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {_shown(self.device)}; pass a str")
        object.__setattr__(self, "device", str(self.device))

    def _number(self, name: str, kind: type, ok: Callable[[Any], bool], bound: str) -> None:
        """Check one numeric field (ints for ``int``, any real for ``float``) and store it as ``kind``."""
        value = getattr(self, name)
        what, fix = ("an integer", "an int") if kind is int else ("a number", "a float")
        abstract = numbers.Integral if kind is int else numbers.Real
        if not isinstance(value, abstract) or isinstance(value, bool):
            raise ValueError(f"{name} must be {what} {bound}, got {_shown(value)}; pass {fix}")
        if not (math.isfinite(value) and ok(value)):
            raise ValueError(f"{name} must be {what} {bound}, got {value}")
        object.__setattr__(self, name, kind(value))

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **defaults: Any) -> "TrainConfig":
        base = cls(**defaults)
        keys = {"batch_size": int, "optimizer": str, "learning_rate": float, "weight_decay": float,
                "random_flip": bool}
        changes = {k: conv(config[k]) for k, conv in keys.items() if k in config}
        if config.get("random_rotation"):
            changes["rotation_degrees"] = base.rotation_degrees or 30.0  # seed 004: 30 degrees
        return replace(base, **changes)

    def to_dict(self) -> dict:
        return asdict(self)


def _shown(value: Any) -> str:
    """A bad value and its type, for an error message: ``'10' (a str)``, ``5 (an int)``."""
    kind = type(value).__name__
    return f"{value!r} ({'an' if kind[0] in 'aeiou' else 'a'} {kind})"


@dataclass
class FitResult:
    """What one training run produced."""

    metrics: dict[str, float]
    learning_curve: list[dict[str, float]]
    epochs: int
    best_epoch: int
    train_time: float
    n_params: int
    state_dict: dict[str, torch.Tensor] = field(repr=False, default_factory=dict)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA when present, else CPU; otherwise the named device."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for but no CUDA GPU is visible; use device='auto' or 'cpu'")
    return device


def _usable_cores() -> int:
    """The cores this process may run on (its CPU affinity; the CPU count where that is unknown)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _running_elsewhere() -> int:
    """Threads of *other* processes running or runnable right now: the kernel's
    ``procs_running`` (every runnable thread on the machine) less this process's own
    running threads (``/proc/self/task/*/stat`` in state R). Raises OSError off Linux."""
    with open("/proc/stat") as f:
        total = next(int(line.split()[1]) for line in f if line.startswith("procs_running"))
    own = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/stat") as f:
                stat = f.read()
        except OSError:  # the thread ended meanwhile
            continue
        own += stat[stat.rindex(")") + 2] == "R"
    return max(0, total - own)


def free_cores(samples: int = 3, interval: float = 0.01) -> int:
    """Cores free for this process now: its usable cores less the threads other processes
    are running (median of ``samples`` looks ``interval`` s apart), at least 1. Off Linux,
    where ``/proc`` is missing, all usable cores.

    Why not the load average: it is a 1-minute moving average, so it would still count a
    competitor that ended a minute ago and miss one that started a second ago. Why not
    psutil: it has no per-moment count of runnable threads either."""
    cores = _usable_cores()
    try:
        counts = []
        for i in range(samples):
            counts.append(_running_elsewhere())
            if i + 1 < samples:
                time.sleep(interval)
    except (OSError, StopIteration, ValueError):
        return cores
    busy = sorted(counts)[len(counts) // 2]
    return max(1, min(cores, cores - busy))


def auto_threads() -> int:
    """The intra-op threads for the next trial when none are fixed: torch's own count
    (which the user, or a Dask worker's ``OMP_NUM_THREADS``, may have lowered) capped at
    :func:`free_cores`. On an idle machine that is torch's default; beside a CPU-bound
    process it leaves that process's core alone, so OpenMP threads do not spin-wait for a
    core they will not get (on 2 cores: 11.9 s instead of 2.9 s for a default evo_cnn
    evaluation with 2 threads, 3.6 s with 1; benchmarks/bench_training.py --load)."""
    return max(1, min(torch.get_num_threads(), free_cores()))


@contextmanager
def limit_threads(n: int | None) -> Iterator[None]:
    """At most ``n`` intra-op PyTorch threads while the block runs (one per Dask worker
    thread, so parallel workers do not oversubscribe the cores); the previous count comes
    back afterwards. ``None`` leaves it alone."""
    if not n:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def cudnn_flags(benchmark: bool) -> Iterator[None]:
    """cuDNN autotuning (speed over determinism) while the block runs, when asked; the
    previous ``benchmark`` and ``deterministic`` flags come back afterwards. Off, nothing
    is touched."""
    cudnn = torch.backends.cudnn
    before = cudnn.benchmark, cudnn.deterministic
    if benchmark:
        cudnn.benchmark = True
    try:
        yield
    finally:
        cudnn.benchmark, cudnn.deterministic = before


def rotate(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Images (N, C, H, W) rotated about their centres by ``angles`` (radians, one per
    image; positive is counter-clockwise as displayed), bilinear, zeros outside."""
    cos, sin = torch.cos(angles), torch.sin(angles)
    zero = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = nn.functional.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return nn.functional.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


def augment(x: torch.Tensor, cfg: TrainConfig, generator: torch.Generator) -> torch.Tensor:
    """Batched on-device augmentation of images (N, C, H, W): horizontal flip with
    probability 1/2, rotation uniform in +-``rotation_degrees``."""
    if x.dim() != 4 or not (cfg.random_flip or cfg.rotation_degrees):
        return x
    n = x.shape[0]
    if cfg.random_flip:
        flip = torch.rand(n, device=x.device, generator=generator) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    if cfg.rotation_degrees:
        angle = (torch.rand(n, device=x.device, generator=generator) * 2 - 1) * math.radians(cfg.rotation_degrees)
        x = rotate(x, angle)
    return x


def _loss_fn(task: str) -> nn.Module:
    return nn.CrossEntropyLoss() if task == "classification" else nn.MSELoss()


def _optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=cfg.learning_rate, momentum=cfg.momentum,
                           weight_decay=cfg.weight_decay)


def _autocast(device: torch.device, cfg: TrainConfig):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.amp and device.type == "cuda")


def train_epoch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, opt: torch.optim.Optimizer, cfg: TrainConfig,
                task: str, generator: torch.Generator) -> torch.Tensor:
    """One pass over (x, y) in shuffled batches; returns the mean loss as a device tensor
    (no host sync inside the loop)."""
    model.train()
    loss_fn = _loss_fn(task)
    perm = torch.randperm(len(x), device=x.device, generator=generator)
    total = torch.zeros((), device=x.device)
    for start in range(0, len(x), cfg.batch_size):
        idx = perm[start:start + cfg.batch_size]
        xb = augment(x[idx], cfg, generator)
        with _autocast(x.device, cfg):
            loss = loss_fn(model(xb), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.detach().float() * len(idx)
    return total / len(x)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, task: str, *, top_k: int = 3,
             batch_size: int = 2048, amp: bool = True) -> dict[str, float]:
    """Loss and accuracy / top-k accuracy (classification) or MSE (regression)."""
    model.eval()
    outs = []
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp and x.device.type == "cuda"):
        for start in range(0, len(x), batch_size):
            outs.append(model(x[start:start + batch_size]).float())
    out = torch.cat(outs)
    loss = float(_loss_fn(task)(out, y))
    if task == "regression":
        return {"loss": loss, "mse": loss}
    k = min(top_k, out.shape[1])
    hits = (out.topk(k, dim=1).indices == y[:, None])
    return {"loss": loss, "accuracy": float(hits[:, 0].float().mean()), f"top{top_k}_accuracy": float(hits.any(1).float().mean())}


def _to_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    x = x.to(device, non_blocking=True)
    if device.type == "cuda" and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


#: Called after each epoch as ``on_epoch(epoch, scores)`` (validation scores of that epoch:
#: ``val_loss``, ``val_accuracy`` / ``val_mse``, ...); it may raise to stop the run
#: (a stopping rule's :class:`nasbench.evaluators.TrialPruned`).
EpochCallback = Callable[[int, dict], None]


def fit(model_factory: Callable[[], nn.Module], train: tuple[torch.Tensor, torch.Tensor],
        val: tuple[torch.Tensor, torch.Tensor], cfg: TrainConfig, *, task: str, seed: int,
        initial_state: Mapping[str, torch.Tensor] | None = None, start_epoch: int = 0,
        on_epoch: EpochCallback | None = None) -> FitResult:
    """Train a model from ``model_factory`` with early stopping on the validation loss;
    return the best epoch's metrics and weights. ``initial_state``: weights to continue
    from (a lower fidelity's checkpoint, a PBT donor's), trained ``start_epoch`` epochs
    already: training then runs epochs ``start_epoch + 1 .. cfg.max_epochs``."""
    device = resolve_device(cfg.device)
    cuda_devices = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=cuda_devices), cudnn_flags(cfg.cudnn_benchmark):
            torch.manual_seed(seed)
            return _fit(model_factory, train, val, cfg, task, seed, device, initial_state, start_epoch, on_epoch)
    except RuntimeError as exc:  # torch.OutOfMemoryError on CUDA, a RuntimeError from the CPU allocator
        text = str(exc)
        if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in text or "can't allocate memory" in text:
            raise OutOfMemory(f"out of memory on {device} ({text.splitlines()[0][:200]}); "
                              "lower batch_size or the model's size") from None
        raise


def _fit(model_factory, train, val, cfg, task, seed, device, initial_state=None, start_epoch=0,
         on_epoch=None) -> FitResult:
    started = time.perf_counter()
    model = model_factory()
    if initial_state is not None:
        model.load_state_dict(initial_state)
    model = model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    generator = torch.Generator(device=device).manual_seed(seed)
    x_tr, y_tr = _to_device(train[0], device), train[1].to(device)
    x_va, y_va = _to_device(val[0], device), val[1].to(device)
    opt = _optimizer(model, cfg)
    curve, best, best_state, wait = [], None, None, 0
    for epoch in range(start_epoch + 1, cfg.max_epochs + 1):
        train_loss = float(train_epoch(model, x_tr, y_tr, opt, cfg, task, generator))  # one sync an epoch
        scores = evaluate(model, x_va, y_va, task, top_k=cfg.top_k, batch_size=cfg.eval_batch_size, amp=cfg.amp)
        if not (math.isfinite(train_loss) and math.isfinite(scores["loss"])):
            raise TrainingDiverged(f"loss became {train_loss if not math.isfinite(train_loss) else scores['loss']} "
                                   f"at epoch {epoch}; lower the learning rate")
        curve.append({"epoch": epoch, "train_loss": train_loss, **{f"val_{k}": v for k, v in scores.items()}})
        if on_epoch is not None:
            on_epoch(epoch, dict(curve[-1]))
        if best is None or scores["loss"] < best["val_loss"]:
            best, best_state, wait = curve[-1], copy.deepcopy(model.state_dict()), 0
        else:
            wait += 1
            if cfg.patience is not None and wait >= cfg.patience:
                break
    if best is None:  # nothing left to train: the checkpoint is already at this fidelity
        scores = evaluate(model, x_va, y_va, task, top_k=cfg.top_k, batch_size=cfg.eval_batch_size, amp=cfg.amp)
        best = {"epoch": start_epoch, "train_loss": float("nan"), **{f"val_{k}": v for k, v in scores.items()}}
        best_state = model.state_dict()
    metrics = {k: v for k, v in best.items() if k != "epoch"}
    return FitResult(metrics, curve, start_epoch + len(curve), best["epoch"], time.perf_counter() - started,
                     count_parameters(model), {k: v.detach().cpu() for k, v in best_state.items()})


def cross_validate(model_factory: Callable[[], nn.Module], dataset: Dataset, cfg: TrainConfig, *, folds: int,
                   seed: int, split_seed: int = 0, initial_states: Sequence[Mapping] | None = None,
                   start_epoch: int = 0, on_epoch: EpochCallback | None = None
                   ) -> tuple[dict[str, float], list[FitResult]]:
    """Stratified k-fold cross-validation (seed 000: 3 folds): the folds' metrics
    averaged, and each fold's result. The folds are fixed by ``split_seed`` so every
    configuration is scored on the same splits; training draws from ``seed``.
    ``initial_states``: one checkpoint per fold to continue; ``on_epoch`` sees the
    first fold's epochs (the folds train one after another)."""
    results = []
    for i, (tr, va) in enumerate(stratified_kfold(dataset, folds, seed=split_seed)):
        results.append(fit(model_factory, (dataset.x[tr], dataset.y[tr]), (dataset.x[va], dataset.y[va]), cfg,
                           task=dataset.task, seed=seed + i,
                           initial_state=None if initial_states is None else initial_states[i],
                           start_epoch=start_epoch, on_epoch=on_epoch if i == 0 else None))
    mean = {k: float(np.mean([r.metrics[k] for r in results])) for k in results[0].metrics}
    return mean, results


def holdout(model_factory: Callable[[], nn.Module], dataset: Dataset, cfg: TrainConfig, *, seed: int,
            val_fraction: float = 0.2, split_seed: int = 0, initial_states: Sequence[Mapping] | None = None,
            start_epoch: int = 0, on_epoch: EpochCallback | None = None) -> tuple[dict[str, float], list[FitResult]]:
    """One train/validation split (fixed by ``split_seed``), in the shape of :func:`cross_validate`."""
    tr, va, _ = train_val_test_split(dataset, val=val_fraction, seed=split_seed)
    result = fit(model_factory, (dataset.x[tr], dataset.y[tr]), (dataset.x[va], dataset.y[va]), cfg,
                 task=dataset.task, seed=seed, initial_state=None if initial_states is None else initial_states[0],
                 start_epoch=start_epoch, on_epoch=on_epoch)
    return dict(result.metrics), [result]



def score(model_factory: Callable[[], nn.Module], data: Dataset, cfg: TrainConfig, *, folds: int | None = None,
          val_fraction: float = 0.2, seed: int = 0, split_seed: int = 0, report_test: bool = False,
          initial_states: Sequence[Mapping] | None = None, start_epoch: int = 0,
          on_epoch: EpochCallback | None = None) -> tuple[dict[str, Any], list[FitResult]]:
    """The scores a trial records for one model: stratified k-fold CV when ``folds``,
    else a holdout split of ``val_fraction``; validation metrics averaged over the folds
    (``val_error`` = 1 - ``val_accuracy``), size (``n_params``, ``macs``), ``train_time``
    (summed), ``epochs`` (mean over the folds; each fold's in ``epochs_per_fold``; with a
    warm start these count the checkpoint's epochs too, ``epochs_trained`` only the new ones),
    learning curves, and test scores of the first fold's model when ``report_test``."""
    model = model_factory()  # an impossible architecture fails here, before any training
    more = dict(initial_states=initial_states, start_epoch=start_epoch, on_epoch=on_epoch)
    if folds:
        mean, results = cross_validate(model_factory, data, cfg, folds=folds, seed=seed, split_seed=split_seed, **more)
    else:
        mean, results = holdout(model_factory, data, cfg, seed=seed, val_fraction=val_fraction, split_seed=split_seed,
                                **more)
    scores: dict[str, Any] = dict(mean)  # train_loss, val_loss, val_accuracy, val_topK_accuracy / val_mse
    if data.task == "classification":
        scores["val_error"] = 1.0 - scores["val_accuracy"]
    epochs = [r.epochs for r in results]
    scores.update(n_params=results[0].n_params, macs=count_macs(model, data.input_shape),
                  train_time=sum(r.train_time for r in results), epochs=float(np.mean(epochs)),
                  epochs_per_fold=epochs, epochs_trained=float(np.mean([len(r.learning_curve) for r in results])),
                  best_epoch=[r.best_epoch for r in results],
                  learning_curves=[r.learning_curve for r in results], device=str(resolve_device(cfg.device)))
    if report_test:
        scores.update(score_test_set(model_factory, data, results[0], cfg))
    return scores, results


def score_test_set(model_factory: Callable[[], nn.Module], data: Dataset, result: FitResult,
                cfg: TrainConfig) -> dict[str, float]:
    """``test_accuracy`` and ``test_error`` (or ``test_mse``) of a fit's weights on ``data.test``."""
    if data.test is None:
        raise ValueError(f"dataset {data.name!r} has no separate test set; set test_fraction=0.2 "
                         "(or report_test=False)")
    model = model_factory()
    model.load_state_dict(result.state_dict)
    scores = evaluate(model, data.test.x, data.test.y, data.test.task, top_k=cfg.top_k, amp=False)
    if data.test.task == "regression":
        return {"test_mse": scores["mse"]}
    return {"test_accuracy": scores["accuracy"], "test_error": 1.0 - scores["accuracy"]}


def load_trial_model(directory: str | Path, trial_id: int, *, fold: int = 0) -> nn.Module:
    """The model a trial saved (``TrainingObjective(save_weights=True)``), rebuilt from its
    configuration and loaded with ``torch.load(..., weights_only=True)``, in eval mode."""
    from .models import build_model
    from .store import read_weights

    payload = read_weights(directory, trial_id)
    states = payload["state_dicts"]
    if not 0 <= fold < len(states):
        raise ValueError(f"trial {trial_id} saved {len(states)} fold(s); fold must be in [0, {len(states) - 1}]")
    model = build_model(payload["config"], payload["input_shape"], payload["n_outputs"], payload["architecture"] or None)
    model.load_state_dict(states[fold])
    return model.eval()
