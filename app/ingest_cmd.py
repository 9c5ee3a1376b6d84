"""``citytwin ingest SCENE --store FILE``: the scene's live feeds into a history store.

Runs headless (no Qt, no rendering) until SIGTERM or SIGINT, then flushes and
acknowledges what is buffered and exits 0. Every QoS 1 message is acknowledged
only after its observation is committed (twin.sim.feeds.mqtt), so killing this
process, even with SIGKILL, loses nothing the broker had accepted: the broker
re-delivers and the store counts the copies as duplicates.

Only the sensors' ids are needed, so a scene whose sensors have a ``location``
is read without importing its layers; ``feature``/``each``/``attach`` sensors
load the scene.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from app.loading import UserError

EXIT_OK = 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``ingest`` on the ``citytwin`` sub-command parsers."""
    p = subparsers.add_parser(
        "ingest",
        help="run a scene's live feeds (MQTT, SensorThings) into a history store, headless",
        description="Write the scene's live feeds into a SQLite history store until SIGTERM "
        "or Ctrl+C, then flush and exit 0. A QoS 1 message is acknowledged only after it is "
        "committed; re-deliveries are counted, differing ones kept as conflicts.",
    )
    p.add_argument("scene", type=Path, help="scene file (.toml) with [[sensors]] and [[feeds]]")
    p.add_argument("--store", type=Path, required=True, metavar="FILE",
                   help="history store (SQLite, created if missing)")
    p.add_argument("--csv", action="store_true",
                   help="first import the scene's CSV feeds into the store")
    p.add_argument("--retention-days", type=float, metavar="N",
                   help="keep N days of history (saved in the store; pruned hourly)")
    p.add_argument("--sync", choices=("normal", "full"), default="normal",
                   help="normal: a commit survives a killed process; full: also a power cut")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("--publish", metavar="URL",
                   help="also publish live alerts and current values to the IOC broker, "
                   "mqtt://host:port/prefix (docs/ioc-mqtt.md)")
    p.add_argument("--outbox", type=Path, metavar="FILE",
                   help="unacknowledged IOC messages (default: beside the store)")
    return p


def _sensors_and_feeds(scene_path: Path):
    """The scene's sensors (placed without layers where possible) and feeds."""
    from twin.scene import Scene
    from twin.scenefile import SceneFileError, load_scene_spec
    from twin.sim.ingest import needs_layers
    from twin.sim.sensors import parse_sensors, resolve_sensors

    if not scene_path.exists():
        raise UserError(f"{scene_path}: no such file")
    try:
        spec = load_scene_spec(scene_path)
        specs = parse_sensors(scene_path, spec.extra.get("sensors"))
        if needs_layers(specs):
            from app.loading import load_any

            scene = load_any(scene_path)
        else:
            scene = Scene(crs=spec.crs, origin=spec.origin, name=spec.name, spec=spec)
        sensors = resolve_sensors(specs, scene, scene_path)
        return sensors, spec.extra.get("feeds"), scene
    except SceneFileError as exc:
        raise UserError(str(exc)) from None


