"""The studies of the seed decks as frozen, validated recipes, so notebooks stay a few calls per cell.

A recipe checks its parameters when it is built (one ``ValueError`` line naming
the fix) and ``run()`` returns what the notebook analyses. Running a recipe again
resumes its studies (or raises their target: more generations add trials);
``fresh=True`` starts them over, deleting only the files nasbench wrote in a
study directory, and refuses when a directory holds anything else.
"""

from __future__ import annotations

import json
import numbers
import re
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from .data import dataset_names, resolve_root
from .objectives import TrainingObjective
from .store import DB_NAME, LOCK_NAME, MODELS_DIR, Store
from .study import Study

__all__ = ["EvolutionaryNAS", "GAvsBaseline", "JointSearch", "open_study", "reference_point_for",
           "NASBENCH_FILES"]

OPTIMIZERS_FOR_BASELINES = ("random",)  # BO and BOHB arrive with the baselines issue
#: What nasbench writes in a study directory; ``fresh=True`` deletes these and nothing else.
NASBENCH_FILES = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal", LOCK_NAME, MODELS_DIR)
_WEIGHT_FILE = re.compile(r"trial_\d+\.(pt|tmp)")
BASELINE_FILE = "baseline.json"  # JointSearch: the baseline configuration's scores, one row per seed


def open_study(path: str | Path) -> Study:
    """A study to explore; a path that is not one fails with the fix."""
    return Study.load(path)


def reference_point_for(objective: Any) -> list[float]:
    """The objective's fixed reference point (jahs_bench_201 issue 19: fixed before the
    search, not the worst observed point): :attr:`TrainingObjective.reference_point`,
    which bounds the model size over the whole space (:func:`nasbench.models.size_bounds`)."""
    own = getattr(objective, "reference_point", None)
    if own is None:
        raise ValueError(f"{type(objective).__name__} carries no reference point; give reference_point=... explicitly")
    return [float(v) for v in own]


# --- validation ------------------------------------------------------------------------------
def _a(value: Any) -> str:
    name = type(value).__name__
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def _integer(name: str, value: Any, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r} ({_a(value)}); pass an int")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")


def _choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"unknown {name} {value!r}; use one of {list(choices)}")


def _flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r} ({_a(value)}); pass a bool")


def _image_size(value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1):
        kind = "" if isinstance(value, numbers.Integral) and not isinstance(value, bool) else f" ({_a(value)})"
        raise ValueError(f"image_size must be an integer >= 1 (or None: as the images come), got {value!r}{kind}; "
                         "pass an int")


def _threads(value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1):
        kind = "" if isinstance(value, numbers.Integral) and not isinstance(value, bool) else f" ({_a(value)})"
        raise ValueError(f"threads must be an integer >= 1 (or None: picked per trial from the free cores), "
                         f"got {value!r}{kind}; pass an int")


def _dataset(name: Any, root: str | Path = "data") -> None:
    names = dataset_names(root)
    if name not in names:
        raise ValueError(f"unknown dataset {name!r}; use one of {names} (or put an image folder under {resolve_root(root)}/)")


def _directory(value: Any) -> None:
    if not isinstance(value, (str, Path)) or not str(value):
        raise ValueError(f"study directory must be a path such as 'studies/01', got {value!r} ({_a(value)}); "
                         "pass a string")
    for path in (Path(value), *Path(value).parents):
        if path.is_file():
            raise ValueError(f"{path} is a file, not a folder; give study_dir a folder (new, empty or a study)")


def _common(recipe: Any) -> None:
    """The checks every recipe shares: directory, dataset, image size, epochs, threads, seed, fresh."""
    _directory(recipe.directory)
    _dataset(recipe.dataset)
    _integer("max_epochs", recipe.max_epochs)
    _threads(recipe.threads)
    _flag("fresh", recipe.fresh)
    if hasattr(recipe, "image_size"):
        _image_size(recipe.image_size)
    if hasattr(recipe, "seed"):
        _integer("seed", recipe.seed, 0)


