"""The sweep's results store: one SQLite row per configuration, written as each block finishes.

Rows are keyed by the configuration's hash, so a killed sweep loses only the blocks in flight
and `--resume` skips what is stored. `results` holds what the sweep computed and is the same
whatever the number of workers or interruptions (tests compare `canonical()`); `returns` each
configuration's daily returns (float32, in a zlib stream) for the overfitting statistics; `audit` the
configurations re-run in backtrader and whether they agreed; timings and worker ids, which
differ from run to run, live apart in `timings`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from fedcut.core.errors import ConfigError, FedcutError

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    config_hash TEXT PRIMARY KEY,
    position INTEGER NOT NULL,      -- order in the expanded spec
    swept TEXT NOT NULL,            -- JSON: the swept parameters' values
    config TEXT NOT NULL,           -- JSON: every parameter (empty object if it did not resolve)
    status TEXT NOT NULL,           -- ok | failed
    error TEXT NOT NULL,
    result TEXT                     -- JSON: metrics per segment (NULL when failed)
);
CREATE TABLE IF NOT EXISTS timings (
    config_hash TEXT PRIMARY KEY, seconds REAL, peak_rss_mib REAL, worker INTEGER
);
CREATE TABLE IF NOT EXISTS returns (
    config_hash TEXT PRIMARY KEY,
    data BLOB NOT NULL              -- daily returns, little-endian float32, in a zlib stream
);
CREATE TABLE IF NOT EXISTS audit (
    config_hash TEXT PRIMARY KEY,
    reason TEXT NOT NULL,           -- top | sample | boundary
    identical INTEGER NOT NULL,     -- 1 when backtrader gave the same results, to the last bit
    difference TEXT NOT NULL        -- the first difference found, or ''
);
"""

DAMAGED = "not a sweep store, or a damaged one"
SQLITE_FULL = 13  # SQLite's primary result code for "database or disk is full" (a write met ENOSPC)


class DiskFull(FedcutError):
    """The store cannot be written: the disk (or its quota) is full."""


