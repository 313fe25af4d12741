"""The benchmark scripts keep working: each runs with --quick (no timing is asserted)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("bench_*.py")))
def test_benchmark_runs_quick(script, tmp_path):
    out = tmp_path / "report.md"
    result = subprocess.run([sys.executable, str(BENCH / script), "--quick", "--out", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert out.read_text().count("|") > 10  # a markdown table was written


@pytest.mark.slow
def test_multifidelity_benchmark_runs_single_objective(tmp_path):
    out = tmp_path / "report.md"
    studies = tmp_path / "studies"
    result = subprocess.run([sys.executable, str(BENCH / "bench_multifidelity.py"), "--quick", "--objectives", "error",
                             "--min-epochs", "1,3", "--first-seed", "3", "--studies", str(studies), "--out", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    text = out.read_text()
    assert "(seeds 3-4; complete)" in text  # fresh seeds: the runs are seeds 3 and 4, not 0 and 1
    assert sorted(p.name for p in (studies / "random_search").iterdir()) == ["seed3", "seed4"]
    assert "val_error (minimised)" in text and "BO (EI)" in text and "hypervolume (fraction)" not in text
    assert "| BOHB (eta 3, from 3 epochs) | 2 |" in text  # the variant ran on both seeds, and is judged
    assert "Hyperband (eta 3, from 3 epochs): " in text.split("**Goal**")[1]


def _bench(name):
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH))


def test_multifidelity_variants_get_their_own_labels_and_options():
    bm = _bench("bench_multifidelity")
    plain = bm.methods(27, 810, 1)
    assert plain["Hyperband"] == ("hyperband", {})  # eta 3 from 1 epoch: the earlier runs' folder and options
    assert list(plain) == ["NSGA-II", "random search", "Hyperband", "BOHB", "BO (EI)", "PBT"]
    both = bm.methods(27, 810, 1, min_epochs=(1, 3), only=("hyperband", "bohb"))
    assert both == {"random search": ("random", {}),
                    "Hyperband": ("hyperband", {}), "BOHB": ("bohb", {}),
                    "Hyperband (eta 3, from 3 epochs)": ("hyperband", {"eta": 3, "min_fidelity": 3}),
                    "BOHB (eta 3, from 3 epochs)": ("bohb", {"eta": 3, "min_fidelity": 3})}
    assert "Hyperband (eta 4, from 1 epochs)" in bm.methods(27, 810, 1, eta=4)


def test_quality_first_seed_runs_fresh_seeds(tmp_path, capsys):
    import json

    bq = _bench("bench_quality")
    results = tmp_path / "runs.jsonl"
    bq.main(["--quick", "--first-seed", "5", "--problems", "zdt2", "--methods", "nasbench", "--workers", "1",
             "--results", str(results)])
    assert sorted(json.loads(line)["seed"] for line in results.read_text().splitlines()) == [5, 6]
    assert "seeds 5..6" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        bq.main(["--quick", "--first-seed", "-1"])
    assert "--first-seed must be >= 0" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:none of the 60 done trials dominates")  # 60 evaluations: HV still 0
def test_quality_deap_path_is_another_stream_of_the_same_algorithm():
    bq = _bench("bench_quality")
    arrays, _ = bq.run_nasbench("zdt1", 3, 60, 20)
    deap, _ = bq.run_nasbench_deap("zdt1", 3, 60, 20)
    assert arrays.shape == deap.shape == (60, 2)
    assert np.array_equal(arrays[:20], deap[:20])  # the same first population, from the seed
    assert not np.array_equal(arrays[20:], deap[20:])  # then children drawn in another order


def test_quality_interval_of_the_median_gap():
    bq = _bench("bench_quality")
    low, high = bq.median_gap_interval(np.full(30, 1.1), np.full(30, 1.0))  # no spread: exactly +10 %
    assert low == pytest.approx(0.1) and high == pytest.approx(0.1)
    rng = np.random.default_rng(3)
    same = bq.median_gap_interval(rng.normal(1, 0.01, 200), rng.normal(1, 0.01, 200))
    a, b = rng.normal(1.05, 0.01, 200), rng.normal(1, 0.01, 200)
    shifted = bq.median_gap_interval(a, b)
    seen = (np.median(a) - np.median(b)) / np.median(b)
    assert same[0] < 0 < same[1] and 0.04 < shifted[0] < seen < shifted[1] < 0.06


def test_quality_equivalence_column_and_its_refusal(capsys):
    bq = _bench("bench_quality")
    rows = [{"problem": "zdt1", "method": m, "seed": s, "hv": 0.8, "hv_at": {"1000": 0.0, "10000": v}}
            for s, (a, b) in enumerate([(0.80, 0.801), (0.81, 0.80), (0.79, 0.80)] * 10)
            for m, v in (("nasbench", a), ("pymoo", b))]
    table = bq.summarise_budgets(rows, ["zdt1"], ["nasbench", "pymoo"], margin=5.0)
    ones, tens = [line for line in table.splitlines() if line.startswith("| zdt1")]
    assert "tie at 0" in ones and ones.endswith("| n/a |")  # no relative difference at 0
    assert tens.endswith("| yes |")
    assert bq.summarise_budgets(rows, ["zdt1"], ["nasbench", "pymoo"], margin=0.1).splitlines()[-1].endswith("| no |")
    with pytest.raises(SystemExit):
        bq.main(["--quick", "--margin", "-1"])
    assert "--margin must be a positive percentage" in capsys.readouterr().err


@pytest.mark.parametrize("value, message", [("200,x", "expected integers separated by commas, e.g. 200,1000"),
                                            ("200,1", "each number of observations must be >= 2")])
def test_bo_benchmark_refuses_bad_sizes(value, message, capsys):
    with pytest.raises(SystemExit):
        _bench("bench_bo").main(["--observations", value])
    assert message in capsys.readouterr().err


def test_multifidelity_rung_ranking_reads_the_curves():
    import types

    import pandas as pd

    bm = _bench("bench_multifidelity")
    assert bm.rungs_below(27, [1, 9], 3) == [1, 3, 9] and bm.rungs_below(27, [2], 3) == [2, 6, 18]
    final = np.arange(30) / 100.0  # trial i ends at error i/100: trial 0 is the best at R = 9
    curves = [[[1, [0.9 - f]], [3, [0.5 + f]], [9, [f]]] for f in final]  # epoch 1 reversed, epoch 3 in order
    curves.append([[1, [0.1]]])  # a curve that stopped early is left out
    df = pd.DataFrame({"status": ["done"] * 31, "metrics_intermediate": curves})
    cmp = types.SimpleNamespace(metrics=("val_error",), frames=lambda: {(bm.BASELINE, 0): df, ("BOHB", 0): df[:0]})
    rows = bm.rung_ranking(cmp, 9, [1, 3], eta=3)
    assert rows == [["1", "-1.00", "0.00", "30"], ["3", "1.00", "1.00", "30"]]


def test_multifidelity_keeps_each_task_in_its_own_folder():
    bm = _bench("bench_multifidelity")
    names = [bm.default_studies(*task).name for task in [("error,size", "mlp", 2000), ("error", "mlp", 2000),
                                                         ("error", "jahs_cnn", 2000), ("error,size", "mlp", 8000)]]
    assert names == ["multifidelity_studies", "multifidelity_studies_error",  # the earlier runs' folders
                     "multifidelity_studies_error_jahs_cnn", "multifidelity_studies_n8000"]


def test_multifidelity_runs_the_cnn_space(tmp_path, capsys):
    """``--space`` and ``--samples`` reach the studies' objective and the report."""
    import json
    import sqlite3

    bm = _bench("bench_multifidelity")
    bm.main(["--quick", "--objectives", "error", "--space", "jahs_cnn", "--samples", "300", "--seeds", "1",
             "--only", "hyperband", "--studies", str(tmp_path)])
    assert "Task: `jahs_cnn` space on `mnist1d` (300 samples" in capsys.readouterr().out
    for db_path in sorted(tmp_path.glob("*/seed0/study.db")):  # random search's and Hyperband's
        with sqlite3.connect(db_path) as db:
            training = json.loads(dict(db.execute("SELECT * FROM meta"))["settings"])["objective"]["training"]
        assert (training["space"], training["n_samples"]) == ("jahs_cnn", 300), db_path
    assert len(list(tmp_path.glob("*/seed0/study.db"))) == 2


