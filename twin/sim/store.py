"""Sensor history in embedded SQLite (WAL): one row per (sensor, time).

Feeds write from their own threads; overlays read on the render thread. WAL lets
readers and the writer proceed together (another process too: ``citytwin
ingest`` writes while the app or ``citytwin history`` reads); a lock serialises
use of the one connection (SQLite connections are not thread-safe by themselves).

Durability and re-deliveries (issue 14):

- a batch is one transaction; :meth:`HistoryStore.write_batch` returns only once
  it is committed, so a feed acknowledges a QoS 1 message after that call and a
  killed process never loses an acknowledged observation. ``synchronous=NORMAL``
  (default) survives a killed process; ``synchronous="FULL"`` also a power cut;
- a second write of the same (sensor, time) is never applied: it is counted as a
  duplicate, and where its value differs from the stored one it is kept in the
  ``conflict`` table (a corrected reading or a publisher bug, never silently
  dropped). A TEMP trigger sorts them out inside SQLite, so a batch stays one
  ``executemany``;
- publishers that number their messages per sensor (``seq``) get gap detection:
  the last number and the open gaps live in the store, updated in the same
  transaction as the rows, so a kill cannot make them disagree;
- cumulative counters (received, duplicates, conflicts, ...) live in ``stat``,
  also in the batch's transaction: after a SIGKILL they still add up.

Size: the primary key (sensor, t) is the table itself (WITHOUT ROWID) and there
is no second index on t (it cost a third of the file); "first/last time" and
retention are per-sensor seeks on that key. Times are epoch ms (6-byte ints),
values REAL (SQLite stores integral reals as small ints). About 25 bytes per
observation (bench/bench_store.py). A gap (``N/A`` in a CSV) is stored as NULL:
"unknown at t", never zero.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import numpy as np

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sensor (idx INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS obs (
    sensor INTEGER NOT NULL,
    t INTEGER NOT NULL,            -- epoch milliseconds (UTC instant)
    value REAL,                    -- NULL = a gap
    PRIMARY KEY (sensor, t)
) WITHOUT ROWID;
DROP INDEX IF EXISTS obs_t;        -- schema 1 had it: a third of the file, no query needs it
CREATE TABLE IF NOT EXISTS conflict (
    id INTEGER PRIMARY KEY,
    sensor INTEGER NOT NULL, t INTEGER NOT NULL,
    stored REAL, received REAL,
    seen INTEGER NOT NULL          -- wall-clock ms when the differing copy arrived
);
CREATE TABLE IF NOT EXISTS seq_state (sensor INTEGER PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS seq_gap (
    sensor INTEGER NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL,
    seen INTEGER NOT NULL,
    PRIMARY KEY (sensor, lo)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stat (key TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
"""

# Per connection: a write of an existing (sensor, t) is skipped (RAISE(IGNORE)) and
# noted with both values, so one executemany tells new rows from duplicates.
_TEMP = """
CREATE TEMP TABLE IF NOT EXISTS batch_dup (sensor INTEGER, t INTEGER, stored REAL,
                                           received REAL);
CREATE TEMP TRIGGER IF NOT EXISTS obs_dup BEFORE INSERT ON main.obs
WHEN EXISTS (SELECT 1 FROM main.obs WHERE sensor = NEW.sensor AND t = NEW.t)
BEGIN
    INSERT INTO batch_dup SELECT NEW.sensor, NEW.t, value, NEW.value
        FROM main.obs WHERE sensor = NEW.sensor AND t = NEW.t;
    SELECT RAISE(IGNORE);
END;
"""

_MIN = np.iinfo(np.int64).min


@dataclass
class BatchResult:
    """What one committed batch did (for a feed's counters and problem list)."""

    new: int = 0
    duplicates: int = 0
    #: (sensor id, t ms, stored value, received value); NaN for a gap
    conflicts: list[tuple[str, int, float, float]] = field(default_factory=list)
    #: newly detected sequence gaps: (sensor id, first missing, last missing)
    gaps: list[tuple[str, int, int]] = field(default_factory=list)
    #: numbers that arrived late and closed (part of) an open gap
    filled: int = 0
    #: a publisher started counting again (a number at or below the last, new data)
    seq_resets: int = 0


