"""The study on disk: one writer at a time, damaged and locked databases, old layouts."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import nasbench.store
from nasbench.objectives import ZDT1
from nasbench.store import Store, StoreError, StudyLocked
from nasbench.study import Study

TIMING = ["created", "started", "finished", "duration"]


def make(directory, **kwargs):
    return Study.create(directory, ZDT1(n_var=4), seed=5, optimizer_options={"config": {"population_size": 8}},
                        **kwargs)


def table(study) -> pd.DataFrame:
    return study.trials_dataframe().drop(columns=TIMING)


def nasbench_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nasbench.cli", *args], capture_output=True, text=True, timeout=300)


# --- one writer -------------------------------------------------------------------------------
def test_a_second_writer_is_refused_at_once_and_nothing_is_written(tmp_path):
    study = make(tmp_path / "s")
    study.optimize(8, show_progress=False)
    study._store.set_target_trials(16)  # a resume has work to do
    other = Study.load(tmp_path / "s")
    with study._store.writer():
        with pytest.raises(StudyLocked, match=r"is being run by process \d+ since .*; wait for it to finish"):
            other.optimize(8, show_progress=False)
        result = nasbench_cli("resume", str(tmp_path / "s"), "-q")
    assert result.returncode == 2 and "is being run by process" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert study._store.counts() == {"pending": 0, "done": 8, "failed": 0, "pruned": 0}
    assert study.target_trials == 16


def test_a_handle_opened_earlier_continues_from_the_latest_checkpoint(tmp_path):
    reference = make(tmp_path / "ref")
    reference.optimize(40, show_progress=False)
    first = make(tmp_path / "s")
    stale = Study.load(tmp_path / "s")  # opened before anything ran
    first.optimize(24, show_progress=False)
    stale.optimize(16, show_progress=False)  # must not repeat generation 0 from its stale state
    pd.testing.assert_frame_equal(table(stale), table(reference))
    assert stale.optimizer.state_dict() == reference.optimizer.state_dict()


def test_two_resumes_at_once_neither_corrupt_nor_duplicate(tmp_path):
    reference = make(tmp_path / "ref")
    reference.optimize(3000, show_progress=False)
    study = make(tmp_path / "s")
    study.optimize(8, show_progress=False)
    study._store.set_target_trials(3000)
    study.close()
    procs = [subprocess.Popen([sys.executable, "-m", "nasbench.cli", "resume", str(tmp_path / "s"), "-q"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert sorted(code for code, _ in outcomes) in ([0, 0], [0, 2])  # one ran it, the other waited or was refused
    for code, err in outcomes:
        assert code == 0 or "is being run by process" in err
    again = Study.load(tmp_path / "s")
    pd.testing.assert_frame_equal(table(again), table(reference))
    assert again._store.counts() == {"pending": 0, "done": 3000, "failed": 0, "pruned": 0}


def test_ids_must_continue_the_table_inside_the_transaction(tmp_path):
    study = make(tmp_path / "s")
    study.optimize(8, show_progress=False)
    row = {"trial_id": 3, "generation": 0, "config": "{}", "genome": [], "config_hash": "x", "parents": [], "seed": 1}
    with pytest.raises(StudyLocked, match="another process added trials to this study"):
        study._store.add_pending([row], {"optimizer": {}, "untold": []})
    assert study._store.next_trial_id() == 8


def test_a_write_lock_held_elsewhere_is_one_line_with_the_wait(tmp_path, monkeypatch):
    make(tmp_path / "s").close()
    monkeypatch.setattr(nasbench.store, "BUSY_TIMEOUT", 0.2)
    study = Study.load(tmp_path / "s")
    holder = sqlite3.connect(tmp_path / "s" / "study.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StudyLocked, match=r"another process is writing to .*study.db \(waited 0.2 s for it\)"):
            study.optimize(8, show_progress=False)
    finally:
        holder.execute("ROLLBACK")
    study.optimize(8, show_progress=False)  # nothing was lost: the rerun goes through
    assert study._store.counts()["done"] == 8


# --- damaged stores ---------------------------------------------------------------------------
def test_random_bytes_in_the_pages_give_one_line(tmp_path):
    study = make(tmp_path / "s")
    study.optimize(200, show_progress=False)
    study.close()
    db = tmp_path / "s" / "study.db"
    data = bytearray(db.read_bytes())
    rng = np.random.default_rng(0)
    data[8192:] = rng.integers(0, 256, len(data) - 8192, dtype=np.uint8).tobytes()
    db.write_bytes(bytes(data))
    with pytest.raises(StoreError) as info:
        Study.load(tmp_path / "s").trials_dataframe()
    message = str(info.value)
    assert "\n" not in message and "restore it from a backup or start a new study" in message
    result = nasbench_cli("show", str(tmp_path / "s"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_a_deleted_wal_while_the_study_runs_is_not_called_damage(tmp_path):
    study = make(tmp_path / "s")
    study.optimize(16, show_progress=False)
    (tmp_path / "s" / "study.db-wal").unlink()
    with pytest.raises(StoreError, match="if another process is running this study, wait for it to finish") as info:
        Study.load(tmp_path / "s")
    assert "backup" not in str(info.value)
    study.optimize(8, show_progress=False)
    study.close()  # the writer still held the log: closing writes it back
    assert Study.load(tmp_path / "s")._store.counts()["done"] == 24


def _set_settings(directory, text: str) -> None:
    with sqlite3.connect(directory / "study.db") as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'settings'", (text,))


@pytest.mark.parametrize("text, message", [
    ("{not json", "the stored settings are not valid JSON"),
    ("[1, 2]", "the stored settings are not a JSON object"),
    ('{"space": {}}', r"the stored settings lack \['metrics', 'optimizer', 'seed'\]"),
])
def test_damaged_settings_give_one_line(tmp_path, text, message):
    make(tmp_path / "s").close()
    _set_settings(tmp_path / "s", text)
    with pytest.raises(StoreError, match=message) as info:
        Study.load(tmp_path / "s")
    assert "\n" not in str(info.value)


def test_a_study_written_before_the_target_had_its_own_row_still_loads(tmp_path):
    study = make(tmp_path / "s")
    study.optimize(16, show_progress=False)
    settings = study._store.settings()
    study.close()
    with sqlite3.connect(tmp_path / "s" / "study.db") as conn:  # the first layout: the target inside the settings
        conn.execute("DELETE FROM meta WHERE key = 'target_trials'")
    _set_settings(tmp_path / "s", json.dumps({**settings, "target_trials": 16}))
    old = Study.load(tmp_path / "s")
    assert old.target_trials == 16 and old.is_complete
    with sqlite3.connect(tmp_path / "s" / "study.db") as conn:
        conn.execute("DELETE FROM meta WHERE key = 'target_trials'")
    _set_settings(tmp_path / "s", json.dumps(settings))  # no target anywhere: none asked yet
    assert Study.load(tmp_path / "s").target_trials == 0


def test_a_newer_optimizer_says_upgrade(tmp_path):
    study = make(tmp_path / "s")
    settings = study._store.settings()
    study.close()
    _set_settings(tmp_path / "s", json.dumps({**settings, "optimizer": {"name": "cmaes9", "options": {}}}))
    with pytest.raises(StoreError, match="uses optimizer 'cmaes9', unknown to this nasbench .*; upgrade nasbench"):
        Study.load(tmp_path / "s")


# --- paths ------------------------------------------------------------------------------------
def test_paths_that_cannot_hold_a_study(tmp_path):
    afile = tmp_path / "afile.txt"
    afile.write_text("x")
    with pytest.raises(StoreError, match="afile.txt is a file, not a study directory"):
        Study.load(afile)
    with pytest.raises(StoreError, match="is a file, not a directory; choose another study directory"):
        make(afile)
    with pytest.raises(StoreError, match=r"cannot create the study directory .*afile.txt/sub .*choose a writable"):
        make(afile / "sub")
    with pytest.raises(StoreError, match=r"cannot create the study directory /proc/x .*choose a writable directory"):
        make("/proc/x")
    assert afile.read_text() == "x"


def test_weights_live_in_the_study_models_folder(tmp_path):
    import torch

    path = nasbench.store.write_weights(tmp_path, 7, {"w": torch.arange(3.0), "config": {"a": 1}})
    assert path == tmp_path / "models" / "trial_000007.pt" == nasbench.store.model_path(tmp_path, 7)
    back = nasbench.store.read_weights(tmp_path, 7)
    assert back["config"] == {"a": 1} and torch.equal(back["w"], torch.arange(3.0))
    with pytest.raises(FileNotFoundError, match="no saved weights for trial 8"):
        nasbench.store.read_weights(tmp_path, 8)
    assert not list((tmp_path / "models").glob("*.tmp"))


def test_store_exists_only_for_a_study(tmp_path):
    assert not Store.exists(tmp_path)
    make(tmp_path / "s").close()
    assert Store.exists(tmp_path / "s")


def test_number_lists_are_written_as_json_writes_them():
    import numpy as np

    from nasbench.store import _dumps, _dumps_numbers

    rng = np.random.default_rng(0)
    floats = [float(x) for x in rng.standard_normal(200) * 10.0 ** rng.integers(-30, 30, 200)]
    cases = [[], [0.0], [-0.0], [1e-05, 1e16, 123456789.123], floats, [3, 17, 2**40], (4, 5),
             [1, 2.5], [np.float64(0.25)], [True, 1], [5e-324, 1.7976931348623157e308]]
    for values in cases:
        assert _dumps_numbers(values) == _dumps(list(values))
        assert json.loads(_dumps_numbers(values)) == list(values)
    for bad, error in (([float("nan")], ValueError), ([1.0, float("inf")], ValueError), ([np.int64(3)], TypeError)):
        with pytest.raises(error):  # refused as _dumps refuses it
            _dumps_numbers(bad)