class Store:
    """The results of one sweep in one SQLite file. Every SQLite failure (a file that is not a
    store, a damaged one, a full disk) is one FedcutError naming the file; a failed write is
    rolled back, so the store keeps exactly the configurations committed before it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        existed = self.path.is_file() and self.path.stat().st_size > 0
        with self._errors("cannot open it"):
            self.db = sqlite3.connect(self.path)
        try:
            with self._errors(DAMAGED):
                if existed and self.db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise sqlite3.DatabaseError("database disk image is malformed")
                self.db.executescript(SCHEMA)
        except FedcutError:
            self.db.close()
            raise

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """An SQLite failure as one line naming the store and what was being done; a full disk as one,
        whatever was being done (a store that cannot be written when it is opened is not damaged)."""
        try:
            yield
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF == SQLITE_FULL:
                raise DiskFull(
                    f"{self.path}: {'cannot write it' if doing == DAMAGED else doing}: no space left on device ({exc})"
                ) from None
            raise FedcutError(f"{self.path}: {doing} ({exc})") from None

    def close(self) -> None:
        self.db.close()

    def meta(self) -> dict[str, str]:
        with self._errors("cannot read it"):
            return dict(self.db.execute("SELECT key, value FROM meta"))

    def claim(self, spec_digest: str, spec_text: str, data_dir: str | None, engine: str) -> None:
        """Tie the store to one spec, one data directory and one engine (its name); resuming with
        another is refused, since its results would be mixed with these (and an audit would cover
        only part)."""
        meta = self.meta()
        with self._errors("cannot read it"):
            results = self.db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        if (meta or results) and not all(meta.get(k) for k in ("spec_digest", "data_dir", "engine")):
            raise FedcutError(
                f"{self.path}: holds {results} result(s) but not the record of the spec, data and engine "
                "that made them (a damaged store): they cannot be told apart from another spec's; "
                "use a new --out"
            )
        if meta and meta.get("spec_digest") != spec_digest:
            raise ConfigError(
                f"{self.path}: made by a different sweep spec (digest {meta.get('spec_digest')}, "
                f"this spec {spec_digest}); use a new --out"
            )
        if meta and meta.get("data_dir") != str(data_dir):
            raise ConfigError(
                f"{self.path}: made with the data in {meta.get('data_dir')}, this sweep reads "
                f"{data_dir}; use a new --out"
            )
        if meta and meta.get("engine") != engine:
            raise ConfigError(
                f"{self.path}: made with --engine {meta.get('engine')}, this sweep asks for "
                f"--engine {engine}; resume with the same engine or use a new --out"
            )
        if not meta:
            with self._errors("cannot write it"), self.db:
                self.db.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [
                        ("spec_digest", spec_digest),
                        ("spec", spec_text),
                        ("data_dir", str(data_dir)),
                        ("engine", engine),
                    ],
                )

    def done(self) -> set[str]:
        with self._errors("cannot read it"):
            return {h for (h,) in self.db.execute("SELECT config_hash FROM results")}

    def done_hashes(self) -> np.ndarray:
        """The stored configurations' hashes as bytes (numpy "S20"), read without a Python set of them."""
        with self._errors("cannot read it"):
            cur = self.db.execute("SELECT config_hash FROM results")
            parts = [np.array([h for (h,) in rows], dtype="S20") for rows in iter(lambda: cur.fetchmany(65536), [])]
        return np.concatenate(parts) if parts else np.array([], dtype="S20")

    def add(self, entries: list[tuple[str, int, dict, dict]]) -> None:
        """Store a finished block of (config_hash, position, swept, outcome) in one transaction: all
        of it, or nothing. The outcome carries its configuration and result already as JSON text
        (`stored_json`, written by the worker), so the parent's work per configuration is the insert."""
        with self._errors("cannot store a result in it"), self.db:
            for config_hash, position, swept, outcome in entries:
                self.db.execute(
                    "INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        config_hash,
                        position,
                        stored_json(swept),
                        outcome["config_json"],
                        outcome["status"],
                        outcome["error"],
                        outcome["result_json"],
                    ),
                )
                self.db.execute(
                    "INSERT INTO timings VALUES (?, ?, ?, ?)",
                    (config_hash, outcome.get("seconds"), outcome.get("peak_rss_mib"), outcome.get("worker")),
                )
                if outcome.get("returns") is not None:
                    self.db.execute("INSERT INTO returns VALUES (?, ?)", (config_hash, outcome["returns"]))

    def returns(self) -> dict[str, bytes]:
        """Each stored configuration's packed daily returns (`sweeps.evaluate.unpack_returns`)."""
        with self._errors("cannot read it"):
            return dict(self.db.execute("SELECT config_hash, data FROM returns"))

    def with_returns(self) -> set[str]:
        """The configurations whose daily returns are stored."""
        with self._errors("cannot read it"):
            return {h for (h,) in self.db.execute("SELECT config_hash FROM returns")}

    def returns_count(self) -> int:
        with self._errors("cannot read it"):
            return self.db.execute("SELECT count(*) FROM returns").fetchone()[0]

    def returns_of(self, hashes: list[str], chunk: int) -> Iterator[list[bytes]]:
        """The packed daily returns of `hashes` (each stored), in their order, `chunk` at a time: what
        the overfitting statistics read, so the parent never holds every configuration's at once."""
        for first in range(0, len(hashes), chunk):
            wanted = hashes[first : first + chunk]
            with self._errors("cannot read it"):
                found = dict(
                    self.db.execute(
                        f"SELECT config_hash, data FROM returns WHERE config_hash IN ({', '.join('?' * len(wanted))})",
                        wanted,
                    )
                )
            if len(found) != len(wanted):
                raise FedcutError(
                    f"{self.path}: the daily returns of {len(wanted) - len(found)} configuration(s) are "
                    "missing: a damaged store; use a new --out"
                )
            yield [found[h] for h in wanted]

    def add_audit(self, config_hash: str, reason: str, identical: bool, difference: str) -> None:
        with self._errors("cannot store an audit in it"), self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO audit VALUES (?, ?, ?, ?)", (config_hash, reason, int(identical), difference)
            )

    def audits(self) -> list[dict]:
        with self._errors("cannot read it"):
            cur = self.db.execute("SELECT config_hash, reason, identical, difference FROM audit ORDER BY config_hash")
            return [{"config_hash": h, "reason": r, "identical": bool(i), "difference": d} for h, r, i, d in cur]

    def counts(self) -> tuple[int, int]:
        """How many configurations are stored, and how many of them failed."""
        with self._errors("cannot read it"):
            return self.db.execute("SELECT COUNT(*), COALESCE(SUM(status != 'ok'), 0) FROM results").fetchone()

    def rows(self) -> list[dict]:
        """Every stored configuration in spec order, JSON decoded (`iter_rows`)."""
        return list(self.iter_rows())

    def iter_rows(self, chunk: int = 4096) -> Iterator[dict]:
        """Every stored configuration in spec order, JSON decoded, `chunk` rows read at a time, without
        its full configuration (the `config` column: what the outputs never read)."""
        with self._errors("cannot read it"):
            cur = self.db.execute(
                "SELECT config_hash, position, swept, status, error, result FROM results ORDER BY position"
            )
            while rows := cur.fetchmany(chunk):
                yield from (self._row(*row) for row in rows)

    def row(self, config_hash: str) -> dict:
        """One stored configuration, JSON decoded, as `iter_rows` gives it."""
        with self._errors("cannot read it"):
            found = self.db.execute(
                "SELECT config_hash, position, swept, status, error, result FROM results WHERE config_hash = ?",
                (config_hash,),
            ).fetchone()
        if found is None:
            raise FedcutError(
                f"{self.path}: configuration {config_hash} is not stored: a damaged store; use a new --out"
            )
        return self._row(*found)

    def _row(self, h: str, p: int, s: str, st: str, e: str, r: str | None) -> dict:
        return {
            "config_hash": h,
            "position": p,
            "swept": self._decoded(h, "swept", s),
            "status": st,
            "error": e,
            "result": None if r is None else self._decoded(h, "result", r),
        }

    def _decoded(self, config_hash: str, column: str, text):
        """A stored JSON value; one that is not JSON (a store edited or damaged) is one line naming the row."""
        try:
            return json.loads(text)
        except (ValueError, TypeError, RecursionError) as exc:
            raise FedcutError(
                f"{self.path}: the stored {column} of configuration {config_hash} is not JSON ({exc}): "
                "a damaged store; use a new --out"
            ) from None

    def timings(self) -> list[dict]:
        with self._errors("cannot read it"):
            cur = self.db.execute("SELECT config_hash, seconds, peak_rss_mib, worker FROM timings")
            return [dict(zip(("config_hash", "seconds", "peak_rss_mib", "worker"), row)) for row in cur]

    def canonical(self) -> list[tuple]:
        """What the sweep computed, in a fixed order: equal for equal sweeps."""
        with self._errors("cannot read it"):
            return list(self.db.execute("SELECT * FROM results ORDER BY config_hash"))


def stored_json(value) -> str:
    """A value as the store's columns hold it: the one JSON form, whoever writes it."""
    return json.dumps(value, sort_keys=True, allow_nan=False, default=str)
