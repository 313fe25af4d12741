"""Successive halving, Hyperband and BOHB on the epochs fidelity, synchronous and exact.

Successive halving (Jamieson & Talwalkar 2016) evaluates ``n`` configurations at a
small budget and promotes the best ``1/eta`` to an ``eta`` times larger one, rung
by rung. Hyperband (Li et al. 2017, 2018) hedges over the starting budget by
cycling through brackets ``s = s_max .. 0``; BOHB (Falkner, Klein & Hutter 2018)
replaces Hyperband's random configurations by a TPE-style density-ratio model.

A rung is synchronous: its survivors are chosen once all of its trials are told.
A promotion is a new suggestion with ``fidelity`` = the next rung's budget and
``warm_start`` = the trial id of the same configuration at the rung below; the
objective decides, by its protocol, whether to continue that checkpoint. The
bracket, the rung, the queued, asked and told entries and the RNG are all in
``state_dict``, so a study killed mid-bracket resumes exactly.

Ranking (survivors, and BOHB's good/bad split): one objective by value; several
by non-dominated rank, then crowding distance (larger first), as NSGA-II's
survival; ties by trial id. Failed and pruned trials rank last and are never
promoted (a rung keeps fewer survivors when fewer trials succeeded; when none
did, the bracket ends and the next one starts).
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple, Sequence

import numpy as np
from scipy.special import logsumexp, ndtr, ndtri

from .. import selection
from ..space import Boolean, Categorical, SearchSpace
from .base import Observation, Optimizer, Suggestion

__all__ = ["Rung", "max_bracket", "hyperband_schedule", "SuccessiveHalving", "Hyperband", "BOHB"]


class Rung(NamedTuple):
    """``n`` configurations evaluated at ``fidelity`` epochs."""

    n: int
    fidelity: int

    def __repr__(self) -> str:
        return f"{self.n}@{self.fidelity}"


def _check_int(name: str, value: Any, low: int) -> int:
    """``value`` as an int >= ``low``; a one-line ValueError naming the fix otherwise."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r} (a {type(value).__name__}); pass an int")
    if value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value}")
    return int(value)


def _check_real(name: str, value: Any, interval: str, ok) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not ok(float(value)):
        raise ValueError(f"{name} must be a number {interval}, got {value!r} (a {type(value).__name__})")
    return float(value)


def _check_fidelities(max_fidelity: Any, eta: Any, min_fidelity: Any) -> tuple[int, int, int]:
    R = _check_int("max_fidelity (R, epochs)", max_fidelity, 1)
    eta = _check_int("eta (the reduction factor)", eta, 2)
    r_min = _check_int("min_fidelity (r_min, epochs)", min_fidelity, 1)
    if R < r_min:
        raise ValueError(f"max_fidelity (R={R}) must be >= min_fidelity (r_min={r_min}); raise R or lower r_min")
    return R, eta, r_min


def max_bracket(max_fidelity: int, eta: int = 3, min_fidelity: int = 1) -> int:
    """``s_max``: the largest ``s`` with ``eta**s <= R / r_min``, in integer arithmetic
    (``math.log`` loses a bracket at R = 243, eta = 3: Optuna's HyperbandPruner)."""
    R, eta, r_min = _check_fidelities(max_fidelity, eta, min_fidelity)
    s = 0
    while r_min * eta ** (s + 1) <= R:
        s += 1
    return s


