"""A seeded generator of plausible sensor data, so pilot scenes are alive offline.

Patterns follow local time (+07:00): traffic peaks at 7-9 h and 17-19 h and is
lighter at weekends; street lights switch on at dusk and dim after midnight; AQI
climbs with the morning and evening rush and with a pollution episode; water
demand peaks at breakfast and dinner; the river rises in a flood wave on the
second day; bins fill up and are emptied at dawn. Same seed, same sensors, same
times -> the same numbers, bit for bit.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta

import numpy as np

from twin.sim.clock import to_ms
from twin.sim.feeds import domains
from twin.sim.feeds.base import Feed
from twin.sim.sensors import SensorSet
from twin.sim.store import HistoryStore

DAY_MS = 86_400_000


def _g(h: np.ndarray, mu: float, sd: float) -> np.ndarray:
    """Circular-in-the-day Gaussian bump at hour ``mu``."""
    d = (h - mu + 12.0) % 24.0 - 12.0
    return np.exp(-0.5 * (d / sd) ** 2)


def _param(sensors: SensorSet, rows: np.ndarray, key: str, default: float) -> np.ndarray:
    return np.array([sensors.params[i].get(key, default) for i in rows], dtype=np.float64)


def generate(kind: str, t_ms: np.ndarray, rows: np.ndarray, sensors: SensorSet,
             rng: np.random.Generator, t0_ms: int) -> np.ndarray:
    """(len(rows), len(t_ms)) values of sensors ``rows`` (all of ``kind``).

    ``t0_ms`` is the start of the generated window: episodes (flood wave,
    pollution) are placed relative to it so every demo window shows them.
    """
    k, m = len(rows), len(t_ms)
    local_s = t_ms / 1000.0 + 7 * 3600
    h = (local_s % 86400) / 3600.0
    weekday = ((local_s // 86400 + 3) % 7).astype(int)  # 1970-01-01 was a Thursday
    weekend = np.where(weekday >= 5, 0.65, 1.0)
    since = (t_ms - t0_ms) / 3600_000.0  # hours since the window start
    site = rng.uniform(0.6, 1.3, size=(k, 1))
    noise = rng.standard_normal((k, m))
    # smooth noise: a short moving average keeps values from flickering per step
    smooth = np.cumsum(noise, axis=1)
    smooth = (smooth - np.concatenate([np.zeros((k, 4)), smooth[:, :-4]], axis=1)) / 2.0

    if kind in domains.DOMAIN_KINDS:  # EV, water supply and drainage: twin.sim.feeds.domains
        v = domains.generate(kind, h, since, rows, sensors, rng)
    elif kind == "traffic":
        shape = 0.06 + 0.9 * _g(h, 7.8, 1.1) + 0.8 * _g(h, 17.6, 1.4) + 0.35 * _g(h, 12.5, 2.5)
        cap = _param(sensors, rows, "capacity", 1400.0)[:, None]
        v = cap * site * shape * weekend * (1 + 0.06 * noise)
    elif kind == "street_light":
        on = (h >= 17.9) | (h < 5.8)
        dim = (h >= 23.0) | (h < 4.5)
        v = np.where(on, np.where(dim, 60.0, 100.0), 0.0) * np.ones((k, 1))
        dead = rng.random(k) < 0.03  # a few failed lamps, for the maintenance crew
        v[dead] = 0.0
    elif kind == "air_quality":
        base = _param(sensors, rows, "base", 70.0)[:, None]
        shape = 40 * _g(h, 8.0, 2.0) + 35 * _g(h, 20.5, 2.5) - 15 * _g(h, 14.0, 3.0)
        episode = 90 * np.exp(-0.5 * ((since - 40.0) / 5.0) ** 2)  # day 2, evening
        v = base * site + shape + episode * site**2 + 6 * smooth
        v = np.clip(v, 5, 500)
    elif kind == "noise":
        shape = _g(h, 7.8, 1.5) + _g(h, 17.6, 1.8) + 0.5 * _g(h, 12.5, 3)
        v = 45 + 18 * shape * weekend + 1.5 * noise + 4 * (site - 1)
    elif kind == "parking":
        v = np.clip(15 + 75 * _g(h, 10.5, 3.0) * weekend * site + 3 * noise, 0, 100)
    elif kind == "energy":
        v = site * (6 + 22 * _g(h, 19.5, 2.5) + 12 * _g(h, 11.0, 3.0)) * (1 + 0.05 * noise)
    elif kind == "solar":
        day = np.clip(np.sin(np.pi * (h - 6.0) / 12.5), 0, None)
        days = ((t_ms - t0_ms) // DAY_MS).astype(int)
        clouds = rng.uniform(0.45, 1.0, size=(k, int(days.max()) + 1 if m else 1))
        v = _param(sensors, rows, "peak", 30.0)[:, None] * day * clouds[:, days]
    elif kind == "water_meter":
        shape = 0.1 + 1.0 * _g(h, 6.5, 1.0) + 0.8 * _g(h, 19.0, 1.5) + 0.3 * _g(h, 12.0, 1.5)
        v = 350 * site * shape * (1 + 0.1 * noise)
        leak = rng.random(k) < 0.08  # leaking services keep flowing at night
        v[leak] += 120
        v = np.clip(v, 0, None)
    elif kind == "water_quality":
        v = np.clip(0.8 * site + 0.3 * smooth * 0.2 + 0.1 * noise, 0.05, None)
    elif kind == "water_level":
        base = _param(sensors, rows, "base", 1.0)[:, None]
        peak = _param(sensors, rows, "peak", 4.5)[:, None]
        wave = np.exp(-0.5 * ((since - 36.0) / 9.0) ** 2)  # flood crest on day 2
        v = base + (peak - base) * wave + 0.15 * np.sin(2 * np.pi * h / 12.4) + 0.02 * noise
    elif kind == "waste":
        hours = (h - 5.0) % 24.0  # emptied at 05:00
        v = np.clip(hours / 24.0 * 100 * site * 1.1 + 2 * noise, 0, 100)
    else:  # pragma: no cover - KINDS is closed
        raise ValueError(f"no generator for kind {kind!r}")
    return np.broadcast_to(v, (k, m)).astype(np.float64)


class SyntheticFeed(Feed):
    """Generate ``[start, end]`` every ``step`` for every sensor into the store.

    Parameters
    ----------
    start, end : aware datetimes of the demo window.
    step : sampling interval.
    seed : the same seed gives the same data.
    """

    kind = "synthetic"

    def __init__(self, name: str, sensors: SensorSet, store: HistoryStore, start: datetime,
                 end: datetime, step: timedelta = timedelta(minutes=15), seed: int = 0) -> None:
        super().__init__(name, sensors, store, future_ms=None)
        self.start_time, self.end_time, self.step, self.seed = start, end, step, seed

    def times(self) -> np.ndarray:
        t0, t1 = to_ms(self.start_time), to_ms(self.end_time)
        return np.arange(t0, t1 + 1, int(self.step.total_seconds() * 1000), dtype=np.int64)

    def values(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """kind -> (sensor rows, (k, m) values); pure, for tests and previews."""
        t = self.times()
        out = {}
        kinds = sorted(set(self.sensors.kinds.tolist()))
        # the first kinds are seeded by their place among the scene's first kinds, the
        # domain kinds by name: adding a domain keeps every other kind's numbers
        first = [k for k in kinds if k not in domains.DOMAIN_KINDS]
        for kind in kinds:
            rows = self.sensors.of_kind(kind)
            key = zlib.crc32(kind.encode()) if kind in domains.DOMAIN_KINDS else first.index(kind)
            rng = np.random.default_rng([self.seed, key])
            out[kind] = (rows, generate(kind, t, rows, self.sensors, rng, int(t[0])))
        return out

    def run(self) -> None:
        self.status = "running"
        t = self.times()
        for rows, vals in self.values().values():
            if self._stop.is_set():
                return
            k, m = vals.shape
            self.write(np.repeat(rows, m), np.tile(t, k), vals.ravel())
