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
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from . import __version__

__all__ = ["Store", "StoreError", "TrialRecord", "SCHEMA_VERSION", "DB_NAME"]

SCHEMA_VERSION = 1
DB_NAME = "study.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    trial_id INTEGER PRIMARY KEY,
    generation INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
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
    finished REAL
);
CREATE INDEX IF NOT EXISTS trials_status ON trials (status);
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


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


class Store:
    """A study's SQLite database. Use :meth:`create` or :meth:`open`."""

    def __init__(self, directory: Path, conn: sqlite3.Connection) -> None:
        self.directory = directory
        self._conn = conn

    # --- opening ---------------------------------------------------------------------------
    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # durable against a killed process
        return conn

    @classmethod
    def exists(cls, directory: str | Path) -> bool:
        return (Path(directory) / DB_NAME).is_file()

    @classmethod
    def create(cls, directory: str | Path, settings: dict) -> "Store":
        directory = Path(directory)
        if cls.exists(directory):
            raise StoreError(f"{directory} already holds a study; load it (nasbench resume {directory}) "
                             "or choose another directory")
        directory.mkdir(parents=True, exist_ok=True)
        conn = cls._connect(directory / DB_NAME)
        with _Transaction(conn):
            for stmt in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(stmt)
            conn.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("schema_version", str(SCHEMA_VERSION)),
                ("nasbench_version", __version__),
                ("settings", _dumps(settings)),
            ])
        return cls(directory, conn)

    @classmethod
    def open(cls, directory: str | Path) -> "Store":
        directory = Path(directory)
        if not directory.is_dir():
            raise StoreError(f"{directory} does not exist; create a study there first (nasbench run ... --directory {directory})")
        if not cls.exists(directory):
            raise StoreError(f"{directory} is not a nasbench study (no {DB_NAME}); point at a study directory "
                             "or create one with nasbench run")
        try:
            conn = cls._connect(directory / DB_NAME)
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{directory / DB_NAME} is not a readable study database ({exc}); "
                             "restore it from a backup or start a new study") from None
        version = int(meta.get("schema_version", -1))
        if version > SCHEMA_VERSION:
            raise StoreError(f"{directory} was written by nasbench {meta.get('nasbench_version')} (store schema "
                             f"{version}); this is nasbench {__version__} (schema {SCHEMA_VERSION}): "
                             "upgrade nasbench (pip install -U nasbench)")
        if version < 1 or "settings" not in meta:
            raise StoreError(f"{directory / DB_NAME} has no nasbench metadata; it is not a study database")
        return cls(directory, conn)

    def close(self) -> None:
        self._conn.close()

    # --- settings --------------------------------------------------------------------------
    def settings(self) -> dict:
        return json.loads(self._conn.execute("SELECT value FROM meta WHERE key = 'settings'").fetchone()[0])

    def meta(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT key, value FROM meta").fetchall())

    def update_settings(self, **changes: Any) -> None:
        settings = {**self.settings(), **changes}
        with self._transaction() as conn:
            conn.execute("UPDATE meta SET value = ? WHERE key = 'settings'", (_dumps(settings),))

    # --- writes ----------------------------------------------------------------------------
    def add_pending(self, rows: Sequence[dict], optimizer_state: dict) -> None:
        """Insert trials as pending together with the optimiser's state after ``ask``."""
        now = time.time()
        with self._transaction() as conn:
            conn.executemany(
                "INSERT INTO trials (trial_id, generation, status, config, genome, config_hash, parents, seed, created)"
                " VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?)",
                [(r["trial_id"], r["generation"], r["config"] if isinstance(r["config"], str) else _dumps(r["config"]),
                  _dumps(r["genome"]), r["config_hash"],
                  _dumps(list(r["parents"])), r["seed"], now) for r in rows])
            self._put_state(conn, optimizer_state, now)

    def finish_trials(self, outcomes: Sequence[Any]) -> None:
        """Record trials as done or failed, in one transaction. Each outcome has
        ``trial_id, status, values, metrics, error, started, finished``."""
        if not outcomes:
            return
        with self._transaction() as conn:
            conn.executemany(
                'UPDATE trials SET status = ?, "values" = ?, metrics = ?, error = ?, started = ?, finished = ?'
                " WHERE trial_id = ?",
                [(o.status, None if o.values is None else _dumps(list(o.values)), _dumps(o.metrics), o.error,
                  o.started, o.finished, o.trial_id) for o in outcomes])

    def save_state(self, optimizer_state: dict, *, generation: int | None = None,
                   population: Iterable[int] | None = None) -> None:
        """Store the optimiser's state after ``tell`` and, when a generation ended, its population."""
        now = time.time()
        with self._transaction() as conn:
            self._put_state(conn, optimizer_state, now)
            if generation is not None:
                conn.execute("INSERT OR REPLACE INTO generations VALUES (?, ?, ?)",
                             (generation, _dumps(list(population or [])), now))

    def _transaction(self):
        return _Transaction(self._conn)

    @staticmethod
    def _put_state(conn: sqlite3.Connection, state: dict, now: float) -> None:
        conn.execute("INSERT OR REPLACE INTO optimizer_state VALUES (1, ?, ?)", (_dumps(state), now))

    # --- reads -----------------------------------------------------------------------------
    def optimizer_state(self) -> dict | None:
        row = self._conn.execute("SELECT state FROM optimizer_state WHERE id = 1").fetchone()
        return None if row is None else json.loads(row[0])

    def next_trial_id(self) -> int:
        return self._conn.execute("SELECT COALESCE(MAX(trial_id) + 1, 0) FROM trials").fetchone()[0]

    _SELECT = ('SELECT trial_id, generation, status, config, genome, config_hash, parents, seed, "values", '
               "metrics, error, created, started, finished FROM trials")

    @staticmethod
    def _record(r: tuple) -> TrialRecord:
        return TrialRecord(r[0], r[1], r[2], json.loads(r[3]), json.loads(r[4]), r[5], tuple(json.loads(r[6])), r[7],
                           None if r[8] is None else tuple(json.loads(r[8])), json.loads(r[9]) if r[9] else {},
                           r[10], r[11], r[12], r[13])

    def trials(self, status: str | None = None) -> list[TrialRecord]:
        """All trials (or those with ``status``), by id."""
        where = " WHERE status = ?" if status else ""
        rows = self._conn.execute(self._SELECT + where + " ORDER BY trial_id", (status,) if status else ()).fetchall()
        return [self._record(r) for r in rows]

    def trials_by_id(self, ids: Sequence[int]) -> list[TrialRecord]:
        """The trials with these ids, in the order given."""
        ids = [int(i) for i in ids]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        found = {r[0]: self._record(r) for r in self._conn.execute(self._SELECT + f" WHERE trial_id IN ({marks})", ids)}
        return [found[i] for i in ids]

    def counts(self) -> dict[str, int]:
        out = {"pending": 0, "done": 0, "failed": 0}
        out.update(dict(self._conn.execute("SELECT status, COUNT(*) FROM trials GROUP BY status").fetchall()))
        return out

    def generations(self) -> dict[int, list[int]]:
        rows = self._conn.execute("SELECT generation, population FROM generations ORDER BY generation").fetchall()
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
