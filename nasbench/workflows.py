"""The studies of the seed decks as functions, so notebooks stay a few calls per cell.

Each ``*_settings`` function validates a notebook's parameters and raises one
``ValueError`` line naming the fix; each ``run_*`` builds the objective, the
optimiser and the study, runs it and returns what the notebook analyses.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .data import dataset_names
from .objectives import TrainingObjective
from .study import Study

__all__ = ["check_dataset", "check_positive", "check_choice", "EvolutionaryNAS", "GAvsBaseline", "JointSearch",
           "open_study", "reference_point_for"]

OPTIMIZERS_FOR_BASELINES = ("random",)  # BO and BOHB arrive with the baselines issue


def check_dataset(name: str, root: str | Path = "data") -> str:
    names = dataset_names(root)
    if name not in names:
        raise ValueError(f"unknown dataset {name!r}; use one of {names} (or put an image folder under {root}/)")
    return name


def check_positive(name: str, value: Any, minimum: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; use one of {list(choices)}")
    return value


def open_study(path: str | Path) -> Study:
    """A study to explore; a path that is not one fails with the fix."""
    return Study.load(path)


def reference_point_for(objective: TrainingObjective) -> list[float]:
    """A reference point fixed before the search (jahs_bench_201 issue 19: not the worst
    observed point): the worst value of each metric, 1.1 x the largest model's size."""
    from .models import build_model, count_macs, count_parameters

    data = objective.data
    n_out = data.n_classes or 1
    largest = build_model(objective.space.largest(), data.input_shape, n_out, objective.architecture)
    worst = {"n_params": 1.1 * count_parameters(largest), "macs": 1.1 * count_macs(largest, data.input_shape)}
    point = []
    for m in objective.metrics:
        if m.name in worst:
            point.append(worst[m.name])
        elif m.name.endswith("accuracy"):
            point.append(0.0)
        elif m.name.endswith("error"):
            point.append(1.0)
        else:
            raise ValueError(f"no fixed reference value for {m.name!r}; give reference_point=... explicitly")
    return point


def _fresh(directory: Path, overwrite: bool) -> Path:
    if overwrite and directory.exists():
        shutil.rmtree(directory)
    return directory


@dataclass
class EvolutionaryNAS:
    """Seed 000: NSGA-II (mu + lambda) on the ``evo_cnn`` space, maximising k-fold
    top-3 accuracy and minimising parameters; population initialised with the
    default, largest, smallest and random models; the size tournament every third
    generation, hypervolume-proportional selection otherwise."""

    directory: str
    dataset: str = "digits"
    population: int = 8
    generations: int = 4
    max_epochs: int = 50
    patience: int = 10
    folds: int = 3
    seed: int = 0
    evaluator: str = "inprocess"
    image_size: int | None = None
    overwrite: bool = True

    def __post_init__(self) -> None:
        check_dataset(self.dataset)
        check_positive("population", self.population, 2)
        check_positive("generations", self.generations)
        check_positive("max_epochs", self.max_epochs)
        check_positive("folds", self.folds, 2)
        check_choice("evaluator", self.evaluator, ("inprocess", "dask"))

    def objective(self) -> TrainingObjective:
        return TrainingObjective(self.dataset, "evo_cnn", {"val_top3_accuracy": "maximize", "n_params": "minimize"},
                                 folds=self.folds, image_size=self.image_size, save_weights=True,
                                 protocol={"max_epochs": self.max_epochs, "patience": self.patience})

    def study(self) -> Study:
        objective = self.objective()
        config = {"population_size": self.population, "init": "extremes", "parent_selection": "alternating",
                  "size_objective": 1, "performance_objective": 0, "tournament_size": 3}
        return Study.create(_fresh(Path(self.directory), self.overwrite), objective, seed=self.seed,
                            optimizer="nsga2", optimizer_options={"config": config},
                            reference_point=reference_point_for(objective), load_if_exists=True)

    def run(self, callbacks: Sequence[Callable] = ()) -> Study:
        study = self.study()
        study.optimize_until(self.population * self.generations, evaluator=self.evaluator, callbacks=callbacks)
        return study


@dataclass
class GAvsBaseline:
    """Seed 003: the GA (population 5, tournament 3, two-point crossover, its
    mutations, tree-distance activation mutation with base b) against a baseline
    optimiser on the MLP space, with the same budget, on one dataset."""

    directory: str
    dataset: str = "sinewave"
    population: int = 5
    generations: int = 20
    tree_base: float = 2.0
    baseline: str = "random"
    max_epochs: int = 20
    seed: int = 0
    overwrite: bool = True
    studies: dict = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        check_dataset(self.dataset)
        check_positive("population", self.population, 2)
        check_positive("generations", self.generations)
        check_positive("max_epochs", self.max_epochs)
        check_choice("baseline optimizer", self.baseline, OPTIMIZERS_FOR_BASELINES)
        if not self.tree_base > 1:
            raise ValueError(f"tree_base must be > 1 (larger explores more), got {self.tree_base}")

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
        objective = self.objective()
        budget = self.population * self.generations
        root = _fresh(Path(self.directory), self.overwrite)
        ga = Study.create(root / "ga", objective, optimizer="ga", seed=self.seed, load_if_exists=True,
                          optimizer_options={"config": {"population_size": self.population}})
        base = Study.create(root / self.baseline, objective, optimizer=self.baseline, seed=self.seed,
                            load_if_exists=True)
        for study in (ga, base):
            study.optimize_until(budget)
        self.studies = {"GA": ga, self.baseline: base}
        return self.studies


@dataclass
class JointSearch:
    """Seed 004: the joint architecture + hyperparameter space of its Table 1; the
    provided baseline configuration (the space's default) against an optimiser over
    several seeds; validation error as cost; test accuracy of each incumbent."""

    directory: str
    dataset: str = "digits"
    optimizer: str = "random"
    seeds: int = 3
    trials: int = 12
    max_epochs: int = 10
    image_size: int | None = None
    overwrite: bool = True

    def __post_init__(self) -> None:
        check_dataset(self.dataset)
        check_choice("optimizer", self.optimizer, OPTIMIZERS_FOR_BASELINES + ("nsga2",))
        check_positive("seeds", self.seeds)
        check_positive("trials", self.trials)
        check_positive("max_epochs", self.max_epochs)

    def objective(self) -> TrainingObjective:
        return TrainingObjective(self.dataset, "jahs_cnn", ["val_error"], image_size=self.image_size,
                                 report_test=True, test_fraction=0.2,
                                 protocol={"max_epochs": self.max_epochs, "patience": 5})

    def run(self) -> tuple[dict[int, Study], "object"]:
        """One study per seed, and the baseline configuration scored with each seed."""
        import pandas as pd

        objective = self.objective()
        root = _fresh(Path(self.directory), self.overwrite)
        studies = {}
        for seed in range(self.seeds):
            study = Study.create(root / f"seed{seed}", objective, optimizer=self.optimizer, seed=seed,
                                 load_if_exists=True)
            study.optimize_until(self.trials)
            studies[seed] = study
        rows = []
        for seed in range(self.seeds):
            start = time.perf_counter()
            scores = objective(objective.space.default(), seed=seed)
            rows.append({"seed": seed, "val_error": scores["val_error"], "test_accuracy": scores["test_accuracy"],
                         "seconds": time.perf_counter() - start})
        return studies, pd.DataFrame(rows)