def _bracket(s: int, s_max: int, R: int, eta: int, n: int | None = None) -> tuple[Rung, ...]:
    """Bracket ``s``: ``n = ceil((s_max+1)/(s+1) * eta**s)`` configurations at ``R // eta**s``,
    then ``floor(n_i / eta)`` at each ``eta`` times larger budget, up to ``R``."""
    if n is None:
        n = -(-(s_max + 1) * eta ** s // (s + 1))
    return tuple(Rung(n // eta ** i, R // eta ** (s - i)) for i in range(s + 1))


def hyperband_schedule(max_fidelity: int, eta: int = 3, min_fidelity: int = 1) -> list[tuple[Rung, ...]]:
    """Hyperband's brackets ``s = s_max .. 0`` (Li et al. 2018, Algorithm 1), integer fidelities.

    ``hyperband_schedule(81, 3)[1]`` is ``(34@3, 11@9, 3@27, 1@81)`` (seed 001's table)."""
    R, eta, r_min = _check_fidelities(max_fidelity, eta, min_fidelity)
    s_max = max_bracket(R, eta, r_min)
    return [_bracket(s, s_max, R, eta) for s in range(s_max, -1, -1)]


def rank_order(values: np.ndarray, trial_ids: Sequence[int]) -> np.ndarray:
    """Indices from best to worst: by value (one objective) or non-dominated rank then
    crowding distance (several); ties by trial id."""
    if len(trial_ids) == 0:
        return np.empty(0, dtype=int)
    F = np.asarray(values, dtype=float).reshape(len(trial_ids), -1)
    ids = np.asarray(trial_ids)
    if F.shape[1] == 1:
        return np.lexsort((ids, F[:, 0]))
    ranks = selection.pareto_ranks(F)
    crowd = np.zeros(len(F))
    for r in np.unique(ranks):
        members = np.flatnonzero(ranks == r)
        crowd[members] = selection.crowding_distance(F[members])
    return np.lexsort((ids, -crowd, ranks))


def _ranked(results: Sequence[dict]) -> list[dict]:
    """Told results from best to worst; failed and pruned last, by trial id."""
    ok = [r["status"] == "done" and r["values"] is not None for r in results]
    done = [r for r, good in zip(results, ok) if good]
    rest = sorted((r for r, good in zip(results, ok) if not good), key=lambda r: r["trial_id"])
    order = rank_order(np.array([r["values"] for r in done], dtype=float), [r["trial_id"] for r in done])
    return [done[i] for i in order] + rest


class _Bracketed(Optimizer):
    """Brackets of synchronous successive halving; subclasses say which bracket comes
    ``k``-th (:meth:`_rungs`) and where new configurations come from (:meth:`_new_genomes`)."""

    #: Promotions continue the lower rung's trial: the study keeps every trial's checkpoint.
    warm_starts = True

    def __init__(self, space: SearchSpace, n_objectives: int = 1, *, max_fidelity: int = 81, eta: int = 3,
                 min_fidelity: int = 1, seed: int | None = 0) -> None:
        super().__init__(space, n_objectives, seed=seed)
        self.max_fidelity, self.eta, self.min_fidelity = _check_fidelities(max_fidelity, eta, min_fidelity)
        self.s_max = max_bracket(self.max_fidelity, self.eta, self.min_fidelity)
        self.bracket_index = -1   # brackets started so far, minus one
        self.rung = 0             # index of the rung being evaluated in the current bracket
        self.generation = 0       # rungs finished overall: each rung is a generation
        self.next_config_id = 0
        self.queue: list[dict] = []    # {"config_id", "genome", "warm_start"} of this rung, not yet asked
        self.asked: list[dict] = []    # asked, not yet told
        self.results: list[dict] = []  # told: {"trial_id", "config_id", "genome", "values", "status"}

    # --- the schedule -----------------------------------------------------------------------
    def _rungs(self, k: int) -> tuple[Rung, ...]:
        raise NotImplementedError

    def _new_genomes(self, n: int) -> list[list]:
        return [self.space.sample_genome(self.rng) for _ in range(n)]

    @property
    def current_rung(self) -> Rung:
        return self._rungs(max(self.bracket_index, 0))[self.rung]

    @property
    def generation_size(self) -> int:
        """The trials still to ask in this rung (the whole rung when it starts)."""
        return len(self.queue) or self.current_rung.n

    # --- ask / tell ---------------------------------------------------------------------------
    def ask(self, n: int) -> list[Suggestion]:
        """Up to ``n`` of the current rung's suggestions; none while the rung waits on ``tell``."""
        n = _check_int("n (suggestions to ask)", n, 0)
        if self.bracket_index < 0:
            self._start_bracket(0)
        batch, self.queue = self.queue[:n], self.queue[n:]
        self.asked.extend(batch)
        fidelity = self.current_rung.fidelity
        return [Suggestion(list(e["genome"]), self.generation, () if e["warm_start"] is None else (e["warm_start"],),
                           fidelity, e["warm_start"]) for e in batch]

    def tell(self, observations: Sequence[Observation]) -> None:
        """Record results; when the whole rung is told, promote its best to the next rung
        (or start the next bracket)."""
        for obs in observations:
            values = None if obs.values is None else [float(v) for v in obs.values]
            if values is not None and len(values) != self.n_objectives:
                raise ValueError(f"trial {obs.trial_id}: {len(values)} values for {self.n_objectives} objectives; "
                                 "tell one minimised value per objective")
            entry = self._match(obs)
            result = {"trial_id": int(obs.trial_id), "config_id": entry["config_id"], "genome": list(entry["genome"]),
                      "values": values, "status": obs.status}
            self.results.append(result)
            self._observed(result, self.current_rung.fidelity)
        if observations and not self.asked and not self.queue:
            self._end_rung()

    def _match(self, obs: Observation) -> dict:
        """The asked entry an observation answers: the first with its genome, else the
        first with its configuration (a genome whose inactive genes were reset)."""
        fidelity = self.current_rung.fidelity
        if obs.fidelity is not None and obs.fidelity != fidelity:
            raise ValueError(f"trial {obs.trial_id} was told at fidelity {obs.fidelity}, but the rung being "
                             f"evaluated is at {fidelity}; tell the results of the last ask() with its fidelity")
        genome = list(obs.genome)
        for i, entry in enumerate(self.asked):
            if entry["genome"] == genome:
                return self.asked.pop(i)
        config = self.space.to_config(genome)
        for i, entry in enumerate(self.asked):
            if self.space.to_config(entry["genome"]) == config:
                return self.asked.pop(i)
        raise ValueError(f"tell() got trial {obs.trial_id}, whose genome is not among the {len(self.asked)} "
                         "asked and untold suggestions; tell each result of ask() exactly once, with its genome")

    def _observed(self, result: dict, fidelity: int) -> None:
        """A hook: BOHB keeps each result for its model."""

    def _end_rung(self) -> None:
        rungs = self._rungs(self.bracket_index)
        self.generation += 1
        survivors: list[dict] = []
        if self.rung + 1 < len(rungs):
            ranked = [r for r in _ranked(self.results) if r["status"] == "done" and r["values"] is not None]
            survivors = ranked[: rungs[self.rung + 1].n]
        self.results = []
        if not survivors:
            self._start_bracket(self.bracket_index + 1)
            return
        self.rung += 1
        self.queue = [{"config_id": r["config_id"], "genome": r["genome"], "warm_start": r["trial_id"]}
                      for r in survivors]

    def _start_bracket(self, k: int) -> None:
        self.bracket_index, self.rung = k, 0
        genomes = self._new_genomes(self._rungs(k)[0].n)
        first = self.next_config_id
        self.next_config_id += len(genomes)
        self.queue = [{"config_id": first + i, "genome": list(g), "warm_start": None} for i, g in enumerate(genomes)]

    # --- state ----------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return {"max_fidelity": self.max_fidelity, "eta": self.eta, "min_fidelity": self.min_fidelity}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "settings": self.settings(), "bracket_index": self.bracket_index,
                "rung": self.rung, "generation": self.generation, "next_config_id": self.next_config_id,
                "queue": self.queue, "asked": self.asked, "results": self.results}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if state["settings"] != self.settings():
            raise ValueError(f"the saved {self.name} state has settings {state['settings']}, this optimiser "
                             f"{self.settings()}; build it with the saved settings to resume")
        self.bracket_index, self.rung, self.generation = state["bracket_index"], state["rung"], state["generation"]
        self.next_config_id = state["next_config_id"]
        self.queue, self.asked, self.results = state["queue"], state["asked"], state["results"]


class SuccessiveHalving(_Bracketed):
    """Successive halving (Jamieson & Talwalkar 2016): one bracket, repeated.

    ``n_configs`` configurations (default ``eta**s_max``) start at ``R // eta**s_max``
    epochs; each rung keeps the best ``floor(n_i / eta)`` for ``eta`` times the budget,
    up to ``max_fidelity``. When the bracket ends a fresh one starts.
    """

    name = "successive_halving"

    def __init__(self, space: SearchSpace, n_objectives: int = 1, *, max_fidelity: int = 81, eta: int = 3,
                 min_fidelity: int = 1, n_configs: int | None = None, seed: int | None = 0) -> None:
        super().__init__(space, n_objectives, max_fidelity=max_fidelity, eta=eta, min_fidelity=min_fidelity,
                         seed=seed)
        least = self.eta ** self.s_max
        if n_configs is None:
            n_configs = least
        self.n_configs = _check_int("n_configs", n_configs, 1)
        if self.n_configs < least:
            raise ValueError(f"n_configs must be >= eta**s_max = {least} so that one configuration reaches "
                             f"max_fidelity={self.max_fidelity}, got {self.n_configs}; pass more or raise min_fidelity")

    def _rungs(self, k: int) -> tuple[Rung, ...]:
        return _bracket(self.s_max, self.s_max, self.max_fidelity, self.eta, self.n_configs)

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "n_configs": self.n_configs}


class Hyperband(_Bracketed):
    """Hyperband (Li et al. 2017, 2018): successive halving over brackets ``s_max .. 0``,
    then again from ``s_max``; new configurations are drawn uniformly.

    For R = 81, eta = 3 the brackets are seed 001's table: 81@1 27@3 9@9 3@27 1@81;
    34@3 11@9 3@27 1@81; 15@9 5@27 1@81; 8@27 2@81; 5@81.
    """

    name = "hyperband"

    def _rungs(self, k: int) -> tuple[Rung, ...]:
        s = self.s_max - k % (self.s_max + 1)
        return _bracket(s, self.s_max, self.max_fidelity, self.eta)

    @property
    def bracket(self) -> int:
        """``s`` of the current bracket."""
        return self.s_max - max(self.bracket_index, 0) % (self.s_max + 1)


class BOHB(Hyperband):
    """BOHB (Falkner, Klein & Hutter 2018): Hyperband's schedule, with each bracket's new
    configurations drawn from a TPE-style density ratio ``l(x) / g(x)``.

    The model is fitted on the largest budget whose N observations give both densities
    ``min_points_in_model`` points (default: number of parameters + 1): ``l`` on the best
    ``max(min_points_in_model, top_n_percent % of N)``, ``g`` on the rest, failed and
    pruned trials included (the paper's n_l and n_g; HpBandSter also needs both sets
    larger than the dimension, which the default ensures). Each new configuration is
    random with probability ``random_fraction``; else the best ratio among ``num_samples``
    draws from ``l`` with its bandwidths widened by ``bandwidth_factor``. The paper's defaults:
    top_n_percent=15, num_samples=64, random_fraction=1/3, bandwidth_factor=3,
    min_bandwidth=1e-3. One addition: both densities include the uniform prior as a
    kernel of weight ``prior_weight`` (1, as hyperopt's and Optuna's TPE; 0 is the paper's
    model). Without it ``g`` vanishes away from its few points, and the ratio rewards
    extrapolation: on :class:`~nasbench.problems.LearningCurveProblem` the model's draws
    were then worse than random ones. See :class:`_KDE` for the kernels and conditional
    parameters.
    """

    name = "bohb"

    def __init__(self, space: SearchSpace, n_objectives: int = 1, *, max_fidelity: int = 81, eta: int = 3,
                 min_fidelity: int = 1, min_points_in_model: int | None = None, top_n_percent: float = 15,
                 num_samples: int = 64, random_fraction: float = 1 / 3, bandwidth_factor: float = 3.0,
                 min_bandwidth: float = 1e-3, prior_weight: float = 1.0, seed: int | None = 0) -> None:
        super().__init__(space, n_objectives, max_fidelity=max_fidelity, eta=eta, min_fidelity=min_fidelity,
                         seed=seed)
        points = len(space) + 1 if min_points_in_model is None else min_points_in_model
        self.min_points_in_model = _check_int("min_points_in_model", points, 1)
        self.top_n_percent = _check_real("top_n_percent", top_n_percent, "in (0, 100)", lambda v: 0 < v < 100)
        self.num_samples = _check_int("num_samples", num_samples, 1)
        self.random_fraction = _check_real("random_fraction", random_fraction, "in [0, 1]", lambda v: 0 <= v <= 1)
        self.bandwidth_factor = _check_real("bandwidth_factor", bandwidth_factor, "> 0", lambda v: 0 < v < np.inf)
        self.min_bandwidth = _check_real("min_bandwidth", min_bandwidth, "in (0, 1)", lambda v: 0 < v < 1)
        self.prior_weight = _check_real("prior_weight", prior_weight, ">= 0", lambda v: 0 <= v < np.inf)
        self.observations: dict[str, list[dict]] = {}  # by fidelity: {"trial_id", "genome", "values"}
        self._encoding = _Encoding(space)

    def _observed(self, result: dict, fidelity: int) -> None:
        values = result["values"] if result["status"] == "done" else None
        self.observations.setdefault(str(fidelity), []).append(
            {"trial_id": result["trial_id"], "genome": result["genome"], "values": values})

    # --- the model --------------------------------------------------------------------------
    def model_budget(self) -> int | None:
        """The largest budget with enough observations for both densities (None: none yet)."""
        for fidelity in sorted(map(int, self.observations), reverse=True):
            good, bad = self._split(self.observations[str(fidelity)])
            if len(good) >= self.min_points_in_model and len(bad) >= self.min_points_in_model:
                return fidelity
        return None

    def _split(self, records: Sequence[dict]) -> tuple[list[dict], list[dict]]:
        """The good and the bad observations (failed and pruned ones are bad)."""
        ranked = _ranked([{**r, "status": "done" if r["values"] is not None else "failed"} for r in records])
        n_good = max(self.min_points_in_model, int(self.top_n_percent * len(ranked) // 100))
        return ranked[:n_good], ranked[n_good:]

    def _new_genomes(self, n: int) -> list[list]:
        budget = self.model_budget()
        if budget is None:
            return super()._new_genomes(n)
        good, bad = self._split(self.observations[str(budget)])
        enc = self._encoding
        l_kde, g_kde = (_KDE(*enc.encode_all([r["genome"] for r in records]), enc.n_choices, self.min_bandwidth,
                             self.prior_weight) for records in (good, bad))
        return [self.space.sample_genome(self.rng) if self.rng.random() < self.random_fraction
                else self._from_model(l_kde, g_kde) for _ in range(n)]

    def _from_model(self, l_kde: "_KDE", g_kde: "_KDE") -> list:
        """The draw from ``l`` (widened) with the largest ``l(x) / g(x)``."""
        draws = l_kde.sample(self.num_samples, self.rng, self.bandwidth_factor)
        genomes = [self._encoding.decode(x) for x in draws]
        X, A = self._encoding.encode_all(genomes)  # re-encoded: rounding and conditions applied
        score = l_kde.log_pdf(X, A) - g_kde.log_pdf(X, A)
        return genomes[int(np.argmax(score))]

    # --- state ----------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "min_points_in_model": self.min_points_in_model,
                "top_n_percent": self.top_n_percent, "num_samples": self.num_samples,
                "random_fraction": self.random_fraction, "bandwidth_factor": self.bandwidth_factor,
                "min_bandwidth": self.min_bandwidth, "prior_weight": self.prior_weight}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "observations": self.observations}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.observations = state["observations"]


# --- BOHB's kernel density estimates ------------------------------------------------------------
class _Encoding:
    """Genomes as points of [0, 1]^d (parameters' ``encode`` scaled by ``encoded_bounds``;
    categoricals and bools as choice indices) with a mask of the active genes."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self.n_choices = np.array([len(p.choices) if isinstance(p, Categorical) else 2 if isinstance(p, Boolean)
                                   else 0 for p in space], dtype=int)

    def encode_all(self, genomes: Sequence[Sequence]) -> tuple[np.ndarray, np.ndarray]:
        X = np.zeros((len(genomes), len(self.space)))
        A = np.zeros((len(genomes), len(self.space)), dtype=bool)
        for i, genome in enumerate(genomes):
            A[i] = self.space.active(dict(zip(self.space.names, genome)))
            for j, (p, v) in enumerate(zip(self.space, genome)):
                if self.n_choices[j]:
                    X[i, j] = p.encode(v)
                else:
                    lo, hi = p.encoded_bounds
                    X[i, j] = min(max((p.encode(v) - lo) / (hi - lo), 0.0), 1.0)
        return X, A

    def decode(self, x: np.ndarray) -> list:
        genome = []
        for j, p in enumerate(self.space):
            lo, hi = p.encoded_bounds
            genome.append(p.decode(float(x[j]) if self.n_choices[j] else lo + float(x[j]) * (hi - lo)))
        return genome


class _KDE:
    """A product-kernel density on [0, 1]^d: truncated Gaussians for numbers, Aitchison-Aitken
    kernels for categoricals. Written here because statsmodels (HpBandSter's KDE) is not a
    dependency of nasbench; bandwidths follow its ``normal_reference`` rule,
    ``1.06 * std * n**(-1/(d+4))``, clipped below at ``min_bandwidth``.

    Conditional parameters: an inactive gene carries no information, so it is masked
    rather than imputed. A point's kernel over a gene it does not use is the uniform
    density, and a candidate's density is its marginal over its active genes (inactive
    genes are left out of the product); bandwidths come from the points where the gene is
    active. Setting inactive genes to a neutral value instead would pile the points up there
    and shrink the bandwidth.
    """

    def __init__(self, X: np.ndarray, A: np.ndarray, n_choices: np.ndarray, min_bandwidth: float,
                 prior_weight: float = 0.0) -> None:
        self.X, self.A, self.n_choices, self.prior_weight = X, A, n_choices, prior_weight
        self.bw = np.array([self._bandwidth(j, min_bandwidth) for j in range(X.shape[1])])

    def _bandwidth(self, j: int, min_bandwidth: float) -> float:
        col, c = self.X[self.A[:, j], j], self.n_choices[j]
        if c:
            col = col / (c - 1)
        spread = col.std() if len(col) >= 2 else 12 ** -0.5  # one point or none: a uniform's spread
        bw = max(1.06 * spread * max(len(col), 1) ** (-1 / (self.X.shape[1] + 4)), min_bandwidth)
        return min(bw, (c - 1) / c) if c else bw

    def log_pdf(self, Y: np.ndarray, B: np.ndarray) -> np.ndarray:
        """Log density at the rows of ``Y`` over their active genes ``B``."""
        terms = np.zeros((len(Y), len(self.X)))
        for j in range(Y.shape[1]):
            terms += np.where(B[:, j:j + 1], self._log_kernel(j, Y[:, j]), 0.0)
        if self.prior_weight:  # the uniform prior as one more kernel, of weight prior_weight
            prior = -(B * np.log(np.maximum(self.n_choices, 1))[None, :]).sum(axis=1, keepdims=True)
            terms = np.hstack([terms, prior + np.log(self.prior_weight)])
        return logsumexp(terms, axis=1) - np.log(len(self.X) + self.prior_weight)

    def _log_kernel(self, j: int, y: np.ndarray) -> np.ndarray:
        """(len(y), n) log kernel values of gene ``j``; uniform where the point lacks it."""
        x, c, bw = self.X[:, j][None, :], self.n_choices[j], self.bw[j]
        if c:
            k = np.where(y[:, None] == x, np.log1p(-bw), np.log(bw / (c - 1)))
            uniform = -np.log(c)
        else:
            z = (y[:, None] - x) / bw
            mass = ndtr((1 - x) / bw) - ndtr(-x / bw)
            k = -0.5 * z ** 2 - 0.5 * np.log(2 * np.pi) - np.log(bw) - np.log(mass)
            uniform = 0.0
        return np.where(self.A[:, j][None, :], k, uniform)

    def sample(self, n: int, rng: np.random.Generator, widen: float) -> np.ndarray:
        """``n`` draws: a random point, then each gene from its kernel (numbers with the
        bandwidth times ``widen``), or uniformly where the point lacks the gene."""
        rows = rng.integers(len(self.X), size=n)
        u, keep, other, fresh = (rng.random((n, self.X.shape[1])) for _ in range(4))
        out = np.empty((n, self.X.shape[1]))
        for j, c in enumerate(self.n_choices):
            x, active = self.X[rows, j], self.A[rows, j]
            if c:
                shift = 1 + np.floor(other[:, j] * (c - 1))  # one of the other c - 1 choices
                drawn = np.where(keep[:, j] < 1 - self.bw[j], x, (x + shift) % c)
                out[:, j] = np.where(active, drawn, np.floor(fresh[:, j] * c))
            else:
                s = self.bw[j] * widen
                lo, hi = ndtr(-x / s), ndtr((1 - x) / s)
                drawn = np.clip(x + s * ndtri(lo + u[:, j] * (hi - lo)), 0.0, 1.0)
                out[:, j] = np.where(active, drawn, fresh[:, j])
        return out