# --- the study directories -------------------------------------------------------------------
def _foreign(directory: Path) -> list[str]:
    """What ``directory`` holds that nasbench did not write."""
    out = []
    for entry in sorted(directory.iterdir()):
        if entry.name not in NASBENCH_FILES:
            out.append(entry.name)
        elif entry.name == MODELS_DIR:
            if not entry.is_dir():
                out.append(entry.name)
                continue
            out += [f"{MODELS_DIR}/{p.name}" for p in sorted(entry.iterdir())
                    if not (p.is_file() and _WEIGHT_FILE.fullmatch(p.name))]
    return out


def _prepare(directory: Path, fresh: bool) -> Path:
    """Check one study directory before a study is created or opened there; with
    ``fresh``, delete the files nasbench wrote in it (and only those)."""
    if not directory.exists():
        return directory
    if not directory.is_dir():
        raise ValueError(f"{directory} is a file, not a folder; give study_dir a folder (new, empty or a study)")
    foreign = _foreign(directory)
    if foreign and not Store.exists(directory):
        raise ValueError(f"{directory} is not a nasbench study (no {DB_NAME}) and holds {foreign[:5]}; "
                         "choose a new or empty study_dir")
    if fresh and foreign:
        raise ValueError(f"{directory} holds files nasbench did not write {foreign[:5]}, so fresh=True will not "
                         "delete it; move them out, or choose another study_dir")
    if fresh:
        _delete_study_files(directory)
    return directory


def _delete_study_files(directory: Path) -> None:
    """Delete what nasbench wrote in ``directory``, holding the study's writer lock (a
    study that another process is running is refused with :class:`StudyLocked`)."""
    store = Store.open(directory) if Store.exists(directory) else None
    with store.writer() if store is not None else nullcontext():
        if store is not None:
            store.close()
        for name in NASBENCH_FILES:
            path = directory / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()


def _study(directory: Path, fresh: bool, objective: Any, **kwargs: Any) -> Study:
    """The study in ``directory``: resumed when there is one (or made fresh), else created."""
    return Study.create(_prepare(directory, fresh), objective, load_if_exists=True, **kwargs)


