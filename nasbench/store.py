"""The study on disk: one SQLite database (WAL) in the study directory.

Tables: ``meta`` (schema version, package version, study settings as JSON),
``trials`` (one row a trial: configuration, status, values, metrics, error,
timings, generation, parents, seed), ``generations`` (the population after each
generation) and ``optimizer_state`` (the optimiser's whole state as JSON).
Every write that belongs together is one transaction, so a process killed at
any point leaves either the old or the new state, never half of one.
Nothing is pickled: the store is plain JSON in SQLite.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from . import __version__

__all__ = ["Store", "StoreError", "StudyLocked", "TrialRecord", "SCHEMA_VERSION", "DB_NAME", "MODELS_DIR", "model_path",
           "write_weights", "read_weights"]

SCHEMA_VERSION = 2  # 2: trials may be 'pruned' and carry a fidelity and a warm start
DB_NAME = "study.db"
#: The writer lock: held (``flock``) by the one process that runs the study.
LOCK_NAME = "study.lock"
#: Where a study keeps its trials' weights: ``<study>/models/trial_<id>.pt``.
MODELS_DIR = "models"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    trial_id INTEGER PRIMARY KEY,
    generation INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'pruned')),
    config TEXT NOT NULL,
    genome TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    parents TEXT NOT NULL,
    seed INTEGER NOT NULL,
    "values" TEXT,
    metrics TEXT,
    error TEXT,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    fidelity INTEGER,
    warm_start INTEGER
);
CREATE INDEX IF NOT EXISTS trials_status ON trials (status);
CREATE INDEX IF NOT EXISTS trials_config_hash ON trials (config_hash);
CREATE TABLE IF NOT EXISTS generations (
    generation INTEGER PRIMARY KEY,
    population TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS optimizer_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    state TEXT NOT NULL,
    updated REAL NOT NULL
);
"""


class StoreError(RuntimeError):
    """A study directory that cannot be used as it is; the message names the fix."""


class StudyLocked(StoreError):
    """Another process is running this study."""


@dataclass(frozen=True)
class TrialRecord:
    """One row of the trials table, decoded."""

    trial_id: int
    generation: int
    status: str
    config: dict
    genome: list
    config_hash: str
    parents: tuple[int, ...]
    seed: int
    values: tuple[float, ...] | None
    metrics: dict
    error: str | None
    created: float
    started: float | None
    finished: float | None
    fidelity: int | None = None
    warm_start: int | None = None


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def _dumps_numbers(values: Iterable[Any]) -> str:
    """``_dumps(list(values))`` for a list of plain finite numbers, the same text without the
    encoder: a trial's values and parents are written this way, and three small ``json.dumps``
    a trial were a fifth of a cheap study's store time. Anything else (a numpy scalar, a
    non-finite float, which ``_dumps`` refuses) goes through ``_dumps``."""
    values = list(values)
    for v in values:
        kind = type(v)
        if not (kind is int or (kind is float and math.isfinite(v))):
            return _dumps(values)
    return "[" + ",".join(map(repr, values)) + "]"  # JSON writes ints and floats as their repr


#: How long a write waits for another connection's write lock before giving up.
BUSY_TIMEOUT = 30.0


