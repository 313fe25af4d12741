"""Build the network a configuration describes; count its parameters and MACs.

* CNN (seed 004's Table 1 and the seed-000-style space): ``n_conv_layers``
  blocks of convolution (``n_filters`` for every layer, or ``filters_i`` per
  layer), optional batch-norm, ReLU and 2x max-pooling; then global average
  pooling or flattening; then ``n_fc_layers`` hidden fully connected layers
  (``n_fc_neurons`` each, or ``fc_neurons_i``) with ReLU and dropout; then the
  output layer. 1-D inputs (mnist1d) get 1-D convolutions.
* MLP (seed 003): ``n_layers`` hidden layers of ``n_neurons`` with one of six
  activations and dropout.

A configuration that cannot be built (pooling shrinks the input to nothing, a
layer width is missing or below 1) raises :class:`InvalidArchitecture`, which a
study records as a failed trial. :func:`size_bounds` gives the most parameters
and MACs any configuration of a space has (for a reference point).
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache
from typing import Any, Iterator, Mapping, Sequence

import torch
from torch import nn

__all__ = ["InvalidArchitecture", "build_model", "build_cnn", "build_mlp", "count_parameters", "count_macs",
           "largest_configs", "size_bounds", "reference_models", "build_reference", "REFERENCE_NETWORKS",
           "ACTIVATIONS", "STRUCTURE_KEYS"]

ACTIVATIONS = {"relu": nn.ReLU, "leakyrelu": nn.LeakyReLU, "elu": nn.ELU, "gelu": nn.GELU, "tanh": nn.Tanh,
               "sigmoid": nn.Sigmoid}


class InvalidArchitecture(ValueError):
    """A configuration that describes no valid network; the message says why."""


def _per_layer(config: Mapping[str, Any], shared: str, prefix: str, n: int, architecture: str) -> list[int]:
    """Layer widths from ``prefix_1..n`` when present, else the shared key; a width that
    is missing or below 1 describes no network."""
    widths = []
    for i in range(1, n + 1):
        key = f"{prefix}_{i}" if f"{prefix}_{i}" in config else shared
        if key not in config:
            raise InvalidArchitecture(f"configuration lacks {shared!r} (or '{prefix}_{i}'), "
                                      f"which a {architecture} needs")
        widths.append(_at_least(config, key, 1))
    return widths


def _at_least(config: Mapping[str, Any], key: str, low: int, default: int | None = None) -> int:
    """``int(config[key])`` (or the default when absent), which must be >= ``low``."""
    value = int(config[key]) if key in config else default
    if value < low:
        raise InvalidArchitecture(f"{key} must be >= {low}, got {value}")
    return value


def _require(config: Mapping[str, Any], keys: Sequence[str], architecture: str) -> None:
    missing = [k for k in keys if k not in config]
    if missing:
        raise InvalidArchitecture(f"configuration lacks {', '.join(map(repr, missing))}, which a {architecture} needs")


def build_cnn(config: Mapping[str, Any], input_shape: Sequence[int], n_outputs: int) -> nn.Sequential:
    """The seed-004 / seed-000 CNN for inputs of shape (C, H, W) or (C, L)."""
    dims = len(input_shape) - 1
    if dims not in (1, 2):
        raise InvalidArchitecture(f"a CNN needs inputs of shape (C, H, W) or (C, L), got {tuple(input_shape)}")
    _require(config, ["n_conv_layers"], "cnn")
    conv, norm, pool = (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d) if dims == 2 else (nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d)
    n_conv = _at_least(config, "n_conv_layers", 0)
    kernel = _at_least(config, "kernel_size", 1, default=3)
    channels, spatial = int(input_shape[0]), list(input_shape[1:])
    layers: list[nn.Module] = []
    for width in _per_layer(config, "n_filters", "filters", n_conv, "cnn"):
        layers += [conv(channels, width, kernel, padding=kernel // 2, bias=not config.get("batch_norm", False))]
        if config.get("batch_norm", False):
            layers.append(norm(width))
        layers += [nn.ReLU(inplace=True), pool(2)]
        # the convolution's output size (its input size for odd kernels), halved by the pooling
        channels, spatial = width, [(s + 2 * (kernel // 2) - kernel + 1) // 2 for s in spatial]
        if min(spatial) < 1:
            raise InvalidArchitecture(f"{n_conv} pooled conv layers shrink a {'x'.join(map(str, input_shape[1:]))} "
                                      "input to nothing; use fewer conv layers or larger images (image_size)")
    if config.get("global_avg_pooling", False):
        layers += [nn.AdaptiveAvgPool2d(1) if dims == 2 else nn.AdaptiveAvgPool1d(1), nn.Flatten()]
        features = channels
    else:
        layers.append(nn.Flatten())
        features = channels * math.prod(spatial)
    return nn.Sequential(*layers, *_head(config, features, n_outputs, nn.ReLU, "cnn"))


def _head(config: Mapping[str, Any], features: int, n_outputs: int, activation: type[nn.Module],
          architecture: str) -> list[nn.Module]:
    n_fc = _at_least(config, "n_fc_layers" if "n_fc_layers" in config else "n_layers", 0, default=1)
    if "n_fc_neurons" in config or "n_neurons" in config:
        shared = "n_fc_neurons" if "n_fc_neurons" in config else "n_neurons"
    else:  # name the key this architecture's presets use
        shared = "n_fc_neurons" if architecture == "cnn" else "n_neurons"
    widths = _per_layer(config, shared, "fc_neurons", n_fc, architecture)
    dropout = float(config.get("dropout", 0.0))
    layers: list[nn.Module] = []
    for width in widths:
        layers += [nn.Linear(features, width), activation()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        features = width
    return [*layers, nn.Linear(features, n_outputs)]


def build_mlp(config: Mapping[str, Any], input_shape: Sequence[int], n_outputs: int) -> nn.Sequential:
    """Seed 003's MLP on flattened inputs."""
    name = config.get("activation", "relu")
    if name not in ACTIVATIONS:
        raise InvalidArchitecture(f"activation {name!r} unknown; use one of {sorted(ACTIVATIONS)}")
    features = math.prod(input_shape)
    return nn.Sequential(nn.Flatten(), *_head(config, features, n_outputs, ACTIVATIONS[name], "mlp"))


