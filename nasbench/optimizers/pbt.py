"""Population based training (Jaderberg et al. 2017), synchronous and exact.

A population of ``population_size`` members trains in steps of ``step_epochs``
epochs. Each step is one trial: ``Suggestion(fidelity = the member's epochs + step,
warm_start = the trial whose checkpoint it continues)``. A generation is every
member's step, so Dask gets a batch of ``population_size`` trials. When all of a
generation are told, the members are ranked (one objective by value, several by
non-dominated rank then crowding distance, ties by member index) and the bottom
``truncation`` fraction, and every member whose step failed or was pruned,
*exploits*: it copies a member of the top fraction drawn uniformly (its whole
genome, and its weights through ``warm_start`` = the donor's last trial id) and
*explores*: it perturbs the training hyperparameters within the typed space
(numeric values times 0.8 or 1.2, clipped; with probability ``resample_prob`` a
parameter, numeric or categorical, is drawn afresh instead). Architecture
parameters are never perturbed (they would change the weights' shapes): only the
``hyperparameters`` listed (default: those of the space named in
:data:`TRAINING_HYPERPARAMETERS`) move, and only while active under the space's
conditions. After ``max_epochs`` per member ``ask`` returns [].

No usable library exists (syne-tune's PBT pickles its state): the members, the open
generation and the RNG are all JSON in ``state_dict``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..selection import crowding_distance, pareto_ranks
from ..space import Boolean, Categorical, Integer, SearchSpace
from .base import Observation, Optimizer, Suggestion
from .evolution import _check, _check_int, _check_real, _got, _Settings

__all__ = ["TRAINING_HYPERPARAMETERS", "PBTConfig", "PBT"]

#: Parameter names PBT explores by default: training hyperparameters, which leave the
#: weights' shapes alone (a checkpoint still fits after they change).
TRAINING_HYPERPARAMETERS = ("learning_rate", "lr", "weight_decay", "dropout", "batch_size", "momentum",
                            "optimizer", "beta1", "beta2", "label_smoothing", "grad_clip", "warmup_epochs",
                            "random_flip", "random_rotation", "augmentation", "mixup")


@dataclass(frozen=True)
class PBTConfig(_Settings):
    """Settings of :class:`PBT` (the paper's truncation selection: bottom and top 25 %).

    ``hyperparameters``: the names explore may change (None: the space's parameters
    named in :data:`TRAINING_HYPERPARAMETERS`). ``perturb_factors``: what a numeric
    hyperparameter is multiplied by, one drawn uniformly per explore.
    """

    population_size: int = 8
    step_epochs: int = 1
    max_epochs: int = 10
    truncation: float = 0.25
    resample_prob: float = 0.25
    perturb_factors: tuple[float, ...] = (0.8, 1.2)
    hyperparameters: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        _check_int("population_size", self.population_size, 2)
        _check_int("step_epochs", self.step_epochs, 1)
        _check_int("max_epochs", self.max_epochs, 1)
        _check(self.max_epochs >= self.step_epochs,
               f"max_epochs ({self.max_epochs}) must be >= step_epochs ({self.step_epochs}); raise max_epochs")
        _check_real("truncation", self.truncation, "in (0, 0.5]", lambda v: 0 < v <= 0.5)
        _check_real("resample_prob", self.resample_prob, "in [0, 1]", lambda v: 0 <= v <= 1)
        factors = self.perturb_factors
        _check(isinstance(factors, (list, tuple)) and len(factors) > 0,
               f"perturb_factors must be a non-empty list of positive numbers, {_got(factors)}; pass e.g. [0.8, 1.2]")
        for f in factors:
            _check_real("each of perturb_factors", f, "> 0", lambda v: v > 0)
        object.__setattr__(self, "perturb_factors", tuple(float(f) for f in factors))
        names = self.hyperparameters
        if names is not None:
            _check(isinstance(names, (list, tuple)) and all(isinstance(n, str) for n in names),
                   f"hyperparameters must be a list of parameter names or None, {_got(names)}")
            object.__setattr__(self, "hyperparameters", tuple(names))


def _hyperparameters(space: SearchSpace, names: tuple[str, ...] | None) -> list[str]:
    """The names explore may change, checked against the space."""
    if names is None:
        found = [n for n in space.names if n in TRAINING_HYPERPARAMETERS]
        _check(bool(found), f"PBT found no training hyperparameter in space {space.name!r} (parameters {space.names}); "
                            f"pass config={{'hyperparameters': [names that leave the weights' shapes alone]}}")
        return found
    unknown = [n for n in names if n not in space.names]
    _check(not unknown, f"hyperparameters {unknown} are not in space {space.name!r}; use some of {space.names}")
    _check(bool(names), "hyperparameters must name at least one parameter for explore to change")
    return [n for n in space.names if n in names]


class PBT(Optimizer):
    """Population based training: synchronous generations of ``population_size`` steps."""

    name = "pbt"
    config_class = PBTConfig
    #: Trials continue other trials' checkpoints: the loop keeps each trial's weights.
    warm_starts = True

    def __init__(self, space: SearchSpace, n_objectives: int = 1, config: PBTConfig | dict | None = None,
                 *, seed: int | None = 0) -> None:
        super().__init__(space, n_objectives, seed=seed)
        self.config = PBTConfig.coerce(config)
        self.hyperparameters = _hyperparameters(space, self.config.hyperparameters)
        self.generation = 0
        self.members: list[dict] = []   # {"genome", "epochs", "checkpoint", "trial_id", "values"}
        self.queue: list[int] = []      # members of this generation not yet asked
        self.asked: list[dict] = []     # {"member", "genome", "fidelity", "warm_start"} not yet told
        self.received: list[dict] = []  # {"member", "trial_id", "values"} told in this generation
        self.finished = False

    @property
    def generation_size(self) -> int:
        return self.config.population_size

    @property
    def population(self) -> list[dict]:
        """Each member's last evaluated trial (for the store's generations table)."""
        return [{"trial_id": m["trial_id"], "genome": m["genome"], "values": m["values"]}
                for m in self.members if m["trial_id"] is not None]

    # --- ask / tell ---------------------------------------------------------------------------
    def ask(self, n: int) -> list[Suggestion]:
        if self.finished:
            return []
        if not self.members:
            self.members = [self._fresh_member() for _ in range(self.config.population_size)]
            self.queue = list(range(self.config.population_size))
        batch, self.queue = self.queue[:n], self.queue[n:]
        out = []
        for m in batch:
            member = self.members[m]
            fidelity = min(member["epochs"] + self.config.step_epochs, self.config.max_epochs)
            start = member["checkpoint"]
            self.asked.append({"member": m, "genome": list(member["genome"]), "fidelity": fidelity, "warm_start": start})
            out.append(Suggestion(list(member["genome"]), self.generation, () if start is None else (start,),
                                  fidelity, start))
        return out

    def tell(self, observations: Sequence[Observation]) -> None:
        for obs in observations:
            entry = self._match(obs)
            values = None if obs.status != "done" or obs.values is None else [float(v) for v in obs.values]
            self.received.append({"member": entry["member"], "trial_id": int(obs.trial_id), "values": values,
                                  "fidelity": entry["fidelity"]})
        if not self.queue and not self.asked and self.received:
            self._end_generation()

    def _match(self, obs: Observation) -> dict:
        """The asked entry ``obs`` answers (equal genome, fidelity and warm start; the first such)."""
        for i, entry in enumerate(self.asked):
            if (entry["genome"] == list(obs.genome) and entry["warm_start"] == obs.warm_start
                    and obs.fidelity in (None, entry["fidelity"])):
                return self.asked.pop(i)
        raise ValueError(f"tell() got trial {obs.trial_id}, which PBT has not asked for or was told already; "
                         "tell each result of ask() exactly once, with its suggestion's genome, fidelity and warm_start")

    # --- one generation's end: exploit and explore ------------------------------------------------
    def _end_generation(self) -> None:
        for r in sorted(self.received, key=lambda r: r["member"]):
            member = self.members[r["member"]]
            member.update(trial_id=r["trial_id"], values=r["values"])
            if r["values"] is not None:
                member.update(epochs=r["fidelity"], checkpoint=r["trial_id"])
        self.received = []
        self.generation += 1
        ok = [m for m, member in enumerate(self.members) if member["values"] is not None]
        if not ok:  # every step failed: nothing to copy, start afresh
            self.members = [self._fresh_member() for _ in self.members]
        else:
            for loser, donor in self.exploit_pairs(ok):
                self._exploit(loser, donor)
        self.finished = all(m["epochs"] >= self.config.max_epochs for m in self.members)
        self.queue = [] if self.finished else list(range(len(self.members)))

    def ranked(self, members: Sequence[int]) -> list[int]:
        """Members best first: one objective by value, several by non-dominated rank, then
        crowding distance (larger first); ties by member index."""
        F = np.array([self.members[m]["values"] for m in members], dtype=float).reshape(len(members), -1)
        ranks = pareto_ranks(F)
        crowd = np.zeros(len(F))
        for r in np.unique(ranks):
            front = np.flatnonzero(ranks == r)
            crowd[front] = crowding_distance(F[front])
        order = np.lexsort((np.asarray(members), -crowd, ranks))
        return [members[i] for i in order]

    def exploit_pairs(self, ok: Sequence[int]) -> list[tuple[int, int]]:
        """(loser, donor) pairs: the bottom fraction of the members (those whose step failed
        rank last) and every failed one, each with a donor drawn uniformly from the top fraction."""
        k = max(1, int(self.config.truncation * len(self.members)))
        order = self.ranked(ok)
        top, failed = order[:k], [m for m in range(len(self.members)) if m not in ok]
        losers = sorted(set(failed) | set((order + failed)[-k:]) - set(top))
        return [(m, top[int(self.rng.integers(len(top)))]) for m in losers]

    def _exploit(self, loser: int, donor: int) -> None:
        source = self.members[donor]
        self.members[loser] = {"genome": self.explore(source["genome"]), "epochs": source["epochs"],
                               "checkpoint": source["checkpoint"], "trial_id": self.members[loser]["trial_id"],
                               "values": None}

    def _fresh_member(self) -> dict:
        return {"genome": self.space.sample_genome(self.rng), "epochs": 0, "checkpoint": None, "trial_id": None,
                "values": None}

    # --- explore ------------------------------------------------------------------------------
    def explore(self, genome: Sequence[Any]) -> list[Any]:
        """A copy of ``genome`` with its active hyperparameters perturbed (see the module)."""
        out = list(genome)
        for name in self.hyperparameters:
            i = self.space.index(name)
            if not self.space.active(dict(zip(self.space.names, out)))[i]:
                continue
            p = self.space[name]
            if self.rng.random() < self.config.resample_prob:
                out[i] = p.sample_uniform(self.rng)
            elif not isinstance(p, (Categorical, Boolean)):
                factor = self.config.perturb_factors[int(self.rng.integers(len(self.config.perturb_factors)))]
                out[i] = _scaled(p, out[i], factor)
        return out

    # --- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "config": self.config.to_dict(), "generation": self.generation,
                "members": self.members, "queue": self.queue, "asked": self.asked, "received": self.received,
                "finished": self.finished}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.config = PBTConfig.from_dict(state["config"])
        self.hyperparameters = _hyperparameters(self.space, self.config.hyperparameters)
        self.generation, self.finished = state["generation"], state["finished"]
        self.members, self.queue = state["members"], state["queue"]
        self.asked, self.received = state["asked"], state["received"]


def _scaled(p: Any, value: Any, factor: float) -> Any:
    """``value * factor`` within the parameter's range (a shift by log ``factor`` on a
    log-scaled parameter's encoding). A value the product cannot move (0; an integer
    too small to round away) steps instead: an integer by one, a float by
    ``(factor - 1) / 2`` of its range."""
    if p.log:
        return p.decode(p.encode(value) + math.log(factor))
    moved = p.decode(value * factor)
    if moved != value or factor == 1:
        return moved
    step = (1 if factor > 1 else -1) if isinstance(p, Integer) else (factor - 1) / 2 * (p.high - p.low)
    return p.decode(value + step)