@contextmanager
def _sqlite_errors(db: Path) -> Iterator[None]:
    """SQLite's errors as one line that names the fix."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            raise StudyLocked(f"another process is writing to {db} (waited {BUSY_TIMEOUT:g} s for it); wait for it "
                              "to finish or stop it, then try again") from None
        if "disk I/O" in text or "unable to open" in text:
            raise StoreError(f"could not read {db} ({text}); if another process is running this study, wait for "
                             "it to finish and try again; else check the disk and the file's permissions") from None
        raise StoreError(f"{db} cannot be used ({text}); restore it from a backup or start a new study") from None
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{db} is not a readable study database ({exc}); restore it from a backup or start a "
                         "new study") from None


class Store:
    """A study's SQLite database. Use :meth:`create` or :meth:`open`.

    One process writes a study at a time: :meth:`writer` holds an exclusive lock on
    ``study.lock`` while a study runs. Readers (``nasbench show``, a notebook) need no lock.
    """

    def __init__(self, directory: Path, conn: sqlite3.Connection) -> None:
        self.directory = directory
        self._conn = conn
        self._db = directory / DB_NAME

    # --- opening ---------------------------------------------------------------------------
    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT)  # read at each call: tests shorten it
        try:
            with _sqlite_errors(path):
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")  # durable against a killed process
        except BaseException:
            conn.close()  # a connection left open would keep the log from being written back
            raise
        return conn

    @classmethod
    def exists(cls, directory: str | Path) -> bool:
        return (Path(directory) / DB_NAME).is_file()

    @classmethod
    def create(cls, directory: str | Path, settings: dict) -> "Store":
        directory = Path(directory)
        if cls.exists(directory):
            raise StoreError(f"{directory} already holds a study; continue it (nasbench resume {directory} "
                             "--trials N, or load_if_exists=True) or choose another directory")
        if directory.exists() and not directory.is_dir():
            raise StoreError(f"{directory} is a file, not a directory; choose another study directory")
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the study directory {directory} ({exc.strerror or exc}); "
                             "choose a writable directory") from None
        db = directory / DB_NAME
        try:
            conn = cls._connect(db)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot create {db} ({exc}); choose a writable directory") from None
        with _sqlite_errors(db), _Transaction(conn):
            for stmt in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(stmt)
            conn.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("schema_version", str(SCHEMA_VERSION)),
                ("nasbench_version", __version__),
                ("settings", _dumps(settings)),
                ("target_trials", "0"),
            ])
        return cls(directory, conn)

    @classmethod
    def open(cls, directory: str | Path) -> "Store":
        directory = Path(directory)
        if directory.is_file():
            raise StoreError(f"{directory} is a file, not a study directory; point at the directory that holds "
                             f"{DB_NAME}")
        if not directory.is_dir():
            raise StoreError(f"{directory} does not exist; create a study there first (nasbench run ... --directory {directory})")
        if not cls.exists(directory):
            raise StoreError(f"{directory} is not a nasbench study (no {DB_NAME}); point at a study directory "
                             "or create one with nasbench run")
        db = directory / DB_NAME
        conn = cls._connect(db)
        try:
            with _sqlite_errors(db):
                meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except BaseException:
            conn.close()
            raise
        version = int(meta.get("schema_version", -1))
        if version > SCHEMA_VERSION:
            conn.close()
            raise StoreError(f"{directory} was written by nasbench {meta.get('nasbench_version')} (store schema "
                             f"{version}); this is nasbench {__version__} (schema {SCHEMA_VERSION}): "
                             "upgrade nasbench (pip install -U nasbench)")
        if version < 1 or "settings" not in meta:
            conn.close()
            raise StoreError(f"{db} has no nasbench metadata; it is not a study database")
        store = cls(directory, conn)
        if version < SCHEMA_VERSION:
            try:
                store._migrate(version)
            except BaseException:
                store.close()
                raise
        try:
            store.settings()  # fails now, with the fix, when the stored settings are not readable
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        self._conn.close()

    def _migrate(self, version: int) -> None:
        """Bring a store of an older schema up to this one, in one transaction (a killed
        migration leaves the old store as it was)."""
        with self._transaction() as conn:
            if version < 2:  # 'pruned' in the status check, fidelity and warm_start columns
                conn.execute("ALTER TABLE trials RENAME TO trials_v1")
                conn.execute("DROP INDEX IF EXISTS trials_status")
                conn.execute("DROP INDEX IF EXISTS trials_config_hash")
                for stmt in filter(str.strip, _SCHEMA.split(";")):
                    conn.execute(stmt)
                conn.execute("INSERT INTO trials SELECT *, NULL, NULL FROM trials_v1")
                conn.execute("DROP TABLE trials_v1")
            conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))

    # --- the writer lock -------------------------------------------------------------------
    @contextmanager
    def writer(self) -> Iterator[None]:
        """Hold the study's writer lock for the block; a second writer is refused at once
        with :class:`StudyLocked`. The lock is the operating system's (``flock``): it dies
        with its process, so a killed study never leaves a stale lock behind."""
        import fcntl
        import os

        path = self.directory / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise StudyLocked(f"{self.directory} is being run by {holder}; wait for it to finish or stop it, "
                              "then resume (nasbench resume DIR)".replace("DIR", str(self.directory))) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"process {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # --- settings --------------------------------------------------------------------------
    def settings(self) -> dict:
        with _sqlite_errors(self._db):
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'settings'").fetchone()
        try:
            settings = json.loads(row[0])
        except (TypeError, ValueError) as exc:
            raise StoreError(f"{self._db}: the stored settings are not valid JSON ({exc}); restore the study "
                             "from a backup or start a new one") from None
        if not isinstance(settings, dict):
            raise StoreError(f"{self._db}: the stored settings are not a JSON object; restore the study from a "
                             "backup or start a new one")
        return settings

    def target_trials(self) -> int:
        """The number of trials the last ``optimize`` asked for (0 before the first)."""
        with _sqlite_errors(self._db):
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'target_trials'").fetchone()
        if row is None:  # stores written before the target had a row of its own
            return int(self.settings().get("target_trials", 0))
        return int(row[0])

    def set_target_trials(self, target: int) -> None:
        with self._transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('target_trials', ?)", (str(int(target)),))

    # --- writes ----------------------------------------------------------------------------
    def add_pending(self, rows: Sequence[dict], optimizer_state: dict, *,
                    generation: tuple[int, Iterable[int]] | None = None) -> None:
        """Insert trials as pending together with the optimiser's state after ``ask`` and,
        where the ``tell`` before that ask ended a generation, that generation's
        ``(number, population)``. A row may carry its genome already as JSON
        (``genome_json``). The ids must continue the table: checked inside the
        transaction, so a second writer that slipped past the lock cannot interleave ids."""
        now = time.time()
        with self._transaction() as conn:
            expected = conn.execute("SELECT COALESCE(MAX(trial_id) + 1, 0) FROM trials").fetchone()[0]
            if rows and rows[0]["trial_id"] != expected:
                raise StudyLocked(f"{self.directory}: another process added trials to this study while this one "
                                  "ran; run a study from one process at a time (nasbench resume DIR)")
            conn.executemany(
                "INSERT INTO trials (trial_id, generation, status, config, genome, config_hash, parents, seed, created,"
                " fidelity, warm_start) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)",
                [(r["trial_id"], r["generation"], r["config"] if isinstance(r["config"], str) else _dumps(r["config"]),
                  r.get("genome_json") or _dumps(r["genome"]), r["config_hash"], _dumps_numbers(r["parents"]),
                  r["seed"], now, r.get("fidelity"), r.get("warm_start")) for r in rows])
            self._put_state(conn, optimizer_state, now)
            if generation is not None:
                self._put_generation(conn, *generation, now)

    def finish_trials(self, outcomes: Sequence[Any]) -> None:
        """Record trials as done or failed, in one transaction. Each outcome has
        ``trial_id, status, values, metrics, error, started, finished``."""
        if not outcomes:
            return
        with self._transaction() as conn:
            conn.executemany(
                'UPDATE trials SET status = ?, "values" = ?, metrics = ?, error = ?, started = ?, finished = ?'
                " WHERE trial_id = ?",
                [(o.status, None if o.values is None else _dumps_numbers(o.values),
                  "{}" if isinstance(o.metrics, dict) and not o.metrics else _dumps(o.metrics), o.error,
                  o.started, o.finished, o.trial_id) for o in outcomes])

    def save_state(self, optimizer_state: dict, *, generation: int | None = None,
                   population: Iterable[int] | None = None) -> None:
        """Store the optimiser's state after ``tell`` and, when a generation ended, its population."""
        now = time.time()
        with self._transaction() as conn:
            self._put_state(conn, optimizer_state, now)
            if generation is not None:
                self._put_generation(conn, generation, population, now)

    @staticmethod
    def _put_generation(conn: sqlite3.Connection, generation: int, population: Iterable[int] | None,
                        now: float) -> None:
        conn.execute("INSERT OR REPLACE INTO generations VALUES (?, ?, ?)",
                     (generation, _dumps(list(population or [])), now))

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with _sqlite_errors(self._db), _Transaction(self._conn) as conn:
            yield conn

    @staticmethod
    def _put_state(conn: sqlite3.Connection, state: dict, now: float) -> None:
        conn.execute("INSERT OR REPLACE INTO optimizer_state VALUES (1, ?, ?)", (_dumps(state), now))

    # --- reads -----------------------------------------------------------------------------
    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with _sqlite_errors(self._db):
            return self._conn.execute(sql, tuple(args)).fetchall()

    def optimizer_state(self) -> dict | None:
        rows = self._query("SELECT state FROM optimizer_state WHERE id = 1")
        return None if not rows else json.loads(rows[0][0])

    def next_trial_id(self) -> int:
        return self._query("SELECT COALESCE(MAX(trial_id) + 1, 0) FROM trials")[0][0]

    _SELECT = ('SELECT trial_id, generation, status, config, genome, config_hash, parents, seed, "values", '
               "metrics, error, created, started, finished, fidelity, warm_start FROM trials")

    @staticmethod
    def _record(r: tuple) -> TrialRecord:
        return TrialRecord(r[0], r[1], r[2], json.loads(r[3]), json.loads(r[4]), r[5], tuple(json.loads(r[6])), r[7],
                           None if r[8] is None else tuple(json.loads(r[8])), json.loads(r[9]) if r[9] else {},
                           r[10], r[11], r[12], r[13], r[14], r[15])

    def trials(self, status: str | None = None) -> list[TrialRecord]:
        """All trials (or those with ``status``), by id."""
        where = " WHERE status = ?" if status else ""
        rows = self._query(self._SELECT + where + " ORDER BY trial_id", (status,) if status else ())
        return self._records(rows)

    def _records(self, rows: Sequence[tuple]) -> list[TrialRecord]:
        try:
            return [self._record(r) for r in rows]
        except (TypeError, ValueError) as exc:
            raise StoreError(f"{self._db} holds a damaged trial row ({exc}); restore it from a backup or "
                             "start a new study") from None

    def trials_by_id(self, ids: Sequence[int]) -> list[TrialRecord]:
        """The trials with these ids, in the order given."""
        ids = [int(i) for i in ids]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        found = {r.trial_id: r for r in self._records(self._query(self._SELECT + f" WHERE trial_id IN ({marks})", ids))}
        return [found[i] for i in ids]

    def trials_before(self, first: int, statuses: Sequence[str]) -> list[TrialRecord]:
        """The trials with ids below ``first`` and one of ``statuses``, by id."""
        marks = ",".join("?" * len(statuses))
        return self._records(self._query(self._SELECT + f" WHERE trial_id < ? AND status IN ({marks}) ORDER BY trial_id",
                                         [first, *statuses]))

    def done_by_hash(self, hashes: Sequence[str]) -> dict[str, TrialRecord]:
        """For each configuration hash, the first done trial with it (hashes never done are absent)."""
        hashes = sorted(set(hashes))
        if not hashes:
            return {}
        marks = ",".join("?" * len(hashes))
        rows = self._query(self._SELECT + f" WHERE status = 'done' AND fidelity IS NULL AND warm_start IS NULL AND config_hash IN ({marks})"
                           " ORDER BY trial_id",
                           hashes)
        out: dict[str, TrialRecord] = {}
        for record in self._records(rows):
            out.setdefault(record.config_hash, record)
        return out

    def counts(self) -> dict[str, int]:
        out = {"pending": 0, "done": 0, "failed": 0, "pruned": 0}
        out.update(dict(self._query("SELECT status, COUNT(*) FROM trials GROUP BY status")))
        return out

    def generations(self) -> dict[int, list[int]]:
        rows = self._query("SELECT generation, population FROM generations ORDER BY generation")
        return {g: json.loads(p) for g, p in rows}


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


# --- weights: the study's models/ folder -----------------------------------------------------
def model_path(directory: str | Path, trial_id: int) -> Path:
    """Where trial ``trial_id`` of the study in ``directory`` keeps its weights."""
    return Path(directory) / MODELS_DIR / f"trial_{int(trial_id):06d}.pt"


def write_weights(directory: str | Path, trial_id: int, payload: dict) -> Path:
    """Save a trial's weights (tensors, lists and plain values only), atomically: a
    killed trial leaves no half-written file."""
    import torch

    path = model_path(directory, trial_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def read_weights(directory: str | Path, trial_id: int) -> dict:
    """A trial's saved weights, loaded with ``torch.load(..., weights_only=True)`` (no pickle)."""
    import torch

    path = model_path(directory, trial_id)
    if not path.is_file():
        raise FileNotFoundError(f"no saved weights for trial {trial_id} at {path}; run the study with "
                                "TrainingObjective(save_weights=True)")
    return torch.load(path, weights_only=True, map_location="cpu")
