"""Exact hypervolume utilities for minimisation problems.

Every array here is a minimisation array of shape ``(n, m)``; this is the
one module where maximised objectives are converted (`to_minimization`).
The hypervolume indicator (Zitzler & Thiele, 1998, "Multiobjective
optimization using evolutionary algorithms - a comparative case study") of a
set of points is the Lebesgue measure of the region they dominate, bounded by
a reference point.

Two objectives use the numpy sweeps below (sort by f1, running minimum of f2;
Fonseca, Paquete & Lopez-Ibanez, 2006, "An improved dimension-sweep algorithm
for the hypervolume indicator"). Three or more objectives go to ``moocore``,
whose C code implements HV3D+/HV4D+ (Guerreiro & Fonseca, 2018, "Computing
and updating hypervolume contributions in up to four dimensions") and the
recursive WFG-style algorithms; hand-written Python could not come close.
"""

from __future__ import annotations

from collections.abc import Sequence

import moocore
import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "box_volumes",
    "hypervolume",
    "hypervolume_contributions",
    "nondominated_mask",
    "normalize",
    "pareto_front",
    "to_minimization",
    "validate_front",
]

_DIRECTIONS = ("minimize", "maximize")
# Cap on the boolean cube built by `_sole_dominators`, in elements.
_DOMINANCE_CHUNK = 1 << 22


def to_minimization(values: ArrayLike, directions: Sequence[str]) -> np.ndarray:
    """Return a float64 copy of ``values`` (n, m) with maximised columns negated.

    ``directions`` holds one of ``"minimize"`` / ``"maximize"`` per column.
    """
    if isinstance(directions, str):
        raise ValueError(
            f"directions must be a sequence of strings, got the string {directions!r}; "
            f"wrap it in a list, e.g. [{directions!r}]"
        )
    directions = list(directions)
    arr = np.array(values, dtype=np.float64)  # always a copy
    if arr.size == 0:
        arr = arr.reshape(0, len(directions))
    if arr.ndim != 2:
        raise ValueError(f"values must be a 2-D array (n, m), got shape {arr.shape}")
    if arr.shape[1] != len(directions):
        raise ValueError(
            f"values have {arr.shape[1]} objectives (shape {arr.shape}) but "
            f"{len(directions)} directions were given; pass one direction per column"
        )
    for j, d in enumerate(directions):
        if d not in _DIRECTIONS:
            raise ValueError(
                f"directions[{j}] must be 'minimize' or 'maximize', got {d!r}"
            )
    maximize = np.array([d == "maximize" for d in directions], dtype=bool)
    arr[:, maximize] *= -1.0
    return arr


