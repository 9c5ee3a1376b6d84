"""Synthetic models of the decree's utility domains: EV charging, water supply
(pressure, district meter inflow) and drainage (manholes, rain gauges).

Each demo window holds two events, placed in hours since its start so every
window shows them (the same seed gives the same numbers, bit for bit):

- a **storm** on the first afternoon (peak :data:`STORM_H`): rain gauges peak
  at about 45 mm/h, manholes fill about half an hour later and the lowest
  ones surcharge, which raises the district flood warning while the river is
  still low;
- a **burst main** from :data:`LEAK_START_H` (first night, 22:00) to
  :data:`LEAK_END_H` (repaired the next afternoon) in the district metered
  area whose ``water_flow`` sensor has ``params.leak = 1``: its inflow gains
  ``leak_flow`` m³/h, so that night's minimum flow (02:00-04:00) is far above
  normal, and the pressure nodes near that meter drop (``leak_drop`` bar at the
  meter, fading over ~500 m).

Demand profiles follow local time (+07:00) as in :mod:`.synthetic`.
"""

from __future__ import annotations

import numpy as np

from twin.sim.sensors import SensorSet

#: kinds generated here (seeded by name, so the older kinds keep their numbers)
DOMAIN_KINDS = frozenset(
    {"ev_charger", "ev_power", "water_pressure", "water_flow", "manhole_level", "rain_gauge"})
STORM_H = 17.5
LEAK_START_H, LEAK_END_H = 22.0, 40.0
#: distance (m) over which a burst's pressure drop fades
LEAK_FADE_M = 500.0


def _g(h: np.ndarray, mu: float, sd: float) -> np.ndarray:
    d = (h - mu + 12.0) % 24.0 - 12.0
    return np.exp(-0.5 * (d / sd) ** 2)


def _param(sensors: SensorSet, rows: np.ndarray, key: str, default: float) -> np.ndarray:
    return np.array([sensors.params[i].get(key, default) for i in rows], dtype=np.float64)


def _place_factor(xy: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """(k, 1) a factor from a sensor's position, so two kinds at one site (EV
    occupancy and power of one car park) agree without sharing a generator."""
    h = np.sin(xy[:, 0] * 12.9898 + xy[:, 1] * 78.233) * 43758.5453
    return (lo + (hi - lo) * (h - np.floor(h)))[:, None]


def rain(since: np.ndarray) -> np.ndarray:
    """Areal rainfall (mm/h) of the demo: the storm and a light morning shower."""
    return (45.0 * np.exp(-0.5 * ((since - STORM_H) / 0.75) ** 2)
            + 4.0 * np.exp(-0.5 * ((since - 31.0) / 0.5) ** 2))


def drained(since: np.ndarray) -> np.ndarray:
    """The rain as it reaches the sewers (mm/h equivalent): ~35 min later,
    spread out and a fifth lost to infiltration and storage."""
    return (36.0 * np.exp(-0.5 * ((since - STORM_H - 0.6) / 1.0) ** 2)
            + 3.2 * np.exp(-0.5 * ((since - 31.6) / 0.7) ** 2))


def leak_on(since: np.ndarray) -> np.ndarray:
    """0..1: the burst, ramping in and out over a quarter of an hour."""
    up = np.clip((since - LEAK_START_H) / 0.25, 0, 1)
    down = np.clip((LEAK_END_H - since) / 0.25, 0, 1)
    return up * down


def generate(kind: str, h: np.ndarray, since: np.ndarray, rows: np.ndarray, sensors: SensorSet,
             rng: np.random.Generator) -> np.ndarray:
    """(len(rows), len(h)) values; ``h`` local hour of day, ``since`` hours since
    the window start."""
    k, m = len(rows), len(h)
    noise = rng.standard_normal((k, m))
    xy = sensors.positions[rows, :2] if k else np.empty((0, 2))
    demand = 1.0 * _g(h, 6.5, 1.0) + 0.8 * _g(h, 19.0, 1.5) + 0.3 * _g(h, 12.0, 1.5)
    if kind in ("ev_charger", "ev_power"):
        site = _place_factor(xy, 0.7, 1.25)
        use = 0.08 + 0.3 * _g(h, 8.5, 1.2) + 0.25 * _g(h, 12.5, 1.5) + 0.75 * _g(h, 19.0, 1.8)
        share = np.clip(use * site + 0.04 * noise, 0.0, 1.0)
        ports = np.maximum(_param(sensors, rows, "ports", 8.0), 1.0)[:, None]
        busy = np.round(share * ports)
        if kind == "ev_charger":
            return busy / ports * 100.0  # whole ports: 0, 12.5, 25 ... %
        port_kw = _param(sensors, rows, "port_kw", 22.0)[:, None]
        taper = np.clip(0.8 + 0.05 * rng.standard_normal((k, m)), 0.5, 1.0)
        return busy * port_kw * taper
    if kind == "rain_gauge":
        site = rng.uniform(0.8, 1.2, size=(k, 1))
        v = rain(since) * site * (1 + 0.08 * noise)
        return np.where(v < 0.2, 0.0, np.round(v, 1))  # tipping buckets: 0.1 mm steps
    if kind == "manhole_level":
        site = rng.uniform(0.7, 1.3, size=(k, 1))
        base = _param(sensors, rows, "base", 0.25)[:, None]
        response = _param(sensors, rows, "response", 0.05)[:, None]
        backwater = _param(sensors, rows, "backwater", 0.4)[:, None]
        depth = _param(sensors, rows, "depth", 2.5)[:, None]
        lagged = drained(since)
        wave = np.exp(-0.5 * ((since - 36.0) / 9.0) ** 2)  # the river's crest backs up outfalls
        v = base * (0.6 + 0.5 * demand) + response * site * lagged + backwater * wave
        return np.clip(v + 0.01 * noise, 0.0, depth)  # a surcharged manhole is full
    if kind == "water_flow":
        site = rng.uniform(0.9, 1.1, size=(k, 1))
        base = _param(sensors, rows, "base", 60.0)[:, None]
        background = _param(sensors, rows, "background", 5.0)[:, None]
        leak = _param(sensors, rows, "leak", 0.0)[:, None] > 0
        leak_flow = _param(sensors, rows, "leak_flow", 15.0)[:, None]
        v = background + base * site * (0.06 + demand) * (1 + 0.03 * noise)
        return v + np.where(leak, leak_flow * leak_on(since), 0.0)
    if kind == "water_pressure":
        site = rng.uniform(0.85, 1.15, size=(k, 1))
        static = _param(sensors, rows, "static", 3.0)[:, None]
        v = static * site - 0.5 * demand + 0.03 * noise
        return v - _burst_drop(sensors, rows) * leak_on(since)
    raise ValueError(f"no generator for kind {kind!r}")  # pragma: no cover


def _burst_drop(sensors: SensorSet, rows: np.ndarray) -> np.ndarray:
    """(k, 1) bar each pressure node loses while the burst runs: ``leak_drop``
    at the leaking district's meter, fading with distance from it."""
    flow = sensors.of_kind("water_flow")
    leaking = [i for i in flow if sensors.params[i].get("leak", 0.0) > 0]
    if not leaking or rows.size == 0:
        return np.zeros((len(rows), 1))
    at = sensors.positions[leaking[0], :2]
    d = np.hypot(*(sensors.positions[rows, :2] - at).T)
    return (_param(sensors, rows, "leak_drop", 0.8) * np.exp(-d / LEAK_FADE_M))[:, None]
