"""Where the sun is: azimuth and elevation for a place and an aware time.

Pure (no VTK, no Qt) so that the command line, the lighting, sun-hours and the
tests share one answer. The position comes from pvlib's implementation of
NREL's Solar Position Algorithm (Reda & Andreas 2004), accurate to about
0.0003° from -2000 to 6000: far inside the 0.1° the twin needs.

Angles are in degrees. The azimuth is clockwise from (true) north; the
*geometric* elevation has no refraction (it is what shadows on a planning
drawing use); the *apparent* elevation adds standard atmospheric refraction
(what an observer sees; it is about 0.57° at the horizon) and is reported apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from twin.scene import Scene

#: Indochina Time, the default zone of a scene (twin.sim.clock.ICT, repeated so
#: that this module stays free of the simulation's imports).
ICT = timezone(timedelta(hours=7))

#: Refraction at the horizon used by SPA for the apparent elevation (degrees).
HORIZON_REFRACTION = 0.5667
#: Standard atmosphere for the refraction correction.
STANDARD_PRESSURE_HPA = 1013.25
STANDARD_TEMPERATURE_C = 12.0


@dataclass(frozen=True)
class SunPosition:
    """The sun seen from one place at one time (scalars, or arrays for many times)."""

    azimuth_deg: float | np.ndarray
    """Clockwise from true north, 0..360."""
    elevation_deg: float | np.ndarray
    """Geometric (topocentric, no refraction)."""
    apparent_elevation_deg: float | np.ndarray
    """With atmospheric refraction (standard pressure and temperature)."""
    declination_deg: float | np.ndarray
    """Geocentric declination of the sun."""
    equation_of_time_min: float | np.ndarray
    """Apparent minus mean solar time, minutes."""

    @property
    def zenith_deg(self) -> float | np.ndarray:
        return 90.0 - self.elevation_deg

    @property
    def is_up(self) -> bool | np.ndarray:
        """Above the horizon as seen (apparent elevation above 0)."""
        return self.apparent_elevation_deg > 0.0


@dataclass(frozen=True)
class SunTimes:
    """Sunrise, sunset and solar noon (transit) of one local day, aware datetimes.

    Sunrise/sunset are when the sun's upper limb touches the horizon with
    standard refraction (elevation of the centre -0.8333°), as almanacs give.
    None for polar day/night (never in Vietnam)."""

    sunrise: datetime | None
    sunset: datetime | None
    solar_noon: datetime

    @property
    def day_length(self) -> timedelta | None:
        if self.sunrise is None or self.sunset is None:
            return None
        return self.sunset - self.sunrise


def _unixtime(when: datetime | list[datetime] | np.ndarray) -> tuple[np.ndarray, bool]:
    """Epoch seconds of aware datetimes (naive ones are refused: ambiguous)."""
    scalar = isinstance(when, datetime)
    times = [when] if scalar else list(when)
    out = np.empty(len(times), dtype=np.float64)
    for i, t in enumerate(times):
        if not isinstance(t, datetime) or t.tzinfo is None or t.utcoffset() is None:
            raise ValueError(f"time {t!r} has no timezone; write e.g. +07:00")
        out[i] = t.timestamp()
    return out, scalar


def _delta_t(unixtime: np.ndarray) -> np.ndarray:
    """TT - UT (seconds) from pvlib's polynomial fit (Espenak & Meeus)."""
    from pvlib import spa

    t = unixtime.astype("datetime64[s]")
    years = t.astype("datetime64[Y]").astype(int) + 1970
    months = t.astype("datetime64[M]").astype(int) % 12 + 1
    return np.asarray(spa.calculate_deltat(years, months), dtype=np.float64)


