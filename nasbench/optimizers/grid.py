"""Grid search (seed 001's survey): every combination of a few values per parameter.

The grid is a cursor over scikit-learn's :class:`~sklearn.model_selection.ParameterGrid`.
A conditional space becomes a list of grids, one per combination of the parents'
values that switches a branch on, so an inactive parameter never multiplies the
grid and every configuration appears exactly once. Numeric parameters take
``points`` values spread over ``[low, high]`` (log-spaced when ``log``; integers
rounded and deduplicated), categoricals and bools all their values, or the values
given in ``values={name: [...]}``. The state is the cursor (and, with
``shuffle=True``, the seed of the visiting order): an exhausted grid asks for
nothing more (``ask`` returns ``[]``).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Mapping, Sequence

import numpy as np
from sklearn.model_selection import ParameterGrid

from ..space import Boolean, Categorical, Parameter, SearchSpace, SpaceError
from .base import Observation, Optimizer, Suggestion

__all__ = ["GridSearch", "parameter_values", "space_grids"]

#: The largest grid that ``shuffle=True`` will permute (the order is held in memory).
MAX_SHUFFLED = 10_000_000
#: The largest grid at all (ParameterGrid's int64 arithmetic and len() hold up to here).
MAX_GRID = 2**62


def _check_points(points: Any) -> int:
    if not isinstance(points, numbers.Integral) or isinstance(points, bool) or points < 2:
        kind = type(points).__name__
        raise ValueError(f"points must be an integer >= 2 (values per numeric parameter), got {points!r} "
                         f"(a {kind}); pass an int, or values={{name: [v]}} to fix a parameter")
    return int(points)


def parameter_values(param: Parameter, points: int = 5) -> list:
    """The grid values of one parameter: all choices of a categorical or bool, else
    ``points`` values from low to high (geometric when log), integers deduplicated."""
    if isinstance(param, Categorical):
        return list(param.choices)
    if isinstance(param, Boolean):
        return [False, True]
    ends = (param.encode(param.low), param.encode(param.high))
    raw = [param.decode(x) for x in np.linspace(*ends, _check_points(points))]
    raw[0], raw[-1] = param.low, param.high  # exact ends, free of exp(log(x)) round-off
    return sorted(set(raw)) if isinstance(raw[0], int) else raw


def _explicit_values(space: SearchSpace, values: Any) -> dict[str, list]:
    """``values`` checked: known names, non-empty lists of valid values (deduplicated)."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise ValueError(f"values must be a dict from parameter name to a list of values, got {values!r}; "
                         f"pass e.g. values={{{space.names[0]!r}: [...]}}")
    out = {}
    for name, vals in values.items():
        if name not in space.names:
            raise SpaceError(f"values: no parameter {name!r}; the space has {space.names}")
        if isinstance(vals, (str, bytes)) or not isinstance(vals, (Sequence, np.ndarray)) or len(vals) == 0:
            raise SpaceError(f"values[{name!r}] must be a non-empty list of values, got {vals!r}; "
                             f"pass e.g. [{vals!r}]")
        checked = [space[name].validate(v) for v in vals]
        out[name] = list(dict.fromkeys(checked))
    return out


def space_grids(space: SearchSpace, points: int = 5, values: Mapping[str, Sequence] | None = None) -> list[dict]:
    """The space as a list of grids (dicts from name to values) for ``ParameterGrid``.

    Parameters are taken in space order (parents come first). A conditional one is
    added only to grids where its parent is present, and splits each of them in two:
    the parent restricted to the values that activate it (with the child added) and
    to the others (without it); a side with no values is dropped."""
    explicit = _explicit_values(space, values)
    grids: list[dict] = [{}]
    for p in space:
        vals = explicit.get(p.name) or parameter_values(p, points)
        if p.condition is None:
            grids = [{**g, p.name: vals} for g in grids]
            continue
        parent, on = p.condition.parent, p.condition.values
        split: list[dict] = []
        for g in grids:
            if parent not in g:
                split.append(g)
                continue
            active = [v for v in g[parent] if v in on]
            inactive = [v for v in g[parent] if v not in on]
            if active:
                split.append({**g, parent: active, p.name: vals})
            if inactive:
                split.append({**g, parent: inactive})
        grids = split
    return grids


