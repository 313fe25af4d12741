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

from .data import dataset_names
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


def _dataset(name: Any, root: str | Path = "data") -> None:
    names = dataset_names(root)
    if name not in names:
        raise ValueError(f"unknown dataset {name!r}; use one of {names} (or put an image folder under {root}/)")


def _directory(value: Any) -> None:
    if not isinstance(value, (str, Path)) or not str(value):
        raise ValueError(f"study directory must be a path such as 'studies/01', got {value!r} ({_a(value)}); "
                         "pass a string")
    for path in (Path(value), *Path(value).parents):
        if path.is_file():
            raise ValueError(f"{path} is a file, not a folder; give study_dir a folder (new, empty or a study)")


def _common(recipe: Any) -> None:
    """The checks every recipe shares: directory, dataset, image size, epochs, seed, fresh."""
    _directory(recipe.directory)
    _dataset(recipe.dataset)
    _integer("max_epochs", recipe.max_epochs)
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
    generation, hypervolume-proportional selection otherwise."""

    directory: str | Path
    dataset: str = "digits"
    population: int = 8
    generations: int = 4
    max_epochs: int = 50
    patience: int = 10
    folds: int = 3
    seed: int = 0
    evaluator: str = "inprocess"
    image_size: int | None = None
    fresh: bool = False

    def __post_init__(self) -> None:
        _common(self)
        _integer("population", self.population, 2)
        _integer("generations", self.generations)
        _integer("patience", self.patience)
        _integer("folds", self.folds, 2)
        _choice("evaluator", self.evaluator, ("inprocess", "dask"))

    def objective(self) -> TrainingObjective:
        return TrainingObjective(self.dataset, "evo_cnn", {"val_top3_accuracy": "maximize", "n_params": "minimize"},
                                 folds=self.folds, image_size=self.image_size, save_weights=True,
                                 protocol={"max_epochs": self.max_epochs, "patience": self.patience})

    def study(self) -> Study:
        """The study, resumed if ``directory`` holds it (fresh if asked)."""
        objective = self.objective()
        config = {"population_size": self.population, "init": "extremes", "parent_selection": "alternating",
                  "size_objective": 1, "performance_objective": 0, "tournament_size": 3}
        return _study(Path(self.directory), self.fresh, objective, seed=self.seed, optimizer="nsga2",
                      optimizer_options={"config": config}, reference_point=reference_point_for(objective))

    def run(self, callbacks: Sequence[Callable] = ()) -> Study:
        """Run (or continue) to ``population * generations`` trials."""
        study = self.study()
        study.optimize_until(self.population * self.generations, evaluator=self.evaluator, callbacks=callbacks)
        return study


@dataclass(frozen=True)
class GAvsBaseline:
    """Seed 003: the GA (population 5, tournament 3, two-point crossover, its
    mutations, tree-distance activation mutation with base b) against a baseline
    optimiser on the MLP space, with the same budget, on one dataset. The studies
    live in ``directory/<dataset>/ga`` and ``directory/<dataset>/<baseline>``."""

    directory: str | Path
    dataset: str = "sinewave"
    population: int = 5
    generations: int = 20
    tree_base: float = 2.0
    baseline: str = "random"
    max_epochs: int = 20
    seed: int = 0
    fresh: bool = False

    def __post_init__(self) -> None:
        _common(self)
        _integer("population", self.population, 2)
        _integer("generations", self.generations)
        _choice("baseline", self.baseline, OPTIMIZERS_FOR_BASELINES)
        if isinstance(self.tree_base, bool) or not isinstance(self.tree_base, numbers.Real) or not self.tree_base > 1:
            raise ValueError(f"tree_base must be a number > 1 (larger explores more), got {self.tree_base!r}")

    def objective(self) -> TrainingObjective:
        from .space import SearchSpace, preset

        space = preset("mlp").to_dict()
        for p in space["parameters"]:
            if p["name"] == "activation":
                p["scale"] = float(self.tree_base)
        metric = "val_mse" if self.dataset == "sinewave" else "val_error"
        return TrainingObjective(self.dataset, SearchSpace.from_dict(space), [metric],
                                 protocol={"max_epochs": self.max_epochs, "patience": None})

    def run(self) -> dict[str, Study]:
        """Both studies, each run (or continued) to ``population * generations`` trials."""
        objective = self.objective()
        root = Path(self.directory) / self.dataset
        ga = _study(root / "ga", self.fresh, objective, optimizer="ga", seed=self.seed,
                    optimizer_options={"config": {"population_size": self.population}})
        base = _study(root / self.baseline, self.fresh, objective, optimizer=self.baseline, seed=self.seed)
        for study in (ga, base):
            study.optimize_until(self.population * self.generations)
        return {"GA": ga, self.baseline: base}


@dataclass(frozen=True)
class JointSearch:
    """Seed 004: the joint architecture + hyperparameter space of its Table 1; the
    provided baseline configuration (the space's default) against an optimiser over
    several seeds; validation error as cost; test accuracy of each incumbent. One
    study per seed in ``directory/seed<k>``; the baseline's scores in ``baseline.json``."""

    directory: str | Path
    dataset: str = "digits"
    optimizer: str = "random"
    seeds: int = 3
    trials: int = 12
    max_epochs: int = 10
    image_size: int | None = None
    fresh: bool = False

    def __post_init__(self) -> None:
        _common(self)
        _choice("optimizer", self.optimizer, OPTIMIZERS_FOR_BASELINES + ("nsga2",))
        _integer("seeds", self.seeds)
        _integer("trials", self.trials)

    def objective(self) -> TrainingObjective:
        return TrainingObjective(self.dataset, "jahs_cnn", ["val_error"], image_size=self.image_size,
                                 report_test=True, test_fraction=0.2,
                                 protocol={"max_epochs": self.max_epochs, "patience": 5})

    def run(self) -> tuple[dict[int, Study], Any]:
        """One study per seed, and the baseline configuration scored with each seed."""
        objective = self.objective()
        root = Path(self.directory)
        studies = {}
        for seed in range(self.seeds):
            studies[seed] = _study(root / f"seed{seed}", self.fresh, objective, optimizer=self.optimizer, seed=seed)
            studies[seed].optimize_until(self.trials)
        return studies, self._baseline(objective, root)

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
