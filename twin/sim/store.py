"""Sensor history in embedded SQLite (WAL): one row per (sensor, time).

Feeds write from their own threads; overlays read on the render thread. WAL lets
readers and the writer proceed together; a lock serialises use of the one
connection (SQLite connections are not thread-safe by themselves). Duplicate
writes are idempotent (``INSERT OR IGNORE`` on the primary key), so a broker
re-delivering a QoS 1 message or a replay run twice stores nothing new. A gap
(``N/A`` in a CSV) is stored as NULL: "unknown at t", never zero.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sensor (idx INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS obs (
    sensor INTEGER NOT NULL,
    t INTEGER NOT NULL,            -- epoch milliseconds (UTC instant)
    value REAL,                    -- NULL = a gap
    PRIMARY KEY (sensor, t)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS obs_t ON obs (t);
"""


class HistoryStore:
    """Observations of a fixed list of sensors.

    Parameters
    ----------
    path : database file, or ``":memory:"`` for a throwaway store (tests,
        headless renders).
    sensor_ids : the scene's sensor ids; their order is the index every array
        in and out of the store uses.
    """

    def __init__(self, path: Path | str, sensor_ids) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self.sensor_ids = list(sensor_ids)
        # Keep the on-disk numbering stable across runs: a sensor keeps its idx.
        with self._lock:
            self._db.executemany(
                "INSERT OR IGNORE INTO sensor (id) VALUES (?)", [(s,) for s in self.sensor_ids]
            )
            known = dict(self._db.execute("SELECT id, idx FROM sensor"))
        self._db_idx = np.array([known[s] for s in self.sensor_ids], dtype=np.int64)
        self._pos = np.full(int(max(known.values(), default=0)) + 1, -1, dtype=np.int64)
        self._pos[self._db_idx] = np.arange(len(self._db_idx))
        self.version = 0
        # Latest observation per sensor, kept in memory: "values now" (the live
        # case, every frame) is then an array read, never a query that would
        # wait behind a feed's write.
        n = len(self.sensor_ids)
        self._latest_t = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
        self._latest_v = np.full(n, np.nan)
        self._max_t = np.iinfo(np.int64).min
        with self._lock:
            rows = self._db.execute("SELECT sensor, MAX(t), value FROM obs GROUP BY sensor")
            for d, t, v in rows.fetchall():
                i = self._pos[d] if d < len(self._pos) else -1
                if i >= 0:
                    self._latest_t[i], self._latest_v[i] = t, np.nan if v is None else v
                    self._max_t = max(self._max_t, int(t))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM obs").fetchone()[0])

    # -- writing -------------------------------------------------------------------
    def ingest(self, sensor: np.ndarray, t_ms: np.ndarray, values: np.ndarray) -> int:
        """Write a batch in one transaction; returns how many rows were new.

        Parameters
        ----------
        sensor : (m,) int, index into ``sensor_ids``
        t_ms : (m,) int64 epoch milliseconds
        values : (m,) float64; NaN is stored as NULL (a gap)
        """
        sensor = np.asarray(sensor, dtype=np.int64)
        if sensor.size == 0:
            return 0
        vals = np.asarray(values, dtype=np.float64)
        py_vals = vals.astype(object)
        py_vals[~np.isfinite(vals)] = None
        rows = zip(
            self._db_idx[sensor].tolist(),
            np.asarray(t_ms, dtype=np.int64).tolist(),
            py_vals.tolist(),
            strict=True,
        )
        with self._lock:
            before = self._db.total_changes
            self._db.execute("BEGIN")
            try:
                self._db.executemany("INSERT OR IGNORE INTO obs VALUES (?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            new = self._db.total_changes - before
            if new:
                self.version += 1
                self._update_latest(sensor, np.asarray(t_ms, dtype=np.int64), vals)
        return new

    def _update_latest(self, sensor: np.ndarray, t: np.ndarray, v: np.ndarray) -> None:
        """Fold a batch into the latest-value cache (vectorised; equal times keep
        the stored row, as INSERT OR IGNORE does)."""
        order = np.argsort(t, kind="stable")
        s_sorted, t_sorted, v_sorted = sensor[order], t[order], v[order]
        uniq, first_rev = np.unique(s_sorted[::-1], return_index=True)
        last = len(s_sorted) - 1 - first_rev
        newer = t_sorted[last] > self._latest_t[uniq]
        self._latest_t[uniq[newer]] = t_sorted[last][newer]
        self._latest_v[uniq[newer]] = v_sorted[last][newer]
        self._max_t = max(self._max_t, int(t_sorted[-1]))

    # -- reading -------------------------------------------------------------------
    def values_at(self, t_ms: int, max_age_ms: int | None = 6 * 3600_000) -> np.ndarray:
        """(n_sensors,) float64: each sensor's latest value at or before ``t_ms``.

        NaN where a sensor has no observation within ``max_age_ms`` (a dead
        sensor must not look alive with a stale value) or its latest row is a gap.
        One grouped query, not one query per sensor.
        """
        lo = -(2**62) if max_age_ms is None else int(t_ms) - int(max_age_ms)
        if int(t_ms) >= self._max_t:  # nothing newer stored: the cache is the answer
            latest_t, latest_v = self._latest_t.copy(), self._latest_v.copy()
            return np.where(latest_t >= lo, latest_v, np.nan)
        # One statement; per sensor, one seek backwards on the (sensor, t) primary
        # key: cost grows with the number of sensors, not with the history's length.
        with self._lock:
            rows = self._db.execute(
                "SELECT idx, (SELECT value FROM obs WHERE sensor = idx AND t <= ? AND t >= ?"
                " ORDER BY t DESC LIMIT 1) FROM sensor",
                (int(t_ms), lo),
            ).fetchall()
        out = np.full(len(self.sensor_ids), np.nan)
        if rows:
            db_idx = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            vals = np.array([r[1] for r in rows], dtype=np.float64)  # None -> nan
            pos = self._pos[db_idx]
            ok = pos >= 0
            out[pos[ok]] = vals[ok]
        return out

    def series(self, sensor: int | str, t0_ms: int, t1_ms: int) -> tuple[np.ndarray, np.ndarray]:
        """Times (int64 ms) and values (float64, NaN for gaps) of one sensor in
        ``[t0_ms, t1_ms]``, ordered by time (late arrivals sit where they belong)."""
        idx = self.sensor_ids.index(sensor) if isinstance(sensor, str) else int(sensor)
        with self._lock:
            rows = self._db.execute(
                "SELECT t, value FROM obs WHERE sensor = ? AND t BETWEEN ? AND ? ORDER BY t",
                (int(self._db_idx[idx]), int(t0_ms), int(t1_ms)),
            ).fetchall()
        if not rows:
            return np.empty(0, np.int64), np.empty(0)
        t = np.array([r[0] for r in rows], dtype=np.int64)
        v = np.array([np.nan if r[1] is None else r[1] for r in rows], dtype=np.float64)
        return t, v

    def time_range(self) -> tuple[int, int] | None:
        """(first, last) observation time in ms, or None when empty."""
        with self._lock:
            lo, hi = self._db.execute("SELECT MIN(t), MAX(t) FROM obs").fetchone()
        return None if lo is None else (int(lo), int(hi))

    def nearest_time(self, t_ms: int, sensor: int | str | None = None) -> int | None:
        """The observation time (ms) with a value (gaps skipped) nearest to ``t_ms``,
        for one sensor or, with ``sensor=None``, any sensor; None when the store
        has none. Two indexed seeks (one each way), so the app may ask per refresh."""
        where, args = "value IS NOT NULL", []
        if sensor is not None:
            idx = self.sensor_ids.index(sensor) if isinstance(sensor, str) else int(sensor)
            where, args = "sensor = ? AND value IS NOT NULL", [int(self._db_idx[idx])]
        with self._lock:
            before = self._db.execute(
                f"SELECT MAX(t) FROM obs WHERE {where} AND t <= ?", (*args, int(t_ms))
            ).fetchone()[0]
            after = self._db.execute(
                f"SELECT MIN(t) FROM obs WHERE {where} AND t >= ?", (*args, int(t_ms))
            ).fetchone()[0]
        found = [int(x) for x in (before, after) if x is not None]
        return min(found, key=lambda x: abs(x - int(t_ms))) if found else None

    def observed_at(self, sensor: int, t_ms: int) -> int | None:
        """Time (ms) of the observation ``values_at`` shows for ``sensor`` at
        ``t_ms``: its latest row at or before it (an alert's message time)."""
        with self._lock:
            row = self._db.execute(
                "SELECT MAX(t) FROM obs WHERE sensor = ? AND t <= ?",
                (int(self._db_idx[int(sensor)]), int(t_ms)),
            ).fetchone()
        return None if row[0] is None else int(row[0])
