from __future__ import annotations

import numpy as np
import pytest

from nasbench.hypervolume import hypervolume, nondominated_mask
from nasbench.objectives import DTLZ2, ZDT1, ZDT2, ZDT3, Metric, objective_from_spec, parse_metrics, problem


def config(p, x):
    return dict(zip(p.space.names, map(float, x)))


def test_zdt_values_by_hand():
    x = np.zeros(30)
    x[0], x[1:] = 0.25, 0.0  # g = 1 on the front
    assert ZDT1()(config(ZDT1(), x)) == pytest.approx({"f1": 0.25, "f2": 0.5})
    assert ZDT2()(config(ZDT2(), x)) == pytest.approx({"f1": 0.25, "f2": 1 - 0.0625})
    assert ZDT3()(config(ZDT3(), x))["f2"] == pytest.approx(1 - 0.5 - 0.25 * np.sin(2.5 * np.pi))
    x[1:] = 1.0  # g = 10
    assert ZDT1()(config(ZDT1(), x))["f2"] == pytest.approx(10 * (1 - np.sqrt(0.025)))
    # off the front the sine takes f1, not f1/g (Zitzler, Deb & Thiele 2000; pymoo agrees)
    x = np.full(30, 0.5)
    x[0] = 0.3
    g = 1 + 9 * 0.5
    expected = g * (1 - np.sqrt(0.3 / g) - 0.3 / g * np.sin(10 * np.pi * 0.3))
    assert ZDT3()(config(ZDT3(), x))["f2"] == pytest.approx(expected) == pytest.approx(4.2155, abs=1e-4)


def test_dtlz2_is_on_the_unit_sphere_when_g_is_zero():
    p = DTLZ2(n_obj=3)
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.random(p.n_var)
        x[2:] = 0.5
        f = np.array(list(p(config(p, x)).values()))
        assert np.linalg.norm(f) == pytest.approx(1.0)
    assert p.n_var == 12 and [m.name for m in p.metrics] == ["f1", "f2", "f3"]


def test_known_fronts_and_their_hypervolumes():
    # ZDT1 front f2 = 1 - sqrt(f1): HV w.r.t. (1.1, 1.1) = 1.21 - 1/3
    assert hypervolume(ZDT1().pareto_front(20000), [1.1, 1.1]) == pytest.approx(1.21 - 1 / 3, abs=1e-4)
    # ZDT2 front f2 = 1 - f1^2: area under it is 2/3
    assert hypervolume(ZDT2().pareto_front(20000), [1.1, 1.1]) == pytest.approx(1.21 - 2 / 3, abs=1e-4)
    front3 = ZDT3().pareto_front(1000)
    assert nondominated_mask(front3).all() and front3[:, 1].min() < -0.7  # disconnected, dips below 0
    sphere = DTLZ2().pareto_front(500)
    assert np.allclose(np.linalg.norm(sphere, axis=1), 1.0)


def test_problem_registry_and_specs():
    p = problem("dtlz2", n_obj=4)
    assert objective_from_spec(p.spec()).n_obj == 4
    with pytest.raises(ValueError, match="unknown problem 'zdt9'"):
        problem("zdt9")
    with pytest.raises(ValueError, match="n_var must be an integer >= 2"):
        ZDT1(n_var=1)
    assert objective_from_spec({"callable": "math:fabs"})(-2.0) == 2.0
    with pytest.raises(ValueError, match="cannot import the study's objective"):
        objective_from_spec({"callable": "nowhere:thing"})


def test_parse_metrics_forms():
    assert parse_metrics({"acc": "maximize"}) == (Metric("acc", "maximize"),)
    assert parse_metrics(["loss"]) == (Metric("loss"),)
    with pytest.raises(ValueError, match="unique"):
        parse_metrics(["a", "a"])
    with pytest.raises(ValueError, match="at least one metric"):
        parse_metrics([])
