"""Outside peers: Optuna's TPE, NSGA-II and GP samplers behind nasbench's ask/tell.

Each adapter runs an in-memory Optuna study (every direction ``minimize``: values
reach ``tell`` minimised) through ``study.ask()`` / ``study.tell()``. The space is
mapped define-by-run: a trial suggests only its active parameters, in space order,
and the genome's inactive genes take their defaults. A failed trial is told as
``FAIL``, a pruned one as ``PRUNED`` (without values: Optuna ranks it below the
completed ones).

State and resume: ``state_dict`` holds the options, every trial of the Optuna study
in order (parameters, distributions, values, state, system attributes; asked but
untold trials as ``RUNNING``), the study's system attributes (NSGA-II caches its
parent populations there) and the sampler's private state: the states of its
``RandomState`` generators and, for the GP sampler, the cached kernel parameters
it starts the next fit from. ``load_state_dict`` replays the trials into a fresh
study with ``add_trial`` (which calls no sampler) and restores that private state,
so the next suggestion equals the uninterrupted run's. The private attributes are
Optuna 5.0's; an Optuna without them makes ``resumes_exactly`` False: the replay
then still gives a valid, reproducible continuation, but not the same one.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import types
from typing import Any, Iterator, Sequence

import numpy as np

from ..space import Boolean, Categorical, Integer, Parameter, SearchSpace
from .base import Observation, Optimizer, Suggestion

__all__ = ["OptunaPeer", "OptunaTPE", "OptunaNSGA2", "OptunaGP"]

#: Constructor options that are not data (callables, objects): not accepted, they would not survive JSON.
_NOT_DATA = {"seed", "gamma", "weights", "constraints_func", "mutation", "crossover", "independent_sampler",
             "elite_population_selection_strategy", "child_generation_strategy", "after_trial_strategy"}
#: The GP sampler's cached kernel parameters (Optuna 5.0), the start of its next fit.
_GP_CACHES = ("_gprs_cache_list", "_constraints_gprs_cache_list")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Optuna's per-trial INFO lines off for the call, the caller's verbosity restored after."""
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def _suggest(trial: Any, p: Parameter) -> Any:
    """One parameter suggested on an Optuna trial, typed as the space types it."""
    if isinstance(p, Categorical):
        return p.validate(trial.suggest_categorical(p.name, list(p.choices)))
    if isinstance(p, Boolean):
        return p.validate(trial.suggest_categorical(p.name, [False, True]))
    if isinstance(p, Integer):
        return p.validate(trial.suggest_int(p.name, p.low, p.high, log=p.log))
    return p.validate(trial.suggest_float(p.name, p.low, p.high, log=p.log))