class GridSearch(Optimizer):
    """Exhaustive search over a discretised space, in grid order or shuffled.

    ``points``: values per numeric parameter (default 5); ``values``: explicit
    values for some parameters; ``shuffle``: visit the grid in a random order drawn
    from the optimiser's RNG. ``ask`` returns ``[]`` once the grid is exhausted.
    """

    name = "grid"

    def __init__(self, space: SearchSpace, n_objectives: int = 1, *, points: int = 5,
                 values: Mapping[str, Sequence] | None = None, shuffle: bool = False,
                 seed: int | None = 0) -> None:
        super().__init__(space, n_objectives, seed=seed)
        if not isinstance(shuffle, bool):
            raise ValueError(f"shuffle must be True or False, got {shuffle!r}")
        self.points = _check_points(points)
        self.values = {k: list(v) for k, v in _explicit_values(space, values).items()}
        self.shuffle = shuffle
        self.index = 0
        self._build()
        self.order_seed = int(self.rng.integers(2**63)) if shuffle else None
        self._check_shuffle()

    def _build(self) -> None:
        grids = space_grids(self.space, self.points, self.values)
        # ParameterGrid indexes through np.prod (int64) and len() needs an index-sized int:
        # past 2**62 configurations both break, so such a grid is refused here.
        size = sum(math.prod(len(v) for v in g.values()) for g in grids)
        if size > MAX_GRID:
            raise ValueError(f"this grid has {size:.3g} configurations ({self.points} points per numeric parameter "
                             f"over {len(self.space.names)} parameters), more than any run could visit; lower "
                             "points, fix parameters with values={name: [v]}, or use random search")
        self.grid = ParameterGrid(grids)
        self._order: np.ndarray | None = None

    def _check_shuffle(self) -> None:
        if self.shuffle and len(self.grid) > MAX_SHUFFLED:
            raise ValueError(f"shuffle=True needs a grid of at most {MAX_SHUFFLED:,} configurations, this one has "
                             f"{len(self.grid):,}; lower points, fix parameters with values=, or use random search")

    @property
    def size(self) -> int:
        """Configurations in the whole grid."""
        return len(self.grid)

    @property
    def exhausted(self) -> bool:
        return self.index >= self.size

    def _position(self, i: int) -> int:
        """The grid position visited ``i``-th."""
        if not self.shuffle:
            return i
        if self._order is None:
            self._order = np.random.default_rng(self.order_seed).permutation(self.size)
        return int(self._order[i])

    def ask(self, n: int) -> list[Suggestion]:
        """The next ``n`` grid points (fewer at the end, ``[]`` when exhausted)."""
        if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 0:
            raise ValueError(f"ask(n): n must be an integer >= 0, got {n!r}")
        stop = min(self.index + int(n), self.size)
        out = [Suggestion(self.space.to_genome(self.grid[self._position(i)]), i) for i in range(self.index, stop)]
        self.index = stop
        return out

    def tell(self, observations: Sequence[Observation]) -> None:
        """Grid search learns nothing from results."""

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "index": self.index, "points": self.points, "values": self.values,
                "shuffle": self.shuffle, "order_seed": self.order_seed, "size": self.size}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.points, self.shuffle, self.order_seed = state["points"], state["shuffle"], state["order_seed"]
        self.values = {k: list(v) for k, v in _explicit_values(self.space, state["values"]).items()}
        self._build()
        if len(self.grid) != state["size"]:
            raise ValueError(f"the saved grid had {state['size']} configurations but this space gives "
                             f"{len(self.grid)}; resume with the space the study was created with")
        self.index = state["index"]