def build_model(config: Mapping[str, Any], input_shape: Sequence[int], n_outputs: int,
                architecture: str | None = None) -> nn.Module:
    """The network of ``config``: ``architecture`` is ``"cnn"`` or ``"mlp"``, or inferred
    from the configuration's keys (``n_conv_layers`` means a CNN)."""
    architecture = architecture or ("cnn" if "n_conv_layers" in config else "mlp")
    if architecture not in ("cnn", "mlp"):
        raise ValueError(f"architecture must be 'cnn' or 'mlp', got {architecture!r}")
    if n_outputs < 1:
        raise ValueError(f"n_outputs must be >= 1, got {n_outputs}")
    return (build_cnn if architecture == "cnn" else build_mlp)(config, input_shape, n_outputs)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_macs(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-accumulates of one forward pass of one sample, from PyTorch's
    ``FlopCounterMode`` (FLOPs / 2)."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(1, *input_shape, device=device))
    finally:
        model.train(was_training)
    return int(counter.get_total_flops() // 2)


# --- the largest model of a space ------------------------------------------------------------
#: Parameters that choose the structure of a network (enumerated by :func:`largest_configs`).
STRUCTURE_KEYS = ("n_conv_layers", "kernel_size", "batch_norm", "global_avg_pooling", "n_fc_layers", "n_layers")
_WIDTH_KEYS = ("n_filters", "n_fc_neurons", "n_neurons")
_WIDTH_PREFIXES = ("filters_", "fc_neurons_")
_MAX_STRUCTURES = 4096


def _is_width(name: str) -> bool:
    return name in _WIDTH_KEYS or name.startswith(_WIDTH_PREFIXES)


def _structure_choices(p: Any) -> list:
    from .space import Boolean, Categorical, Integer

    if isinstance(p, Integer):
        return list(range(p.low, p.high + 1))
    if isinstance(p, (Categorical, Boolean)):
        return list(p.choices) if isinstance(p, Categorical) else [False, True]
    raise ValueError(f"{p.name} chooses a network's structure, so it must be an int, categorical or bool "
                     f"parameter to bound the model size; got a {type(p).__name__}")


def _widest(p: Any) -> Any:
    from .space import Categorical

    return max(p.choices) if isinstance(p, Categorical) else p.high


def _structures(space: Any) -> Iterator[dict[str, Any]]:
    """Every combination of the space's structural choices, every width at its maximum and
    every other parameter at its default (dropout, activations and the like add no parameters)."""
    base = [_widest(p) if _is_width(p.name) else p.default for p in space]
    structural = [(i, _structure_choices(p)) for i, p in enumerate(space) if p.name in STRUCTURE_KEYS]
    if math.prod(len(c) for _, c in structural) > _MAX_STRUCTURES:
        raise ValueError(f"the space has more than {_MAX_STRUCTURES} network structures to search for the largest "
                         "model; narrow its structural parameters or give reference_point=... explicitly")
    for combo in itertools.product(*(c for _, c in structural)):
        genome = list(base)
        for (i, _), value in zip(structural, combo):
            genome[i] = value
        yield space.to_config(genome)


def largest_configs(space: Any, input_shape: Sequence[int], n_outputs: int,
                    architecture: str | None = None) -> dict[str, dict[str, Any]]:
    """The configurations of ``space`` with the most parameters and with the most MACs.

    Why this is the maximum over the whole space: for a fixed structure (numbers of
    layers, kernel size, batch-norm, global pooling) the spatial sizes depend only on the
    input shape and the pooled conv layers, and every parameter and MAC term (conv
    ``in * out * k^d``, its bias or batch-norm ``out``, linear ``in * out + out``) is a
    product of non-negative factors, each nondecreasing in every width. So the widest
    configuration of each structure is that structure's largest, and an exhaustive search
    over the few structures finds the largest of all. Models are built on the meta device
    (shapes only), so even 10^8-parameter candidates cost no memory.
    """
    best: dict[str, tuple[int, dict[str, Any]]] = {}
    for config in _structures(space):
        try:
            with torch.device("meta"):
                model = build_model(config, input_shape, n_outputs, architecture)
        except InvalidArchitecture:
            continue
        sizes = {"n_params": count_parameters(model), "macs": count_macs(model, input_shape)}
        for key, value in sizes.items():
            if key not in best or value > best[key][0]:
                best[key] = (value, config)
    if not best:
        raise InvalidArchitecture(f"no configuration of space {space.name!r} builds for inputs of shape "
                                  f"{tuple(input_shape)}; use fewer conv layers or larger images (image_size)")
    return {key: config for key, (_, config) in best.items()}


def size_bounds(space: Any, input_shape: Sequence[int], n_outputs: int,
                architecture: str | None = None) -> dict[str, int]:
    """The most parameters and the most MACs any configuration of ``space`` has (attained
    by :func:`largest_configs`): a true upper bound, unlike ``space.largest()``, whose
    extra pooling shrinks the fully connected layers."""
    sizes = {}
    for key, config in largest_configs(space, input_shape, n_outputs, architecture).items():
        with torch.device("meta"):
            model = build_model(config, input_shape, n_outputs, architecture)
        sizes[key] = count_parameters(model) if key == "n_params" else count_macs(model, input_shape)
    return sizes


@lru_cache(maxsize=None)
def reference_models(input_size: int = 224) -> dict[str, dict[str, int]]:
    """Parameters and MACs of ResNet-18, ResNet-50 and AlexNet (torchvision, no
    weights, 1000 classes, 3 x ``input_size``^2 inputs), for placing found models
    beside them (seed 000)."""
    from torchvision import models

    out = {}
    for name, factory in (("ResNet-18", models.resnet18), ("ResNet-50", models.resnet50), ("AlexNet", models.alexnet)):
        model = factory(weights=None)
        out[name] = {"n_params": count_parameters(model), "macs": count_macs(model, (3, input_size, input_size))}
    return out


# --- small reference networks, trainable on the embedded data (seed 000) ---------------------
def _layers(dims: int) -> tuple[type[nn.Module], type[nn.Module], type[nn.Module], type[nn.Module]]:
    if dims == 2:
        return nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, nn.AdaptiveAvgPool2d
    return nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d, nn.AdaptiveAvgPool1d


def _dims(input_shape: Sequence[int]) -> int:
    dims = len(input_shape) - 1
    if dims not in (1, 2):
        raise InvalidArchitecture(f"a reference network needs inputs of shape (C, H, W) or (C, L), "
                                  f"got {tuple(input_shape)}")
    return dims


class _BasicBlock(nn.Module):
    """ResNet's basic block (He et al. 2016): two 3-wide convolutions with batch-norm,
    added to the input (through a 1-wide projection where width or stride change)."""

    def __init__(self, dims: int, channels: int, width: int, stride: int) -> None:
        super().__init__()
        conv, norm, _, _ = _layers(dims)
        self.body = nn.Sequential(conv(channels, width, 3, stride=stride, padding=1, bias=False), norm(width),
                                  nn.ReLU(inplace=True), conv(width, width, 3, padding=1, bias=False), norm(width))
        self.shortcut = (nn.Identity() if stride == 1 and channels == width else
                         nn.Sequential(conv(channels, width, 1, stride=stride, bias=False), norm(width)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


def resnet_like(input_shape: Sequence[int], n_outputs: int, widths: Sequence[int] = (16, 32, 64),
                blocks: int = 2) -> nn.Sequential:
    """A small ResNet in the spirit of ResNet-18/50, scaled to small inputs: a 3-wide stem,
    three stages of ``blocks`` basic blocks (the later stages halve the resolution while
    it is at least 2), global average pooling and one linear layer."""
    dims = _dims(input_shape)
    conv, norm, _, gap = _layers(dims)
    size = min(input_shape[1:])
    layers: list[nn.Module] = [conv(int(input_shape[0]), widths[0], 3, padding=1, bias=False), norm(widths[0]),
                               nn.ReLU(inplace=True)]
    channels = widths[0]
    for stage, width in enumerate(widths):
        for block in range(blocks):
            stride = 2 if stage > 0 and block == 0 and size >= 2 else 1
            size = (size + 1) // 2 if stride == 2 else size
            layers.append(_BasicBlock(dims, channels, width, stride))
            channels = width
    return nn.Sequential(*layers, gap(1), nn.Flatten(), nn.Linear(channels, n_outputs))


def alexnet_like(input_shape: Sequence[int], n_outputs: int, widths: Sequence[int] = (32, 64, 96, 96, 64),
                 hidden: int = 256, dropout: float = 0.5) -> nn.Sequential:
    """A small AlexNet (Krizhevsky et al. 2012), scaled to small inputs: five plain
    convolutions with ReLU (max-pooling after the 1st, 2nd and 5th while the resolution
    is at least 2), flattening, two wide fully connected layers with dropout, the output
    layer. Like AlexNet, most of its parameters sit in the fully connected layers."""
    dims = _dims(input_shape)
    conv, _, pool, _ = _layers(dims)
    channels, spatial = int(input_shape[0]), [int(s) for s in input_shape[1:]]
    layers: list[nn.Module] = []
    for i, width in enumerate(widths):
        layers += [conv(channels, width, 3, padding=1), nn.ReLU(inplace=True)]
        channels = width
        if i in (0, 1, len(widths) - 1) and min(spatial) >= 2:
            layers.append(pool(2))
            spatial = [s // 2 for s in spatial]
    features = channels * math.prod(spatial)
    return nn.Sequential(*layers, nn.Flatten(), nn.Dropout(dropout), nn.Linear(features, hidden),
                         nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
                         nn.Linear(hidden, n_outputs))


#: The small reference networks by name, each ``factory(input_shape, n_outputs)``.
REFERENCE_NETWORKS = {"ResNet-like": resnet_like, "AlexNet-like": alexnet_like}


def build_reference(name: str, input_shape: Sequence[int], n_outputs: int) -> nn.Module:
    """A small reference network of :data:`REFERENCE_NETWORKS` for this input and output."""
    if name not in REFERENCE_NETWORKS:
        raise ValueError(f"unknown reference network {name!r}; use one of {sorted(REFERENCE_NETWORKS)}")
    if n_outputs < 1:
        raise ValueError(f"n_outputs must be >= 1, got {n_outputs}")
    return REFERENCE_NETWORKS[name](input_shape, n_outputs)
