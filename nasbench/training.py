"""Train and score one model, fast on CPU and GPU.

The whole dataset lives on the device as one tensor; a batch is an index slice
of a device-side permutation; augmentation (random horizontal flip, random
rotation) runs batched on the device. On CUDA: bf16 autocast, channels_last
and ``cudnn.benchmark``. Early stopping restores the best epoch's weights.
Every random draw (initialisation, permutation, dropout, augmentation) comes
from the trial's seed inside :func:`torch.random.fork_rng`, so a run is
reproducible and leaves the global RNG state as it found it.

A loss that becomes NaN/inf raises :class:`TrainingDiverged`; running out of
memory raises :class:`OutOfMemory`; both are recorded as failed trials.
"""

from __future__ import annotations

import copy
import math
import os
import time
from pathlib import Path
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import nn

from .data import Dataset, stratified_kfold, train_val_test_split
from .models import count_parameters

__all__ = ["TrainConfig", "FitResult", "TrainingDiverged", "OutOfMemory", "resolve_device", "fit", "evaluate",
           "train_epoch", "cross_validate", "holdout", "augment", "set_threads", "load_trial_model"]


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite."""


class OutOfMemory(RuntimeError):
    """The model or batch did not fit in memory."""


@dataclass(frozen=True)
class TrainConfig:
    """A training protocol. ``from_config`` takes the hyperparameters a search
    configuration holds (batch size, optimiser, learning rate, weight decay,
    augmentation) over these defaults."""

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

    def __post_init__(self) -> None:
        checks = [
            (self.max_epochs >= 1, f"max_epochs must be >= 1, got {self.max_epochs}"),
            (self.patience is None or self.patience >= 1, f"patience must be >= 1 or None, got {self.patience}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.optimizer in ("adam", "sgd"), f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}"),
            (self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}"),
            (self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}"),
            (self.top_k >= 1, f"top_k must be >= 1, got {self.top_k}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

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


def set_threads(n: int | None) -> None:
    """Limit PyTorch's intra-op threads (one per Dask worker thread), so parallel
    workers do not oversubscribe the cores."""
    if n:
        torch.set_num_threads(int(n))
        os.environ["OMP_NUM_THREADS"] = str(int(n))


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
        cos, sin = torch.cos(angle), torch.sin(angle)
        zero = torch.zeros_like(cos)
        theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
        grid = nn.functional.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
        x = nn.functional.grid_sample(x, grid, align_corners=False, padding_mode="zeros")
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


def fit(model_factory: Callable[[], nn.Module], train: tuple[torch.Tensor, torch.Tensor],
        val: tuple[torch.Tensor, torch.Tensor], cfg: TrainConfig, *, task: str, seed: int) -> FitResult:
    """Train a fresh model from ``model_factory`` with early stopping on the
    validation loss; return the best epoch's metrics and weights."""
    device = resolve_device(cfg.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    cuda_devices = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=cuda_devices):
            torch.manual_seed(seed)
            return _fit(model_factory, train, val, cfg, task, seed, device)
    except RuntimeError as exc:  # torch.OutOfMemoryError on CUDA, a RuntimeError from the CPU allocator
        text = str(exc)
        if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in text or "can't allocate memory" in text:
            raise OutOfMemory(f"out of memory on {device} ({text.splitlines()[0][:200]}); "
                              "lower batch_size or the model's size") from None
        raise


def _fit(model_factory, train, val, cfg, task, seed, device) -> FitResult:
    started = time.perf_counter()
    model = model_factory().to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    generator = torch.Generator(device=device).manual_seed(seed)
    x_tr, y_tr = _to_device(train[0], device), train[1].to(device)
    x_va, y_va = _to_device(val[0], device), val[1].to(device)
    opt = _optimizer(model, cfg)
    curve, best, best_state, wait = [], None, None, 0
    for epoch in range(1, cfg.max_epochs + 1):
        train_loss = float(train_epoch(model, x_tr, y_tr, opt, cfg, task, generator))  # one sync an epoch
        scores = evaluate(model, x_va, y_va, task, top_k=cfg.top_k, batch_size=cfg.eval_batch_size, amp=cfg.amp)
        if not (math.isfinite(train_loss) and math.isfinite(scores["loss"])):
            raise TrainingDiverged(f"loss became {train_loss if not math.isfinite(train_loss) else scores['loss']} "
                                   f"at epoch {epoch}; lower the learning rate")
        curve.append({"epoch": epoch, "train_loss": train_loss, **{f"val_{k}": v for k, v in scores.items()}})
        if best is None or scores["loss"] < best["val_loss"]:
            best, best_state, wait = curve[-1], copy.deepcopy(model.state_dict()), 0
        else:
            wait += 1
            if cfg.patience is not None and wait >= cfg.patience:
                break
    metrics = {k: v for k, v in best.items() if k != "epoch"}
    return FitResult(metrics, curve, len(curve), best["epoch"], time.perf_counter() - started,
                     count_parameters(model), {k: v.detach().cpu() for k, v in best_state.items()})


def cross_validate(model_factory: Callable[[], nn.Module], dataset: Dataset, cfg: TrainConfig, *, folds: int,
                   seed: int, split_seed: int = 0) -> tuple[dict[str, float], list[FitResult]]:
    """Stratified k-fold cross-validation (seed 000: 3 folds): the folds' metrics
    averaged, and each fold's result. The folds are fixed by ``split_seed`` so every
    configuration is scored on the same splits; training draws from ``seed``."""
    results = []
    for i, (tr, va) in enumerate(stratified_kfold(dataset, folds, seed=split_seed)):
        results.append(fit(model_factory, (dataset.x[tr], dataset.y[tr]), (dataset.x[va], dataset.y[va]), cfg,
                           task=dataset.task, seed=seed + i))
    mean = {k: float(np.mean([r.metrics[k] for r in results])) for k in results[0].metrics}
    return mean, results


def holdout(model_factory: Callable[[], nn.Module], dataset: Dataset, cfg: TrainConfig, *, seed: int,
            val_fraction: float = 0.2, split_seed: int = 0) -> tuple[dict[str, float], list[FitResult]]:
    """One train/validation split (fixed by ``split_seed``), in the shape of :func:`cross_validate`."""
    tr, va, _ = train_val_test_split(dataset, val=val_fraction, seed=split_seed)
    result = fit(model_factory, (dataset.x[tr], dataset.y[tr]), (dataset.x[va], dataset.y[va]), cfg,
                 task=dataset.task, seed=seed)
    return dict(result.metrics), [result]



def load_trial_model(directory: str | Path, trial_id: int, *, fold: int = 0) -> nn.Module:
    """The model a trial saved (``TrainingObjective(save_weights=True)``), rebuilt from its
    configuration and loaded with ``torch.load(..., weights_only=True)``, in eval mode."""
    from .models import build_model

    path = Path(directory) / "models" / f"trial_{int(trial_id):06d}.pt"
    if not path.is_file():
        raise FileNotFoundError(f"no saved weights for trial {trial_id} at {path}; run the study with "
                                "TrainingObjective(save_weights=True)")
    payload = torch.load(path, weights_only=True, map_location="cpu")
    states = payload["state_dicts"]
    if not 0 <= fold < len(states):
        raise ValueError(f"trial {trial_id} saved {len(states)} fold(s); fold must be in [0, {len(states) - 1}]")
    model = build_model(payload["config"], payload["input_shape"], payload["n_outputs"], payload["architecture"] or None)
    model.load_state_dict(states[fold])
    return model.eval()
