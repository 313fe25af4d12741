"""Build the network a configuration describes; count its parameters and MACs.

* CNN (seed 004's Table 1 and the seed-000-style space): ``n_conv_layers``
  blocks of convolution (``n_filters`` for every layer, or ``filters_i`` per
  layer), optional batch-norm, ReLU and 2x max-pooling; then global average
  pooling or flattening; then ``n_fc_layers`` hidden fully connected layers
  (``n_fc_neurons`` each, or ``fc_neurons_i``) with ReLU and dropout; then the
  output layer. 1-D inputs (mnist1d) get 1-D convolutions.
* MLP (seed 003): ``n_layers`` hidden layers of ``n_neurons`` with one of six
  activations and dropout.

A configuration that cannot be built (pooling shrinks the input to nothing)
raises :class:`InvalidArchitecture`, which a study records as a failed trial.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping, Sequence

import torch
from torch import nn

__all__ = ["InvalidArchitecture", "build_model", "build_cnn", "build_mlp", "count_parameters", "count_macs",
           "reference_models", "ACTIVATIONS"]

ACTIVATIONS = {"relu": nn.ReLU, "leakyrelu": nn.LeakyReLU, "elu": nn.ELU, "gelu": nn.GELU, "tanh": nn.Tanh,
               "sigmoid": nn.Sigmoid}


class InvalidArchitecture(ValueError):
    """A configuration that describes no valid network; the message says why."""


def _per_layer(config: Mapping[str, Any], shared: str, prefix: str, n: int) -> list[int]:
    """Layer widths from ``prefix_1..n`` when present, else the shared key."""
    return [int(config.get(f"{prefix}_{i + 1}", config.get(shared, 0))) for i in range(n)]


def build_cnn(config: Mapping[str, Any], input_shape: Sequence[int], n_outputs: int) -> nn.Sequential:
    """The seed-004 / seed-000 CNN for inputs of shape (C, H, W) or (C, L)."""
    dims = len(input_shape) - 1
    if dims not in (1, 2):
        raise InvalidArchitecture(f"a CNN needs inputs of shape (C, H, W) or (C, L), got {tuple(input_shape)}")
    conv, norm, pool = (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d) if dims == 2 else (nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d)
    n_conv = int(config["n_conv_layers"])
    kernel = int(config.get("kernel_size", 3))
    channels, spatial = int(input_shape[0]), list(input_shape[1:])
    layers: list[nn.Module] = []
    for width in _per_layer(config, "n_filters", "filters", n_conv):
        layers += [conv(channels, width, kernel, padding=kernel // 2, bias=not config.get("batch_norm", False))]
        if config.get("batch_norm", False):
            layers.append(norm(width))
        layers += [nn.ReLU(inplace=True), pool(2)]
        channels, spatial = width, [s // 2 for s in spatial]
        if min(spatial) < 1:
            raise InvalidArchitecture(f"{n_conv} pooled conv layers shrink a {'x'.join(map(str, input_shape[1:]))} "
                                      "input to nothing; use fewer conv layers or larger images (image_size)")
    if config.get("global_avg_pooling", False):
        layers += [nn.AdaptiveAvgPool2d(1) if dims == 2 else nn.AdaptiveAvgPool1d(1), nn.Flatten()]
        features = channels
    else:
        layers.append(nn.Flatten())
        features = channels * int(torch.tensor(spatial).prod())
    return nn.Sequential(*layers, *_head(config, features, n_outputs, nn.ReLU))


def _head(config: Mapping[str, Any], features: int, n_outputs: int, activation: type[nn.Module]) -> list[nn.Module]:
    n_fc = int(config.get("n_fc_layers", config.get("n_layers", 1)))
    widths = _per_layer(config, "n_fc_neurons" if "n_fc_neurons" in config else "n_neurons", "fc_neurons", n_fc)
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
    features = int(torch.tensor(list(input_shape)).prod())
    return nn.Sequential(nn.Flatten(), *_head(config, features, n_outputs, ACTIVATIONS[name]))


def build_model(config: Mapping[str, Any], input_shape: Sequence[int], n_outputs: int,
                architecture: str | None = None) -> nn.Module:
    """The network of ``config``: ``architecture`` is ``"cnn"`` or ``"mlp"``, or inferred
    from the configuration's keys (``n_conv_layers`` means a CNN)."""
    architecture = architecture or ("cnn" if "n_conv_layers" in config else "mlp")
    if architecture not in ("cnn", "mlp"):
        raise ValueError(f"architecture must be 'cnn' or 'mlp', got {architecture!r}")
    if n_outputs < 1:
        raise ValueError(f"n_outputs must be >= 1, got {n_outputs}")
    try:
        return (build_cnn if architecture == "cnn" else build_mlp)(config, input_shape, n_outputs)
    except KeyError as exc:
        raise InvalidArchitecture(f"configuration lacks {exc}, which a {architecture} needs") from None


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