# --- the recipes -----------------------------------------------------------------------------
@dataclass(frozen=True)
class EvolutionaryNAS:
    """Seed 000: NSGA-II (mu + lambda) on the ``evo_cnn`` space, maximising k-fold
    top-3 accuracy and minimising parameters; population initialised with the
    default, largest, smallest and random models; the size tournament every third
    generation, hypervolume-proportional selection otherwise.

    The seed's comparisons come with it: :meth:`run_baselines` runs each of
    ``baselines`` (names of :data:`nasbench.optimizers.OPTIMIZERS`) on the same budget,
    objective and reference point, each in its own study directory beside
    ``directory`` (``<directory>-<name>``); :meth:`train_references` trains the small
    ResNet-like and AlexNet-like networks of :data:`nasbench.models.REFERENCE_NETWORKS`
    with the same protocol. ``n_samples`` sizes a generated data set (mnist1d).
    ``threads`` fixes PyTorch's intra-op threads per trial (``TrainingObjective(threads=)``):
    a fixed count repeats a study bit for bit on any machine load; None picks them per
    trial from the cores free now (faster when idle, not repeatable)."""

    directory: str | Path
    dataset: str = "mnist1d"
    population: int = 8
    generations: int = 4
    max_epochs: int = 50
    patience: int = 10
    folds: int = 3
    seed: int = 0
    evaluator: str = "inprocess"
    image_size: int | None = None
    fresh: bool = False
    n_samples: int | None = None
    baselines: str | Sequence[str] = ("random", "optuna_tpe")
    threads: int | None = None

    def __post_init__(self) -> None:
        from .optimizers import OPTIMIZERS

        _common(self)
        _integer("population", self.population, 2)
        _integer("generations", self.generations)
        _integer("patience", self.patience)
        _integer("folds", self.folds, 2)
        _choice("evaluator", self.evaluator, ("inprocess", "dask"))
        if self.n_samples is not None:
            _integer("n_samples", self.n_samples, 10)
        names = self.baselines.split(",") if isinstance(self.baselines, str) else self.baselines
        names = tuple(n.strip() for n in names if n.strip())
        for name in names:
            _choice("baseline", name, [n for n in OPTIMIZERS if n != "nsga2"])
        object.__setattr__(self, "baselines", names)

    @property
    def trials(self) -> int:
        """The budget of every method: ``population * generations`` trials."""
        return self.population * self.generations

    def objective(self) -> TrainingObjective:
        return TrainingObjective(self.dataset, "evo_cnn", {"val_top3_accuracy": "maximize", "n_params": "minimize"},
                                 folds=self.folds, image_size=self.image_size, n_samples=self.n_samples,
                                 save_weights=True, protocol={"max_epochs": self.max_epochs, "patience": self.patience},
                                 threads=self.threads)

    def study(self) -> Study:
        """The study, resumed if ``directory`` holds it (fresh if asked)."""
        objective = self.objective()
        config = {"population_size": self.population, "init": "extremes", "parent_selection": "alternating",
                  "size_objective": 1, "performance_objective": 0, "tournament_size": 3}
        return _study(Path(self.directory), self.fresh, objective, seed=self.seed, optimizer="nsga2",
                      optimizer_options={"config": config}, reference_point=reference_point_for(objective))

    def run(self, callbacks: Sequence[Callable] = ()) -> Study:
        """Run (or continue) to :attr:`trials` trials."""
        study = self.study()
        study.optimize_until(self.trials, evaluator=self.evaluator, callbacks=callbacks)
        return study

    def baseline_directory(self, name: str) -> Path:
        """Where baseline ``name``'s study lives: beside the NSGA-II study."""
        directory = Path(self.directory)
        return directory.with_name(f"{directory.name}-{name}")

    def run_baselines(self, show_progress: bool = True) -> dict[str, Study]:
        """Each baseline run (or continued) to :attr:`trials` trials on the same objective,
        seed and reference point: name -> study. ``show_progress``: a tqdm bar per study."""
        objective = self.objective()
        out = {}
        for name in self.baselines:
            study = _study(self.baseline_directory(name), self.fresh, objective, seed=self.seed, optimizer=name,
                           reference_point=reference_point_for(objective))
            study.optimize_until(self.trials, evaluator=self.evaluator, show_progress=show_progress)
            out[name] = study
        return out

    def train_references(self) -> "pd.DataFrame":
        """The small reference networks trained and scored with the study's protocol (the
        space's default hyperparameters, the same folds and split): one row each with
        ``values_<metric>`` columns, cached in ``<directory>-references/``."""
        return _reference_scores(self, self.objective())


def _reference_scores(recipe: EvolutionaryNAS, objective: TrainingObjective) -> "pd.DataFrame":
    """Train (or read back) :meth:`EvolutionaryNAS.train_references`."""
    import pandas as pd

    from .models import REFERENCE_NETWORKS

    folder = recipe.baseline_directory("references")
    path, key = folder / REFERENCES_FILE, {**objective.spec(), "seed": recipe.seed}
    cached = json.loads(path.read_text()) if path.is_file() and not recipe.fresh else {}
    if cached.get("key") != json.loads(json.dumps(key)):
        _prepare_references(folder)
        rows = [_train_reference(name, objective, recipe.seed) for name in REFERENCE_NETWORKS]
        path.write_text(json.dumps({"key": key, "rows": rows}, indent=1))
        cached = {"rows": rows}
    return pd.DataFrame(cached["rows"])