def run(args) -> int:
    from twin.scenefile import SceneFileError
    from twin.sim.feeds import make_feeds
    from twin.sim.ingest import LIVE_KINDS, run_until
    from twin.sim.store import HistoryStore

    sensors, feed_tables, scene = _sensors_and_feeds(args.scene)
    if args.publish:  # a bad address is refused before anything starts
        from twin.sim.ioc_link import IocError, parse_target

        try:
            parse_target(args.publish)
        except IocError as exc:
            raise UserError(f"--publish {exc}") from None
    if len(sensors) == 0:
        raise UserError(f"{args.scene}: no [[sensors]] to ingest")
    kinds = sorted({str(t.get("type")) for t in feed_tables or [] if isinstance(t, dict)})
    wanted = set(LIVE_KINDS) | ({"csv"} if args.csv else set())
    if not wanted & set(kinds):
        hint = " (add --csv to import its CSV feeds)" if "csv" in kinds else ""
        raise UserError(f"{args.scene}: no live feed ({', '.join(LIVE_KINDS)}) to ingest; "
                        f"feeds: {', '.join(kinds) or 'none'}{hint}")
    try:
        store = HistoryStore(args.store, sensors.ids.tolist(), synchronous=args.sync)
    except Exception as exc:
        raise UserError(f"{args.store}: cannot open the history store: {exc}") from None
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    try:
        try:
            feeds = make_feeds(args.scene, feed_tables, sensors, store)
        except SceneFileError as exc:
            raise UserError(str(exc)) from None
        if args.retention_days is not None:
            try:
                store.set_retention(args.retention_days)
            except ValueError as exc:
                raise UserError(f"--retention-days: {exc}") from None
        if args.csv:
            for feed in feeds:
                if feed.kind == "csv":
                    feed._guarded_run()
                    say(_summary(feed))
                    for line in feed.problems.lines():
                        say(f"  {line}")
        live = [f for f in feeds if f.kind in LIVE_KINDS]
        if not live:  # --csv with CSV feeds only: imported, done
            return EXIT_OK
        link, watch = _ioc_link(args, scene, sensors, store)  # after the CSV: history is not news
        stop = threading.Event()

        def on_signal(signum, frame):
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        say(f"ingest: {len(live)} live feed(s) -> {args.store}; SIGTERM or Ctrl+C to stop")
        seen: dict[str, str] = {}

        def tick(feeds) -> None:  # one line per status change (connected, reconnecting...)
            for feed in feeds:
                if seen.get(feed.name) != feed.status:
                    seen[feed.name] = feed.status
                    why = f" ({feed.last_error})" if feed.last_error else ""
                    say(f"{feed.name}: {feed.status}{why}")
            if watch is not None:
                watch.poll()
                if seen.get("\0ioc") != link.status:
                    seen["\0ioc"] = link.status
                    why = f" ({link.last_error})" if link.last_error else ""
                    say(f"IOC {link.target.url}: {link.status}{why}")

        try:
            run_until(stop, live, store, tick_s=0.1, on_tick=tick)
        finally:
            if link is not None:
                watch.poll()
                link.stop()
                say(_link_summary(link))
                link.close()
        for feed in live:
            say(_summary(feed))
        failed = [feed for feed in live if feed.status == "failed"]
        if failed and not stop.is_set():  # every feed gave up: say why, do not linger
            raise UserError(f"{args.scene}: feed {failed[0].name!r}: {failed[0].last_error}")
        return EXIT_OK
    finally:
        store.close()


def _ioc_link(args, scene, sensors, store):
    """The IOC link and its Live-mode simulation for ``--publish``, started;
    (None, None) without it."""
    if not args.publish:
        return None, None
    from twin.sim.ioc_link import IocError, IocLink, LiveWatch, default_outbox
    from twin.sim.simulation import Simulation

    outbox = args.outbox or default_outbox(args.store)
    try:
        link = IocLink(args.publish, outbox, source=args.scene.stem)
    except IocError as exc:
        raise UserError(str(exc)) from None
    link.start()
    return link, LiveWatch(link, Simulation(scene, sensors, store))


def _link_summary(link) -> str:
    keys = ("alerts_queued", "values_queued", "published", "acked", "rejected", "not_live",
            "reconnects", "errors")
    parts = [f"{k} {link.counters[k]}" for k in keys if link.counters.get(k)]
    return (f"IOC {link.target.url} [{link.status}]: " + (", ".join(parts) or "nothing")
            + f"; {len(link.outbox)} waiting in {link.outbox.path}")


def _summary(feed) -> str:
    keys = ("messages", "received", "written", "duplicates", "redelivered", "conflicts",
            "malformed", "bad_rows", "seq_missing", "acked", "errors")
    parts = [f"{k} {feed.counters[k]}" for k in keys if feed.counters.get(k)]
    tail = f"; last error: {feed.last_error}" if feed.last_error else ""
    return f"{feed.name} [{feed.kind}, {feed.status}]: " + (", ".join(parts) or "nothing") + tail
