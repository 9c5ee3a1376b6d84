"""Feed adapters and the ``[[feeds]]`` scene-file tables that declare them.

One interface (:class:`twin.sim.feeds.base.Feed`), four adapters: CSV replay,
synthetic generator, MQTT (paho 2) and OGC SensorThings API. Credentials never
live in the scene file: passwords and auth headers come from the environment,
the OS keyring or a private file (:mod:`twin.sim.secrets`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from twin.scenefile import SceneFileError, _Reader
from twin.sim.feeds.base import Feed
from twin.sim.sensors import SensorSet
from twin.sim.store import HistoryStore

FEED_TYPES = ("synthetic", "csv", "mqtt", "sensorthings")


def _aware(r: _Reader, name: str, default: Any = ...) -> datetime | Any:
    value = r.get(name, datetime, default)
    if isinstance(value, datetime) and value.tzinfo is None:
        raise r.fail(name, "needs a timezone offset, e.g. 2025-06-01T00:00:00+07:00")
    return value


def _csv_options(r: _Reader) -> dict[str, Any]:
    """A CSV feed's robustness settings (twin.sim.feeds.csv_replay): zone for naive
    times, number separators, duplicate policy, encoding, delimiter."""
    from twin.sim.feeds.csv_replay import DUPLICATE_POLICIES, NAIVE_POLICIES, parse_zone

    try:
        tz = parse_zone(r.get("timezone", str, "+07:00"))
    except ValueError as exc:
        raise r.fail("timezone", str(exc)) from None
    out = {"tz": tz, "decimal": r.get("decimal", str, "."),
           "thousands": r.get("thousands", str, "") or None,
           "duplicates": r.get("duplicates", str, "first"),
           "naive_times": r.get("naive_times", str, "assume"),
           "encoding": r.get("encoding", str, "utf-8"), "delimiter": r.get("delimiter", str, ",")}
    for key, allowed in (("duplicates", DUPLICATE_POLICIES), ("naive_times", NAIVE_POLICIES)):
        if out[key] not in allowed:
            raise r.fail(key, f"expected one of {', '.join(allowed)}, got {out[key]!r}")
    for key in ("decimal", "thousands", "delimiter"):
        if out[key] is not None and len(out[key]) != 1:
            raise r.fail(key, f"expected one character, got {out[key]!r}")
    if out["decimal"] == out["thousands"]:
        raise r.fail("decimal", "must differ from thousands")
    import codecs

    try:
        codecs.lookup(out["encoding"])
    except LookupError:
        raise r.fail("encoding", f"unknown encoding {out['encoding']!r}") from None
    return out


def make_feed(path: Path, table: dict[str, Any], prefix: str, sensors: SensorSet,
              store: HistoryStore, secret: str | None = None) -> Feed:
    """Validate one ``[[feeds]]`` table and build its adapter (not started).
    ``secret`` (MQTT password, SensorThings auth value) as typed in the window;
    else it comes from :mod:`twin.sim.secrets`, never from the table."""
    r = _Reader(path, table, prefix)
    kind = r.get("type", str)
    name = r.get("name", str, f"{kind} {prefix}")
    if kind not in FEED_TYPES:
        raise r.fail("type", f"expected one of {', '.join(FEED_TYPES)}, got {kind!r}")
    feed: Feed
    if kind == "synthetic":
        from twin.sim.feeds.synthetic import SyntheticFeed

        start = _aware(r, "start")
        end = _aware(r, "end", start + timedelta(days=2))
        if end <= start:
            raise r.fail("end", "must be after start")
        step = r.get("step_minutes", float, 15.0)
        if step <= 0:
            raise r.fail("step_minutes", f"must be positive, got {step}")
        feed = SyntheticFeed(name, sensors, store, start, end,
                             step=timedelta(minutes=step), seed=r.get("seed", int, 0))
    elif kind == "csv":
        from twin.sim.feeds.csv_replay import CsvReplayFeed

        columns = r.get("columns", dict)
        if not columns or not all(isinstance(v, str) for v in columns.values()):
            raise r.fail("columns", 'expected a table of column = "sensor id"')
        for sid in columns.values():
            if sensors.indices([sid])[0] < 0:
                raise r.fail("columns", f"names unknown sensor {sid!r}")
        feed = CsvReplayFeed(name, sensors, store, (path.parent / r.get("path", str)).resolve(),
                             columns=dict(columns), time_column=r.get("time_column", str, "time"),
                             **_csv_options(r))
    elif kind == "mqtt":
        from twin.sim.feeds.mqtt import feed_from_table

        feed = feed_from_table(r, name, sensors, store, secret)
    else:
        from twin.sim.feeds.sensorthings import feed_from_table as sta_from_table

        feed = sta_from_table(r, name, sensors, store, secret)
    stale = r.get("stale_after_s", float, None)
    if stale is not None and not stale > 0:
        raise r.fail("stale_after_s", f"must be a positive number of seconds, got {stale}")
    feed.stale_after_s = stale  # no data for this long: the window shows the feed stale
    r.check_unknown()
    return feed


def make_feeds(path: Path | str, items: Any, sensors: SensorSet,
               store: HistoryStore) -> list[Feed]:
    """Every ``[[feeds]]`` table of a scene file (``SceneSpec.extra['feeds']``)."""
    path = Path(path)
    if items is None:
        return []
    if not isinstance(items, list):
        raise SceneFileError(path, "feeds", "expected a list of tables ([[feeds]])")
    return [make_feed(path, t, f"feeds[{i}]", sensors, store) for i, t in enumerate(items)]
