"""Alerts: threshold crossings become events the app lists and the scene highlights."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from psygnal import Signal

from twin.sim.sensors import SensorSet, levels

LEVEL_NAMES = {-1: "no data", 0: "normal", 1: "warning", 2: "alarm"}


@dataclass(frozen=True)
class Alert:
    """One crossing: ``sensor`` went from ``previous`` to ``level`` at ``time``."""

    time: datetime
    sensor: str
    value: float
    level: str
    previous: str
    kind: str = ""
    unit: str = ""

    def text(self) -> str:
        return (f"{self.time:%Y-%m-%d %H:%M} {self.sensor} ({self.kind}) "
                f"{self.previous} -> {self.level}: {self.value:g} {self.unit}")


class AlertMonitor:
    """Tracks each sensor's level and records crossings as the clock moves forward.

    Moving the clock backwards (scrubbing) re-bases the levels silently: an
    alert is an event in time, and going back in time does not re-raise it.
    """

    alert_raised = Signal(object)

    def __init__(self, sensors: SensorSet, max_alerts: int = 10_000) -> None:
        self.sensors = sensors
        self.levels = np.full(len(sensors), -1, dtype=np.int8)
        self.alerts: list[Alert] = []
        self.max_alerts = max_alerts
        self._last_ms: int | None = None

    def active(self) -> np.ndarray:
        """Rows of sensors currently at warning or alarm."""
        return np.flatnonzero(self.levels >= 1)

    def update(self, t: datetime, t_ms: int, values: np.ndarray) -> list[Alert]:
        s = self.sensors
        new = levels(values, s.warning, s.alarm)
        forward = self._last_ms is not None and t_ms > self._last_ms
        out: list[Alert] = []
        if forward:
            # rises into warning/alarm and returns to normal are events; data
            # dropouts (-1) are the feed's business, not an alert
            changed = np.flatnonzero((new != self.levels) & (new >= 0)
                                     & ((new >= 1) | (self.levels >= 1)))
            for i in changed:
                out.append(Alert(t, str(s.ids[i]), float(values[i]), LEVEL_NAMES[int(new[i])],
                                 LEVEL_NAMES[int(self.levels[i])], str(s.kinds[i]),
                                 str(s.units[i])))
        self.levels = new
        self._last_ms = t_ms
        self.alerts.extend(out)
        del self.alerts[: max(0, len(self.alerts) - self.max_alerts)]
        for alert in out:
            self.alert_raised.emit(alert)
        return out