def sun_position(
    lat: float,
    lon: float,
    when: datetime | list[datetime] | np.ndarray,
    elevation_m: float = 0.0,
    *,
    pressure_hpa: float = STANDARD_PRESSURE_HPA,
    temperature_c: float = STANDARD_TEMPERATURE_C,
    delta_t: float | None = None,
) -> SunPosition:
    """The sun's position at ``lat``/``lon`` (WGS 84 degrees) at ``when``.

    ``when`` is one aware datetime (scalar fields) or a sequence of them (array
    fields, vectorised: a day at 1-minute steps costs a few milliseconds).
    ``delta_t`` (TT - UT, s) defaults to the value for each time's month.
    """
    from pvlib import spa

    unixtime, scalar = _unixtime(when)
    dt = _delta_t(unixtime) if delta_t is None else np.full_like(unixtime, float(delta_t))
    # pvlib's numpy SPA: (apparent zenith, zenith, apparent elevation,
    # elevation, azimuth, equation of time); with sst=True (sidereal time,
    # right ascension, declination).
    _, _, app_e, e, azimuth, eot = spa.solar_position(
        unixtime, float(lat), float(lon), float(elevation_m), float(pressure_hpa),
        float(temperature_c), dt, HORIZON_REFRACTION,
    )
    _, _, decl = spa.solar_position(
        unixtime, float(lat), float(lon), float(elevation_m), float(pressure_hpa),
        float(temperature_c), dt, HORIZON_REFRACTION, sst=True,
    )
    fields = [np.asarray(v, dtype=np.float64) for v in (azimuth, e, app_e, decl, eot)]
    if scalar:
        return SunPosition(*(float(v[0]) for v in fields))
    return SunPosition(*fields)


def sun_times(lat: float, lon: float, day: date, tz: timezone = ICT) -> SunTimes:
    """Sunrise, sunset and solar noon of the calendar ``day`` in zone ``tz``."""
    import pandas as pd
    from pvlib import solarposition

    noon = datetime.combine(day, time(12), tzinfo=tz)
    index = pd.DatetimeIndex([pd.Timestamp(noon)])
    dt = float(_delta_t(np.array([noon.timestamp()]))[0])
    row = solarposition.sun_rise_set_transit_spa(index, lat, lon, delta_t=dt).iloc[0]

    def aware(value) -> datetime | None:
        if value is None or pd.isna(value):
            return None
        return datetime.fromtimestamp(pd.Timestamp(value).value / 1e9, tz=tz)

    transit = aware(row["transit"])
    assert transit is not None  # the sun always transits
    return SunTimes(aware(row["sunrise"]), aware(row["sunset"]), transit)


def sun_direction_local(
    azimuth_deg: float | np.ndarray, elevation_deg: float | np.ndarray
) -> np.ndarray:
    """Unit vector(s) from the ground *towards* the sun in scene axes.

    Scene axes: x east, y north, z up. The y axis is the projected CRS's *grid*
    north; the angle between grid and true north (grid convergence) is
    ignored. For VN-2000 TM-3 zones it is about Δλ·sin φ: at Việt Trì (105.4° E,
    21.3° N, zone 104°45') 0.65°·0.36 ≈ 0.24°, and it stays under 0.6° anywhere
    within a 3° zone in northern Vietnam, far below what lighting shows (shadow
    analyses over a whole district should rotate by it if they need better).
    Returns shape (3,) for scalars, (n, 3) for arrays.
    """
    az = np.radians(np.asarray(azimuth_deg, dtype=np.float64))
    el = np.radians(np.asarray(elevation_deg, dtype=np.float64))
    v = np.stack([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)], axis=-1)
    return v


def scene_location(scene: Scene) -> tuple[float, float, float]:
    """(lat, lon, elevation m) of the scene origin, the point the sun is computed for.

    A district spans a few km: the sun's direction changes by about 0.01° per km,
    so one point serves the whole scene."""
    lon, lat = scene.local_to_wgs84(np.zeros((1, 3)))[0]
    return float(lat), float(lon), float(scene.origin[2])


def scene_timezone(scene: Scene) -> timezone:
    """The scene file's ``[scene] timezone``, else +07:00."""
    spec = getattr(scene, "spec", None)
    tz = getattr(spec, "timezone", None) if spec is not None else None
    return tz if isinstance(tz, timezone) else ICT


def scene_sun(scene: Scene, when: datetime | list[datetime]) -> SunPosition:
    """The sun over the scene origin at ``when`` (aware)."""
    lat, lon, h = scene_location(scene)
    return sun_position(lat, lon, when, h)


def angular_separation(az1: float, el1: float, az2: float, el2: float) -> float:
    """Great-circle angle (degrees) between two sky directions: how "≤ 0.1°" is measured."""
    a = sun_direction_local(az1, el1)
    b = sun_direction_local(az2, el2)
    return math.degrees(math.atan2(float(np.linalg.norm(np.cross(a, b))), float(np.dot(a, b))))
