"""``citytwin sun SCENE --time ISO [--json]``: where the sun is over a scene.

Prints the azimuth (clockwise from north), the geometric elevation and, apart,
the apparent one with refraction, and the day's sunrise, solar noon and sunset
in the scene's time zone (``[scene] timezone``, default +07:00).

Only the scene's location is needed, so a scene file is read without importing
its layers and a data file only for its CRS and extent: the answer is instant.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

from app.loading import UserError

EXIT_OK = 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``sun`` on the ``citytwin`` sub-command parsers."""
    p = subparsers.add_parser(
        "sun",
        help="sun position and sunrise/sunset over a scene at a time",
        description="Azimuth (degrees clockwise from north), elevation (geometric; the "
        "apparent elevation with refraction is given apart) and the day's sunrise and "
        "sunset, in the scene's time zone.",
    )
    p.add_argument("scene", type=Path, help="scene file (.toml) or data file")
    p.add_argument(
        "--time", metavar="ISO", default=None,
        help="ISO 8601 date-time, e.g. 2025-12-21T09:00+07:00 (no offset: the scene's "
        "time zone), or 'now'. Default: the scene file's [scene] time",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def _location_scene(path: Path):
    """A layer-less scene with the file's CRS, origin and spec."""
    from twin.scene import Scene

    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.suffix.lower() == ".toml":
        from twin.scenefile import load_scene_spec

        spec = load_scene_spec(path)
        return Scene(crs=spec.crs, origin=spec.origin, name=spec.name, spec=spec)
    from app.loading import scene_for_file

    scene, _ = scene_for_file(path)
    return scene


def _when(text: str | None, scene, tz: timezone) -> datetime:
    if text is None:
        spec_time = scene.spec.time if scene.spec is not None else None
        if spec_time is None:
            raise UserError("--time: the scene declares no [scene] time; give --time ISO")
        return spec_time.astimezone(tz)
    from twin.viewstate import parse_time

    try:
        return parse_time(text, tz=tz).astimezone(tz)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def sun_report(scene, when: datetime) -> dict:
    """What the command prints, as plain data (also for the window's status line)."""
    from twin.sun import scene_location, scene_sun, scene_timezone, sun_times

    tz = scene_timezone(scene)
    when = when.astimezone(tz)
    lat, lon, h = scene_location(scene)
    pos = scene_sun(scene, when)
    times = sun_times(lat, lon, when.date(), tz)

    def iso(t: datetime | None) -> str | None:
        return t.isoformat(timespec="seconds") if t is not None else None

    length = times.day_length
    return {
        "time": iso(when),
        "latitude": round(lat, 6),
        "longitude": round(lon, 6),
        "elevation_m": round(h, 2),
        "azimuth_deg": round(pos.azimuth_deg, 4),
        "elevation_deg": round(pos.elevation_deg, 4),
        "apparent_elevation_deg": round(pos.apparent_elevation_deg, 4),
        "sun_up": bool(pos.is_up),
        "sunrise": iso(times.sunrise),
        "solar_noon": iso(times.solar_noon),
        "sunset": iso(times.sunset),
        "day_length_h": round(length.total_seconds() / 3600, 4) if length else None,
        "algorithm": "NREL SPA (pvlib)",
    }


def run(args: argparse.Namespace) -> int:
    """Run ``citytwin sun``; bad input raises :class:`UserError` (exit 2 in ``main``)."""
    from twin.sun import scene_timezone

    scene = _location_scene(Path(args.scene))
    tz = scene_timezone(scene)
    report = sun_report(scene, _when(getattr(args, "time", None), scene, tz))
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return EXIT_OK
    up = "" if report["sun_up"] else "  (below the horizon)"
    hhmm = {k: report[k][11:16] if report[k] else "—" for k in ("sunrise", "solar_noon", "sunset")}
    lat, lon = report["latitude"], report["longitude"]
    ns, ew = ("N" if lat >= 0 else "S"), ("E" if lon >= 0 else "W")
    print(f"{scene.name}  {abs(lat):.4f}° {ns}  {abs(lon):.4f}° {ew}")
    print(f"time       {report['time']}")
    print(f"azimuth    {report['azimuth_deg']:8.3f}°  (clockwise from north)")
    print(f"elevation  {report['elevation_deg']:8.3f}°  (geometric){up}")
    print(f"apparent   {report['apparent_elevation_deg']:8.3f}°  (with atmospheric refraction)")
    print(
        f"sunrise {hhmm['sunrise']}  solar noon {hhmm['solar_noon']}  sunset {hhmm['sunset']}"
        f"  ({when_zone(report['time'])})"
    )
    return EXIT_OK


def when_zone(iso: str) -> str:
    """``UTC+07:00`` from an ISO time's offset, for the sunrise line."""
    return "UTC" + (iso[-6:] if iso[-6] in "+-" else "+00:00")
