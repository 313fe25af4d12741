from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

import pytest

import nasbench
from nasbench.cli import main

ROOT = Path(__file__).resolve().parents[1]
#: The console script pip installed (not ``python -m nasbench.cli``), running this checkout.
NASBENCH = Path(sys.executable).with_name("nasbench")
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def test_run_show_resume(tmp_path, capsys):
    d = tmp_path / "s"
    assert main(["run", "zdt1", "-d", str(d), "-n", "40", "--population", "10", "--n-var", "5", "-q"]) == 0
    out = capsys.readouterr().out
    assert "40 done, 0 failed, 0 pending (target 40)" in out and "hypervolume" in out
    assert main(["show", str(d), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["trials"] == {"pending": 0, "done": 40, "failed": 0, "pruned": 0}
    assert summary["optimizer"] == "nsga2" and summary["generation"] == 4
    # --load-if-exists continues the same study to the new total
    assert main(["run", "zdt1", "-d", str(d), "-n", "60", "--population", "10", "--n-var", "5", "-q",
                 "--load-if-exists"]) == 0
    assert "60 done" in capsys.readouterr().out
    assert main(["resume", str(d), "-q", "--trials", "70"]) == 0  # a new total target
    assert "70 done, 0 failed, 0 pending (target 70)" in capsys.readouterr().out


def test_resume_finishes_pending_trials(tmp_path, capsys):
    d = tmp_path / "s"
    assert main(["run", "zdt2", "-d", str(d), "-n", "30", "--population", "10", "--n-var", "4", "-q"]) == 0
    with sqlite3.connect(d / "study.db") as conn:  # as if killed mid-generation
        conn.execute("UPDATE meta SET value = '50' WHERE key = 'target_trials'")
    assert main(["resume", str(d), "-q"]) == 0
    assert "50 done, 0 failed, 0 pending (target 50)" in capsys.readouterr().out


def test_resume_of_a_finished_study_says_how_to_raise_its_target(tmp_path, capsys):
    d = tmp_path / "s"
    assert main(["run", "zdt1", "-d", str(d), "-n", "20", "--population", "10", "-q"]) == 0
    capsys.readouterr()
    assert main(["resume", str(d)]) == 0
    captured = capsys.readouterr()
    assert f"study {d} is already complete (20 trials); raise the target with: nasbench resume {d} --trials 40" \
        in captured.out
    assert "trials:" not in captured.err  # no empty progress bar
    assert main(["resume", str(d), "--trials", "10", "-q"]) == 0
    assert f"study {d} is already complete (20 trials)" in capsys.readouterr().out


def test_rerunning_run_into_a_study_names_resume(tmp_path, capsys):
    d = tmp_path / "s"
    assert main(["run", "zdt1", "-d", str(d), "-n", "10", "--population", "10", "-q"]) == 0
    assert main(["run", "zdt1", "-d", str(d), "-n", "20", "--population", "10", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert "nasbench resume" in err and "\n" not in err


def test_show_formats_numbers_and_explains_a_zero_hypervolume(tmp_path, capsys):
    from nasbench.space import Float, SearchSpace
    from nasbench.study import Study

    space = SearchSpace([Float("x", low=0.0, high=1.0)])
    with Study.create(tmp_path / "s", lambda c, seed: {"size": 400000.123456789, "err": 0.123456789}, space=space,
                      metrics={"size": "minimize", "err": "minimize"}, optimizer="random",
                      reference_point=[320964.60000000003, 1.0]) as study:
        study.optimize(2, show_progress=False)
    assert main(["show", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "hypervolume 0 (no trial dominates the reference point yet) w.r.t. [320965, 1]" in out
    assert "400000" in out and "0.123457" in out and "0.1234567" not in out and "320964.6" not in out


def test_ctrl_c_names_the_real_directory(tmp_path, capsys, monkeypatch):
    from nasbench.study import Study

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Study, "optimize_until", interrupted)
    d = tmp_path / "s"
    assert main(["run", "zdt1", "-d", str(d), "-n", "20", "-q"]) == 130
    assert capsys.readouterr().err.strip() == f"nasbench: interrupted; continue with: nasbench resume {d}"


def test_help_shows_defaults(capsys):
    assert main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    assert "(default: 1000)" in out and "(default: nsga2)" in out


def test_presets_listing_shows_kinds_ranges_and_conditions(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "jahs_cnn   14 parameters" in out and "mlp" in out
    lines = [line.split() for line in out.splitlines()]
    assert ["n_filters", "int", "[8,", "256]", "log", "default", "32"] in lines
    assert ["optimizer", "categorical", "{adam,", "sgd}", "default", "adam"] in lines
    assert any(row[:2] == ["batch_norm", "bool"] for row in lines)
    assert any("if" in row for row in lines)  # a conditional parameter says on what


def test_console_script_is_installed():
    exe = subprocess.run([str(NASBENCH), "--version"], capture_output=True, text=True, env=ENV)
    assert exe.returncode == 0 and exe.stdout.strip() == f"nasbench {nasbench.__version__}"
    exe = subprocess.run([str(NASBENCH), "presets"], capture_output=True, text=True, env=ENV)
    assert exe.returncode == 0 and "evo_cnn" in exe.stdout


def test_show_into_a_closed_pipe_is_quiet(tmp_path):
    d = tmp_path / "s"
    assert main(["run", "zdt1", "-d", str(d), "-n", "10", "--population", "10", "-q"]) == 0
    shown = subprocess.run(f"'{NASBENCH}' show '{d}' | head -1", shell=True, capture_output=True, text=True, env=ENV)
    assert shown.stdout.startswith("study") and shown.stderr == ""
    proc = subprocess.Popen([str(NASBENCH), "show", str(d)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    proc.stdout.close()  # the reader went away before anything was written
    err = proc.stderr.read().decode()
    assert proc.wait() == 141 and err == ""


def test_data_list_says_what_is_present(capsys, tmp_path):
    (tmp_path / "flowers").mkdir()
    (tmp_path / "cifar-10-batches-py").mkdir()
    assert main(["data", "list", "--root", str(tmp_path)]) == 0
    rows = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert list(rows)[:3] == ["digits", "mnist1d", "sinewave"] and rows["digits"] == "embedded"
    assert rows["cifar10"] == f"present at {tmp_path / 'cifar-10-batches-py'}"
    assert rows["fashionmnist"] == f"missing: nasbench data fetch fashionmnist --root {tmp_path}"
    assert rows["flowers"] == f"present at {tmp_path / 'flowers'} (image folder)"


def test_data_fetch_offline_is_one_line(tmp_path, capsys, monkeypatch):
    import torchvision.datasets

    class Offline:
        def __init__(self, *args, **kwargs):
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", Offline)
    assert main(["data", "fetch", "cifar10", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nasbench: error: could not download cifar10 (") and "\n" not in err
    assert f"copy its folder cifar-10-batches-py/ into {tmp_path}/" in err


BAD = [  # argv, exit status, a fragment of the one line on stderr
    (["run", "zdt1", "-d", "{tmp}/x", "--trials", "-5"], 2, "argument --trials/-n: must be an integer >= 1, got '-5'"),
    (["run", "zdt1", "-d", "{tmp}/x", "--trials", "ten"], 2, "argument --trials/-n: must be an integer >= 1, got 'ten'"),
    (["run", "zdt1", "-d", "{tmp}/x", "--timeout", "-1"], 2, "argument --timeout: must be a number of seconds > 0, got '-1'"),
    (["run", "zdt1", "-d", "{tmp}/x", "--population", "1"], 2, "argument --population: must be an integer >= 2, got '1'"),
    (["run", "zdt1", "-d", "{tmp}/x", "--workers", "0", "--dask"], 2, "argument --workers: must be an integer >= 1, got '0'"),
    (["run", "zdt1", "-d", "{tmp}/x", "--n-var", "0"], 2, "argument --n-var: must be an integer >= 1, got '0'"),
    (["run", "zdt1", "-d", "{tmp}/x", "--seed", "-1"], 2, "argument --seed: must be an integer >= 0, got '-1'"),
    (["run", "zdt9", "-d", "{tmp}/x"], 2, "argument problem: invalid choice: 'zdt9'"),
    (["run", "zdt1"], 2, "the following arguments are required: --directory/-d"),
    (["frobnicate"], 2, "invalid choice: 'frobnicate'"),
    (["resume", "{tmp}/x", "--trials", "0"], 2, "argument --trials/-n: must be an integer >= 1, got '0'"),
    (["show", "/nonexistent/dir"], 2, "does not exist; create a study there first"),
    (["resume", "."], 2, "is not a nasbench study"),
    (["run", "zdt1", "-d", "/proc/x", "-n", "2"], 2, "/proc/x"),
    (["run", "zdt1", "-d", "{tmp}/afile.txt/sub", "-n", "2"], 2, "afile.txt"),
    (["data", "fetch", "imagenet"], 2, "invalid choice: 'imagenet'"),
    (["report", "{tmp}/none.ipynb"], 1, "no notebook at"),
]


@pytest.mark.parametrize("argv, status, message", BAD, ids=[" ".join(a[0]) for a in BAD])
def test_bad_input_is_one_line_and_creates_nothing(argv, status, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile.txt").write_text("x")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == status
    err = capsys.readouterr().err.strip()
    assert err.startswith("nasbench: error: ") and message.replace("{tmp}", str(tmp_path)) in err, err
    assert "\n" not in err
    assert not (tmp_path / "x").exists()  # nothing created: the corrected rerun just works


def test_dask_scheduler_that_is_not_there_fails_fast_in_one_line(tmp_path):
    start = time.monotonic()
    exe = subprocess.run([str(NASBENCH), "run", "zdt1", "-d", str(tmp_path / "x"), "-n", "4", "--dask",
                          "tcp://127.0.0.1:9"], capture_output=True, text=True, timeout=120,
                         env={**ENV, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"})
    err = exe.stderr.strip()
    assert exe.returncode == 2 and err.startswith("nasbench: error: ") and "\n" not in err, err
    assert "127.0.0.1:9" in err and time.monotonic() - start < 30
    assert not (tmp_path / "x").exists()


def test_run_offers_the_baselines_and_a_stopping_rule(tmp_path, capsys):
    d = tmp_path / "hb"
    assert main(["run", "learning_curve", "-d", str(d), "-n", "20", "--optimizer", "random", "--stopping", "median",
                 "-q"]) == 0
    out = capsys.readouterr().out
    assert "pruned" in out and "(target 20)" in out
    assert main(["run", "learning_curve", "-d", str(tmp_path / "bohb"), "-n", "15", "--optimizer", "bohb", "-q"]) == 0
    assert "15 done" in capsys.readouterr().out


def test_every_registered_optimizer_is_offered_and_the_training_only_ones_say_why(tmp_path, capsys):
    from nasbench.cli import CLI_OPTIMIZERS, TRAINING_ONLY
    from nasbench.optimizers import OPTIMIZERS

    assert set(CLI_OPTIMIZERS) == set(OPTIMIZERS) and set(TRAINING_ONLY) <= set(OPTIMIZERS)
    for name in TRAINING_ONLY:
        assert main(["run", "zdt1", "-d", str(tmp_path / name), "-n", "5", "--optimizer", name, "-q"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"nasbench: error: --optimizer {name} cannot run on zdt1") and "\n" not in err
        assert "TrainingObjective" in err and not (tmp_path / name).exists()
    assert main(["run", "zdt1", "-d", str(tmp_path / "gp"), "-n", "6", "--optimizer", "optuna_gp", "-q"]) == 0
    assert "6 done" in capsys.readouterr().out


def test_a_grid_too_large_to_index_is_refused_in_one_line(tmp_path, capsys):
    assert main(["run", "zdt1", "-d", str(tmp_path / "g"), "-n", "5", "--optimizer", "grid", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert "9.31e+20 configurations" in err and "random search" in err and "\n" not in err


def test_the_asynchronous_nsga2_runs_from_the_shell_with_its_population(tmp_path, capsys):
    assert main(["run", "zdt1", "-d", str(tmp_path / "a"), "-n", "30", "--optimizer", "nsga2_async",
                 "--population", "10", "-q"]) == 0
    out = capsys.readouterr().out
    assert "nsga2_async" in out and "30 done" in out
    from nasbench.study import Study
    with Study.load(tmp_path / "a") as study:
        assert study.settings.optimizer_options == {"config": {"population_size": 10}}
