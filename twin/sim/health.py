"""Feed health: one state per feed, its last data time, rate, errors and problems.

Feeds keep raw facts (``status``, ``counters``, ``problems``, ``last_message_wall``);
this module turns them into what an operator needs at a glance (issue 14):

- **state** — ``connected``, ``reconnecting``, ``stale`` or ``error``, plus
  ``idle`` (not started / stopped) and ``done`` (a finite replay, CSV or
  synthetic, that has loaded). ``stale`` is computed here from the time since
  data last arrived, never latched: a stale feed is ``connected`` again on the
  first poll after data return. A feed that connects but never sends is timed
  from when it was first seen running.
- **rate** — observations per second over a sliding window (default 60 s) of
  polled ``received`` counters, so no adapter has to time its own messages.
- the **IOC link** (outgoing, ``outgoing = True``) is watched the same way: its
  state from its connection, its rate from what the IOC acknowledged, never stale
  (nothing to send is not a fault), its detail how much waits in the outbox.
- **errors** — the sum of the counters that mean data was refused
  (:data:`ERROR_COUNTERS`); **problems** — the feed's first 100 with where and
  why, plus a count of the rest (:class:`twin.sim.problems.ProblemLog`).

Stale thresholds, in rising precedence: :data:`DEFAULT_STALE_AFTER_S`, the
scene's ``[[feeds]] stale_after_s``, then a per-feed override set in the window
and saved in the project (:meth:`HealthMonitor.set_stale_after`).

Pure and clock-injectable (``poll(now=...)``), so the state machine is tested
without waiting 300 s. The window polls it once a second on the GUI thread; a
poll is a few attribute reads per feed.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from twin.sim.problems import Problem

DEFAULT_STALE_AFTER_S = 300.0
#: states in rising severity; the overall health is the worst of the feeds'
STATES = ("idle", "done", "connected", "reconnecting", "stale", "error")
SEVERITY = {s: i for i, s in enumerate(STATES)}
#: counters that mean data was refused or a connection failed
ERROR_COUNTERS = ("errors", "malformed", "bad_rows", "unknown_sensor", "future", "rejected")
#: an outgoing link's (``outgoing = True``, the IOC link) own status -> state
OUTGOING_STATES = {"connected": "connected", "connecting": "reconnecting",
                   "reconnecting": "reconnecting", "error": "error"}

_TEXTS = {
    "vi": {"idle": "chưa chạy", "done": "đã nạp xong", "connected": "đã kết nối",
           "reconnecting": "đang kết nối lại", "stale": "quá hạn (không có dữ liệu mới)",
           "error": "lỗi", "none": "không có nguồn dữ liệu"},
    "en": {"idle": "idle", "done": "loaded", "connected": "connected",
           "reconnecting": "reconnecting", "stale": "stale (no new data)", "error": "error",
           "none": "no feeds"},
}


def state_text(state: str, lang: str = "en") -> str:
    """A state as the operator reads it (``vi`` or ``en``), for headless reports too."""
    return _TEXTS.get(lang, _TEXTS["en"]).get(state, state)


@dataclass(frozen=True)
class FeedHealth:
    """One feed's health at one poll, as plain values (the dock shows these)."""

    name: str
    kind: str
    state: str
    #: epoch seconds of the last data, None when none arrived yet
    last_message: float | None
    #: observations per second over the monitor's window
    rate: float
    errors: int
    stale_after_s: float
    problems: tuple[Problem, ...] = ()
    #: problems past the first 100, counted only
    more: int = 0
    #: the last error message (connection refused, file unreadable ...)
    detail: str = ""

    @property
    def problem_total(self) -> int:
        return len(self.problems) + self.more


@dataclass
class _Watch:
    """What the monitor remembers about one feed between polls."""

    samples: deque = field(default_factory=deque)  # (now, received)
    last_seen_data: float = 0.0  # poll time at which ``received`` last grew
    running_since: float | None = None


def worst(states: Iterable[str]) -> str:
    """The most severe state, ``"none"`` for no feeds."""
    states = list(states)
    return max(states, key=lambda s: SEVERITY.get(s, 0)) if states else "none"


