from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from nasbench.cli import main


def test_run_show_resume(tmp_path, capsys):
    d = tmp_path / "s"
    assert main(["run", "zdt1", "-d", str(d), "-n", "40", "--population", "10", "--n-var", "5", "-q"]) == 0
    out = capsys.readouterr().out
    assert "40 done, 0 failed, 0 pending (target 40)" in out and "hypervolume" in out
    assert main(["show", str(d), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["trials"] == {"pending": 0, "done": 40, "failed": 0}
    assert summary["optimizer"] == "nsga2" and summary["generation"] == 4
    # --load-if-exists continues the same study to the new total
    assert main(["run", "zdt1", "-d", str(d), "-n", "60", "--population", "10", "--n-var", "5", "-q",
                 "--load-if-exists"]) == 0
    assert "60 done" in capsys.readouterr().out
    assert main(["resume", str(d), "-q"]) == 0
    assert "60 done" in capsys.readouterr().out


def test_resume_finishes_pending_trials(tmp_path, capsys):
    d = tmp_path / "s"
    assert main(["run", "zdt2", "-d", str(d), "-n", "30", "--population", "10", "--n-var", "4", "-q"]) == 0
    with sqlite3.connect(d / "study.db") as conn:  # as if killed mid-generation
        conn.execute("UPDATE meta SET value = '50' WHERE key = 'target_trials'")
    assert main(["resume", str(d), "-q"]) == 0
    assert "50 done, 0 failed, 0 pending (target 50)" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["show", "/nonexistent/dir"], "does not exist; create a study there first"),
    (["resume", "."], "is not a nasbench study"),
    (["run", "zdt1", "-d", "{tmp}/x", "--population", "1"], "population_size must be an integer >= 2, got 1"),
])
def test_errors_are_one_line_with_status_2(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nasbench: error: ") and message in err and "\n" not in err


def test_presets_listing(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "jahs_cnn   14 parameters" in out and "mlp" in out


def test_console_script_is_installed(tmp_path):
    exe = subprocess.run([sys.executable, "-m", "nasbench.cli", "presets"], capture_output=True, text=True)
    assert exe.returncode == 0 and "evo_cnn" in exe.stdout


def test_data_list(capsys, tmp_path):
    (tmp_path / "flowers").mkdir()
    assert main(["data", "list", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out.split()
    assert out[:3] == ["digits", "mnist1d", "sinewave"] and "cifar10" in out and "flowers" in out
