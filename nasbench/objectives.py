"""What a trial measures.

An objective is a callable ``objective(config, seed) -> {metric: value}`` with
a tuple of :class:`Metric` saying which values are optimised and in which
direction. This module has the cheap synthetic problems with known Pareto fronts
(ZDT1-3, Zitzler, Deb & Thiele 2000; DTLZ2, Deb et al. 2002) for testing the
optimisers, and :class:`TrainingObjective`, the recipe of a NAS/HPO study. An
objective may carry ``space``, ``metrics`` and ``reference_point``, and a
``spec()`` to be rebuilt from; nothing here tests for its concrete class.
"""

from __future__ import annotations

import copy
import functools
import importlib
import math
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from . import __version__
from .hypervolume import pareto_front as _nondominated
from .space import Float, SearchSpace, preset

__all__ = ["Metric", "Problem", "ZDT1", "ZDT2", "ZDT3", "DTLZ2", "PROBLEMS", "problem", "objective_from_spec",
           "objective_spec", "parse_metrics", "TrainingObjective", "TRAINING_METRICS", "SPEC_KINDS"]

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
        x = np.array([config[n] for n in self._names], dtype=float)
        return dict(zip(self._metric_names, np.asarray(self.evaluate(x), dtype=float).tolist()))

    # cached: on a cheap problem the call is a good part of a trial's cost (8.5 -> 5.9 us on ZDT1)
    @functools.cached_property
    def _names(self) -> tuple[str, ...]:
        return tuple(self.space.names)

    @functools.cached_property
    def _metric_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics)

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


def _learning_curve(**params: Any) -> Problem:
    from .problems import LearningCurveProblem  # problems.py builds on this module

    return LearningCurveProblem(**params)


PROBLEMS: dict[str, Callable[..., Problem]] = {"zdt1": ZDT1, "zdt2": ZDT2, "zdt3": ZDT3, "dtlz2": DTLZ2,
                                               "learning_curve": _learning_curve}


def problem(name: str, **params: Any) -> Problem:
    """A synthetic problem by name: ``zdt1``, ``zdt2``, ``zdt3``, ``dtlz2``, and the
    multi-fidelity ``learning_curve`` (:mod:`nasbench.problems`)."""
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


def _shown(value: Any) -> str:
    kind = type(value).__name__
    return f"{value!r} ({'an' if kind[0] in 'aeiou' else 'a'} {kind})"


def _check_int(name: str, value: Any, low: int, none: str = " (or None)") -> int | None:
    """``value`` as an int >= ``low``, or None; a one-line ValueError otherwise."""
    if value is None:
        return None
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer >= {low}{none}, got {_shown(value)}; pass an int")
    if value < low:
        raise ValueError(f"{name} must be an integer >= {low}{none}, got {value}")
    return int(value)


def _check_fraction(name: str, value: Any, low_open: bool) -> float:
    """``value`` as a float in [0, 1) (or (0, 1) when ``low_open``)."""
    interval = "(0, 1)" if low_open else "[0, 1)"
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ValueError(f"{name} must be a number in {interval}, got {_shown(value)}; pass a float")
    if not (0 < value < 1 if low_open else 0 <= value < 1):
        raise ValueError(f"{name} must be a number in {interval}, got {value}")
    return float(value)


def _protocol(protocol: Any):
    """A :class:`~nasbench.training.TrainConfig` from one, a dict of its fields, or None."""
    from dataclasses import fields

    from .training import TrainConfig

    if protocol is None or isinstance(protocol, TrainConfig):
        return protocol or TrainConfig()
    if not isinstance(protocol, Mapping):
        raise ValueError(f"protocol must be a TrainConfig or a dict of its fields, got {_shown(protocol)}")
    known = [f.name for f in fields(TrainConfig)]
    unknown = sorted(set(protocol) - set(known))
    if unknown:
        raise ValueError(f"protocol has unknown keys {unknown}; use some of {known}")
    return TrainConfig(**protocol)


def _check_dataset(name: Any, root: str) -> str:
    from .data import dataset_names, resolve_root

    names = dataset_names(root)
    if name not in names:
        raise ValueError(f"unknown dataset {name!r}: use one of {names}, or put images in "
                         f"{resolve_root(root) / str(name)}/<class>/<image> (ImageFolder layout)")
    return name


