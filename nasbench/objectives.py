"""What a trial measures.

An objective is a callable ``objective(config, seed) -> {metric: value}`` with
a tuple of :class:`Metric` saying which values are optimised and in which
direction. This module has the cheap synthetic problems with known Pareto fronts
(ZDT1-3, Zitzler, Deb & Thiele 2000; DTLZ2, Deb et al. 2002) for testing the
optimisers; training-based objectives join them later.
"""

from __future__ import annotations

import copy
import importlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from .hypervolume import pareto_front as _nondominated
from .space import Float, SearchSpace, preset

__all__ = ["Metric", "Problem", "ZDT1", "ZDT2", "ZDT3", "DTLZ2", "PROBLEMS", "problem", "objective_from_spec",
           "objective_spec", "parse_metrics", "TrainingObjective", "TRAINING_METRICS"]

DIRECTIONS = ("minimize", "maximize")


@dataclass(frozen=True)
class Metric:
    """An optimised quantity: its name and whether it is minimised or maximised."""

    name: str
    direction: str = "minimize"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a metric needs a non-empty name, got {self.name!r}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"metric {self.name!r}: direction must be 'minimize' or 'maximize', got {self.direction!r}")


def parse_metrics(metrics: Any) -> tuple[Metric, ...]:
    """Metrics from ``[Metric, ...]``, ``{"name": "minimize", ...}`` or ``["name", ...]`` (minimised)."""
    if isinstance(metrics, Mapping):
        items = [Metric(n, d) for n, d in metrics.items()]
    elif isinstance(metrics, (list, tuple)):
        items = [m if isinstance(m, Metric) else Metric(**m) if isinstance(m, Mapping) else Metric(m) for m in metrics]
    else:
        raise ValueError("metrics must be a dict {name: 'minimize'|'maximize'} or a list of names")
    if not items:
        raise ValueError("at least one metric is needed, e.g. metrics={'loss': 'minimize'}")
    names = [m.name for m in items]
    if len(set(names)) != len(names):
        raise ValueError(f"metric names must be unique, got {names}")
    return tuple(items)


class Problem:
    """A synthetic benchmark: a space, metrics, a reference point and a known front."""

    name: str = "problem"
    metrics: tuple[Metric, ...] = ()
    space: SearchSpace
    reference_point: tuple[float, ...]

    def __call__(self, config: Mapping[str, Any], seed: int | None = None) -> dict[str, float]:
        x = np.fromiter((config[n] for n in self.space.names), dtype=float, count=len(self.space))
        return dict(zip((m.name for m in self.metrics), map(float, self.evaluate(x))))

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def pareto_front(self, n: int = 1000) -> np.ndarray:
        raise NotImplementedError

    def spec(self) -> dict:
        return {"problem": self.name, "params": self.params()}

    def params(self) -> dict:
        return {}


def _unit_space(name: str, n_var: int) -> SearchSpace:
    # polynomial mutation and SBX: the standard operators for these problems
    return SearchSpace(tuple(Float(f"x{i}", 0.0, 1.0, default=0.5, mutation="polynomial") for i in range(n_var)),
                       name=name)


class _ZDT(Problem):
    metrics = (Metric("f1"), Metric("f2"))

    def __init__(self, n_var: int = 30) -> None:
        if int(n_var) != n_var or n_var < 2:
            raise ValueError(f"{self.name}: n_var must be an integer >= 2, got {n_var}")
        self.n_var = int(n_var)
        self.space = _unit_space(self.name, self.n_var)
        self.reference_point = (1.1, 1.1)

    def params(self) -> dict:
        return {"n_var": self.n_var}

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        f1 = x[0]
        g = 1.0 + 9.0 * x[1:].sum() / (len(x) - 1)
        return np.array([f1, g * self._h(f1, g)])

    def _h(self, f1: float, g: float) -> float:
        raise NotImplementedError

    def pareto_front(self, n: int = 1000) -> np.ndarray:
        f1 = np.linspace(0, 1, n)  # on the front g = 1
        return _nondominated(np.column_stack([f1, [self._h(v, 1.0) for v in f1]]))


class ZDT1(_ZDT):
    """ZDT1: h = 1 - sqrt(f1/g); convex front f2 = 1 - sqrt(f1)."""

    name = "zdt1"

    def _h(self, f1: float, g: float) -> float:
        return 1.0 - math.sqrt(f1 / g)


