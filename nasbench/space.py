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
from dataclasses import KW_ONLY, MISSING, dataclass, field, fields
from importlib import resources
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = [
    "NumericCodec",
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


def _a_type(value: Any) -> str:
    """``"a str"``, ``"an int"``: the type of a bad value, for messages."""
    name = type(value).__name__
    return f"{'an' if name[:1] in 'aeiou' else 'a'} {name}"


def _is_list(value: Any) -> bool:
    """A list-like of items (a str is one value, not a list of characters)."""
    return isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, (str, bytes))


def _check_keys(spec: Mapping[str, Any], known: Sequence[str], required: Sequence[str], what: str) -> None:
    """Unknown or missing keys in a plain-data spec, named with the keys it may have."""
    unknown = sorted(set(spec) - set(known), key=str)
    if unknown:
        keys = f"key {unknown[0]!r}" if len(unknown) == 1 else f"keys {unknown}"
        raise SpaceError(f"{what}: unknown {keys}; known keys: {sorted(known)}")
    missing = [k for k in required if k not in spec]
    if missing:
        raise SpaceError(f"{what} is missing key {missing[0]!r}; known keys: {sorted(known)}")


def _from_spec(cls: type, spec: Any, what: str) -> Any:
    """A Condition or ChoiceTree given as itself or as its dict (``to_dict``'s output)."""
    if isinstance(spec, cls) or spec is None:
        return spec
    keys = sorted(f.name for f in fields(cls))
    if not isinstance(spec, Mapping):
        raise SpaceError(f"{what} must be a {cls.__name__} or a dict with {' and '.join(map(repr, keys))}, got {spec!r} ({_a_type(spec)})")
    required = [f.name for f in fields(cls) if f.default is MISSING]
    unknown = sorted(set(spec) - set(keys), key=str)
    missing = [k for k in required if k not in spec]
    if unknown or missing:
        problem = f"has unknown key {unknown[0]!r}" if unknown else f"is missing key {missing[0]!r}"
        raise SpaceError(f"{what} {problem}; its keys are {keys}")
    return cls(**spec)


@dataclass(frozen=True)
class Condition:
    """Parameter is active only when ``parent`` is active and takes one of ``values``."""

    parent: str
    values: tuple

    def __post_init__(self) -> None:
        if not isinstance(self.parent, str) or not self.parent:
            raise SpaceError(f"a condition's parent must be a parameter name, got {self.parent!r} ({_a_type(self.parent)})")
        if not _is_list(self.values):
            raise SpaceError(f"condition on {self.parent!r}: values must be a list of the parent's values, "
                             f"got {self.values!r} ({_a_type(self.values)}); pass e.g. [{self.values!r}]")
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
        if not isinstance(self.children, Mapping):
            raise SpaceError(f"choice tree: children must be a dict from node to its children, got {self.children!r} ({_a_type(self.children)})")
        for node, kids in self.children.items():
            if not _is_list(kids) or not kids or not all(isinstance(k, str) for k in kids):
                raise SpaceError(f"choice tree: the children of {node!r} must be a list of node names, got {kids!r}")
        object.__setattr__(self, "children", {k: tuple(v) for k, v in dict(self.children).items()})
        if not isinstance(self.root, str) or self.root not in self.children:
            raise SpaceError(f"choice tree has no root node {self.root!r}; add it to 'children'")
        self._check_shape()

    def _check_shape(self) -> None:
        """A tree: every node has one parent, the root none, and all hang from the root
        (which also rules out cycles, on which ``leaves`` would never end)."""
        parent: dict[str, str] = {}
        for node, kids in self.children.items():
            for kid in kids:
                if kid == self.root:
                    raise SpaceError(f"choice tree: {self.root!r} is the root and cannot be a child (of {node!r})")
                if kid in parent:
                    raise SpaceError(f"choice tree: {kid!r} has two parents ({parent[kid]!r} and {node!r}); give each node one")
                parent[kid] = node
        reached, stack = set(), [self.root]  # acyclic from the root now: one parent each
        while stack:
            node = stack.pop()
            reached.add(node)
            stack.extend(self.children.get(node, ()))
        for node in self.children:
            if node not in reached:
                raise SpaceError(f"choice tree: node {node!r} is not reachable from {self.root!r}; list it among some node's children")

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