@pytest.mark.parametrize("flag, value, message", [
    ("--min-epochs", "1,x", "expected integers separated by commas"),
    ("--min-epochs", "0", "minimum epochs must be >= 1"),
    ("--only", "hyperbnd", "unknown optimizer(s) ['hyperbnd']"),
    ("--min-epochs", "5", "--min-epochs (5) must be <= --max-epochs (3)"),
    ("--eta", "1", "--eta must be an integer >= 2, got 1"),
    ("--first-seed", "-1", "--first-seed must be an integer >= 0, got -1"),
    ("--samples", "50", "--samples must be an integer >= 100 (20 of them validate), got 50"),
    ("--space", "resnet", "invalid choice: 'resnet'"),
])
def test_multifidelity_refuses_bad_variants(flag, value, message, capsys):
    bm = _bench("bench_multifidelity")
    with pytest.raises(SystemExit):
        bm.main(["--quick", flag, value])
    assert message in capsys.readouterr().err


# --- the virtual workers of bench_workers.py: the loop's utilisation at scale rests on them ---
def _virtual_study(tmp_path, optimizer, cluster, n_trials, *, asynchronous=False, callbacks=(), options=None):
    from nasbench.objectives import ZDT1
    from nasbench.study import Study

    options = {**(options or {}), **({"asynchronous": True} if asynchronous else {})}
    study = Study.create(tmp_path / f"{optimizer}-{asynchronous}", ZDT1(n_var=4), optimizer=optimizer,
                         optimizer_options=options, seed=0)
    study.optimize(n_trials, evaluator=cluster, callbacks=callbacks, show_progress=False)
    df = study.trials_dataframe()
    study.close()
    return df


