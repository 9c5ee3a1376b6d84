"""Alert rules that need a sensor's history, not just its value now.

Water utilities find leaks by the *night minimum flow* (MNF) of a district
meter area: between 02:00 and 04:00 almost nobody draws water, so the inflow
then is mostly leakage; a night whose minimum is far above normal means a new
leak. A burst main shows as a *sudden pressure drop* at the nodes around it,
against the pressure of the hours before. Both are computed here, vectorised
per sensor, from the history store, and handed to the alert monitor:

- ``water_flow`` sensors are judged on the MNF of the last completed night (their
  scene thresholds compare that MNF, in the sensor's unit), not on the flow now;
- ``water_pressure`` sensors keep their thresholds on the pressure now, and
  also rise to warning / alarm when the pressure fell ``drop_warning`` /
  ``drop_alarm`` (params, bar) below the median of the previous ``drop_hours``.

The district flood warning (:func:`flood_warning`) joins the river gauges and
the drainage network: surcharging manholes in a storm warn of street flooding
before the river rises.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from twin.sim.sensors import SensorSet
from twin.sim.store import HistoryStore

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
#: local time = UTC + 7 h (Vietnam has no daylight saving)
LOCAL_OFFSET_MS = 7 * HOUR_MS
#: the night window whose minimum flow tells leakage (local hours)
NIGHT_START_H, NIGHT_END_H = 2.0, 4.0
RULE_MNF = "night minimum flow"
RULE_DROP = "pressure drop"
#: kinds that say whether the district floods (river gauges, manholes)
FLOOD_KINDS = ("water_level", "manhole_level")


def night_minimum_flow(t_ms: np.ndarray, values: np.ndarray, start_h: float = NIGHT_START_H,
                       end_h: float = NIGHT_END_H) -> tuple[np.ndarray, np.ndarray]:
    """Per sensor and night, the least flow in the night window.

    Parameters
    ----------
    t_ms : (m,) int64 sample times (epoch ms).
    values : (k, m) flows (NaN: gap).

    Returns
    -------
    night_end : (j,) epoch ms when each night's window closes (04:00 local).
    mnf : (k, j) minimum flow per sensor and night (NaN: no sample that night).
    """
    t = np.asarray(t_ms, dtype=np.int64)
    v = np.atleast_2d(np.asarray(values, dtype=np.float64))
    local = t + LOCAL_OFFSET_MS
    hour = (local % DAY_MS) / HOUR_MS
    inside = (hour >= start_h) & (hour < end_h)
    day = local // DAY_MS
    nights = np.unique(day[inside])
    mnf = np.full((v.shape[0], len(nights)), np.inf)
    if len(nights):
        col = np.searchsorted(nights, day[inside])
        vals = v[:, inside]
        rows = np.repeat(np.arange(v.shape[0]), vals.shape[1])
        np.fmin.at(mnf, (rows, np.tile(col, v.shape[0])), np.where(np.isnan(vals), np.inf,
                                                                      vals).ravel())
    mnf[np.isinf(mnf)] = np.nan
    night_end = nights * DAY_MS - LOCAL_OFFSET_MS + int(end_h * HOUR_MS)
    return night_end.astype(np.int64), mnf


def pressure_drop(now: np.ndarray, before: np.ndarray) -> np.ndarray:
    """(k,) how far each pressure fell below the median of its ``before`` samples
    ((k, m), NaN-padded); NaN without history."""
    if before.size == 0:
        return np.full(len(now), np.nan)
    with warnings.catch_warnings():  # all-NaN rows: a sensor without history
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = np.nanmedian(before, axis=1)
    return ref - np.asarray(now, dtype=np.float64)


@dataclass
class RuleResult:
    """What the alert monitor judges: ``values`` (the flow rows hold their MNF),
    ``extra`` (n,) int8 levels the rules add (max with the thresholds), and
    ``reason`` (n,) the rule behind a level ("" for plain thresholds)."""

    values: np.ndarray
    extra: np.ndarray
    reason: np.ndarray


class HistoryRules:
    """Evaluates the history rules of a sensor set against a store, at a time."""

    def __init__(self, sensors: SensorSet, store: HistoryStore) -> None:
        self.sensors, self.store = sensors, store
        self.flow_rows = sensors.of_kind("water_flow")
        self.pressure_rows = sensors.of_kind("water_pressure")
        p = sensors.params
        rows = self.pressure_rows
        self.drop_warning = np.array([p[i].get("drop_warning", np.nan) for i in rows])
        self.drop_alarm = np.array([p[i].get("drop_alarm", np.nan) for i in rows])
        self.drop_hours = np.array([p[i].get("drop_hours", 3.0) for i in rows])
        #: (sensor row, night end ms) -> MNF; completed nights never change
        self._mnf: dict[tuple[int, int], float] = {}

    @property
    def active(self) -> bool:
        return bool(self.flow_rows.size or np.isfinite(self.drop_warning).any()
                    or np.isfinite(self.drop_alarm).any())

    def last_night_end(self, t_ms: int) -> int:
        """Epoch ms of the latest close of the night window at or before ``t_ms``."""
        local = int(t_ms) + LOCAL_OFFSET_MS
        end = (local // DAY_MS) * DAY_MS + int(NIGHT_END_H * HOUR_MS)
        if end > local:
            end -= DAY_MS
        return end - LOCAL_OFFSET_MS

    def mnf(self, row: int, t_ms: int) -> float:
        """The MNF of sensor ``row`` for the last night completed by ``t_ms``."""
        end = self.last_night_end(t_ms)
        key = (int(row), end)
        if key in self._mnf:
            return self._mnf[key]
        span = int((NIGHT_END_H - NIGHT_START_H) * HOUR_MS)
        t, v = self.store.series(int(row), end - span, end - 1)
        _, m = night_minimum_flow(t, v[None, :])
        value = float(m[0, -1]) if m.size else np.nan
        if t_ms - end > HOUR_MS:  # late live data may still fill the night just closed
            self._mnf[key] = value
        return value

    def evaluate(self, t_ms: int, values: np.ndarray) -> RuleResult:
        n = len(self.sensors)
        out = np.array(values, dtype=np.float64, copy=True)
        extra = np.full(n, -1, dtype=np.int8)
        reason = np.full(n, "", dtype=object)
        for row in self.flow_rows:
            out[row] = self.mnf(int(row), t_ms) if np.isfinite(values[row]) else np.nan
            reason[row] = RULE_MNF
        judged = np.isfinite(self.drop_warning) | np.isfinite(self.drop_alarm)
        if judged.any():
            rows = self.pressure_rows[judged]
            hours = self.drop_hours[judged]
            before = _history(self.store, rows, t_ms, hours)
            drop = pressure_drop(np.asarray(values)[rows], before)
            with np.errstate(invalid="ignore"):
                lvl = np.where(drop >= self.drop_alarm[judged], 2,
                               np.where(drop >= self.drop_warning[judged], 1, 0))
            lvl = np.where(np.isfinite(drop), lvl, -1).astype(np.int8)
            extra[rows] = lvl
            reason[rows[lvl >= 1]] = RULE_DROP
        return RuleResult(out, extra, reason)


def _history(store: HistoryStore, rows: np.ndarray, t_ms: int, hours: np.ndarray) -> np.ndarray:
    """(k, m) NaN-padded values of ``rows`` in ``[t - hours, t)``."""
    series = [store.series(int(r), int(t_ms - h * HOUR_MS), int(t_ms) - 1)[1]
              for r, h in zip(rows, hours, strict=True)]
    width = max((len(s) for s in series), default=0)
    out = np.full((len(rows), width), np.nan)
    for i, s in enumerate(series):
        out[i, : len(s)] = s
    return out


def flood_warning(sensors: SensorSet, levels: np.ndarray) -> tuple[int, dict[str, int]]:
    """District flood warning: the highest alert level of the river gauges and
    manholes (0 normal, 1 warning, 2 alarm, -1 no such sensor with data), and how
    many sensors of each flood kind stand at warning or above (the causes)."""
    lv = np.asarray(levels)
    causes: dict[str, int] = {}
    top = -1
    for kind in FLOOD_KINDS:
        rows = sensors.of_kind(kind)
        if rows.size == 0:
            continue
        top = max(top, int(lv[rows].max()))
        hot = int((lv[rows] >= 1).sum())
        if hot:
            causes[kind] = hot
    return top, causes