class HistoryStore:
    """Observations of a list of sensors.

    Parameters
    ----------
    path : database file, or ``":memory:"`` for a throwaway store (tests,
        headless renders).
    sensor_ids : the scene's sensor ids; their order is the index every array
        in and out of the store uses. ``None``: every sensor the file knows
        (reading a store without its scene, ``citytwin history``).
    synchronous : ``"NORMAL"`` (a committed batch survives the process being
        killed) or ``"FULL"`` (also a power cut or OS crash; slower commits).
    """

    def __init__(self, path: Path | str, sensor_ids=None, synchronous: str = "NORMAL") -> None:
        self.path = str(path)
        if synchronous.upper() not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, got {synchronous!r}")
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                   timeout=10.0)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
        self._db.execute("PRAGMA temp_store=MEMORY")
        self._db.executescript(_SCHEMA)
        self._db.executescript(_TEMP)
        with self._lock:
            if sensor_ids is not None:
                # Keep the on-disk numbering stable across runs: a sensor keeps its idx.
                self._db.executemany("INSERT OR IGNORE INTO sensor (id) VALUES (?)",
                                     [(str(s),) for s in sensor_ids])
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)",
                             (SCHEMA_VERSION,))
            known = dict(self._db.execute("SELECT id, idx FROM sensor ORDER BY idx"))
        self.sensor_ids = list(known) if sensor_ids is None else [str(s) for s in sensor_ids]
        self._db_idx = np.array([known[s] for s in self.sensor_ids], dtype=np.int64)
        self._pos = np.full(int(max(known.values(), default=0)) + 1, -1, dtype=np.int64)
        self._pos[self._db_idx] = np.arange(len(self._db_idx))
        self._id_of = {int(d): s for s, d in known.items()}
        self.version = 0
        self._load_seq()
        self._reload_latest()

    def _reload_latest(self) -> None:
        """Latest observation per sensor, kept in memory: "values now" (the live
        case, every frame) is then an array read, never a query that would wait
        behind a feed's write. Per-sensor seeks on the primary key."""
        n = len(self.sensor_ids)
        self._latest_t = np.full(n, _MIN, dtype=np.int64)
        self._latest_v = np.full(n, np.nan)
        self._max_t = _MIN
        with self._lock:
            rows = self._db.execute(
                "SELECT idx, o.t, o.value FROM sensor JOIN obs o ON o.sensor = idx"
                " AND o.t = (SELECT MAX(t) FROM obs WHERE sensor = idx)").fetchall()
        for d, t, v in rows:
            i = self._pos[d] if d < len(self._pos) else -1
            if i >= 0:
                self._latest_t[i], self._latest_v[i] = t, np.nan if v is None else v
                self._max_t = max(self._max_t, int(t))

    def _load_seq(self) -> None:
        with self._lock:
            self._seq_last = dict(self._db.execute("SELECT sensor, last FROM seq_state"))
            self._gaps: dict[int, list[list[int]]] = {}
            for d, lo, hi in self._db.execute("SELECT sensor, lo, hi FROM seq_gap ORDER BY 1, 2"):
                self._gaps.setdefault(d, []).append([lo, hi])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def save_copy(self, dest: Path | str) -> Path:
        """Write the whole store to ``dest`` (SQLite's online backup, WAL on), so a
        history gathered in memory before a project had a file is kept with it.
        ``dest`` is replaced through a temporary file: a failed copy loses nothing."""
        dest = Path(dest)
        tmp = dest.with_name(dest.name + ".part")
        tmp.unlink(missing_ok=True)
        target = sqlite3.connect(tmp)
        try:
            with self._lock:
                self._db.backup(target)
            target.execute("PRAGMA journal_mode=WAL")
        finally:
            target.close()
        for side in ("-wal", "-shm"):  # an older store's side files belong to it
            Path(str(dest) + side).unlink(missing_ok=True)
        tmp.replace(dest)
        return dest

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM obs").fetchone()[0])

    def index_of(self, sensor: int | str) -> int:
        """Row of a sensor id in :attr:`sensor_ids` (a KeyError names it)."""
        if not isinstance(sensor, str):
            return int(sensor)
        try:
            return self.sensor_ids.index(sensor)
        except ValueError:
            raise KeyError(f"no sensor {sensor!r} in the store") from None

    # -- writing -------------------------------------------------------------------
    def ingest(self, sensor: np.ndarray, t_ms: np.ndarray, values: np.ndarray) -> int:
        """Write a batch in one transaction; returns how many rows were new.

        Parameters
        ----------
        sensor : (m,) int, index into ``sensor_ids``
        t_ms : (m,) int64 epoch milliseconds
        values : (m,) float64; NaN is stored as NULL (a gap)
        """
        return self.write_batch(sensor, t_ms, values).new

    def write_batch(self, sensor, t_ms, values, seq=None,
                    stats: dict[str, int] | None = None) -> BatchResult:
        """Write a batch in ONE committed transaction and say what it did.

        ``seq``: (m,) int64 per-sensor message numbers (negative = none), for gap
        detection. ``stats``: counters to add to the store's ``stat`` table in the
        same transaction (a feed's received/malformed/redelivered...).
        When this returns, the batch is on disk: acknowledge it then, not before.
        """
        sensor = np.asarray(sensor, dtype=np.int64)
        m = int(sensor.size)
        t = np.asarray(t_ms, dtype=np.int64).reshape(-1)
        vals = np.asarray(values, dtype=np.float64).reshape(-1)
        result = BatchResult()
        if m == 0 and not stats:
            return result
        db_idx = self._db_idx[sensor] if m else np.empty(0, np.int64)
        py_vals = vals.astype(object)
        py_vals[~np.isfinite(vals)] = None
        rows = zip(db_idx.tolist(), t.tolist(), py_vals.tolist(), strict=True)
        with self._lock:
            saved_seq = (dict(self._seq_last), {k: [g[:] for g in v] for k, v in
                                                self._gaps.items()})
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM batch_dup")
                if m:
                    self._db.executemany("INSERT INTO obs VALUES (?, ?, ?)", rows)
                dups = self._db.execute("SELECT sensor, t, stored, received FROM batch_dup"
                                        ).fetchall()
                result.duplicates = len(dups)
                result.new = m - len(dups)
                now = int(time.time() * 1000)
                differ = [d for d in dups if not _same(d[2], d[3])]
                if differ:
                    self._db.executemany(
                        "INSERT INTO conflict (sensor, t, stored, received, seen)"
                        " VALUES (?, ?, ?, ?, ?)", [(*d, now) for d in differ])
                    result.conflicts = [(self._id_of.get(d[0], str(d[0])), d[1], _nan(d[2]),
                                         _nan(d[3])) for d in differ]
                if seq is not None:
                    dup_keys = {(d[0], d[1]) for d in dups}
                    self._apply_seq(db_idx, t, np.asarray(seq, dtype=np.int64), dup_keys,
                                    now, result)
                counts = dict(stats or {})
                counts["written"] = counts.get("written", 0) + result.new
                counts["duplicates"] = counts.get("duplicates", 0) + result.duplicates
                counts["conflicts"] = counts.get("conflicts", 0) + len(differ)
                counts["seq_missing"] = counts.get("seq_missing", 0) + sum(
                    hi - lo + 1 for _, lo, hi in result.gaps) - result.filled
                self._db.executemany(
                    "INSERT INTO stat VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET n = n + ?",
                    [(k, int(v), int(v)) for k, v in counts.items() if v])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._seq_last, self._gaps = saved_seq
                raise
            if result.new:
                self.version += 1
                self._update_latest(sensor, t, vals)
        return result

    def _apply_seq(self, db_idx: np.ndarray, t: np.ndarray, seq: np.ndarray,
                   dup_keys: set, now: int, result: BatchResult) -> None:
        """Per-sensor message numbers, in arrival order (inside the open
        transaction): a jump opens a gap, a late number closes (part of) one, a
        re-delivered one changes nothing, a lower number with new data is a
        publisher that started counting again."""
        touched: set[int] = set()
        for d, tt, s in zip(db_idx.tolist(), t.tolist(), seq.tolist(), strict=True):
            if s < 0:
                continue
            last = self._seq_last.get(d)
            touched.add(d)
            if last is None or s == last + 1:
                self._seq_last[d] = s
            elif s > last + 1:
                self._gaps.setdefault(d, []).append([last + 1, s - 1])
                result.gaps.append((self._id_of.get(d, str(d)), last + 1, s - 1))
                self._seq_last[d] = s
            elif self._fill(d, s):
                result.filled += 1
            elif (d, tt) not in dup_keys:
                result.seq_resets += 1
                self._gaps.pop(d, None)
                self._seq_last[d] = s
        if not touched:
            return
        ids = sorted(touched)
        self._db.executemany("INSERT OR REPLACE INTO seq_state VALUES (?, ?)",
                             [(d, self._seq_last[d]) for d in ids])
        self._db.executemany("DELETE FROM seq_gap WHERE sensor = ?", [(d,) for d in ids])
        self._db.executemany("INSERT INTO seq_gap VALUES (?, ?, ?, ?)",
                             [(d, lo, hi, now) for d in ids for lo, hi in self._gaps.get(d, [])])

    def _fill(self, d: int, s: int) -> bool:
        gaps = self._gaps.get(d, [])
        for k, (lo, hi) in enumerate(gaps):
            if lo <= s <= hi:
                parts = [p for p in ([lo, s - 1], [s + 1, hi]) if p[0] <= p[1]]
                gaps[k:k + 1] = parts
                return True
        return False

    def _update_latest(self, sensor: np.ndarray, t: np.ndarray, v: np.ndarray) -> None:
        """Fold a batch into the latest-value cache (vectorised; equal times keep
        the stored row, as the duplicate trigger does)."""
        order = np.argsort(t, kind="stable")
        s_sorted, t_sorted, v_sorted = sensor[order], t[order], v[order]
        uniq, first_rev = np.unique(s_sorted[::-1], return_index=True)
        last = len(s_sorted) - 1 - first_rev
        newer = t_sorted[last] > self._latest_t[uniq]
        self._latest_t[uniq[newer]] = t_sorted[last][newer]
        self._latest_v[uniq[newer]] = v_sorted[last][newer]
        self._max_t = max(self._max_t, int(t_sorted[-1]))

    # -- retention -----------------------------------------------------------------
    @property
    def retention_days(self) -> float | None:
        """Days of history kept by :meth:`prune` (None: keep everything); saved in
        the store itself, so every process that opens it agrees."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'retention_days'"
                                   ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def set_retention(self, days: float | None) -> None:
        if days is not None and not days > 0:
            raise ValueError(f"retention must be a positive number of days, got {days}")
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('retention_days', ?)",
                             (days,))

    def prune(self, now_ms: int | None = None, days: float | None = None) -> int:
        """Delete observations older than ``days`` (default: the store's retention)
        before ``now_ms`` (default: wall clock); returns rows deleted. One range
        delete per sensor on the primary key, in one transaction."""
        days = self.retention_days if days is None else days
        if days is None:
            return 0
        now_ms = int(time.time() * 1000) if now_ms is None else int(now_ms)
        cutoff = now_ms - int(days * 86_400_000)
        with self._lock:
            ids = [r[0] for r in self._db.execute("SELECT idx FROM sensor")]
            self._db.execute("BEGIN IMMEDIATE")
            try:
                before = self._db.total_changes
                self._db.executemany("DELETE FROM obs WHERE sensor = ? AND t < ?",
                                     [(d, cutoff) for d in ids])
                gone = self._db.total_changes - before
                self._db.execute("DELETE FROM conflict WHERE t < ?", (cutoff,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        if gone:
            self.version += 1
            self._reload_latest()
        return gone

    def vacuum(self) -> None:
        """Give freed pages back to the file system (after a large prune)."""
        with self._lock:
            self._db.execute("VACUUM")

    # -- reports -------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        """Cumulative counters written with the batches (they survive a kill)."""
        with self._lock:
            return dict(self._db.execute("SELECT key, n FROM stat ORDER BY key"))

    def conflicts(self, limit: int = 100) -> list[tuple[str, int, float, float]]:
        """Latest re-deliveries whose value differed: (sensor id, t ms, stored, received)."""
        with self._lock:
            rows = self._db.execute("SELECT sensor, t, stored, received FROM conflict"
                                    " ORDER BY id DESC LIMIT ?", (int(limit),)).fetchall()
        return [(self._id_of.get(d, str(d)), t, _nan(a), _nan(b)) for d, t, a, b in rows]

    def seq_gaps(self, sensor: int | str | None = None) -> list[tuple[str, int, int]]:
        """Open sequence gaps (sensor id, first missing, last missing)."""
        with self._lock:
            rows = self._db.execute("SELECT sensor, lo, hi FROM seq_gap ORDER BY 1, 2"
                                    ).fetchall()
        out = [(self._id_of.get(d, str(d)), lo, hi) for d, lo, hi in rows]
        if sensor is not None:
            sid = sensor if isinstance(sensor, str) else self.sensor_ids[int(sensor)]
            out = [g for g in out if g[0] == sid]
        return out

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
        idx = self.index_of(sensor)
        with self._lock:
            # a gap comes back as +inf (never stored: non-finite values are gaps), so
            # the rows flatten straight into one float array
            rows = self._db.execute(
                "SELECT t, IFNULL(value, 9e999) FROM obs WHERE sensor = ? AND t BETWEEN ? AND ?"
                " ORDER BY t", (int(self._db_idx[idx]), int(t0_ms), int(t1_ms)),
            ).fetchall()
        if not rows:
            return np.empty(0, np.int64), np.empty(0)
        arr = np.fromiter(chain.from_iterable(rows), dtype=np.float64, count=2 * len(rows))
        arr = arr.reshape(-1, 2)  # ms times are exact in float64 (< 2**53)
        v = arr[:, 1]
        v[np.isinf(v)] = np.nan
        return arr[:, 0].astype(np.int64), v

    def time_range(self) -> tuple[int, int] | None:
        """(first, last) observation time in ms, or None when empty (two seeks
        per sensor on the primary key: no index on t is needed)."""
        with self._lock:
            lo, hi = self._db.execute(
                "SELECT MIN((SELECT MIN(t) FROM obs WHERE sensor = idx)),"
                " MAX((SELECT MAX(t) FROM obs WHERE sensor = idx)) FROM sensor").fetchone()
        return None if lo is None else (int(lo), int(hi))

    def nearest_time(self, t_ms: int, sensor: int | str | None = None) -> int | None:
        """The observation time (ms) with a value (gaps skipped) nearest to ``t_ms``,
        for one sensor or, with ``sensor=None``, any sensor; None when the store
        has none. Indexed seeks each way per sensor, so the app may ask per refresh."""
        if sensor is not None:
            where, args = "sensor = ?", [int(self._db_idx[self.index_of(sensor)])]
        else:
            where, args = "1", []
        sub = ("(SELECT t FROM obs WHERE sensor = idx AND t {op} ? AND value IS NOT NULL"
               " ORDER BY t {order} LIMIT 1)")
        with self._lock:
            before, after = self._db.execute(
                f"SELECT MAX({sub.format(op='<=', order='DESC')}),"
                f" MIN({sub.format(op='>=', order='ASC')})"
                f" FROM sensor WHERE {where.replace('sensor', 'idx')}",
                (int(t_ms), int(t_ms), *args)).fetchone()
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


def _same(a, b) -> bool:
    """Stored and received values agree (None = gap; exact, as stored)."""
    return a == b or (a is None and b is None)


def _nan(v) -> float:
    return np.nan if v is None else float(v)


def project_store_path(project_file: Path | str) -> Path:
    """Where a project keeps its history: beside the project file, same stem
    (``site.ctproj`` -> ``site.history.sqlite``), so it moves with the project."""
    p = Path(project_file)
    return p.with_name(p.stem + ".history.sqlite")
