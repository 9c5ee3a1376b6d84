"""Alerts: threshold crossings become events the app lists and the scene highlights.

An alert is an event in the data, not in the scrubbing: the monitor keeps the
history of crossings it has seen, so scrubbing back and forth over an alarm
shows it again as history and never raises it twice. Only crossings from live
data while the app follows wall time (``live``) are flagged ``live`` — those
are the ones an operations centre should be sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from psygnal import Signal

from twin.sim.clock import ICT, from_ms
from twin.sim.sensors import SensorSet, levels, levels_hysteresis

LEVEL_NAMES = {-1: "no data", 0: "normal", 1: "warning", 2: "alarm"}


@dataclass(frozen=True)
class Alert:
    """One crossing: ``sensor`` went from ``previous`` to ``level`` at ``time``
    (the observation's time); ``live``: raised from live data in live mode."""

    time: datetime
    sensor: str
    value: float
    level: str
    previous: str
    kind: str = ""
    unit: str = ""
    live: bool = False
    #: the history rule behind it (twin.sim.rules: "night minimum flow", ...), or ""
    rule: str = ""

    def text(self) -> str:
        rule = f" [{self.rule}]" if self.rule else ""
        return (f"{self.time:%Y-%m-%d %H:%M} {self.sensor} ({self.kind}) "
                f"{self.previous} -> {self.level}: {self.value:g} {self.unit}{rule}")

    def display(self, lang: str = "en") -> str:
        """One line for the alert list in ``lang``: time, sensor, what it means,
        the value with the language's decimal mark, and the rule behind it."""
        from twin.locale_format import format_datetime, format_significant
        from twin.sim.kinds import kind_name, level_name, rule_name, unit_text

        value = f"{format_significant(self.value, lang, 4, missing='—')} " \
                f"{unit_text(self.unit, lang)}"
        if self.level in ("warning", "alarm"):
            what = f"{self.message(lang)} ({level_name(self.level, lang)}): {value}"
        else:
            what = f"{kind_name(self.kind, lang)} {value}: {level_name(self.level, lang)}"
        rule = f" [{rule_name(self.rule, lang)}]" if self.rule else ""
        return f"{format_datetime(self.time, lang)} {self.sensor} — {what}{rule}"

    def message(self, lang: str = "en") -> str:
        """What the alert means, in ``lang`` ("Low supply pressure"; twin.sim.kinds)."""
        from twin.sim.kinds import alert_text

        return alert_text(self.kind, self.level, lang)


class AlertMonitor:
    """Tracks each sensor's level and records crossings as the clock moves forward.

    Moving the clock backwards (scrubbing) re-bases the levels silently. Moving
    forward over a crossing already in :attr:`alerts` (the sensor's latest
    recorded alert at or before the clock has the same level) lists it in
    :attr:`recent` as history and raises nothing.

    Parameters
    ----------
    stamp : ``(sensor_row, t_ms) -> ms or None``, the time of the observation a
        value came from (the message time); None stamps alerts with the clock.
    """

    alert_raised = Signal(object)

    def __init__(self, sensors: SensorSet, max_alerts: int = 10_000,
                 stamp: Callable[[int, int], int | None] | None = None) -> None:
        self.sensors = sensors
        self.levels = np.full(len(sensors), -1, dtype=np.int8)
        self.alerts: list[Alert] = []
        #: crossings met again by this update (history, never raised again)
        self.recent: list[Alert] = []
        self.max_alerts = max_alerts
        self.stamp = stamp
        #: True while the app follows wall time on live feeds
        self.live = False
        self._last_ms: int | None = None
        #: samples in a row each sensor has spent clear of its level (hysteresis)
        self._clear_count = np.zeros(len(sensors), dtype=np.int64)

    def active(self) -> np.ndarray:
        """Rows of sensors currently at warning or alarm."""
        return np.flatnonzero(self.levels >= 1)

    def history(self, t_ms: int) -> list[Alert]:
        """Recorded alerts at or before ``t_ms``, oldest first (what scrubbing shows)."""
        return [a for a in self.alerts if a.time.timestamp() * 1000 <= t_ms]

    def _known(self, sensor: str, level: str, t_ms: int) -> Alert | None:
        """The recorded alert this crossing repeats, if any."""
        for alert in reversed(self.alerts):
            if alert.sensor == sensor and alert.time.timestamp() * 1000 <= t_ms:
                return alert if alert.level == level else None
        return None

    def _time(self, row: int, t: datetime, t_ms: int) -> datetime:
        ms = self.stamp(row, t_ms) if self.stamp is not None else None
        return t if ms is None else from_ms(ms, t.tzinfo or ICT)  # type: ignore[arg-type]

    def update(self, t: datetime, t_ms: int, values: np.ndarray,
               extra: np.ndarray | None = None, reason: np.ndarray | None = None
               ) -> list[Alert]:
        """Fold the values at ``t`` in; returns the alerts raised as new.

        Stepping forward applies each sensor's hysteresis (a level clears only
        past its clear level, after ``clear_after`` samples); a jump back
        re-bases on the plain thresholds. ``extra``: (n,) levels from history
        rules (twin.sim.rules), raised on top of the thresholds; ``reason``: the
        rule per sensor, recorded on its alerts."""
        s = self.sensors
        forward = self._last_ms is not None and t_ms > self._last_ms
        if forward:
            new, self._clear_count = levels_hysteresis(
                values, s.warning, s.alarm, s.hysteresis, s.clear_after, self.levels,
                self._clear_count)
        else:
            new = levels(values, s.warning, s.alarm)
            self._clear_count = np.zeros(len(s), dtype=np.int64)
        if extra is not None:
            new = np.where(np.asarray(extra) > new, extra, new).astype(np.int8)
        out: list[Alert] = []
        self.recent = []
        if forward:
            # rises into warning/alarm and returns to normal are events; data
            # dropouts (-1) are the feed's business, not an alert
            changed = np.flatnonzero((new != self.levels) & (new >= 0)
                                     & ((new >= 1) | (self.levels >= 1)))
            for i in changed:
                level = LEVEL_NAMES[int(new[i])]
                known = self._known(str(s.ids[i]), level, t_ms)
                if known is not None:
                    self.recent.append(replace(known, live=False))
                    continue
                out.append(Alert(self._time(int(i), t, t_ms), str(s.ids[i]), float(values[i]),
                                 level, LEVEL_NAMES[int(self.levels[i])], str(s.kinds[i]),
                                 str(s.units[i]), live=self.live,
                                 rule=str(reason[i]) if reason is not None else ""))
        self.levels = new
        self._last_ms = t_ms
        if out:
            self.alerts.extend(out)
            self.alerts.sort(key=lambda a: a.time)
            del self.alerts[: max(0, len(self.alerts) - self.max_alerts)]
        for alert in out:
            self.alert_raised.emit(alert)
        return out