def validate_front(
    points: ArrayLike, reference_point: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Check a minimisation front and reference point; return float64 (n, m) and (m,).

    Empty input of any shape gives a (0, m) array. ``+inf`` is allowed in points
    (such a point simply does not dominate the reference point); NaN and ``-inf``
    are not. No copy is made when the inputs already are float64 arrays.
    """
    ref = np.asarray(reference_point, dtype=np.float64)
    if ref.ndim != 1:
        raise ValueError(
            f"reference_point must be 1-D of shape (m,), got shape {ref.shape}"
        )
    m = ref.shape[0]
    if m < 2:
        raise ValueError(
            f"hypervolume needs at least 2 objectives, got m={m}; for one "
            "objective compare the best value with the reference directly"
        )
    if not np.all(np.isfinite(ref)):
        raise ValueError(
            f"reference_point must be finite, got {ref.tolist()}; "
            "choose a finite point worse than every point of interest"
        )
    pts = np.asarray(points, dtype=np.float64)
    if pts.size == 0:
        return np.empty((0, m), dtype=np.float64), ref
    if pts.ndim != 2 or pts.shape[1] != m:
        raise ValueError(
            f"points must have shape (n, {m}) to match reference_point of shape "
            f"{ref.shape}, got points of shape {pts.shape}"
        )
    if not np.all(pts > -np.inf):  # one pass catches both NaN and -inf
        _raise_bad_values(pts)
    return pts, ref


def _raise_bad_values(pts: np.ndarray) -> None:
    """Raise the ValueError explaining why `validate_front` rejected ``pts``."""
    if np.isnan(pts).any():
        rows = np.flatnonzero(np.isnan(pts).any(axis=1))
        raise ValueError(
            f"points contain NaN (rows {rows[:5].tolist()}...); drop or impute "
            "failed trials before computing hypervolume"
        )
    raise ValueError(
        "points contain -inf, which would make the hypervolume infinite; "
        "clip or drop those rows before computing hypervolume"
    )


def _inside(points: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Mask of points that strictly dominate ``ref`` (all coordinates < ref)."""
    mask = points[:, 0] < ref[0]
    for j in range(1, len(ref)):  # column-wise: much faster than all(axis=1)
        mask &= points[:, j] < ref[j]
    return mask


def _keep(points: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``points[mask]``, without the copy when every row is kept."""
    return points if mask.all() else points[mask]


def hypervolume(points: ArrayLike, reference_point: ArrayLike) -> float:
    """Exact hypervolume dominated by ``points`` and bounded by ``reference_point``.

    Minimisation. Points with any coordinate >= the reference contribute nothing
    and are dropped; dominated points and duplicates are harmless; empty -> 0.0.
    """
    pts, ref = validate_front(points, reference_point)
    pts = _keep(pts, _inside(pts, ref))
    if len(pts) == 0:
        return 0.0
    if pts.shape[1] == 2:
        return _hypervolume_2d(pts, ref)
    # m >= 3: moocore's C HV3D+/HV4D+/recursive code; see the module docstring.
    return float(moocore.hypervolume(pts, ref=ref))


def _hypervolume_2d(pts: np.ndarray, ref: np.ndarray) -> float:
    """O(n log n) sweep for points strictly inside the reference box.

    Sorted by f1, the area is a sum of slabs: width to the next f1 (or ref)
    times the height ``ref2 - min(f2 so far)``. Ties give zero-width slabs.
    """
    order = np.argsort(pts[:, 0])
    x = pts[:, 0][order]
    y_min = np.minimum.accumulate(pts[:, 1][order])
    widths = np.diff(x, append=ref[0])
    return float(np.dot(widths, ref[1] - y_min))


def hypervolume_contributions(
    points: ArrayLike, reference_point: ArrayLike
) -> np.ndarray:
    """Exclusive contribution ``HV(X) - HV(X without x_i)`` of each point, shape (n,).

    Dominated points, points outside the reference box and exact duplicates get
    0. A dominated point still shrinks the contribution of a point that is its
    only dominator (Emmerich, Beume & Naujoks, 2005, SMS-EMOA).
    """
    pts, ref = validate_front(points, reference_point)
    out = np.zeros(len(pts), dtype=np.float64)
    inside = _inside(pts, ref)
    if not inside.any():
        return out
    solver = _contributions_2d if pts.shape[1] == 2 else _contributions_nd
    if inside.all():
        return solver(pts, ref)
    out[inside] = solver(pts[inside], ref)
    return out


def _contributions_2d(pts: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Contributions in 2-D for points strictly inside the box, O(n log n).

    Staircase point k owns the rectangle [x_k, x_{k+1}) x [y_k, y_{k-1}); the
    dominated points inside it (dominated by k alone) cover part of it when k is
    removed, so contribution = rectangle - their area within it.
    """
    order = _sort_by_f1_then_f2(pts)
    x, y = pts[:, 0][order], pts[:, 1][order]
    best_before = np.minimum.accumulate(np.concatenate(([np.inf], y[:-1])))
    on_stair = y < best_before  # first copy of each nondominated point
    xs, ys = x[on_stair], y[on_stair]
    x_next = np.append(xs[1:], ref[0])
    y_prev = np.concatenate(([ref[1]], ys[:-1]))
    hvc = (x_next - xs) * (y_prev - ys)
    hvc -= _owned_area_2d(x[~on_stair], y[~on_stair], xs, x_next, y_prev)
    stair_pos = np.flatnonzero(on_stair)
    nxt = np.minimum(stair_pos + 1, len(x) - 1)
    twin = (nxt != stair_pos) & (x[nxt] == xs) & (y[nxt] == ys)
    hvc[twin] = 0.0  # duplicated nondominated point: its twin covers it
    hvc = np.maximum(hvc, 0.0)  # rounding only; the true value is >= 0
    out = np.zeros(len(pts), dtype=np.float64)
    out[order[stair_pos]] = hvc
    return out


def _sort_by_f1_then_f2(pts: np.ndarray) -> np.ndarray:
    """Lexicographic order (f1, then f2); plain argsort unless f1 has ties."""
    order = np.argsort(pts[:, 0])
    x = pts[:, 0][order]
    if np.any(x[1:] == x[:-1]):
        return np.lexsort((pts[:, 1], pts[:, 0]))  # ~6x slower, only for ties
    return order


def _owned_area_2d(
    qx: np.ndarray, qy: np.ndarray, xs: np.ndarray, x_next: np.ndarray, y_prev: np.ndarray
) -> np.ndarray:
    """Area each staircase rectangle loses to dominated points (qx, qy), per rectangle.

    ``qx`` is sorted and ties sorted by ``qy``. Each point's owner k is the last
    staircase point with x_k <= qx; it is the sole dominator iff qy < y_{k-1}.
    As ``qx`` is sorted, so is k: the points arrive grouped by owner.
    """
    k = np.searchsorted(xs, qx, side="right") - 1
    own = qy < y_prev[k]
    k, qx, qy = k[own], qx[own], qy[own]
    if len(k) == 0:
        return np.zeros(len(xs))
    # Owners with larger k own strictly smaller f2, so one global running
    # minimum restarts by itself at each group boundary.
    y_min = np.minimum.accumulate(qy)
    last = np.append(k[1:] != k[:-1], True)
    x_end = np.where(last, x_next[k], np.append(qx[1:], 0.0))
    slabs = (x_end - qx) * (y_prev[k] - y_min)
    return np.bincount(k, weights=slabs, minlength=len(xs))


def _contributions_nd(pts: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Contributions for m >= 3 points strictly inside the box.

    ``moocore.hv_contributions`` (default ``ignore_dominated=True``) ignores
    dominated points, so it overstates the contribution of a point that is the
    sole dominator of some other point; those points are recomputed exactly as
    ``vol(box(p)) - HV({max(x_j, p)}_{j != p})``: one extra HV per such point,
    plus an O(#dominated * #front * m) dominance test to find them.
    """
    hvc = moocore.hv_contributions(pts, ref=ref)
    nd = moocore.is_nondominated(pts, keep_weakly=True)
    if nd.all():
        return hvc
    nd_idx, dom_idx = np.flatnonzero(nd), np.flatnonzero(~nd)
    owner = _sole_dominators(pts[nd_idx], pts[dom_idx])
    for k in np.unique(owner[owner >= 0]):
        p = pts[nd_idx[k]]
        others = np.concatenate(
            (np.delete(pts[nd_idx], k, axis=0), pts[dom_idx[owner == k]])
        )
        covered = moocore.hypervolume(np.maximum(others, p), ref=ref)
        hvc[nd_idx[k]] = max(float(np.prod(ref - p)) - covered, 0.0)
    return hvc


def _sole_dominators(front: np.ndarray, dominated: np.ndarray) -> np.ndarray:
    """For each dominated point, the index in ``front`` of its only weak dominator, else -1."""
    owner = np.full(len(dominated), -1, dtype=np.intp)
    step = max(1, _DOMINANCE_CHUNK // max(1, front.size))
    for s in range(0, len(dominated), step):
        block = np.all(front[None, :, :] <= dominated[s : s + step, None, :], axis=2)
        sole = block.sum(axis=1) == 1
        owner[s : s + step] = np.where(sole, block.argmax(axis=1), -1)
    return owner


def nondominated_mask(points: ArrayLike) -> np.ndarray:
    """Boolean mask of points not dominated by any other point (minimisation).

    All copies of a duplicated nondominated point are kept (moocore's
    ``keep_weakly=True``; its default keeps only the first copy).
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.size == 0:
        return np.zeros(0, dtype=bool)
    if pts.ndim != 2:
        raise ValueError(f"points must be a 2-D array (n, m), got shape {pts.shape}")
    if np.isnan(pts).any():
        raise ValueError(
            "points contain NaN; drop or impute failed trials before "
            "computing the Pareto front"
        )
    return moocore.is_nondominated(pts, keep_weakly=True)


def pareto_front(points: ArrayLike) -> np.ndarray:
    """The nondominated rows of ``points`` (duplicates kept), in input order."""
    pts = np.asarray(points, dtype=np.float64)
    return pts[nondominated_mask(pts)]


def normalize(
    points: ArrayLike, ideal: ArrayLike, reference_point: ArrayLike
) -> np.ndarray:
    """Affine map sending ``ideal`` to 0 and ``reference_point`` to 1 per objective."""
    pts, ref = validate_front(points, reference_point)
    ideal_arr = np.asarray(ideal, dtype=np.float64)
    if ideal_arr.shape != ref.shape or not np.all(np.isfinite(ideal_arr)):
        raise ValueError(
            f"ideal must be finite with shape {ref.shape}, got {ideal_arr.tolist()}"
        )
    span = ref - ideal_arr
    if np.any(span <= 0):
        bad = np.flatnonzero(span <= 0).tolist()
        raise ValueError(
            f"reference_point must exceed ideal in every objective (minimisation); "
            f"objectives {bad} have reference <= ideal: {ref.tolist()} vs "
            f"{ideal_arr.tolist()}"
        )
    return (pts - ideal_arr) / span


def box_volumes(points: ArrayLike, reference_point: ArrayLike) -> np.ndarray:
    """Volume ``prod(ref - p)`` of each point's own box; 0 if p does not dominate ref.

    Used for hypervolume-proportional parent selection.
    """
    pts, ref = validate_front(points, reference_point)
    return np.prod(np.clip(ref - pts, 0.0, None), axis=1)