#: What ``Parameter.scale`` means for each mutation that has one, by the name of the
#: read-only property through which operators read it.
SCALE_MEANINGS = {"perturb": "perturb_width", "gaussian": "gaussian_sigma", "tree": "tree_base"}


@dataclass(frozen=True)
class Parameter:
    """Base class. ``crossover``/``mutation`` default by kind.

    ``scale`` is the one setting of the parameter's own ``mutation``, and means:
    ``perturb``: the width w of Unif(-w, w) (``perturb_width``; a whole number of
    steps for an integer); ``gaussian``: the standard deviation, in encoded units
    (``gaussian_sigma``); ``tree``: the base b of the tree distance log_b(hops)
    (``tree_base``, > 1). Other mutations take no scale. The field keeps its name
    so that stored studies (JSON in SQLite) and recipes that set ``"scale"`` keep
    loading; operators read the property named for what it is, never ``scale``.
    """

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
        object.__setattr__(self, "condition", _from_spec(Condition, self.condition, f"{self.name}: condition"))
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
        self._check_mutation()
        self._check_scale()

    def _check_mutation(self) -> None:
        """Mutations that only make sense for one kind."""
        if self.mutation == "tree" and not isinstance(self, Categorical):
            raise SpaceError(f"{self.name}: mutation 'tree' needs a categorical with a tree, got a {self.kind}; use 'perturb' or 'gaussian'")
        if self.mutation == "flip" and not isinstance(self, Boolean):
            raise SpaceError(f"{self.name}: mutation 'flip' needs a bool, got a {self.kind}; use 'uniform' or 'gaussian'")

    def _check_scale(self) -> None:
        if self.scale is None:
            return
        meaning = SCALE_MEANINGS.get(self.mutation)
        if meaning is None:
            raise SpaceError(f"{self.name}: scale has no meaning for mutation {self.mutation!r}; drop it "
                             f"(it sets {', '.join(f'{m!r}: {p}' for m, p in SCALE_MEANINGS.items())})")
        what = f"{self.name}: scale ({meaning} of mutation {self.mutation!r})"
        if not _is_number(self.scale) or not math.isfinite(self.scale) or self.scale <= 0:
            raise SpaceError(f"{what} must be a positive number, got {self.scale!r} ({_a_type(self.scale)})")
        if self.mutation == "tree" and self.scale <= 1:
            raise SpaceError(f"{what} must be > 1 (a larger base explores more), got {self.scale!r}")
        if self.mutation == "perturb" and isinstance(self, Integer) and int(self.scale) != self.scale:
            raise SpaceError(f"{what} must be a whole number of steps, got {self.scale!r}; pass e.g. {max(1, round(self.scale))}")

    def _own_scale(self, mutation: str) -> float | None:
        """``scale`` if it belongs to ``mutation`` (the parameter's own), else None."""
        return self.scale if self.mutation == mutation else None

    @property
    def perturb_width(self) -> float:
        """Half-width w of the Unif(-w, w) perturbation, encoded units (default: an eighth of the range)."""
        lo, hi = self.encoded_bounds
        own = self._own_scale("perturb")
        return own if own is not None else (hi - lo) / 8

    @property
    def gaussian_sigma(self) -> float:
        """Standard deviation of the Gaussian mutation, encoded units (default: a tenth of the range)."""
        lo, hi = self.encoded_bounds
        own = self._own_scale("gaussian")
        return own if own is not None else (hi - lo) / 10

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

    def _type_error(self, value: Any, wanted: str) -> SpaceError:
        return SpaceError(f"{self.name}={value!r} ({_a_type(value)}) must be {wanted}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


class _Numeric:
    """What Integer and Float share: range checks, the midpoint default, a triangular prior."""

    def _check_range(self, what: str) -> None:
        if not isinstance(self.log, (bool, np.bool_)):
            raise SpaceError(f"{self.name}: log must be True or False, got {self.log!r}")
        object.__setattr__(self, "log", bool(self.log))
        if self.low >= self.high:
            raise SpaceError(f"{self.name}: low must be < high, got low={self.low}, high={self.high}")
        if self.log and self.low <= 0:
            raise SpaceError(f"{self.name}: a log-scaled {what} needs low > 0, got {self.low}")
        if self.prior not in (None, "uniform", "default"):
            raise SpaceError(f"{self.name}: prior must be 'uniform' or 'default', got {self.prior!r}")

    def _natural_default(self) -> Any:
        """The midpoint of [low, high] on the parameter's scale (geometric when log)."""
        return self.decode((self.encode(self.low) + self.encode(self.high)) / 2)

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
        if not all(_is_number(v) and math.isfinite(v) and int(v) == v for v in (self.low, self.high)):
            raise SpaceError(f"{self.name}: low and high must be integers, got {self.low!r}, {self.high!r}")
        object.__setattr__(self, "low", int(self.low))
        object.__setattr__(self, "high", int(self.high))
        self._check_range("integer")

    def _default_mutation(self) -> str:
        return "perturb"

    def validate(self, value: Any) -> int:
        if not (_is_number(value) and math.isfinite(value) and int(value) == value):
            raise self._type_error(value, f"an integer in [{self.low}, {self.high}]")
        if not self.low <= value <= self.high:
            raise self._range_error(value, f"integers in [{self.low}, {self.high}]")
        return int(value)

    def encode(self, value: Any) -> float:
        return math.log(value) if self.log else float(value)

    def decode(self, x: float) -> int:
        value = math.exp(x) if self.log else x
        return int(min(max(round(value), self.low), self.high))

    def _bounds(self) -> tuple[float, float]:
        """Each integer k owns the encoded values that round to it, so uniform draws on
        the bounds give it the mass of [k - 1/2, k + 1/2] (on the log scale when log):
        the end values too, which bounds at log(low), log(high) would halve."""
        if self.log:  # low >= 1, so low - 0.5 > 0; decode clips the half-steps back
            return math.log(self.low - 0.5), math.log(self.high + 0.5)
        return self.low - 0.4999, self.high + 0.4999

    @property
    def perturb_width(self) -> int:
        """Width w of the Unif{-w..w} integer step (``scale`` under 'perturb', else an eighth of the range)."""
        own = self._own_scale("perturb")
        return int(own) if own is not None else max(1, round((self.high - self.low) / 8))


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
            raise self._type_error(value, f"a number in [{self.low}, {self.high}]")
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
        self._check_choices()
        object.__setattr__(self, "tree", _from_spec(ChoiceTree, self.tree, f"{self.name}: tree"))
        if self.tree is not None and sorted(map(str, self.tree.leaves())) != sorted(map(str, self.choices)):
            raise SpaceError(f"{self.name}: the tree's leaves {self.tree.leaves()} must be exactly the choices {list(self.choices)}")
        if self.mutation == "tree" and self.tree is None:
            raise SpaceError(f"{self.name}: mutation 'tree' needs a tree over the choices; pass tree=ChoiceTree(...) or use mutation='uniform'")
        if self.prior is not None:
            self._check_prior()

    def _check_choices(self) -> None:
        if not _is_list(self.choices):
            raise SpaceError(f"{self.name}: choices must be a list of values, got {self.choices!r} ({_a_type(self.choices)}); "
                             f"pass e.g. choices=['relu', 'tanh']")
        choices = tuple(c.item() if isinstance(c, np.generic) else c for c in self.choices)
        for c in choices:
            if not (c is None or isinstance(c, (str, bool, int)) or isinstance(c, float) and math.isfinite(c)):
                raise SpaceError(f"{self.name}: choice {c!r} ({_a_type(c)}) is not a str, int, float, bool or None; "
                                 f"choices are JSON scalars (finite numbers)")
        object.__setattr__(self, "choices", choices)
        if len(choices) < 2:
            raise SpaceError(f"{self.name}: a categorical needs at least 2 choices, got {list(choices)}")
        if len(set(choices)) != len(choices):
            raise SpaceError(f"{self.name}: choices must be distinct, got {list(choices)}")

    def _check_prior(self) -> None:
        prior = self.prior
        ok = _is_list(prior) and len(prior) == len(self.choices) and all(_is_number(v) for v in prior)
        p = np.asarray(prior, dtype=float) if ok else None
        if p is None or not np.isfinite(p).all() or (p < 0).any() or not math.isclose(p.sum(), 1.0, abs_tol=1e-9):
            raise SpaceError(f"{self.name}: prior must be {len(self.choices)} non-negative probabilities summing to 1, "
                             f"one per choice, got {prior!r}")
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
    def tree_base(self) -> float:
        """Base b of the tree distance d_b = log_b(hops) (``scale`` under 'tree', else 2)."""
        own = self._own_scale("tree")
        return float(own) if own is not None else 2.0

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
            raise self._type_error(value, "True or False")
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
#: Keys a parameter's dict must have (``to_dict`` always writes them).
_REQUIRED = {"int": ("name", "low", "high"), "float": ("name", "low", "high"), "categorical": ("name", "choices"), "bool": ("name",)}


@dataclass(frozen=True)
class SearchSpace:
    """An ordered collection of parameters with conditions."""

    parameters: tuple[Parameter, ...]
    name: str = "space"
    _index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.parameters, (list, tuple)):
            raise SpaceError(f"parameters must be a list or tuple of parameters, got {type(self.parameters).__name__}; "
                             f"wrap them, e.g. SearchSpace((Integer('n', 1, 5),))")
        params = tuple(self.parameters)
        object.__setattr__(self, "parameters", params)
        if not params:
            raise SpaceError("a search space needs at least one parameter; add one, e.g. Integer('n', 1, 5)")
        for i, p in enumerate(params):
            if not isinstance(p, Parameter):
                raise SpaceError(f"parameter #{i} must be an Integer, Float, Categorical or Boolean, got {p!r} ({_a_type(p)})")
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
        """Which parameters are active given (possibly a superset of) values: those
        without a condition, and those whose parent is active and holds one of the
        condition's values (parents come first, so one pass settles chains)."""
        flags: list[bool] = []
        seen: dict[str, Any] = {}  # the active parameters' values so far
        for p in self.parameters:
            on = p.condition is None or p.condition.holds(seen)
            flags.append(on)
            if on and p.name in values:
                seen[p.name] = values[p.name]
        return flags

    def to_config(self, genome: Sequence[Any]) -> dict[str, Any]:
        """The configuration of a genome: its active genes by name."""
        if isinstance(genome, Mapping):
            raise SpaceError("to_config takes a genome (a list with one value per parameter, in space order); "
                             "a configuration dict is checked with validate()")
        if len(genome) != len(self):
            raise SpaceError(f"a genome of space {self.name!r} has {len(self)} genes, one per parameter {self.names}; "
                             f"got {len(genome)}; build one with to_genome(config)")
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
        unknown = sorted(set(config) - set(self.names), key=str)
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

    @property
    def numeric(self) -> "NumericCodec | None":
        """Whole generations as arrays, when every parameter is an :class:`Integer` or a
        :class:`Float` and none has a condition; None otherwise (built once)."""
        codec = self.__dict__.get("_numeric", MISSING)
        if codec is MISSING:
            flat = all(isinstance(p, (Integer, Float)) and p.condition is None for p in self.parameters)
            codec = NumericCodec(self) if flat else None
            object.__setattr__(self, "_numeric", codec)
        return codec

    def trial_texts(self, genomes: Sequence[Sequence[Any]]) -> tuple[list[str], list[dict[str, Any]], list[str]]:
        """What a pending trial's row holds, for each genome: the canonical JSON of its
        validated configuration (``canonical_json(to_config(g))``), that configuration
        (keys sorted, as the JSON reads back) and the genome as JSON. Checked on arrays at
        once when the space is all-numeric and unconditional; otherwise, or when some
        genome fails the array check, gene by gene (which names the bad value)."""
        if self.numeric is not None:
            done = self.numeric.trial_texts(genomes)
            if done is not None:
                return done
        configs = [dict(sorted(self.validate(self.to_config(g)).items())) for g in genomes]
        texts = [json.dumps(c, separators=(",", ":"), allow_nan=False) for c in configs]
        plain = [[v.item() if isinstance(v, np.generic) else v for v in g] for g in genomes]  # numpy scalars as JSON
        return texts, configs, [json.dumps(g, separators=(",", ":"), allow_nan=False) for g in plain]

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
        example = "[{'type': 'int', 'name': 'n', 'low': 1, 'high': 5}]"
        if not isinstance(data, Mapping) or "parameters" not in data:
            raise SpaceError(f"a space definition needs a 'parameters' list, e.g. {{'parameters': {example}}}")
        specs = data["parameters"]
        if not _is_list(specs):
            raise SpaceError(f"'parameters' must be a list of parameter dicts, got {specs!r} ({_a_type(specs)}); e.g. {example}")
        return cls(tuple(_parameter_from_dict(i, spec) for i, spec in enumerate(specs)), name=str(data.get("name", "space")))

    @classmethod
    def from_json(cls, text: str) -> "SearchSpace":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpaceError(f"the space is not valid JSON ({exc}); write it with SearchSpace.to_dict and json.dumps") from None
        return cls.from_dict(data)