class TrainingObjective:
    """Train the network a configuration describes and score it: a recipe of data, space,
    protocol and metrics.

    Ties a dataset (:func:`nasbench.data.load_dataset`), a search space (a preset
    name or a :class:`SearchSpace`), a training protocol
    (:class:`nasbench.training.TrainConfig`, whose defaults the configuration's own
    hyperparameters override) and the metrics to optimise. ``folds`` > 1 scores by
    stratified k-fold cross-validation (seed 000: 3), else a holdout split of
    ``val_fraction``. ``fidelity`` (epochs) caps ``max_epochs``; a trial's own fidelity
    (Hyperband's rung, PBT's step) overrides it. A trial that warm-starts from another
    (a promotion, PBT's exploit) continues that trial's checkpoint from its fidelity
    when ``continue_trials`` (the default), else retrains from scratch. Each epoch's
    validation scores go to :meth:`nasbench.evaluators.TrialTask.report`, where the
    study's stopping rule may end the trial. ``save_weights`` writes each trial's weights to the study's ``models/``
    (:func:`nasbench.store.write_weights`), reloadable with
    :func:`nasbench.training.load_trial_model`. The scoring itself is
    :func:`nasbench.training.score`; :attr:`reference_point` bounds the metrics.
    ``threads`` fixes PyTorch's intra-op threads per trial; None (the default) picks them
    per trial with :func:`nasbench.training.auto_threads` (torch's count, fewer while other
    processes hold cores). The count is recorded as the trial's ``threads`` metric: a
    different count can change float rounding, so pass ``threads=n`` to repeat a trial bit
    for bit.

    Examples: seed 000 ``metrics={"val_top3_accuracy": "maximize", "n_params": "minimize"}``,
    ``folds=3``; seed 003 ``dataset="sinewave", space="mlp", metrics=["val_mse"]``;
    seed 004 ``space="jahs_cnn", metrics=["val_error"]``.
    """

    def __init__(self, dataset: str = "digits", space: str | SearchSpace = "jahs_cnn", metrics: Any = None, *,
                 protocol: Any = None, folds: int | None = None, val_fraction: float = 0.2,
                 fidelity: int | None = None, image_size: int | None = None, n_samples: int | None = None,
                 root: str = "data", data_seed: int = 0, architecture: str | None = None,
                 save_weights: bool = False, report_test: bool = False, test_fraction: float = 0.0,
                 threads: int | None = None, continue_trials: bool = True) -> None:
        self.root = str(root)
        self.dataset, self.image_size, self.n_samples = _check_dataset(dataset, self.root), image_size, n_samples
        if not isinstance(space, (str, SearchSpace)):
            raise ValueError(f"space must be a preset name such as 'jahs_cnn' or a SearchSpace, got {_shown(space)}")
        self.space_name = space if isinstance(space, str) else None
        self.space = preset(space) if isinstance(space, str) else space
        self.protocol = _protocol(protocol)
        self.folds = _check_int("folds", folds, 2, " (or None for a holdout split)")
        self.fidelity = _check_int("fidelity (epochs)", fidelity, 1)
        self.val_fraction = _check_fraction("val_fraction", val_fraction, low_open=True)
        self.test_fraction = _check_fraction("test_fraction", test_fraction, low_open=False)
        if architecture not in (None, "cnn", "mlp"):
            raise ValueError(f"architecture must be 'cnn', 'mlp' or None, got {architecture!r}")
        self.data_seed, self.architecture = int(data_seed), architecture
        self.threads = _check_int("threads", threads, 1)
        self.save_weights, self.report_test = bool(save_weights), bool(report_test)
        if not isinstance(continue_trials, bool):
            raise ValueError(f"continue_trials must be True (continue a warm start's checkpoint) or False "
                             f"(retrain from scratch), got {continue_trials!r}")
        self.continue_trials = continue_trials
        self.metrics = self._metrics(metrics)
        self._data = None
        self._bounds: dict[str, int] | None = None

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
        """The recipe without its data: a Dask task carries a few hundred bytes, and the
        worker takes the data set from its process cache (:attr:`data`)."""
        return {**self.__dict__, "_data": None}

    @property
    def data(self):
        """The dataset, loaded once per process (:func:`nasbench.evaluators.process_cached`,
        keyed by what the data depends on): every trial a Dask worker runs after its first
        reuses it, as do copies of this objective (``with_fidelity``) in one process."""
        if self._data is None:
            import json

            from .evaluators import process_cached

            key = json.dumps([self.dataset, self.root, self.data_seed, self.image_size, self.n_samples,
                              self.test_fraction], default=lambda v: v.item() if hasattr(v, "item") else str(v))
            self._data = process_cached("dataset", key, self._build_data)
        return self._data

    def _build_data(self):
        """Load the data set and hold out the test part (what :attr:`data` caches)."""
        from .data import load_dataset

        data = load_dataset(self.dataset, root=self.root, seed=self.data_seed, image_size=self.image_size,
                            n_samples=self.n_samples)
        if self.test_fraction and data.test is None:  # hold out a test set the search never sees
            from dataclasses import replace

            from .data import train_val_test_split

            keep, test, _ = train_val_test_split(data, val=self.test_fraction, seed=self.data_seed + 1000)
            data = replace(data.subset(keep), test=data.subset(test))
        return data

    def _n_outputs(self) -> int:
        data = self.data
        return data.n_classes if data.task == "classification" else int(data.y.shape[1])

    @property
    def reference_point(self) -> tuple[float, ...]:
        """A reference point fixed before the search, in the metrics' own units (jahs_bench_201
        issue 19: not the worst observed point): 0 for accuracies, 1 for errors, 1.1 x the
        space's largest ``n_params`` / ``macs`` (:func:`nasbench.models.size_bounds`)."""
        point = []
        for m in self.metrics:
            if m.name in ("n_params", "macs"):
                point.append(1.1 * self._size_bounds()[m.name])
            elif m.name.endswith("accuracy"):
                point.append(0.0)
            elif m.name.endswith("error"):
                point.append(1.0)
            else:
                raise ValueError(f"metric {m.name!r} has no fixed worst value; give reference_point=... explicitly")
        return tuple(point)

    def _size_bounds(self) -> dict[str, int]:
        if self._bounds is None:
            from .models import size_bounds

            self._bounds = size_bounds(self.space, self.data.input_shape, self._n_outputs(), self.architecture)
        return self._bounds

    def with_fidelity(self, epochs: int) -> "TrainingObjective":
        """A copy that trains for at most ``epochs`` epochs."""
        other = copy.copy(self)
        other.fidelity = _check_int("fidelity (epochs)", epochs, 1)
        return other

    # --- evaluation --------------------------------------------------------------------
    def __call__(self, config: Mapping[str, Any], seed: int | None = None) -> dict[str, Any]:
        scores, _ = self._train(config, 0 if seed is None else seed)
        return scores

    def evaluate_trial(self, task) -> dict[str, Any]:
        """As ``__call__``, at the trial's fidelity, continuing its warm start's checkpoint,
        reporting each epoch, and saving the weights under the study directory when asked
        (``save_weights``) or needed (``task.checkpoint``: a later trial may continue them)."""
        from .store import write_weights

        fidelity = task.fidelity if task.fidelity is not None else self.fidelity
        start = self._warm_start(task)
        scores, results = self._train(task.config, task.seed, fidelity=fidelity, start=start,
                                      report=task.report, reported=task.metric_names)
        if (self.save_weights or task.checkpoint) and task.directory:
            write_weights(task.directory, task.trial_id,
                          {**self._weights(task.config, results), "fidelity": max(r.epochs for r in results)})
        return scores

    def _warm_start(self, task) -> tuple[list, int] | None:
        """The checkpoint a warm-started trial continues: (weights per fold, epochs trained)."""
        if task.warm_start is None or not self.continue_trials:
            return None
        from .store import read_weights

        if not task.directory:
            raise ValueError("a warm-started trial needs the study directory to read its checkpoint from")
        payload = read_weights(task.directory, task.warm_start)
        return payload["state_dicts"], int(payload.get("fidelity", 0))

    def _train(self, config: Mapping[str, Any], seed: int, *, fidelity: int | None = None,
               start: tuple[list, int] | None = None, report: Callable | None = None, reported: Sequence[str] = ()):
        from dataclasses import replace

        from .models import InvalidArchitecture, build_model, count_macs
        from .training import TrainConfig, auto_threads, limit_threads, score

        data, n_out = self.data, self._n_outputs()
        cfg = TrainConfig.from_config(config, **self.protocol.to_dict())
        fidelity = self.fidelity if fidelity is None else fidelity
        if fidelity is not None:
            cfg = replace(cfg, max_epochs=min(cfg.max_epochs, fidelity))

        def factory():
            return build_model(config, data.input_shape, n_out, self.architecture)

        on_epoch = None
        if report is not None:
            size: dict[str, float] = {}  # the size metrics a study reports each epoch (constant over the epochs)
            if {"n_params", "macs"} & set(reported):
                model = factory()
                size["n_params"] = sum(p.numel() for p in model.parameters())
                if "macs" in reported:
                    size["macs"] = count_macs(model, data.input_shape)

            def on_epoch(epoch: int, scores: dict) -> None:
                values = {**size, **{k: v for k, v in scores.items() if k.startswith("val_")}}
                if "val_accuracy" in values:
                    values["val_error"] = 1.0 - values["val_accuracy"]
                report(epoch, values)

        states, start_epoch = start if start is not None else (None, 0)
        if states is not None and len(states) != (self.folds or 1):
            raise InvalidArchitecture(f"the warm start's checkpoint has {len(states)} fold(s), this protocol "
                                      f"{self.folds or 1}; continue trials of the same protocol")
        threads = self.threads or auto_threads()  # None: chosen per trial from the cores free now
        with limit_threads(threads):
            result = score(factory, data, cfg, folds=self.folds, val_fraction=self.val_fraction, seed=seed,
                           split_seed=self.data_seed, report_test=self.report_test, initial_states=states,
                           start_epoch=min(start_epoch, cfg.max_epochs), on_epoch=on_epoch)
        result[0]["threads"] = threads  # the count changes float rounding: pass threads=n to repeat a trial bit for bit
        return result

    def _weights(self, config: Mapping[str, Any], results) -> dict:
        """What :func:`nasbench.training.load_trial_model` needs to rebuild the trial's model."""
        return {"config": dict(config), "architecture": self.architecture or "",
                "input_shape": list(self.data.input_shape), "n_outputs": self._n_outputs(),
                "state_dicts": [r.state_dict for r in results]}

    def spec(self) -> dict:
        return {"training": {
            "dataset": self.dataset, "space": self.space_name or self.space.to_dict(),
            "metrics": {m.name: m.direction for m in self.metrics}, "protocol": self.protocol.to_dict(),
            "folds": self.folds, "val_fraction": self.val_fraction, "fidelity": self.fidelity,
            "image_size": self.image_size, "n_samples": self.n_samples, "root": self.root,
            "data_seed": self.data_seed, "architecture": self.architecture, "save_weights": self.save_weights,
            "report_test": self.report_test, "test_fraction": self.test_fraction, "threads": self.threads,
            "continue_trials": self.continue_trials}}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> "TrainingObjective":
        spec = dict(spec)
        space = spec.pop("space")
        return cls(space=space if isinstance(space, str) else SearchSpace.from_dict(space), **spec)


#: The kinds of objective spec :func:`objective_from_spec` rebuilds.
SPEC_KINDS = ("problem", "training", "callable")


def objective_spec(objective: Callable) -> dict | None:
    """How to rebuild ``objective`` in another process (``nasbench resume``), or None.

    An objective with a ``spec()`` method is rebuilt from it (problems from their name
    and parameters, training objectives from their recipe); a module-level function
    from its import path; anything else (a lambda, a notebook function) cannot.
    """
    spec = getattr(objective, "spec", None)
    if callable(spec):
        described = spec()
        if not isinstance(described, Mapping):
            raise ValueError(f"{type(objective).__name__}.spec() must return a dict such as "
                             f"{{'problem': 'zdt1', 'params': {{}}}}, got {_shown(described)}")
        return dict(described)
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
    if "callable" not in spec:
        raise ValueError(f"this study's objective of kind {sorted(spec)} is unknown to nasbench {__version__} "
                         f"(it rebuilds {list(SPEC_KINDS)}); upgrade nasbench or pass objective=... to Study.load")
    module, _, name = spec["callable"].partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot import the study's objective {spec['callable']!r} ({exc}); "
                         "make it importable or pass objective=... to Study.load") from None