class HealthMonitor:
    """Derives :class:`FeedHealth` for a list of feeds at each :meth:`poll`.

    Parameters
    ----------
    feeds : :class:`twin.sim.feeds.base.Feed` objects (any object with
        ``name``, ``kind``, ``status``, ``counters``; ``problems``,
        ``last_message_wall``, ``last_error``, ``stale_after_s`` are optional).
    default_stale_after_s : the project-wide default threshold.
    window_s : the sliding window of the rate.
    clock : wall time in epoch seconds (tests pass their own ``now`` instead).
    """

    def __init__(self, feeds: Iterable, default_stale_after_s: float = DEFAULT_STALE_AFTER_S,
                 window_s: float = 60.0, clock: Callable[[], float] = time.time) -> None:
        self.feeds = list(feeds)
        self.default_stale_after_s = _positive(default_stale_after_s, "default_stale_after_s")
        self.window_s = _positive(window_s, "window_s")
        self.clock = clock
        #: per-feed thresholds set in the window / read from the project (name -> s)
        self.overrides: dict[str, float] = {}
        self._watch: dict[int, _Watch] = {}
        self.last: list[FeedHealth] = []
        for feed in self.feeds:  # MQTT latches its own "stale": keep it on our threshold
            if hasattr(feed, "stale_s"):
                feed.stale_s = self.stale_after(feed)

    # -- thresholds ----------------------------------------------------------------------
    def stale_after(self, feed) -> float:
        """The threshold in force for ``feed``: override, else scene, else default."""
        if feed.name in self.overrides:
            return self.overrides[feed.name]
        scene = getattr(feed, "stale_after_s", None)
        return float(scene) if scene is not None else self.default_stale_after_s

    def set_stale_after(self, name: str, seconds: float | None) -> None:
        """Override one feed's threshold (None: back to the scene's or the default).
        MQTT's own ``stale_s`` follows, so its status agrees with the window."""
        if seconds is None:
            self.overrides.pop(name, None)
        else:
            self.overrides[name] = _positive(seconds, f"stale_after_s of {name!r}")
        for feed in self.feeds:
            if feed.name == name and hasattr(feed, "stale_s"):
                feed.stale_s = self.stale_after(feed)

    def apply_overrides(self, overrides: dict[str, float]) -> list[str]:
        """Set the overrides a project saved; returns warnings for unknown feeds."""
        names = {f.name for f in self.feeds}
        warnings = []
        for name, seconds in overrides.items():
            if name not in names:
                warnings.append(f"stale threshold for feed {name!r}: no such feed in the scene")
                continue
            try:
                self.set_stale_after(name, seconds)
            except ValueError as exc:
                warnings.append(str(exc))
        return warnings

    # -- polling -------------------------------------------------------------------------
    def poll(self, now: float | None = None) -> list[FeedHealth]:
        """Every feed's health now (also kept as :attr:`last`)."""
        now = self.clock() if now is None else float(now)
        self.last = [self._health(feed, now) for feed in self.feeds]
        alive = {id(f) for f in self.feeds}  # feeds removed from the window are forgotten
        for key in [k for k in self._watch if k not in alive]:
            del self._watch[key]
        return self.last

    def overall(self) -> str:
        """The worst state of the last poll (``"none"`` without feeds)."""
        return worst(h.state for h in self.last)

    def _health(self, feed, now: float) -> FeedHealth:
        w = self._watch.setdefault(id(feed), _Watch())
        counters = feed.counters
        # an outgoing link's "data" is what the other side acknowledged
        received = int(counters.get("acked" if getattr(feed, "outgoing", False)
                                    else "received", 0))
        if w.samples and received > w.samples[-1][1]:
            w.last_seen_data = now
        w.samples.append((now, received))
        while len(w.samples) > 2 and w.samples[1][0] <= now - self.window_s:
            w.samples.popleft()
        t0, r0 = w.samples[0]
        rate = (received - r0) / (now - t0) if now > t0 else 0.0
        last = max(float(getattr(feed, "last_message_wall", 0.0) or 0.0), w.last_seen_data)
        threshold = self.stale_after(feed)
        status = feed.status
        if getattr(feed, "outgoing", False):  # the IOC link: it sends, so it is never stale
            state = OUTGOING_STATES.get(status, "idle")
        elif status in ("running", "stale"):
            if w.running_since is None:
                w.running_since = now
            age = now - (last or w.running_since)
            state = "stale" if age > threshold else "connected"
        else:
            w.running_since = None
            state = {"failed": "error", "connecting": "reconnecting", "done": "done"}.get(
                status, "idle")
        log = getattr(feed, "problems", None)
        return FeedHealth(
            name=feed.name, kind=feed.kind, state=state, last_message=last or None,
            rate=max(rate, 0.0), errors=sum(int(counters.get(k, 0)) for k in ERROR_COUNTERS),
            stale_after_s=threshold,
            problems=tuple(log.items) if log is not None else (),
            more=int(log.more) if log is not None else 0,
            detail=str(getattr(feed, "last_error", "") or ""),
        )


def _positive(value: float, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected a number of seconds, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{what}: must be a positive number of seconds, got {value!r}")
    return v
