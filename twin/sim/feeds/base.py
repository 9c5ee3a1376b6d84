"""The one interface every feed adapter implements.

A feed turns some source (file, generator, broker, web service) into
observations ``(sensor index, time ms, value)`` written to the
:class:`~twin.sim.store.HistoryStore` off the render thread. Whatever goes
wrong is counted and reported through :attr:`Feed.status`, :attr:`Feed.counters`
and :attr:`Feed.last_error`; a feed never raises into the caller's thread, so
a dead feed cannot stop the scene from rendering.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

import numpy as np

from twin.sim.problems import ProblemLog
from twin.sim.sensors import SensorSet
from twin.sim.store import HistoryStore

log = logging.getLogger(__name__)

#: status values, in the order a feed usually passes through them
STATUSES = ("idle", "connecting", "running", "stale", "done", "stopped", "failed")


class Feed:
    """Base class: counters, status, validation and batched writes.

    Parameters
    ----------
    name : shown in the app's feed list.
    sensors, store : where observations go; ids unknown to ``sensors`` are
        counted (``unknown_sensor``) and dropped.
    future_ms : observations later than wall-clock now plus this are dropped
        and counted (``future``): a device with a wrong clock must not pin a
        sensor's "latest" value for years. ``None`` turns the check off
        (replaying a planning scenario).

    Health (read by :class:`twin.sim.health.HealthMonitor`)
    ------------------------------------------------------
    problems : the first 100 bad rows/messages (where, reason) plus a count of
        the rest; adapters add theirs, :meth:`fail` adds the fatal one.
    last_message_wall : epoch seconds of the last batch handed to :meth:`write`
        (0: none yet), so a silent feed can be told from a quiet one.
    stale_after_s : the scene's ``stale_after_s`` (None: the project default).

    Counters
    --------
    received, written, duplicates, gaps, malformed, unknown_sensor, future,
    errors, reconnects (adapters add their own).
    """

    kind = "feed"

    def __init__(
        self,
        name: str,
        sensors: SensorSet,
        store: HistoryStore,
        future_ms: int | None = 24 * 3600_000,
    ) -> None:
        self.name = name
        self.sensors = sensors
        self.store = store
        self.future_ms = future_ms
        self.counters: Counter[str] = Counter()
        self.status = "idle"
        self.last_error = ""
        self.problems = ProblemLog(100)
        self.last_message_wall = 0.0
        self.stale_after_s: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Run :meth:`run` in a daemon thread (never the render thread)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._guarded_run, name=f"feed:{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.status not in ("failed", "done"):
            self.status = "stopped"

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _guarded_run(self) -> None:
        try:
            self.run()
            if self.status not in ("failed", "stopped"):
                self.status = "stopped" if self._stop.is_set() else "done"
        except Exception as exc:  # a feed must never take the app down
            self.fail(exc)

    def run(self) -> None:
        """Do the work (blocking). Adapters override; tests call it directly."""
        raise NotImplementedError

    def fail(self, exc: BaseException | str) -> None:
        self.status = "failed"
        self.last_error = str(exc) if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        self.counters["errors"] += 1
        self.problems.add(self.name, self.last_error)
        log.warning("feed %s failed: %s", self.name, self.last_error)

    def report(self) -> dict:
        """Everything the app shows about this feed, as plain values."""
        return {
            "name": self.name, "kind": self.kind, "status": self.status,
            "last_error": self.last_error, **dict(self.counters),
        }

    # -- writing ---------------------------------------------------------------------
    def write(self, sensor_ids, t_ms, values, gaps_ok: bool = True) -> int:
        """Validate a batch and write it; returns rows newly stored.

        ``values`` may hold NaN: a gap when ``gaps_ok`` (files declaring N/A),
        else malformed (a live payload saying NaN).
        """
        idx = sensor_ids if isinstance(sensor_ids, np.ndarray) and sensor_ids.dtype.kind == "i" \
            else self.sensors.indices(sensor_ids)
        t = np.asarray(t_ms, dtype=np.int64)
        v = np.asarray(values, dtype=np.float64)
        self.counters["received"] += len(idx)
        if len(idx):
            self.last_message_wall = time.time()
        keep = idx >= 0
        self.counters["unknown_sensor"] += int((~keep).sum())
        if self.future_ms is not None:
            future = t > int(time.time() * 1000) + self.future_ms
            self.counters["future"] += int((future & keep).sum())
            keep &= ~future
        nan = ~np.isfinite(v)
        if gaps_ok:
            self.counters["gaps"] += int((nan & keep).sum())
        else:
            self.counters["malformed"] += int((nan & keep).sum())
            keep &= ~nan
        n = int(keep.sum())
        if n == 0:
            return 0
        with self._lock:
            new = self.store.ingest(idx[keep], t[keep], v[keep])
        self.counters["written"] += new
        self.counters["duplicates"] += n - new
        return new
