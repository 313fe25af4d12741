"""Typed search spaces: parameters, conditions, priors, presets.

A configuration is a ``dict`` from parameter name to a typed value (``int``,
``float``, ``bool`` or one of a categorical's choices). A *genome* is the list
of all parameters' values in space order, inactive ones included, so that
positional operators (two-point crossover) see a fixed-length vector; the
inactive genes ride along unchanged and are dropped by :meth:`SearchSpace.to_config`.

Every parameter also has a continuous *encoding* (log for log-scaled
parameters, the choice index for categoricals, 0/1 for booleans) on which the
numeric operators (SBX, Gaussian) act; decoding rounds and clips, so types and
bounds always hold (see DEAP issue 462 for what goes wrong otherwise).

No torch here.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import KW_ONLY, dataclass, field, fields
from importlib import resources
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "Parameter",
    "Integer",
    "Float",
    "Categorical",
    "Boolean",
    "Condition",
    "ChoiceTree",
    "SearchSpace",
    "SpaceError",
    "preset",
    "preset_names",
    "CROSSOVERS",
    "MUTATIONS",
]

#: Per-gene crossover operators (see :mod:`nasbench.operators`).
CROSSOVERS = ("sbx", "gaussian", "uniform", "prior", "swap")
#: Per-gene mutation operators (see :mod:`nasbench.operators`).
MUTATIONS = ("perturb", "gaussian", "polynomial", "uniform", "prior", "tree", "flip")


class SpaceError(ValueError):
    """An invalid search space or configuration; the message names the fix."""


@dataclass(frozen=True)
class Condition:
    """Parameter is active only when ``parent`` takes one of ``values``."""

    parent: str
    values: tuple

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))
        if not self.values:
            raise SpaceError(f"condition on {self.parent!r} has no values; list the values that activate it")

    def holds(self, config: Mapping[str, Any]) -> bool:
        return self.parent in config and config[self.parent] in self.values

    def to_dict(self) -> dict:
        return {"parent": self.parent, "values": list(self.values)}


@dataclass(frozen=True)
class ChoiceTree:
    """A hierarchy over a categorical's choices, for tree-distance mutation.

    ``children`` maps an inner node to its children; leaves are the choices.
    ``hops(a, b)`` counts the edges on the path between two leaves.
    """

    children: Mapping[str, tuple]
    root: str = "root"

    def __post_init__(self) -> None:
        object.__setattr__(self, "children", {k: tuple(v) for k, v in dict(self.children).items()})
        if self.root not in self.children:
            raise SpaceError(f"choice tree has no root node {self.root!r}; add it to 'children'")

    def leaves(self) -> list[str]:
        out, stack = [], [self.root]
        while stack:
            node = stack.pop()
            kids = self.children.get(node)
            if kids is None:
                out.append(node)
            else:
                stack.extend(reversed(kids))
        return out

    def _path_to_root(self, leaf: str) -> list[str]:
        parent = {c: p for p, cs in self.children.items() for c in cs}
        path = [leaf]
        while path[-1] != self.root:
            path.append(parent[path[-1]])
        return path

    def hops(self, a: str, b: str) -> int:
        """Number of edges between leaves ``a`` and ``b`` (0 when equal)."""
        pa, pb = self._path_to_root(a), self._path_to_root(b)
        common = set(pa) & set(pb)
        return next(i for i, n in enumerate(pa) if n in common) + next(i for i, n in enumerate(pb) if n in common)

    def to_dict(self) -> dict:
        return {"root": self.root, "children": {k: list(v) for k, v in self.children.items()}}


@dataclass(frozen=True)
class Parameter:
    """Base class. ``crossover``/``mutation`` default by kind; ``scale`` is the
    mutation's width (perturb), standard deviation (gaussian, in encoded units)
    or base (tree)."""

    name: str
    _: KW_ONLY
    default: Any = None
    prior: Any = None
    crossover: str | None = None
    mutation: str | None = None
    scale: float | None = None
    condition: Condition | None = None

    kind = "parameter"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise SpaceError(f"parameter name {self.name!r} must be a Python identifier, e.g. 'n_layers'")
        self._check()
        if self.default is None:
            object.__setattr__(self, "default", self._natural_default())
        object.__setattr__(self, "default", self.validate(self.default))
        if self.crossover is None:
            object.__setattr__(self, "crossover", self._default_crossover())
        if self.mutation is None:
            object.__setattr__(self, "mutation", self._default_mutation())
        if self.crossover not in CROSSOVERS:
            raise SpaceError(f"{self.name}: crossover {self.crossover!r} unknown; use one of {CROSSOVERS}")
        if self.mutation not in MUTATIONS:
            raise SpaceError(f"{self.name}: mutation {self.mutation!r} unknown; use one of {MUTATIONS}")
        if isinstance(self.condition, Mapping):
            object.__setattr__(self, "condition", Condition(**self.condition))

    # --- to be provided by kinds -------------------------------------------------
    def _check(self) -> None: ...
    def _natural_default(self) -> Any: ...
    def _default_crossover(self) -> str:
        return "sbx"
    def _default_mutation(self) -> str:
        return "gaussian"
    def validate(self, value: Any) -> Any:
        raise NotImplementedError
    def encode(self, value: Any) -> float:
        raise NotImplementedError
    def decode(self, x: float) -> Any:
        raise NotImplementedError
    @property
    def encoded_bounds(self) -> tuple[float, float]:
        """The range of the continuous encoding (computed once: operators ask often)."""
        cached = self.__dict__.get("_encoded_bounds")
        if cached is None:
            cached = self._bounds()
            object.__setattr__(self, "_encoded_bounds", cached)
        return cached

    def _bounds(self) -> tuple[float, float]:
        raise NotImplementedError
    def sample_uniform(self, rng: np.random.Generator) -> Any:
        lo, hi = self.encoded_bounds
        return self.decode(rng.uniform(lo, hi))
    def sample_prior(self, rng: np.random.Generator) -> Any:
        return self.sample_uniform(rng)
    @property
    def smallest(self) -> Any:
        return self.decode(self.encoded_bounds[0])
    @property
    def largest(self) -> Any:
        return self.decode(self.encoded_bounds[1])

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"type": self.kind}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, (Condition, ChoiceTree)):
                value = value.to_dict()
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    def _range_error(self, value: Any, allowed: str) -> SpaceError:
        return SpaceError(f"{self.name}={value!r} is out of range; allowed: {allowed}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


class _Numeric:
    """What Integer and Float share: range checks, the midpoint default, a triangular prior."""

    def _check_range(self, what: str) -> None:
        if self.low >= self.high:
            raise SpaceError(f"{self.name}: low must be < high, got low={self.low}, high={self.high}")
        if self.log and self.low <= 0:
            raise SpaceError(f"{self.name}: a log-scaled {what} needs low > 0, got {self.low}")
        if self.prior not in (None, "uniform", "default"):
            raise SpaceError(f"{self.name}: prior must be 'uniform' or 'default', got {self.prior!r}")

    def _natural_default(self) -> Any:
        return self.decode(sum(self.encoded_bounds) / 2)

    def sample_prior(self, rng: np.random.Generator) -> Any:
        """Uniform, or triangular on the encoded scale with its mode at the default."""
        if self.prior != "default":
            return self.sample_uniform(rng)
        lo, hi = self.encoded_bounds
        return self.decode(rng.triangular(lo, min(max(self.encode(self.default), lo), hi), hi))


@dataclass(frozen=True)
class Integer(_Numeric, Parameter):
    """An integer in ``[low, high]``; ``log=True`` encodes it on a log scale.

    ``prior``: a default-centred triangular prior when ``"default"``; else uniform.
    """

    low: int = 0
    high: int = 1
    log: bool = False
    kind = "int"

    def _check(self) -> None:
        if not (_is_number(self.low) and _is_number(self.high)) or int(self.low) != self.low or int(self.high) != self.high:
            raise SpaceError(f"{self.name}: low and high must be integers, got {self.low!r}, {self.high!r}")
        object.__setattr__(self, "low", int(self.low))
        object.__setattr__(self, "high", int(self.high))
        self._check_range("integer")

    def _default_mutation(self) -> str:
        return "perturb"

    def validate(self, value: Any) -> int:
        if not _is_number(value) or int(value) != value:
            raise SpaceError(f"{self.name}={value!r} must be an integer in [{self.low}, {self.high}]")
        if not self.low <= value <= self.high:
            raise self._range_error(value, f"integers in [{self.low}, {self.high}]")
        return int(value)

    def encode(self, value: Any) -> float:
        return math.log(value) if self.log else float(value)

    def decode(self, x: float) -> int:
        value = math.exp(x) if self.log else x
        return int(min(max(round(value), self.low), self.high))

    def _bounds(self) -> tuple[float, float]:
        return (self.encode(self.low - 0.4999), self.encode(self.high + 0.4999)) if not self.log else (
            math.log(self.low), math.log(self.high))

    @property
    def perturb_width(self) -> int:
        """Width of the uniform integer perturbation (``scale`` or an eighth of the range)."""
        return int(self.scale) if self.scale is not None else max(1, round((self.high - self.low) / 8))


@dataclass(frozen=True)
class Float(_Numeric, Parameter):
    """A real number in ``[low, high]``; ``log=True`` makes it log-scaled.

    ``prior``: ``"default"`` for a default-centred triangular prior; else uniform.
    """

    low: float = 0.0
    high: float = 1.0
    log: bool = False
    kind = "float"

    def _check(self) -> None:
        if not (_is_number(self.low) and _is_number(self.high)) or not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise SpaceError(f"{self.name}: low and high must be finite numbers, got {self.low!r}, {self.high!r}")
        object.__setattr__(self, "low", float(self.low))
        object.__setattr__(self, "high", float(self.high))
        self._check_range("float")

    def validate(self, value: Any) -> float:
        if not _is_number(value) or not math.isfinite(value):
            raise SpaceError(f"{self.name}={value!r} must be a number in [{self.low}, {self.high}]")
        if not self.low <= value <= self.high:
            raise self._range_error(value, f"[{self.low}, {self.high}]" + (" (log scale)" if self.log else ""))
        return float(value)

    def encode(self, value: Any) -> float:
        return math.log(value) if self.log else float(value)

    def decode(self, x: float) -> float:
        lo, hi = self.encoded_bounds
        if x <= lo:  # exact ends, free of exp(log(x)) round-off
            return self.low
        if x >= hi:
            return self.high
        value = math.exp(x) if self.log else float(x)
        return min(max(value, self.low), self.high)

    def _bounds(self) -> tuple[float, float]:
        return self.encode(self.low), self.encode(self.high)


@dataclass(frozen=True)
class Categorical(Parameter):
    """One of ``choices`` (JSON scalars). ``prior``: probabilities per choice.
    ``tree``: a :class:`ChoiceTree` over the choices for tree-distance mutation."""

    choices: tuple = ()
    tree: ChoiceTree | None = None
    kind = "categorical"

    def _check(self) -> None:
        object.__setattr__(self, "choices", tuple(self.choices))
        if len(self.choices) < 2:
            raise SpaceError(f"{self.name}: a categorical needs at least 2 choices, got {list(self.choices)}")
        if len(set(self.choices)) != len(self.choices):
            raise SpaceError(f"{self.name}: choices must be distinct, got {list(self.choices)}")
        if isinstance(self.tree, Mapping):
            object.__setattr__(self, "tree", ChoiceTree(**self.tree))
        if self.tree is not None and sorted(map(str, self.tree.leaves())) != sorted(map(str, self.choices)):
            raise SpaceError(f"{self.name}: the tree's leaves {self.tree.leaves()} must be exactly the choices {list(self.choices)}")
        if self.prior is not None:
            p = np.asarray(self.prior, dtype=float)
            if p.shape != (len(self.choices),) or (p < 0).any() or not math.isclose(p.sum(), 1.0, abs_tol=1e-9):
                raise SpaceError(f"{self.name}: prior must be {len(self.choices)} non-negative probabilities summing to 1, got {self.prior!r}")
            object.__setattr__(self, "prior", tuple(float(v) for v in p))

    def _natural_default(self) -> Any:
        return self.choices[0]

    def _default_crossover(self) -> str:
        return "swap"

    def _default_mutation(self) -> str:
        return "tree" if self.tree is not None else "uniform"

    def validate(self, value: Any) -> Any:
        for choice in self.choices:
            if value == choice and type(value) is type(choice) or (_is_number(value) and _is_number(choice) and value == choice):
                return choice
        raise self._range_error(value, f"one of {list(self.choices)}")

    def encode(self, value: Any) -> float:
        return float(self.choices.index(value))

    def decode(self, x: float) -> Any:
        return self.choices[int(min(max(round(x), 0), len(self.choices) - 1))]

    def _bounds(self) -> tuple[float, float]:
        return -0.4999, len(self.choices) - 0.5001

    def sample_uniform(self, rng: np.random.Generator) -> Any:
        return self.choices[int(rng.integers(len(self.choices)))]

    def sample_prior(self, rng: np.random.Generator) -> Any:
        if self.prior is None:
            return self.sample_uniform(rng)
        return self.choices[int(rng.choice(len(self.choices), p=self.prior))]

    @property
    def smallest(self) -> Any:
        return self.choices[0]

    @property
    def largest(self) -> Any:
        return self.choices[-1]


@dataclass(frozen=True)
class Boolean(Parameter):
    """``True`` or ``False``. ``prior``: the probability of ``True``."""

    kind = "bool"

    def _check(self) -> None:
        if self.prior is not None and not (_is_number(self.prior) and 0 <= self.prior <= 1):
            raise SpaceError(f"{self.name}: prior must be the probability of True in [0, 1], got {self.prior!r}")

    def _natural_default(self) -> bool:
        return False

    def _default_crossover(self) -> str:
        return "swap"

    def _default_mutation(self) -> str:
        return "flip"

    def validate(self, value: Any) -> bool:
        if not isinstance(value, (bool, np.bool_)):
            raise SpaceError(f"{self.name}={value!r} must be True or False")
        return bool(value)

    def encode(self, value: Any) -> float:
        return float(value)

    def decode(self, x: float) -> bool:
        return bool(x >= 0.5)

    def _bounds(self) -> tuple[float, float]:
        return -0.4999, 1.4999

    def sample_uniform(self, rng: np.random.Generator) -> bool:
        return bool(rng.random() < 0.5)

    def sample_prior(self, rng: np.random.Generator) -> bool:
        return bool(rng.random() < (0.5 if self.prior is None else self.prior))

    @property
    def smallest(self) -> bool:
        return False

    @property
    def largest(self) -> bool:
        return True


_KINDS: dict[str, type[Parameter]] = {k.kind: k for k in (Integer, Float, Categorical, Boolean)}


@dataclass(frozen=True)
class SearchSpace:
    """An ordered collection of parameters with conditions."""

    parameters: tuple[Parameter, ...]
    name: str = "space"
    _index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        params = tuple(self.parameters)
        object.__setattr__(self, "parameters", params)
        if not params:
            raise SpaceError("a search space needs at least one parameter")
        names = [p.name for p in params]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SpaceError(f"parameter names must be unique; rename {dupes}")
        object.__setattr__(self, "_index", {n: i for i, n in enumerate(names)})
        for i, p in enumerate(params):
            if p.condition is None:
                continue
            parent = self._index.get(p.condition.parent)
            if parent is None:
                raise SpaceError(f"{p.name}: its condition names unknown parameter {p.condition.parent!r}; use one of {names}")
            if parent >= i:
                raise SpaceError(f"{p.name}: its condition's parent {p.condition.parent!r} must come before it in the space")
            for v in p.condition.values:
                params[parent].validate(v)

    # --- access ---------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.parameters)

    def __iter__(self):
        return iter(self.parameters)

    def __getitem__(self, name: str) -> Parameter:
        try:
            return self.parameters[self._index[name]]
        except KeyError:
            raise KeyError(f"no parameter {name!r}; the space has {self.names}") from None

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    def index(self, name: str) -> int:
        return self._index[name]

    # --- configurations and genomes ---------------------------------------------------
    def active(self, values: Mapping[str, Any]) -> list[bool]:
        """Which parameters are active given (possibly a superset of) values."""
        return [p.condition is None or p.condition.holds(values) for p in self.parameters]

    def to_config(self, genome: Sequence[Any]) -> dict[str, Any]:
        """The configuration of a genome: its active genes by name."""
        full = dict(zip(self.names, genome))
        return {n: v for (n, v), a in zip(full.items(), self.active(full)) if a}

    def to_genome(self, config: Mapping[str, Any]) -> list[Any]:
        """A genome for a configuration; inactive genes take their defaults."""
        return [config.get(p.name, p.default) for p in self.parameters]

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Check a configuration; return it typed and in space order.

        Raises :class:`SpaceError` naming the parameter and the allowed range.
        """
        if not isinstance(config, Mapping):
            raise SpaceError(f"a configuration must be a dict of parameter values, got {type(config).__name__}")
        unknown = sorted(set(config) - set(self.names))
        if unknown:
            raise SpaceError(f"unknown parameters {unknown}; the space has {self.names}")
        out: dict[str, Any] = {}
        for p in self.parameters:
            if p.condition is not None and not p.condition.holds(out):
                if p.name in config:
                    raise SpaceError(f"{p.name} is inactive unless {p.condition.parent} in {list(p.condition.values)}; drop it from the configuration")
                continue
            if p.name not in config:
                raise SpaceError(f"missing parameter {p.name!r}; add it (allowed: {self._describe(p)})")
            out[p.name] = p.validate(config[p.name])
        return out

    @staticmethod
    def _describe(p: Parameter) -> str:
        if isinstance(p, Categorical):
            return f"one of {list(p.choices)}"
        if isinstance(p, Boolean):
            return "True or False"
        return f"[{p.low}, {p.high}]"

    def default(self) -> dict[str, Any]:
        return self.to_config([p.default for p in self.parameters])

    def smallest(self) -> dict[str, Any]:
        """Every parameter at its low end (seed 000's smallest model)."""
        return self.to_config([p.smallest for p in self.parameters])

    def largest(self) -> dict[str, Any]:
        """Every parameter at its high end (seed 000's largest model)."""
        return self.to_config([p.largest for p in self.parameters])

    def sample(self, rng: np.random.Generator, *, prior: bool = False) -> dict[str, Any]:
        """A random configuration, uniform or from the priors."""
        return self.to_config(self.sample_genome(rng, prior=prior))

    def sample_genome(self, rng: np.random.Generator, *, prior: bool = False) -> list[Any]:
        return [p.sample_prior(rng) if prior else p.sample_uniform(rng) for p in self.parameters]

    def canonical_json(self, config: Mapping[str, Any]) -> str:
        """The validated configuration as JSON with sorted keys: equal configurations,
        equal text."""
        return json.dumps(self.validate(config), sort_keys=True, separators=(",", ":"), allow_nan=False)

    def config_hash(self, config: Mapping[str, Any]) -> str:
        """Canonical hash of a configuration (validated, key order irrelevant)."""
        return text_hash(self.canonical_json(config))

    # --- serialisation --------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"name": self.name, "parameters": [p.to_dict() for p in self.parameters]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SearchSpace":
        """Build a space from plain data (a preset file or a stored study)."""
        if not isinstance(data, Mapping) or "parameters" not in data:
            raise SpaceError("a space definition needs a 'parameters' list, e.g. {'parameters': [{'type': 'int', 'name': 'n', 'low': 1, 'high': 5}]}")
        params = []
        for spec in data["parameters"]:
            spec = dict(spec)
            kind = spec.pop("type", None)
            if kind not in _KINDS:
                raise SpaceError(f"parameter {spec.get('name')!r}: type {kind!r} unknown; use one of {sorted(_KINDS)}")
            try:
                params.append(_KINDS[kind](**spec))
            except TypeError as exc:
                raise SpaceError(f"parameter {spec.get('name')!r}: {exc}; see nasbench.space.{_KINDS[kind].__name__}") from None
        return cls(tuple(params), name=str(data.get("name", "space")))

    @classmethod
    def from_json(cls, text: str) -> "SearchSpace":
        return cls.from_dict(json.loads(text))


def text_hash(text: str) -> str:
    """The short hash nasbench uses for canonical configuration text."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def preset_names() -> list[str]:
    """Names of the bundled preset spaces."""
    return sorted(f.name[:-5] for f in resources.files("nasbench.presets").iterdir() if f.name.endswith(".json"))


def preset(name: str) -> SearchSpace:
    """A bundled preset space: ``jahs_cnn`` (seed 004, Table 1), ``mlp`` (seed 003),
    ``evo_cnn`` (seed 000 style)."""
    names = preset_names()
    if name not in names:
        raise SpaceError(f"no preset {name!r}; use one of {names}")
    return SearchSpace.from_json(resources.files("nasbench.presets").joinpath(f"{name}.json").read_text())


def merge_spaces(spaces: Iterable[SearchSpace], name: str = "space") -> SearchSpace:
    """One space holding the parameters of several."""
    return SearchSpace(tuple(p for s in spaces for p in s.parameters), name=name)