def _prepare_references(folder: Path) -> None:
    """The reference scores' folder: new, or one that holds only :data:`REFERENCES_FILE`."""
    if folder.exists():
        foreign = [p.name for p in folder.iterdir() if p.name != REFERENCES_FILE] if folder.is_dir() else [folder.name]
        if foreign:
            raise ValueError(f"{folder} holds files nasbench did not write {foreign[:5]}; move them out, "
                             "or choose another study_dir")
    folder.mkdir(parents=True, exist_ok=True)


def _train_reference(name: str, objective: TrainingObjective, seed: int) -> dict:
    """One reference network scored as a trial of ``objective`` would be."""
    from .models import build_reference
    from .training import TrainConfig, auto_threads, limit_threads, score

    data = objective.data
    n_out = data.n_classes if data.task == "classification" else int(data.y.shape[1])
    cfg = TrainConfig.from_config(objective.space.default(), **objective.protocol.to_dict())
    with limit_threads(objective.threads or auto_threads()):
        scores, _ = score(lambda: build_reference(name, data.input_shape, n_out), data, cfg, folds=objective.folds,
                          val_fraction=objective.val_fraction, seed=seed, split_seed=objective.data_seed)
    row = {"name": name, **{f"values_{m.name}": float(scores[m.name]) for m in objective.metrics}}
    return {**row, "val_accuracy": float(scores["val_accuracy"]), "train_time": float(scores["train_time"]),
            "epochs": float(scores["epochs"])}


REFERENCES_FILE = "references.json"  # EvolutionaryNAS: the reference networks' scores and what they depend on


