"""The simulation clock: one current time that every overlay follows.

Times are timezone-aware :class:`datetime.datetime` values (Vietnamese data is
``+07:00``); internally the clock also keeps epoch milliseconds, the unit of the
history store, so overlays never convert per sensor.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from psygnal import Signal, SignalGroup

#: Indochina Time, the zone of every Vietnamese feed.
ICT = timezone(timedelta(hours=7))


def to_ms(t: datetime) -> int:
    """Epoch milliseconds of an aware datetime (naive ones are refused: ambiguous)."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"time {t.isoformat()} has no timezone; write e.g. +07:00")
    return round(t.timestamp() * 1000)


def from_ms(ms: int | float, tz: timezone = ICT) -> datetime:
    """An aware datetime in ``tz`` from epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000.0, tz=tz)


class ClockEvents(SignalGroup):
    """What views listen to; the clock never knows who listens."""

    #: the new current time (aware datetime)
    time_changed = Signal(object)
    #: "playing" or "paused"
    state_changed = Signal(str)


class Clock:
    """Current time, play/pause, speed and step.

    Parameters
    ----------
    start, end : aware datetimes bounding the timeline; the clock clamps to it
        so scrubbing cannot run off the data.
    speed : simulated seconds per wall-clock second while playing.
    step : the step of :meth:`step` (a timedelta), e.g. the feed's sampling.

    Notes
    -----
    The clock does not own a timer: the app calls :meth:`advance` from its GUI
    timer and a tour export from its frame loop, so the same code drives both
    and tests step it deterministically.
    """

    def __init__(
        self,
        start: datetime,
        end: datetime | None = None,
        speed: float = 600.0,
        step: timedelta = timedelta(minutes=15),
    ) -> None:
        to_ms(start)
        self.events = ClockEvents()
        self.start = start
        self.end = end if end is not None else start + timedelta(days=1)
        if to_ms(self.end) < to_ms(self.start):
            raise ValueError("clock end is before its start")
        self.speed = float(speed)
        self.step_size = step
        self._time = start
        self._playing = False

    @property
    def time(self) -> datetime:
        return self._time

    @property
    def ms(self) -> int:
        """Current time in epoch milliseconds (the store's unit)."""
        return to_ms(self._time)

    @property
    def playing(self) -> bool:
        return self._playing

    def set_time(self, t: datetime) -> None:
        """Jump to ``t`` (clamped to the timeline); emits only on a real change."""
        ms = min(max(to_ms(t), to_ms(self.start)), to_ms(self.end))
        new = from_ms(ms, t.tzinfo or ICT)  # type: ignore[arg-type]
        if to_ms(new) != to_ms(self._time):
            self._time = new
            self.events.time_changed.emit(new)

    def step(self, n: int = 1) -> None:
        """Move ``n`` steps (negative goes back)."""
        self.set_time(self._time + n * self.step_size)

    def play(self) -> None:
        if not self._playing:
            self._playing = True
            self.events.state_changed.emit("playing")

    def pause(self) -> None:
        if self._playing:
            self._playing = False
            self.events.state_changed.emit("paused")

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = float(speed)

    def advance(self, wall_seconds: float) -> None:
        """Called by a timer: move by ``wall_seconds * speed`` while playing;
        pauses at the end of the timeline."""
        if not self._playing:
            return
        self.set_time(self._time + timedelta(seconds=wall_seconds * self.speed))
        if to_ms(self._time) >= to_ms(self.end):
            self.pause()