def test_virtual_cluster_keeps_equal_trials_fully_busy(tmp_path):
    bw = _bench("bench_workers")
    cluster = bw.VirtualCluster(4, lambda task: 0.5, charge_driver=False)
    df = _virtual_study(tmp_path, "random", cluster, 12, asynchronous=True)
    assert (df["status"] == "done").all() and df["duration"].tolist() == [0.5] * 12
    assert cluster.now == pytest.approx(1.5)  # 3 rounds of 4 workers
    assert bw.busy_fraction(df["started"], df["finished"], 0.0, cluster.now, 4) == pytest.approx(1.0)
    queued = bw.VirtualCluster(4, lambda task: 0.5, charge_driver=False)
    df = _virtual_study(tmp_path, "random", queued, 12)  # one batch of 12 on 4 workers: 8 wait their turn
    assert queued.now == pytest.approx(1.5) and sorted(df["started"]) == [0.0] * 4 + [0.5] * 4 + [1.0] * 4


def test_virtual_cluster_shows_the_generational_barrier(tmp_path):
    bw = _bench("bench_workers")
    # one slow trial per generation of 4: each generation lasts 1.0, its other workers idle after 0.1
    slow = lambda task: 1.0 if task.trial_id % 4 == 0 else 0.1  # noqa: E731
    gen = bw.VirtualCluster(4, slow, charge_driver=False)
    df = _virtual_study(tmp_path, "nsga2", gen, 12, options={"config": {"population_size": 4}})
    assert gen.now == pytest.approx(3.0)
    assert bw.busy_fraction(df["started"], df["finished"], 0.0, gen.now, 4) == pytest.approx(1.3 / 4)
    stream = bw.VirtualCluster(4, slow, charge_driver=False)
    df = _virtual_study(tmp_path, "nsga2_async", stream, 12, options={"config": {"population_size": 4}})
    assert stream.now < 2.0  # the asynchronous loop fills the idle workers instead of waiting


def test_virtual_cluster_charges_the_driver_time(tmp_path):
    bw = _bench("bench_workers")
    # one worker, trials of 50 ms, a driver that spends 50 ms on each result: half the time idle
    import time

    cluster = bw.VirtualCluster(1, lambda task: 0.05)
    df = _virtual_study(tmp_path, "random", cluster, 6, asynchronous=True,
                        callbacks=[lambda study, trial: time.sleep(0.05)])
    assert cluster.driver_seconds >= 5 * 0.05  # the sixth result's callback runs after the last trial
    assert bw.busy_fraction(df["started"], df["finished"], 0.0, cluster.now, 1) < 0.6
    free = bw.VirtualCluster(1, lambda task: 0.05, charge_driver=False)
    df = _virtual_study(tmp_path, "random", free, 6, asynchronous=False,
                        callbacks=[lambda study, trial: time.sleep(0.05)])
    assert free.driver_seconds == 0.0 and free.now == pytest.approx(0.3)


def test_busy_fraction_clips_to_the_window():
    bw = _bench("bench_workers")
    import numpy as np

    started, finished = np.array([0.0, 1.0, 3.0]), np.array([2.0, 4.0, 5.0])
    assert bw.busy_fraction(started, finished, 0.0, 4.0, 2) == pytest.approx((2 + 3 + 1) / 8)
    assert bw.busy_fraction(started, finished, 1.0, 1.0, 2) != bw.busy_fraction(started, finished, 1.0, 1.0, 2)  # nan