@dataclass(frozen=True)
class GAvsBaseline:
    """Seed 003: the GA (population 5, tournament 3, two-point crossover, its
    mutations, tree-distance activation mutation with base b) against a baseline
    optimiser (any registered name; GP-based BO by default) on the MLP space, with the
    same budget of trials, on one dataset, over ``seeds`` study seeds (``seed``,
    ``seed + 1``, ...). Regression sets are scored by validation MSE (seed 003's
    metric), classification sets by validation error. Seed k's studies live in
    ``directory/<dataset>/seed<k>/ga`` and ``directory/<dataset>/seed<k>/<baseline>``.
    ``threads``: PyTorch's intra-op threads per trial, as in :class:`EvolutionaryNAS`."""

    directory: str | Path
    dataset: str = "sinewave_noisy"
    population: int = 5
    generations: int = 20
    tree_base: float = 2.0
    baseline: str = "bo"
    max_epochs: int = 15
    seeds: int = 5
    seed: int = 0
    n_samples: int | None = None
    fresh: bool = False
    threads: int | None = None

    def __post_init__(self) -> None:
        from .optimizers import OPTIMIZERS

        _common(self)
        _integer("population", self.population, 2)
        _integer("generations", self.generations)
        _integer("seeds", self.seeds)
        _choice("baseline", self.baseline, sorted(set(OPTIMIZERS) - {"ga"}))  # "ga" is the method itself
        if self.n_samples is not None:
            _integer("n_samples", self.n_samples, 10)
        if isinstance(self.tree_base, bool) or not isinstance(self.tree_base, numbers.Real) or not self.tree_base > 1:
            raise ValueError(f"tree_base must be a number > 1 (larger explores more), got {self.tree_base!r}")

    @property
    def methods(self) -> tuple[str, str]:
        """The two methods' names, as keys of :meth:`run`'s result: ``("GA", baseline)``."""
        return ("GA", self.baseline)

    @property
    def trials(self) -> int:
        """The budget of each study: ``population * generations`` trials."""
        return self.population * self.generations

    @property
    def task(self) -> str:
        """The dataset in words, for titles and verdicts."""
        return _TASK_NAMES.get(self.dataset, self.dataset)

    @staticmethod
    def tables(studies: dict[str, dict[int, Study]]) -> dict[str, dict[int, Any]]:
        """:meth:`run`'s studies as their trials tables: method -> seed -> DataFrame."""
        return {method: {seed: s.trials_dataframe() for seed, s in by_seed.items()} for method, by_seed in studies.items()}

    def default_score(self, seed: int = 0) -> float:
        """The space's default configuration trained once with this protocol: its value of
        the study's metric (is the task already solved before the search starts?)."""
        objective = self.objective()
        return float(objective(objective.space.default(), seed=seed)[objective.metrics[0].name])

    def objective(self) -> TrainingObjective:
        from .space import SearchSpace, preset

        space = preset("mlp").to_dict()
        for p in space["parameters"]:
            if p["name"] == "activation":
                p["scale"] = float(self.tree_base)
        objective = TrainingObjective(self.dataset, SearchSpace.from_dict(space), ["val_mse"],
                                      n_samples=self.n_samples, threads=self.threads,
                                      protocol={"max_epochs": self.max_epochs, "patience": None})
        if objective.data.task == "classification":  # no MSE for class labels: their error
            objective = TrainingObjective(self.dataset, objective.space, ["val_error"], n_samples=self.n_samples,
                                          protocol=objective.protocol, threads=self.threads)
        return objective

    def study(self, method: str, seed: int, objective: TrainingObjective | None = None) -> Study:
        """One method's study for one seed, resumed if it exists (fresh if asked)."""
        _choice("method", method, self.methods)
        objective = objective or self.objective()
        folder = Path(self.directory) / self.dataset / f"seed{seed}"
        if method == "GA":
            return _study(folder / "ga", self.fresh, objective, optimizer="ga", seed=seed,
                          optimizer_options={"config": {"population_size": self.population}})
        return _study(folder / self.baseline, self.fresh, objective, optimizer=self.baseline, seed=seed,
                      optimizer_options=_baseline_options(self.baseline, self.max_epochs))

    def run(self, show_progress: bool = True) -> dict[str, dict[int, Study]]:
        """Every study, each run (or continued) to :attr:`trials` trials: method -> seed -> study.
        ``show_progress``: a tqdm bar per study."""
        objective = self.objective()
        out: dict[str, dict[int, Study]] = {m: {} for m in self.methods}
        for seed in range(self.seed, self.seed + self.seeds):
            for method in self.methods:
                study = self.study(method, seed, objective)
                study.optimize_until(self.trials, show_progress=show_progress)
                out[method][seed] = study
        return out


_TASK_NAMES = {"sinewave": "sinewave (linear target)", "sinewave_noisy": "noisy sinewave (cubic target + noise)",
               "mnist1d": "MNIST-1D", "mnist1d_onehot": "MNIST-1D (one-hot MSE)", "digits": "digits"}


def _baseline_options(name: str, max_epochs: int) -> dict:
    """Options a baseline needs on this protocol: multi-fidelity ones (Hyperband, BOHB,
    successive halving) get ``max_fidelity=max_epochs``; the others none."""
    import inspect

    from .optimizers import OPTIMIZERS

    accepted = inspect.signature(OPTIMIZERS[name].__init__).parameters
    return {"max_fidelity": int(max_epochs)} if "max_fidelity" in accepted else {}