class ZDT2(_ZDT):
    """ZDT2: h = 1 - (f1/g)^2; concave front f2 = 1 - f1^2."""

    name = "zdt2"

    def _h(self, f1: float, g: float) -> float:
        return 1.0 - (f1 / g) ** 2


class ZDT3(_ZDT):
    """ZDT3: h = 1 - sqrt(f1/g) - (f1/g) sin(10 pi f1); a disconnected front."""

    name = "zdt3"

    def _h(self, f1: float, g: float) -> float:
        return 1.0 - math.sqrt(f1 / g) - (f1 / g) * math.sin(10 * math.pi * f1)

    def pareto_front(self, n: int = 1000) -> np.ndarray:
        return super().pareto_front(20 * n)


class DTLZ2(Problem):
    """DTLZ2 with M objectives: front on the unit sphere's positive orthant."""

    name = "dtlz2"

    def __init__(self, n_obj: int = 3, n_var: int | None = None) -> None:
        if int(n_obj) != n_obj or n_obj < 2:
            raise ValueError(f"dtlz2: n_obj must be an integer >= 2, got {n_obj}")
        self.n_obj = int(n_obj)
        self.n_var = self.n_obj + 9 if n_var is None else int(n_var)
        if self.n_var < self.n_obj:
            raise ValueError(f"dtlz2: n_var must be >= n_obj ({self.n_obj}), got {self.n_var}")
        self.metrics = tuple(Metric(f"f{i + 1}") for i in range(self.n_obj))
        self.space = _unit_space(self.name, self.n_var)
        self.reference_point = (1.1,) * self.n_obj

    def params(self) -> dict:
        return {"n_obj": self.n_obj, "n_var": self.n_var}

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        m = self.n_obj
        g = ((x[m - 1:] - 0.5) ** 2).sum()
        angles = x[: m - 1] * math.pi / 2
        f = np.full(m, 1.0 + g)
        for i in range(m):
            f[i] *= np.prod(np.cos(angles[: m - 1 - i]))
            if i > 0:
                f[i] *= math.sin(angles[m - 1 - i])
        return f

    def pareto_front(self, n: int = 1000) -> np.ndarray:
        rng = np.random.default_rng(0)
        v = np.abs(rng.normal(size=(n, self.n_obj)))
        return v / np.linalg.norm(v, axis=1, keepdims=True)


PROBLEMS: dict[str, Callable[..., Problem]] = {"zdt1": ZDT1, "zdt2": ZDT2, "zdt3": ZDT3, "dtlz2": DTLZ2}


def problem(name: str, **params: Any) -> Problem:
    """A synthetic problem by name: ``zdt1``, ``zdt2``, ``zdt3``, ``dtlz2``."""
    if name not in PROBLEMS:
        raise ValueError(f"unknown problem {name!r}; use one of {sorted(PROBLEMS)}")
    return PROBLEMS[name](**params)


#: Metrics a :class:`TrainingObjective` reports, with their natural direction.
TRAINING_METRICS = {
    "val_error": "minimize", "val_accuracy": "maximize", "val_loss": "minimize", "val_mse": "minimize",
    "n_params": "minimize", "macs": "minimize", "train_time": "minimize", "epochs": "minimize",
    "test_accuracy": "maximize", "test_error": "minimize",
}


def _training_metric_direction(name: str) -> str:
    if name in TRAINING_METRICS:
        return TRAINING_METRICS[name]
    if name.startswith("val_top") and name.endswith("_accuracy"):
        return "maximize"
    raise ValueError(f"unknown training metric {name!r}; use one of {sorted(TRAINING_METRICS)} or 'val_topK_accuracy'")


