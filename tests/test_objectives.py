from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from nasbench.hypervolume import hypervolume, nondominated_mask
from nasbench.objectives import (DTLZ2, ZDT1, ZDT2, ZDT3, Metric, TrainingObjective, objective_from_spec,
                                 objective_spec, parse_metrics, problem)
from nasbench.space import Integer, SearchSpace
from nasbench.training import TrainConfig


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


def test_problems_carry_space_metrics_and_reference_point():
    p = ZDT1(n_var=5)
    assert p.reference_point == (1.1, 1.1) and len(p.space) == 5 and [m.name for m in p.metrics] == ["f1", "f2"]
    assert objective_spec(p) == {"problem": "zdt1", "params": {"n_var": 5}}


def test_any_objective_with_a_spec_is_rebuilt_from_it():
    class Wrapped:  # not a Problem: duck-typed by its spec() method
        def __call__(self, config, seed=None):
            return {"f1": 0.0}

        def spec(self):
            return {"problem": "zdt2", "params": {"n_var": 3}}

    spec = objective_spec(Wrapped())
    assert spec == {"problem": "zdt2", "params": {"n_var": 3}}
    rebuilt = objective_from_spec(spec)
    assert isinstance(rebuilt, ZDT2) and rebuilt.n_var == 3
    with pytest.raises(ValueError, match=r"objective of kind \['quantum'\] .*upgrade nasbench"):
        objective_from_spec({"quantum": {"qubits": 3}})


def test_training_objective_spec_round_trips_exactly():
    space = SearchSpace((Integer("n_layers", 1, 2, default=1), Integer("n_neurons", 8, 16, default=8)), name="tiny")
    objective = TrainingObjective("sinewave", space, {"val_mse": "minimize", "n_params": "minimize"},
                                  protocol={"max_epochs": 3, "patience": None, "cudnn_benchmark": True}, folds=3,
                                  val_fraction=0.25, fidelity=2, n_samples=100, data_seed=4, architecture="mlp",
                                  save_weights=True, report_test=True, test_fraction=0.1, threads=1)
    spec = objective_spec(objective)
    assert spec["training"]["protocol"] == {**TrainConfig().to_dict(), "max_epochs": 3, "patience": None,
                                            "cudnn_benchmark": True}
    again = objective_from_spec(json.loads(json.dumps(spec)))  # as the store keeps it
    assert again.spec() == spec and again.protocol == objective.protocol and again.space == space
    assert objective_from_spec(TrainingObjective().spec()).spec() == TrainingObjective().spec()


def test_training_objective_ships_without_its_data():
    objective = TrainingObjective("sinewave", "mlp", ["val_mse"], n_samples=100)
    assert len(objective.data) == 100
    copy = pickle.loads(pickle.dumps(objective))
    assert copy._data is None and copy.spec() == objective.spec() and len(copy.data) == 100


def test_training_reference_point_bounds_the_space():
    evo = TrainingObjective("digits", "evo_cnn", {"val_top3_accuracy": "maximize", "n_params": "minimize"})
    assert evo.reference_point == (0.0, pytest.approx(1.1 * 332_490))  # not 1.1 x space.largest(): 320,965
    jahs = TrainingObjective("digits", "jahs_cnn", ["val_error", "macs"])
    assert jahs.reference_point == (1.0, pytest.approx(1.1 * 37_916_672))
    with pytest.raises(ValueError, match="metric 'val_mse' has no fixed worst value; give reference_point=..."):
        TrainingObjective("sinewave", "mlp", ["val_mse"]).reference_point


def _bad_protocol(**changes):
    return lambda: TrainConfig(**changes)


@pytest.mark.parametrize("make, fragment", [
    (lambda: TrainingObjective(metrics=["val_f1"]), "unknown training metric 'val_f1'; use one of"),
    (lambda: TrainingObjective("digitz"), "unknown dataset 'digitz': use one of ['digits'"),
    (lambda: TrainingObjective(space="resnet"), "no preset 'resnet'; use one of"),
    (lambda: TrainingObjective(space=3), "space must be a preset name such as 'jahs_cnn' or a SearchSpace, got 3"),
    (lambda: TrainingObjective(folds=1), "folds must be an integer >= 2 (or None for a holdout split), got 1"),
    (lambda: TrainingObjective(folds="3"), "folds must be an integer >= 2 (or None for a holdout split), got '3' (a str)"),
    (lambda: TrainingObjective(fidelity=0), "fidelity (epochs) must be an integer >= 1 (or None), got 0"),
    (lambda: TrainingObjective(fidelity="5"), "fidelity (epochs) must be an integer >= 1 (or None), got '5' (a str)"),
    (lambda: TrainingObjective().with_fidelity(0), "fidelity (epochs) must be an integer >= 1 (or None), got 0"),
    (lambda: TrainingObjective(test_fraction=1.5), "test_fraction must be a number in [0, 1), got 1.5"),
    (lambda: TrainingObjective(val_fraction=0), "val_fraction must be a number in (0, 1), got 0"),
    (lambda: TrainingObjective(threads=0), "threads must be an integer >= 1 (or None), got 0"),
    (lambda: TrainingObjective(architecture="rnn"), "architecture must be 'cnn', 'mlp' or None, got 'rnn'"),
    (lambda: TrainingObjective(protocol={"epochs": 5}), "protocol has unknown keys ['epochs']; use some of ['max_epochs'"),
    (lambda: TrainingObjective(protocol=5), "protocol must be a TrainConfig or a dict of its fields, got 5 (an int)"),
    (lambda: TrainingObjective(protocol={"max_epochs": 0}), "max_epochs must be an integer >= 1, got 0"),
    (_bad_protocol(max_epochs=0), "max_epochs must be an integer >= 1, got 0"),
    (_bad_protocol(max_epochs="10"), "max_epochs must be an integer >= 1, got '10' (a str); pass an int"),
    (_bad_protocol(max_epochs=2.5), "max_epochs must be an integer >= 1, got 2.5 (a float); pass an int"),
    (_bad_protocol(learning_rate=-1), "learning_rate must be a number > 0, got -1"),
    (_bad_protocol(learning_rate="1e-3"), "learning_rate must be a number > 0, got '1e-3' (a str); pass a float"),
    (_bad_protocol(optimizer="rmsprop"), "optimizer must be 'adam' or 'sgd', got 'rmsprop'"),
    (_bad_protocol(batch_size=0), "batch_size must be an integer >= 1, got 0"),
    (_bad_protocol(patience=0), "patience must be an integer >= 1 (or None), got 0"),
    (_bad_protocol(weight_decay=-0.1), "weight_decay must be a number >= 0, got -0.1"),
    (_bad_protocol(rotation_degrees=400), "rotation_degrees must be a number in [0, 180], got 400"),
    (_bad_protocol(amp="yes"), "amp must be True or False, got 'yes' (a str); pass a bool"),
    (_bad_protocol(cudnn_benchmark=1), "cudnn_benchmark must be True or False, got 1 (an int); pass a bool"),
    (_bad_protocol(device=0), "device must be 'auto', 'cpu' or 'cuda[:N]', got 0 (an int); pass a str"),
])
def test_bad_training_input_gets_a_one_line_fix(make, fragment):
    with pytest.raises(ValueError) as info:
        make()
    message = str(info.value)
    assert fragment in message and "\n" not in message