@dataclass(frozen=True)
class JointSearch:
    """Seed 004: the joint architecture + hyperparameter space of its Table 1; the
    provided baseline configuration (the space's default) against an optimiser (BOHB)
    over several seeds; validation error as cost; test accuracy of each incumbent on a
    test split the search never sees. One study per seed in ``directory/seed<k>``; the
    baseline's scores (trained for ``max_epochs``, the largest fidelity) in
    ``baseline.json``; the multi-objective variant (validation error and parameters,
    the seed's future work) in ``directory/multi_objective``.

    ``optimizer`` is any registered optimiser: the multi-fidelity ones (successive
    halving, Hyperband, BOHB) get ``max_fidelity=max_epochs``, ``eta`` and
    ``min_fidelity=min_epochs`` (default 1, Hyperband's usual smallest budget; a bracket's
    first rung trains this many epochs, and where one epoch ranks configurations poorly a
    larger one helps:
    ``benchmarks/README.md``, "Hyperband/BOHB by minimum fidelity"), BOHB also
    ``min_points_in_model``, PBT its ``max_epochs``; the weighted product, which scalarises
    an accuracy and a size, is for the two-objective ``mo_optimizer`` only.
    ``n_samples`` sizes a generated data set (mnist1d). ``threads``: PyTorch's intra-op
    threads per trial, as in :class:`EvolutionaryNAS`."""

    directory: str | Path
    dataset: str = "mnist1d"
    optimizer: str = "bohb"
    seeds: int = 8
    trials: int = 22
    max_epochs: int = 9
    eta: int = 3
    min_points_in_model: int | None = None
    n_samples: int | None = None
    min_epochs: int = 1
    mo_optimizer: str = "bohb"
    mo_trials: int = 22
    image_size: int | None = None
    fresh: bool = False
    threads: int | None = None

    def __post_init__(self) -> None:
        from .optimizers import OPTIMIZERS

        _common(self)
        _choice("optimizer", self.optimizer, sorted(OPTIMIZERS))
        _choice("mo_optimizer", self.mo_optimizer, sorted(OPTIMIZERS))
        if self.optimizer in _TWO_OBJECTIVES_ONLY:
            raise ValueError(f"optimizer {self.optimizer!r} {_TWO_OBJECTIVES_ONLY[self.optimizer]}, but the main "
                             "search has one (validation error); use it as mo_optimizer, or pick another optimizer")
        _integer("seeds", self.seeds)
        _integer("trials", self.trials)
        _integer("mo_trials", self.mo_trials, 0)
        _integer("eta", self.eta, 2)
        _integer("min_epochs", self.min_epochs)
        if self.min_epochs > self.max_epochs:
            raise ValueError(f"min_epochs ({self.min_epochs}) must be <= max_epochs ({self.max_epochs}): the smallest "
                             "fidelity of a bracket; lower it or raise max_epochs")
        if self.min_points_in_model is not None:
            _integer("min_points_in_model", self.min_points_in_model)
        if self.n_samples is not None:
            _integer("n_samples", self.n_samples, 100)

    def objective(self, metrics: Any = ("val_error",)) -> TrainingObjective:
        """The training objective: holdout validation error (or ``metrics``), a 20 % test split."""
        return TrainingObjective(self.dataset, "jahs_cnn", list(metrics) if isinstance(metrics, tuple) else metrics,
                                 image_size=self.image_size, n_samples=self.n_samples, report_test=True,
                                 test_fraction=0.2, protocol={"max_epochs": self.max_epochs, "patience": 5},
                                 threads=self.threads)

    @property
    def method_name(self) -> str:
        """The optimiser's name as a report prints it (its class: ``BOHB``, ``RandomSearch``)."""
        from .optimizers import OPTIMIZERS

        return OPTIMIZERS[self.optimizer].__name__

    @property
    def mo_metrics(self) -> dict[str, str]:
        """The multi-objective variant's metrics: validation error and parameters (the
        weighted product scalarises an accuracy, so it gets validation accuracy)."""
        first = ("val_accuracy", "maximize") if self.mo_optimizer == "weighted_product" else ("val_error", "minimize")
        return {first[0]: first[1], "n_params": "minimize"}

    def run(self, show_progress: bool = True) -> tuple[dict[int, Study], Any]:
        """One study per seed, and the baseline configuration scored with each seed.
        ``show_progress``: a tqdm bar per study."""
        objective = self.objective()
        root = Path(self.directory)
        studies = {}
        options = _joint_options(self.optimizer, self)
        for seed in range(self.seeds):
            studies[seed] = _study(root / f"seed{seed}", self.fresh, objective, optimizer=self.optimizer, seed=seed,
                                   optimizer_options=options)
            studies[seed].optimize_until(self.trials, show_progress=show_progress)
        return studies, self._baseline(objective, root)

    def run_multi_objective(self, show_progress: bool = True) -> Study:
        """The multi-objective variant (seed 0): ``mo_optimizer`` on ``mo_metrics``, with the
        objective's fixed reference point (error 1, 1.1 x the space's largest model)."""
        objective = self.objective(self.mo_metrics)
        options = _joint_options(self.mo_optimizer, self, objective)
        study = _study(Path(self.directory) / "multi_objective", self.fresh, objective, optimizer=self.mo_optimizer,
                       seed=0, optimizer_options=options, reference_point=reference_point_for(objective))
        study.optimize_until(self.mo_trials, show_progress=show_progress)
        return study

    def baseline_size(self) -> int:
        """Parameters of the baseline configuration's network on this data set."""
        from .models import build_model, count_parameters

        objective = self.objective()
        data = objective.data
        return count_parameters(build_model(objective.space.default(), data.input_shape, data.n_classes))

    def baseline_point(self, baseline: Any) -> dict[str, float]:
        """The baseline on the multi-objective plane: its median validation error (or
        accuracy) over the seeds of ``baseline`` (from :meth:`run`) and its size."""
        error = float(baseline["val_error"].median())
        first = next(iter(self.mo_metrics))
        return {first: error if first == "val_error" else 1.0 - error, "n_params": float(self.baseline_size())}

    def _baseline(self, objective: TrainingObjective, root: Path):
        """The default configuration scored with each seed; scores are kept in
        ``baseline.json`` (keyed by the objective) so a rerun does not train it again."""
        import pandas as pd

        from .objectives import objective_spec

        path, spec = root / BASELINE_FILE, json.loads(json.dumps(objective_spec(objective)))
        cached = json.loads(path.read_text()) if path.is_file() and not self.fresh else {}
        rows = {int(r["seed"]): r for r in cached.get("rows", [])} if cached.get("objective") == spec else {}
        for seed in range(self.seeds):
            if seed not in rows:
                start = time.perf_counter()
                scores = objective(objective.space.default(), seed=seed)
                rows[seed] = {"seed": seed, "val_error": float(scores["val_error"]),
                              "test_accuracy": float(scores["test_accuracy"]), "seconds": time.perf_counter() - start}
        root.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"objective": spec, "rows": [rows[s] for s in sorted(rows)]}, indent=1))
        return pd.DataFrame([rows[s] for s in range(self.seeds)], columns=["seed", "val_error", "test_accuracy",
                                                                           "seconds"])


#: JointSearch: registered optimisers that need two objectives, and why.
_TWO_OBJECTIVES_ONLY = {"weighted_product": "scalarises an accuracy and a model size (two objectives)"}


def _joint_options(name: str, recipe: JointSearch, objective: TrainingObjective | None = None) -> dict:
    """Optimiser options of a JointSearch study: the epochs fidelity for the multi-fidelity
    optimisers, PBT's epochs, the weighted product's size target (the baseline's size)."""
    if name in ("successive_halving", "hyperband", "bohb"):
        options: dict[str, Any] = {"max_fidelity": recipe.max_epochs, "eta": recipe.eta}
        if recipe.min_epochs != 1:  # left out at the default, so the studies written before it still open
            options["min_fidelity"] = recipe.min_epochs
        if name == "bohb" and recipe.min_points_in_model is not None:
            options["min_points_in_model"] = recipe.min_points_in_model
        return options
    if name == "pbt":
        return {"config": {"max_epochs": recipe.max_epochs}}
    if name == "weighted_product":
        return {"target": float(recipe.baseline_size()), "inner": "random"}
    return {}
