"""Tests for nasbench.hypervolume: exact values, two independent references, edge cases."""

from __future__ import annotations

import itertools

import moocore
import numpy as np
import pytest

from nasbench.hypervolume import (
    box_volumes,
    hypervolume,
    hypervolume_contributions,
    nondominated_mask,
    normalize,
    pareto_front,
    to_minimization,
    validate_front,
)


def brute_force_hypervolume(points: np.ndarray, ref: np.ndarray) -> float:
    """Exact HV by grid decomposition: a cell counts if some point is <= its low corner."""
    points = np.asarray(points, dtype=float)
    axes = [np.unique(np.append(points[:, j], ref[j])) for j in range(len(ref))]
    axes = [a[a <= ref[j]] for j, a in enumerate(axes)]
    total = 0.0
    for cell in itertools.product(*(range(len(a) - 1) for a in axes)):
        lo = np.array([axes[j][i] for j, i in enumerate(cell)])
        hi = np.array([axes[j][i + 1] for j, i in enumerate(cell)])
        if np.any(np.all(points <= lo, axis=1)):
            total += float(np.prod(hi - lo))
    return total


def leave_one_out(points: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """HV(X) - HV(X without x_i), straight from the definition."""
    full = hypervolume(points, ref)
    return np.array(
        [full - hypervolume(np.delete(points, i, axis=0), ref) for i in range(len(points))]
    )


def mixed_front(n: int, m: int, seed: int) -> np.ndarray:
    """About half nondominated points on a sphere, half dominated copies, in (0, 1.x)^m."""
    rng = np.random.default_rng(seed)
    front = moocore.generate_ndset(n - n // 2, m, "sphere", seed=seed)
    worse = front[rng.integers(len(front), size=n // 2)] + rng.uniform(0, 0.2, (n // 2, m))
    return rng.permutation(np.concatenate((front, worse)))


def integer_grid(n: int, m: int, seed: int) -> np.ndarray:
    """Small integer points: many ties, duplicates and points on the boundary 5."""
    return np.random.default_rng(seed).integers(0, 6, (n, m)).astype(float)


# --- exact values ---------------------------------------------------------


def test_known_values_by_hand() -> None:
    assert hypervolume([[1, 2], [2, 1]], [3, 3]) == 3.0
    assert hypervolume([[1, 1]], [3, 4]) == 6.0
    # 3-D: boxes 3*2*1=6 and 2*3*2=12 overlap in max=(2,2,3): 2*2*1=4.
    pts3 = [[1, 2, 3], [2, 1, 2]]
    assert hypervolume(pts3, [4, 4, 4]) == 14.0
    np.testing.assert_array_equal(hypervolume_contributions(pts3, [4, 4, 4]), [2.0, 8.0])
    np.testing.assert_array_equal(hypervolume_contributions([[1, 2], [2, 1]], [3, 3]), [1, 1])


@pytest.mark.parametrize("m", [2, 3, 4])
@pytest.mark.parametrize("n", [1, 10, 200, 2000])
@pytest.mark.parametrize("seed", [0, 1])
def test_hypervolume_matches_moocore(m: int, n: int, seed: int) -> None:
    points = mixed_front(n, m, seed)
    ref = np.full(m, 1.1)
    expected = moocore.hypervolume(points, ref=ref)
    assert hypervolume(points, ref) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("method", ["simplex", "sphere", "convex-sphere"])
def test_hypervolume_2d_front_matches_moocore(method: str) -> None:
    points = moocore.generate_ndset(5000, 2, method, seed=3)
    ref = np.array([0.9, 0.95])  # cuts off the ends of the front
    assert hypervolume(points, ref) == pytest.approx(
        moocore.hypervolume(points, ref=ref), rel=1e-12
    )


@pytest.mark.parametrize("m", [2, 3, 4])
@pytest.mark.parametrize("seed", range(4))
def test_hypervolume_matches_brute_force(m: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 13 if m < 4 else 9))
    ref = np.full(m, 1.0) if seed % 2 else np.full(m, 5.0)
    points = rng.random((n, m)) * 1.2 if seed % 2 else integer_grid(n, m, seed)
    assert hypervolume(points, ref) == pytest.approx(
        brute_force_hypervolume(points, ref), rel=1e-12, abs=1e-12
    )


# --- contributions --------------------------------------------------------


@pytest.mark.parametrize("m", [2, 3, 4])
@pytest.mark.parametrize("seed", range(6))
def test_contributions_equal_leave_one_out(m: int, seed: int) -> None:
    n = 25
    points = integer_grid(n, m, seed) if seed % 2 else mixed_front(n, m, seed)
    ref = np.full(m, 5.0) if seed % 2 else np.full(m, 1.1)
    hvc = hypervolume_contributions(points, ref)
    np.testing.assert_allclose(hvc, leave_one_out(points, ref), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("m", [2, 3, 4])
def test_contributions_match_moocore(m: int) -> None:
    front = moocore.generate_ndset(300, m, "sphere", seed=7)
    ref = np.full(m, 1.1)
    np.testing.assert_allclose(
        hypervolume_contributions(front, ref),
        moocore.hv_contributions(front, ref=ref),
        rtol=1e-9,
        atol=1e-15,
    )
    # With dominated points moocore matches the definition only when told to.
    mixed = mixed_front(60, m, seed=m)
    np.testing.assert_allclose(
        hypervolume_contributions(mixed, ref),
        moocore.hv_contributions(mixed, ref=ref, ignore_dominated=False),
        rtol=1e-9,
        atol=1e-15,
    )


def test_contributions_2d_large_cloud_matches_moocore() -> None:
    points = np.random.default_rng(11).random((5000, 2))
    ref = np.array([0.9, 1.0])
    np.testing.assert_allclose(
        hypervolume_contributions(points, ref),
        moocore.hv_contributions(points, ref=ref, ignore_dominated=False),
        rtol=1e-9,
        atol=1e-15,
    )


@pytest.mark.parametrize("m", [2, 3])
def test_sole_dominator_loses_what_the_dominated_point_covers(m: int) -> None:
    # Removing (1,..,1) leaves (2,..,2) dominating a box of volume 1.
    points = np.array([np.ones(m), 2 * np.ones(m)])
    ref = np.full(m, 3.0)
    np.testing.assert_array_equal(
        hypervolume_contributions(points, ref), [2.0**m - 1.0, 0.0]
    )
    # moocore's default ignores the dominated point and overstates it.
    assert moocore.hv_contributions(points, ref=ref)[0] == 2.0**m


# --- edge cases -----------------------------------------------------------


@pytest.mark.parametrize("empty", [[], np.zeros((0,)), np.zeros((0, 3))])
def test_empty_input(empty: object) -> None:
    ref = [1.0, 1.0, 1.0]
    assert validate_front(empty, ref)[0].shape == (0, 3)
    assert hypervolume(empty, ref) == 0.0
    assert hypervolume_contributions(empty, ref).shape == (0,)
    assert box_volumes(empty, ref).shape == (0,)


@pytest.mark.parametrize("m", [2, 3])
def test_points_not_dominating_reference_contribute_nothing(m: int) -> None:
    ref = np.full(m, 3.0)
    inside = np.full(m, 1.0)
    boundary = np.full(m, 0.5)
    boundary[-1] = 3.0  # on the reference boundary
    beyond = np.full(m, 0.0)
    beyond[0] = 4.0  # better elsewhere, but beyond the reference in f1
    points = np.array([boundary, inside, beyond])
    assert hypervolume(points, ref) == 2.0**m
    assert hypervolume(points[[0, 2]], ref) == 0.0
    np.testing.assert_array_equal(hypervolume_contributions(points, ref), [0, 2.0**m, 0])
    np.testing.assert_array_equal(box_volumes(points, ref), [0, 2.0**m, 0])


@pytest.mark.parametrize("m", [2, 3, 4])
def test_duplicates(m: int) -> None:
    front = moocore.generate_ndset(20, m, "simplex", seed=5)
    ref = np.full(m, 1.0)
    doubled = np.concatenate((front, front[:3]))
    assert hypervolume(doubled, ref) == pytest.approx(hypervolume(front, ref), rel=1e-14)
    hvc = hypervolume_contributions(doubled, ref)
    single = hypervolume_contributions(front, ref)
    assert np.all(single[:3] > 0)
    np.testing.assert_array_equal(hvc[[0, 1, 2, 20, 21, 22]], 0.0)  # both twins
    np.testing.assert_allclose(hvc[3:20], single[3:20], rtol=1e-12)


def test_nan_is_rejected_with_the_fix() -> None:
    with pytest.raises(ValueError, match="drop or impute failed trials"):
        hypervolume([[1.0, np.nan], [2.0, 1.0]], [3.0, 3.0])
    with pytest.raises(ValueError, match="drop or impute failed trials"):
        hypervolume_contributions([[1.0, 1.0, np.nan]], [3.0, 3.0, 3.0])
    with pytest.raises(ValueError, match="drop or impute failed trials"):
        nondominated_mask([[1.0, np.nan]])
    with pytest.raises(ValueError, match="-inf"):
        hypervolume([[1.0, -np.inf]], [3.0, 3.0])


@pytest.mark.parametrize("bad", [[3.0, np.nan], [3.0, np.inf]])
def test_non_finite_reference_is_rejected(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="reference_point must be finite"):
        hypervolume([[1.0, 1.0]], bad)


def test_plus_inf_point_is_outside_the_box() -> None:
    points = [[1.0, np.inf], [2.0, 1.0]]
    assert hypervolume(points, [3.0, 3.0]) == 2.0
    np.testing.assert_array_equal(hypervolume_contributions(points, [3.0, 3.0]), [0, 2])
    points3 = [[1.0, 1.0, np.inf], [2.0, 2.0, 2.0]]
    assert hypervolume(points3, [3.0, 3.0, 3.0]) == 1.0
    np.testing.assert_array_equal(nondominated_mask(points), [True, True])


def test_shape_errors_name_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(n, 3\).*\(3,\).*\(2, 2\)"):
        hypervolume([[1, 2], [2, 1]], [3, 3, 3])
    with pytest.raises(ValueError, match="at least 2 objectives"):
        hypervolume([[1.0], [2.0]], [3.0])
    with pytest.raises(ValueError, match="shape"):
        hypervolume([1.0, 2.0], [3.0, 3.0])  # a single point needs [[...]]
    with pytest.raises(ValueError, match="1-D"):
        hypervolume([[1.0, 2.0]], [[3.0, 3.0]])


def test_to_minimization_negates_maximised_columns() -> None:
    values = [[0.9, 120.0, 3], [0.8, 80.0, 4]]  # accuracy, latency, params
    out = to_minimization(values, ["maximize", "minimize", "maximize"])
    np.testing.assert_array_equal(out, [[-0.9, 120.0, -3], [-0.8, 80.0, -4]])
    assert out.dtype == np.float64
    source = np.array(values, dtype=float)
    to_minimization(source, ["maximize"] * 3)
    assert source[0, 0] == 0.9  # input untouched
    with pytest.raises(ValueError, match="'minimize' or 'maximize'"):
        to_minimization(values, ["maximize", "min", "minimize"])
    with pytest.raises(ValueError, match="one direction per column"):
        to_minimization(values, ["maximize", "minimize"])
    with pytest.raises(ValueError, match="wrap it in a list"):
        to_minimization([[1.0]], "maximize")


def test_normalize_maps_ideal_to_zero_and_reference_to_one() -> None:
    points = [[0.0, 10.0], [1.0, 30.0], [2.0, 20.0]]
    out = normalize(points, ideal=[0.0, 10.0], reference_point=[2.0, 30.0])
    np.testing.assert_allclose(out, [[0.0, 0.0], [0.5, 1.0], [1.0, 0.5]])
    with pytest.raises(ValueError, match=r"objectives \[1\] have reference <= ideal"):
        normalize(points, ideal=[0.0, 30.0], reference_point=[2.0, 30.0])


def test_box_volumes() -> None:
    points = [[1.0, 2.0, 0.0], [0.5, 0.5, 0.5], [3.0, 0.0, 0.0]]
    np.testing.assert_array_equal(box_volumes(points, [3.0, 3.0, 1.0]), [2.0, 3.125, 0.0])


def test_nondominated_mask_keeps_all_copies() -> None:
    points = [[1, 1], [0, 1], [1, 0], [1, 0], [1, 0.5], [2, 2]]
    np.testing.assert_array_equal(
        nondominated_mask(points), [False, True, True, True, False, False]
    )
    np.testing.assert_array_equal(pareto_front(points), [[0, 1], [1, 0], [1, 0]])
    assert nondominated_mask(np.zeros((0, 2))).shape == (0,)
    assert pareto_front(np.zeros((0, 2))).shape == (0, 2)