def _parameter_from_dict(i: int, spec: Any) -> Parameter:
    """One parameter from its dict (``Parameter.to_dict``'s output)."""
    if not isinstance(spec, Mapping):
        raise SpaceError(f"parameter #{i} must be a dict with a 'type' and a 'name', got {spec!r} ({_a_type(spec)}); "
                         f"e.g. {{'type': 'int', 'name': 'n', 'low': 1, 'high': 5}}")
    spec = dict(spec)
    kind = spec.pop("type", None)
    label = f"parameter {spec['name']!r}" if "name" in spec else f"parameter #{i}"
    if kind is None:
        raise SpaceError(f"{label} has no 'type'; use one of {sorted(_KINDS)}")
    if not isinstance(kind, str) or kind not in _KINDS:
        raise SpaceError(f"{label}: type {kind!r} unknown; use one of {sorted(_KINDS)} "
                         f"(or upgrade nasbench if this space was written by a newer version)")
    kind_cls = _KINDS[kind]
    _check_keys(spec, [f.name for f in fields(kind_cls)] + ["type"], _REQUIRED[kind], f"{label} ({kind})")
    return kind_cls(**spec)


class NumericCodec:
    """Encoding, decoding and validation of an all-numeric, unconditional space's genomes
    as ``(n, len(space))`` arrays: the per-gene rules of :class:`Integer` and :class:`Float`
    (log encoding, exact ends, rounding half to even, clipping), applied to whole
    generations. nasbench's variation and its pending-trial checks use it for speed; each
    result equals the per-gene path's (tests/test_space.py)."""

    def __init__(self, space: SearchSpace) -> None:
        params = space.parameters
        self.space = space
        self.low = np.array([p.encoded_bounds[0] for p in params])
        self.up = np.array([p.encoded_bounds[1] for p in params])
        self.value_low = np.array([p.low for p in params], dtype=float)
        self.value_high = np.array([p.high for p in params], dtype=float)
        self.log = np.array([p.log for p in params])
        self.integer = np.array([isinstance(p, Integer) for p in params])
        self._int_columns = [i for i, p in enumerate(params) if isinstance(p, Integer)]
        order = sorted(range(len(params)), key=lambda i: params[i].name)  # canonical JSON sorts keys
        self._sorted = order
        self._sorted_names = [params[i].name for i in order]
        # '{"a":{0},"b":{3},...}' with the braces of the JSON doubled for str.format
        self._config_format = "{{" + ",".join(json.dumps(params[i].name) + ":{" + str(i) + "}" for i in order) + "}}"
        self._column_types = [{int} if isinstance(p, Integer) else {float} for p in params]

    def encode(self, genomes: Sequence[Sequence[Any]]) -> np.ndarray:
        X = np.array(genomes, dtype=float).reshape(len(genomes), len(self.space))
        if self.log.any():  # math's log and exp, as the per-gene path: numpy's may differ in the last bit
            X[:, self.log] = _elementwise(math.log, X[:, self.log])
        return X

    def decode(self, X: np.ndarray, before: np.ndarray | None = None,
               genomes: Sequence[Sequence[Any]] | None = None) -> list[list[Any]]:
        """Genomes of encoded rows. With ``before`` (the encoding the rows started from) and
        ``genomes`` (their values), genes whose encoding did not change keep their value
        exactly (no exp(log(x)) round-off), as the per-gene operators do."""
        X = np.asarray(X, dtype=float)
        V = X.copy()
        if self.log.any():  # clipped to the encoded bounds first (math.exp overflows), decoded values are the same
            V[:, self.log] = _elementwise(math.exp, np.clip(X[:, self.log], self.low[self.log], self.up[self.log]))
        ints = self.integer
        V = np.where(ints, np.rint(V), V)
        V = np.clip(V, self.value_low, self.value_high)
        floats = ~ints
        V = np.where(floats & (X <= self.low), self.value_low, V)  # exact ends
        V = np.where(floats & (X >= self.up), self.value_high, V)
        if before is not None:
            V = np.where(X != before, V, np.array(genomes, dtype=float).reshape(V.shape))
        rows = V.tolist()
        for row in rows:
            for i in self._int_columns:
                row[i] = int(row[i])
        return rows

    def trial_texts(self, genomes: Sequence[Sequence[Any]]) -> tuple[list[str], list[dict[str, Any]], list[str]] | None:
        """:meth:`SearchSpace.trial_texts` on arrays; None when some genome is not plain
        numbers of the right length and range (the caller then checks it gene by gene, which
        names the bad value). Each number is formatted once, by ``repr`` as JSON does, for
        both texts."""
        d = len(self.space)
        if not genomes or any(len(g) != d for g in genomes):
            return None
        if [set(map(type, column)) for column in zip(*genomes)] != self._column_types:  # no bools, strs, numpy scalars
            return None
        X = np.array(genomes, dtype=float).reshape(len(genomes), d)
        ok = np.isfinite(X) & (X >= self.value_low) & (X <= self.value_high) & (~self.integer | (X == np.rint(X)))
        if not ok.all():
            return None
        texts, configs, genome_texts = [], [], []
        order, names, config_text = self._sorted, self._sorted_names, self._config_format.format
        ints = self._int_columns
        for row in X.tolist():
            for i in ints:
                row[i] = int(row[i])
            words = list(map(repr, row))
            genome_texts.append("[" + ",".join(words) + "]")
            texts.append(config_text(*words))
            configs.append(dict(zip(names, [row[i] for i in order])))
        return texts, configs, genome_texts


def _elementwise(fn: Any, X: np.ndarray) -> np.ndarray:
    return np.array([fn(v) for v in X.ravel().tolist()], dtype=float).reshape(X.shape)


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