class TrainingObjective:
    """Train the network a configuration describes and score it.

    Ties a dataset (:func:`nasbench.data.load_dataset`), a search space (a preset
    name or a :class:`SearchSpace`), a training protocol
    (:class:`nasbench.training.TrainConfig`, whose defaults the configuration's own
    hyperparameters override) and the metrics to optimise. ``folds`` > 1 scores by
    stratified k-fold cross-validation (seed 000: 3), else a holdout split of
    ``val_fraction``. ``fidelity`` (epochs) caps ``max_epochs`` for multi-fidelity
    optimisers. ``save_weights`` writes each trial's weights to
    ``<study>/models/trial_<id>.pt``, reloadable with ``torch.load(..., weights_only=True)``
    (see :func:`nasbench.training.load_trial_model`).

    Examples: seed 000 ``metrics={"val_top3_accuracy": "maximize", "n_params": "minimize"}``,
    ``folds=3``; seed 003 ``dataset="sinewave", space="mlp", metrics=["val_mse"]``;
    seed 004 ``space="jahs_cnn", metrics=["val_error"]``.
    """

    def __init__(self, dataset: str = "digits", space: str | SearchSpace = "jahs_cnn", metrics: Any = None, *,
                 protocol: Any = None, folds: int | None = None, val_fraction: float = 0.2,
                 fidelity: int | None = None, image_size: int | None = None, n_samples: int | None = None,
                 root: str = "data", data_seed: int = 0, architecture: str | None = None,
                 save_weights: bool = False, report_test: bool = False, test_fraction: float = 0.0,
                 threads: int | None = None) -> None:
        from .training import TrainConfig

        self.dataset, self.image_size, self.n_samples, self.root = dataset, image_size, n_samples, str(root)
        self.space_name = space if isinstance(space, str) else None
        self.space = preset(space) if isinstance(space, str) else space
        self.protocol = TrainConfig(**protocol) if isinstance(protocol, Mapping) else (protocol or TrainConfig())
        if folds is not None and (int(folds) != folds or folds < 2):
            raise ValueError(f"folds must be an integer >= 2 (or None for a holdout split), got {folds}")
        if fidelity is not None and fidelity < 1:
            raise ValueError(f"fidelity (epochs) must be >= 1, got {fidelity}")
        self.folds, self.val_fraction, self.fidelity = folds, float(val_fraction), fidelity
        self.data_seed, self.architecture, self.threads = int(data_seed), architecture, threads
        self.save_weights, self.report_test = bool(save_weights), bool(report_test)
        if not 0 <= test_fraction < 1:
            raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
        self.test_fraction = float(test_fraction)
        self.metrics = self._metrics(metrics)
        self._data = None

    def _metrics(self, metrics: Any) -> tuple[Metric, ...]:
        if metrics is None:
            metrics = ["val_mse"] if self.dataset == "sinewave" else ["val_error"]
        if isinstance(metrics, (list, tuple)) and all(isinstance(m, str) for m in metrics):
            metrics = {m: _training_metric_direction(m) for m in metrics}
        parsed = parse_metrics(metrics)
        for m in parsed:
            _training_metric_direction(m.name)
        return parsed

    # --- pickling: ship the recipe, not the tensors -------------------------------------
    def __getstate__(self) -> dict:
        return {**self.__dict__, "_data": None}

    @property
    def data(self):
        """The dataset (loaded once per process)."""
        if self._data is None:
            from .data import load_dataset

            data = load_dataset(self.dataset, root=self.root, seed=self.data_seed, image_size=self.image_size,
                                n_samples=self.n_samples)
            if self.test_fraction and data.test is None:  # hold out a test set the search never sees
                from dataclasses import replace

                from .data import train_val_test_split

                keep, test, _ = train_val_test_split(data, val=self.test_fraction, seed=self.data_seed + 1000)
                data = replace(data.subset(keep), test=data.subset(test))
            self._data = data
        return self._data

    def with_fidelity(self, epochs: int) -> "TrainingObjective":
        """A copy that trains for at most ``epochs`` epochs."""
        other = copy.copy(self)
        other.fidelity = int(epochs)
        return other

    # --- evaluation --------------------------------------------------------------------
    def __call__(self, config: Mapping[str, Any], seed: int | None = None) -> dict[str, Any]:
        scores, _ = self._train(config, 0 if seed is None else seed)
        return scores

    def evaluate_trial(self, task) -> dict[str, Any]:
        """As ``__call__``, saving the weights under the study directory when asked."""
        scores, results = self._train(task.config, task.seed)
        if self.save_weights and task.directory:
            self._save(Path(task.directory) / "models" / f"trial_{task.trial_id:06d}.pt", task.config, results)
        return scores

    def _train(self, config: Mapping[str, Any], seed: int):
        from dataclasses import replace

        from .models import build_model, count_macs
        from .training import TrainConfig, cross_validate, holdout, resolve_device, set_threads

        set_threads(self.threads)
        data = self.data
        cfg = TrainConfig.from_config(config, **self.protocol.to_dict())
        if self.fidelity is not None:
            cfg = replace(cfg, max_epochs=min(cfg.max_epochs, self.fidelity))
        n_out = data.n_classes if data.task == "classification" else int(data.y.shape[1])

        def factory():
            return build_model(config, data.input_shape, n_out, self.architecture)

        model = factory()  # an impossible architecture fails here, before any training
        if self.folds:
            mean, results = cross_validate(factory, data, cfg, folds=self.folds, seed=seed, split_seed=self.data_seed)
        else:
            mean, results = holdout(factory, data, cfg, seed=seed, val_fraction=self.val_fraction,
                                    split_seed=self.data_seed)
        scores: dict[str, Any] = dict(mean)  # train_loss, val_loss, val_accuracy, val_topK_accuracy / val_mse
        if data.task == "classification":
            scores["val_error"] = 1.0 - scores["val_accuracy"]
        scores.update(n_params=results[0].n_params, macs=count_macs(model, data.input_shape),
                      train_time=sum(r.train_time for r in results), epochs=[r.epochs for r in results],
                      best_epoch=[r.best_epoch for r in results],
                      learning_curves=[r.learning_curve for r in results], device=str(resolve_device(cfg.device)))
        if self.report_test:
            scores.update(self._test_scores(factory, results[0], cfg))
        return scores, results

    def _test_scores(self, factory, result, cfg) -> dict[str, float]:
        from .training import evaluate

        test = self.data.test
        if test is None:
            raise ValueError(f"dataset {self.dataset!r} has no separate test set; set test_fraction=0.2 "
                             "(or report_test=False)")
        model = factory()
        model.load_state_dict(result.state_dict)
        scores = evaluate(model, test.x, test.y, test.task, top_k=cfg.top_k, amp=False)
        if test.task == "regression":
            return {"test_mse": scores["mse"]}
        return {"test_accuracy": scores["accuracy"], "test_error": 1.0 - scores["accuracy"]}

    def _save(self, path: Path, config: Mapping[str, Any], results) -> None:
        import torch

        path.parent.mkdir(parents=True, exist_ok=True)
        data = self.data
        payload = {"config": dict(config), "architecture": self.architecture or "",
                   "input_shape": list(data.input_shape),
                   "n_outputs": data.n_classes if data.task == "classification" else int(data.y.shape[1]),
                   "state_dicts": [r.state_dict for r in results]}
        tmp = path.with_suffix(".tmp")
        torch.save(payload, tmp)
        tmp.replace(path)  # atomic: a killed trial leaves no half-written file

    def spec(self) -> dict:
        return {"training": {
            "dataset": self.dataset, "space": self.space_name or self.space.to_dict(),
            "metrics": {m.name: m.direction for m in self.metrics}, "protocol": self.protocol.to_dict(),
            "folds": self.folds, "val_fraction": self.val_fraction, "fidelity": self.fidelity,
            "image_size": self.image_size, "n_samples": self.n_samples, "root": self.root,
            "data_seed": self.data_seed, "architecture": self.architecture, "save_weights": self.save_weights,
            "report_test": self.report_test, "test_fraction": self.test_fraction, "threads": self.threads}}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> "TrainingObjective":
        spec = dict(spec)
        space = spec.pop("space")
        return cls(space=space if isinstance(space, str) else SearchSpace.from_dict(space), **spec)


def objective_spec(objective: Callable) -> dict | None:
    """How to rebuild ``objective`` in another process (``nasbench resume``), or None.

    Problems rebuild from their name and parameters; a module-level function
    from its import path; anything else (a lambda, a notebook function) cannot.
    """
    if isinstance(objective, (Problem, TrainingObjective)):
        return objective.spec()
    module, qualname = getattr(objective, "__module__", None), getattr(objective, "__qualname__", "")
    if module and module != "__main__" and "<" not in qualname and "." not in qualname:
        return {"callable": f"{module}:{qualname}"}
    return None


def objective_from_spec(spec: Mapping[str, Any] | None) -> Callable:
    """The objective that :func:`objective_spec` described."""
    if not spec:
        raise ValueError("this study's objective was defined in a notebook or script and cannot be rebuilt; "
                         "pass it again: Study.load(directory, objective=...)")
    if "problem" in spec:
        return problem(spec["problem"], **spec.get("params", {}))
    if "training" in spec:
        return TrainingObjective.from_spec(spec["training"])
    module, _, name = spec["callable"].partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot import the study's objective {spec['callable']!r} ({exc}); "
                         "make it importable or pass objective=... to Study.load") from None