class OptunaPeer(Optimizer):
    """Base adapter: an Optuna sampler (``sampler_class``, by its name in ``optuna.samplers``)
    with data-only keyword options (e.g. ``n_startup_trials=5``)."""

    name = "optuna"
    sampler_class = "RandomSampler"
    #: Keyword options set unless the caller sets them.
    default_options: dict[str, Any] = {}

    def __init__(self, space: SearchSpace, n_objectives: int = 1, *, seed: int | None = 0, **options: Any) -> None:
        super().__init__(space, n_objectives, seed=seed)
        self.options = self._checked_options(options)
        self.optuna_seed = int(self.rng.integers(2**31))
        self.pending: list[dict] = []  # {"number", "genome"}: asked, not yet told
        self.study = self._new_study()

    # --- construction ---------------------------------------------------------------------------
    @classmethod
    def _sampler_type(cls) -> type:
        import optuna

        return getattr(optuna.samplers, cls.sampler_class)

    def _checked_options(self, options: dict[str, Any]) -> dict[str, Any]:
        known = sorted(set(inspect.signature(self._sampler_type()).parameters) - _NOT_DATA)
        for key, value in options.items():
            if key not in known:
                raise ValueError(f"{self.name}: {self.sampler_class} has no data option {key!r}; use some of {known}")
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError):
                raise ValueError(f"{self.name}: option {key}={value!r} must be JSON data (a number, string, bool, "
                                 "list or dict) so that the study can resume") from None
        return {**self.default_options, **options}

    def _new_study(self) -> Any:
        import optuna

        sampler = self._sampler_type()(seed=self.optuna_seed, **self.options)
        self.storage = optuna.storages.InMemoryStorage()
        with _quiet():
            return optuna.create_study(storage=self.storage, sampler=sampler,
                                       directions=["minimize"] * self.n_objectives)

    @property
    def resumes_exactly(self) -> bool:
        """Whether this Optuna's sampler has the private state the adapter restores."""
        return self._random_states(self.study.sampler) != {} and all(
            hasattr(self.study.sampler, c) for c in self._caches())

    def _caches(self) -> tuple[str, ...]:
        return ()

    def _study_id(self) -> int:
        return self.storage.get_study_id_from_name(self.study.study_name)

    # --- ask / tell -----------------------------------------------------------------------------
    def ask(self, n: int) -> list[Suggestion]:
        out = []
        with _quiet():
            for _ in range(n):
                trial = self.study.ask()
                config: dict[str, Any] = {}
                for p in self.space:
                    if p.condition is None or p.condition.holds(config):
                        config[p.name] = _suggest(trial, p)
                genome = self.space.to_genome(config)
                self.pending.append({"number": trial.number, "genome": genome})
                out.append(Suggestion(list(genome), self._generation(trial.number)))
        return out

    def _generation(self, number: int) -> int:
        return number

    def tell(self, observations: Sequence[Observation]) -> None:
        from optuna.trial import TrialState

        with _quiet():
            for obs in observations:
                number = self._match(obs)
                if obs.status == "done" and obs.values is not None:
                    values = [float(v) for v in obs.values]
                    if len(values) != self.n_objectives:
                        raise ValueError(f"trial {obs.trial_id} has {len(values)} values but {self.name} has "
                                         f"{self.n_objectives} objectives; tell one minimised value per objective")
                    self.study.tell(number, values if self.n_objectives > 1 else values[0])
                else:
                    self.study.tell(number, state=TrialState.FAIL if obs.status == "failed" else TrialState.PRUNED)

    def _match(self, obs: Observation) -> int:
        """The Optuna trial number of the first pending suggestion with ``obs``'s genome."""
        for i, entry in enumerate(self.pending):
            if entry["genome"] == list(obs.genome):
                return self.pending.pop(i)["number"]
        raise ValueError(f"tell() got trial {obs.trial_id}, whose genome {self.name} has not suggested or was "
                         "told already; tell each result of ask() exactly once")

    # --- state ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        sampler = self.study.sampler
        return {**super().state_dict(), "options": self.options, "optuna_seed": self.optuna_seed,
                "pending": self.pending, "trials": [_trial_to_dict(t) for t in self.study.get_trials(deepcopy=False)],
                "study_system_attrs": self.storage.get_study_system_attrs(self._study_id()),
                "random_states": {k: _random_state_to_list(r.rng) for k, r in self._random_states(sampler).items()},
                "caches": {c: _cache_to_data(getattr(sampler, c, None)) for c in self._caches()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.options, self.optuna_seed, self.pending = state["options"], state["optuna_seed"], state["pending"]
        self.study = self._new_study()
        with _quiet():
            for t in state["trials"]:
                self.study.add_trial(_trial_from_dict(t))
        for key, value in state["study_system_attrs"].items():
            self.storage.set_study_system_attr(self._study_id(), key, value)
        states = self._random_states(self.study.sampler)
        for key, value in state["random_states"].items():
            states[key].rng.set_state(_random_state_from_list(value))
        for name, data in state["caches"].items():
            setattr(self.study.sampler, name, _cache_from_data(data))

    @staticmethod
    def _random_states(sampler: Any, prefix: str = "") -> dict[str, Any]:
        """The sampler's ``LazyRandomState`` generators by attribute path, sub-samplers included."""
        from optuna.samplers import BaseSampler

        out = {}
        for key, value in sorted(vars(sampler).items()):
            if isinstance(getattr(value, "rng", None), np.random.RandomState):
                out[prefix + key] = value
            elif isinstance(value, BaseSampler):
                out.update(OptunaPeer._random_states(value, f"{prefix}{key}."))
        return out


class OptunaTPE(OptunaPeer):
    """Optuna's ``TPESampler`` (Bergstra et al. 2011; Watanabe 2023), single- and
    multi-objective. Resumes exactly (see the module)."""

    name = "optuna_tpe"
    sampler_class = "TPESampler"


class OptunaNSGA2(OptunaPeer):
    """Optuna's ``NSGAIISampler`` (Deb et al. 2002); ``population_size`` is its generation
    size (default 50). Conditional parameters, outside the intersection search space,
    are sampled at random by Optuna. Resumes exactly (see the module)."""

    name = "optuna_nsga2"
    sampler_class = "NSGAIISampler"

    @property
    def generation_size(self) -> int:
        return int(self.options.get("population_size", 50))

    def _generation(self, number: int) -> int:
        attrs = self.study.get_trials(deepcopy=False)[number].system_attrs
        return int(attrs.get("NSGAIISampler:generation", 0))


class OptunaGP(OptunaPeer):
    """Optuna's ``GPSampler`` (log EI; log EHVI for several objectives). It cannot switch
    acquisitions, and conditional parameters fall back to random sampling. Resumes
    exactly by restoring its private kernel-parameter cache (see the module)."""

    name = "optuna_gp"
    sampler_class = "GPSampler"
    default_options = {"warn_independent_sampling": False}

    def _caches(self) -> tuple[str, ...]:
        return _GP_CACHES


# --- JSON helpers ------------------------------------------------------------------------------------
def _trial_to_dict(t: Any) -> dict:
    from optuna.distributions import distribution_to_json

    return {"state": t.state.name, "params": t.params, "values": t.values,
            "distributions": {n: distribution_to_json(d) for n, d in t.distributions.items()},
            "system_attrs": t.system_attrs, "user_attrs": t.user_attrs,
            "intermediate_values": {str(k): v for k, v in t.intermediate_values.items()}}


def _trial_from_dict(d: dict) -> Any:
    from optuna.distributions import json_to_distribution
    from optuna.trial import TrialState, create_trial

    return create_trial(state=TrialState[d["state"]], params=d["params"], values=d["values"],
                        distributions={n: json_to_distribution(j) for n, j in d["distributions"].items()},
                        system_attrs=d["system_attrs"], user_attrs=d["user_attrs"],
                        intermediate_values={int(k): v for k, v in d["intermediate_values"].items()})


def _random_state_to_list(rs: np.random.RandomState) -> list:
    kind, keys, pos, has_gauss, gauss = rs.get_state()
    return [kind, keys.tolist(), int(pos), int(has_gauss), float(gauss)]


def _random_state_from_list(s: list) -> tuple:
    return s[0], np.array(s[1], dtype=np.uint32), s[2], s[3], s[4]


def _cache_to_data(cache: Any) -> list[dict] | None:
    """The GP sampler's cached regressors as their kernel parameters (all the next fit reads)."""
    if cache is None:
        return None
    return [{"inverse_squared_lengthscales": g.inverse_squared_lengthscales.tolist(),
             "kernel_scale": float(g.kernel_scale), "noise_var": float(g.noise_var)} for g in cache]


def _cache_from_data(data: list[dict] | None) -> list | None:
    if data is None:
        return None
    import torch

    return [types.SimpleNamespace(**{k: torch.tensor(v, dtype=torch.float64) for k, v in g.items()}) for g in data]
