"""Cheap multi-fidelity problems for testing the multi-fidelity optimisers without training.

:class:`LearningCurveProblem` has a mixed, conditional space and a learning curve
per configuration: its loss after ``e`` epochs is ``final(x) + gap(x) * decay(e)``
plus small noise drawn from the trial seed. ``gap`` is correlated with ``final``
only in part (deep networks learn slowly), so a low fidelity ranks configurations
imperfectly but informatively, which is what Hyperband and BOHB bet on.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Mapping

import numpy as np

from .objectives import Metric, Problem
from .space import Categorical, Condition, Float, Integer, SearchSpace

__all__ = ["LearningCurveProblem"]

_ACTIVATION_COST = {"relu": 0.0, "tanh": 0.1, "sigmoid": 0.3}
_ACTIVATION_SLOWNESS = {"relu": 0.0, "tanh": 0.2, "sigmoid": 0.5}


def _check_int(name: str, value: Any, low: int) -> int:
    what = f"learning_curve: {name} must be an integer >= {low}"
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        kind = type(value).__name__
        raise ValueError(f"{what}, got {value!r} ({'an' if kind[0] in 'aeiou' else 'a'} {kind}); pass an int")
    if value < low:
        raise ValueError(f"{what}, got {value}")
    return int(value)


def _check_noise(value: Any) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 <= value < math.inf:
        raise ValueError(f"learning_curve: noise must be a number >= 0 (the noise's standard deviation), "
                         f"got {value!r}; pass e.g. 0.01")
    return float(value)


class LearningCurveProblem(Problem):
    """A deterministic synthetic learning curve over a mixed, conditional space.

    Parameters: ``x0..x{n_var-1}`` floats in [0, 1], ``layers`` an int in [1, 8],
    ``activation`` a categorical, ``optimizer`` a categorical, and ``momentum``
    (active only with ``optimizer="sgd"``). The loss at fidelity ``e`` (epochs, 1 to
    ``max_fidelity``) is ``final(x) + gap(x) * (e**-0.5 - max_fidelity**-0.5)``
    plus Gaussian noise of standard deviation ``noise`` seeded by (trial seed, e);
    at ``max_fidelity`` it is ``final(x)`` (+ noise), whose minimum 0 is at
    ``x_i = 0.2 + 0.6 i/(n_var-1)``, 5 layers, relu, sgd with momentum 0.9.
    """

    name = "learning_curve"
    metrics = (Metric("loss"),)

    def __init__(self, n_var: int = 4, max_fidelity: int = 81, noise: float = 0.01) -> None:
        self.n_var = _check_int("n_var", n_var, 2)
        self.max_fidelity = _check_int("max_fidelity", max_fidelity, 1)
        self.noise = _check_noise(noise)
        self.space = _space(self.n_var)
        self.reference_point = (10.0,)
        self.optimum = 0.0
        self._centres = 0.2 + 0.6 * np.arange(self.n_var) / (self.n_var - 1)

    def params(self) -> dict:
        return {"n_var": self.n_var, "max_fidelity": self.max_fidelity, "noise": self.noise}

    # --- the curve ---------------------------------------------------------------------
    def final(self, config: Mapping[str, Any]) -> float:
        """The loss after ``max_fidelity`` epochs, without noise."""
        x = np.array([config[f"x{i}"] for i in range(self.n_var)], dtype=float)
        loss = 4.0 * float(((x - self._centres) ** 2).mean())
        loss += 0.4 * ((config["layers"] - 5) / 4) ** 2 + _ACTIVATION_COST[config["activation"]]
        loss += 0.05 if config["optimizer"] == "adam" else 0.3 * (config["momentum"] - 0.9) ** 2
        return loss

    def gap(self, config: Mapping[str, Any]) -> float:
        """How far above ``final`` the curve starts: deep, saturating, momentum-free nets learn slowly."""
        gap = 0.2 + 0.8 * config["layers"] / 8 + 0.6 * config["x0"] + _ACTIVATION_SLOWNESS[config["activation"]]
        return gap + (0.6 * (1.0 - config["momentum"]) if config["optimizer"] == "sgd" else 0.1)

    def loss(self, config: Mapping[str, Any], epoch: int, seed: int | None = None) -> float:
        """The loss after ``epoch`` epochs; ``seed`` (the trial's) draws the noise."""
        epoch = self._fidelity(epoch)
        value = self.final(config) + self.gap(config) * (epoch ** -0.5 - self.max_fidelity ** -0.5)
        if self.noise and seed is not None:
            value += self.noise * float(np.random.default_rng([int(seed), epoch]).standard_normal())
        return value

    def _fidelity(self, epoch: Any) -> int:
        if not isinstance(epoch, numbers.Integral) or isinstance(epoch, bool) or not 1 <= epoch <= self.max_fidelity:
            raise ValueError(f"learning_curve: fidelity must be an integer in [1, {self.max_fidelity}] (epochs), "
                             f"got {epoch!r}; pass an int or None for max_fidelity")
        return int(epoch)

    # --- the objective protocol ----------------------------------------------------------
    def __call__(self, config: Mapping[str, Any], seed: int | None = None) -> dict[str, float]:
        """The loss at ``max_fidelity``, and the epochs it cost."""
        return {"loss": self.loss(config, self.max_fidelity, seed), "epochs_used": float(self.max_fidelity)}

    def evaluate_trial(self, task: Any) -> dict[str, float]:
        """Train to ``task.fidelity`` epochs, reporting each epoch's loss; a warm start
        continues the donor's saved checkpoint (when the study kept one), so only the
        epochs after the donor's fidelity are trained and reported."""
        fidelity = self.max_fidelity if task.fidelity is None else self._fidelity(task.fidelity)
        start = min(self._donor_fidelity(task), fidelity)
        value = self.loss(task.config, start, task.seed) if start else math.nan
        for epoch in range(start + 1, fidelity + 1):
            value = self.loss(task.config, epoch, task.seed)
            task.report(epoch, {"loss": value})
        if task.checkpoint and task.directory:
            self._save_checkpoint(task, fidelity)
        return {"loss": value, "epochs_used": float(fidelity - start)}

    def _donor_fidelity(self, task: Any) -> int:
        """Epochs the warm-start donor trained (0 when there is none or it saved nothing)."""
        if task.warm_start is None or not task.directory:
            return 0
        from .store import model_path, read_weights

        if not model_path(task.directory, task.warm_start).is_file():
            return 0
        saved = read_weights(task.directory, task.warm_start)
        return int(saved["fidelity"]) if saved.get("config") == dict(task.config) else 0

    def _save_checkpoint(self, task: Any, fidelity: int) -> None:
        from .store import write_weights

        write_weights(task.directory, task.trial_id, {"config": dict(task.config), "fidelity": fidelity})


def _space(n_var: int) -> SearchSpace:
    floats = tuple(Float(f"x{i}", 0.0, 1.0, default=0.5) for i in range(n_var))
    return SearchSpace(floats + (
        Integer("layers", 1, 8, default=3),
        Categorical("activation", choices=("relu", "tanh", "sigmoid")),
        Categorical("optimizer", choices=("adam", "sgd")),
        Float("momentum", 0.0, 1.0, default=0.5, condition=Condition("optimizer", ("sgd",))),
    ), name="learning_curve")
