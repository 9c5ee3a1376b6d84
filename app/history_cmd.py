"""``citytwin history FILE``: read, import into and look after a history store.

- ``--sensor ID [--from ISO] [--to ISO] [--csv | --json]``: one sensor's stored
  observations (times in ``--tz``, +07:00 by default; a gap prints empty/null);
- ``--list``: the sensors with their row counts and first/last times;
- ``--report``: the store's counters (duplicates, conflicts, sequence gaps...);
- ``--import CSV [--map COL=SENSOR ...]``: CSV history into the store, bad rows
  skipped and listed (exit 1 when some were), with the CSV feed's settings;
- ``--retention-days N`` / ``--prune``: retention saved in the store, applied now.

The store may be written by ``citytwin ingest`` meanwhile (SQLite WAL): reading
never blocks it.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from app.loading import UserError

EXIT_OK = 0
EXIT_FINDINGS = 1


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``history`` on the ``citytwin`` sub-command parsers."""
    p = subparsers.add_parser(
        "history",
        help="print, import or prune the sensor history in a store",
        description="Read a CityTwin history store (SQLite): one sensor's observations, the "
        "sensor list, the ingest report; import CSV history; apply retention.",
    )
    p.add_argument("store", type=Path, metavar="FILE", help="history store (SQLite)")
    p.add_argument("--sensor", metavar="ID", help="sensor whose observations to print")
    p.add_argument("--from", dest="t_from", metavar="ISO", help="first time (default: all)")
    p.add_argument("--to", dest="t_to", metavar="ISO", help="last time (default: all)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV output (time,value)")
    fmt.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument("--tz", default="+07:00", help="zone for printed times and for --from/--to "
                   "without one (default +07:00)")
    p.add_argument("--list", action="store_true", help="list the sensors and their rows")
    p.add_argument("--report", action="store_true",
                   help="counters, conflicts and sequence gaps recorded by ingest")
    imp = p.add_argument_group("import")
    imp.add_argument("--import", dest="import_csv", type=Path, metavar="CSV",
                     help="import a CSV history file into the store (created if missing)")
    imp.add_argument("--time-column", default="time", help="CSV time column (default: time)")
    imp.add_argument("--map", action="append", default=[], metavar="COL=SENSOR",
                     help="CSV column to sensor id (repeat); default: every column, as named")
    imp.add_argument("--decimal", default=".", help="decimal separator (default .)")
    imp.add_argument("--thousands", default="", help="thousands separator (default: none)")
    imp.add_argument("--duplicates", choices=("first", "last", "mean"), default="first",
                     help="a column's repeated time: keep first, last or the mean")
    imp.add_argument("--naive-times", choices=("assume", "refuse"), default="assume",
                     help="a time without zone: take --tz (warning) or refuse the row")
    imp.add_argument("--encoding", default="utf-8", help="CSV encoding (default utf-8)")
    imp.add_argument("--delimiter", default=",", help="CSV field separator (default ,)")
    p.add_argument("--retention-days", type=float, metavar="N",
                   help="keep N days of history (saved in the store)")
    p.add_argument("--prune", action="store_true", help="delete what retention no longer keeps")
    return p


def _zone(text: str) -> timezone:
    from twin.sim.feeds.csv_replay import parse_zone

    try:
        return parse_zone(text)
    except ValueError as exc:
        raise UserError(f"--tz: {exc}") from None


def _when(text: str | None, tz: timezone, flag: str) -> int | None:
    from twin.sim.clock import to_ms

    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"{flag} {text!r}: not an ISO 8601 date-time, e.g. "
                        "2025-06-02T13:00+07:00") from None
    try:
        return to_ms(t if t.tzinfo else t.replace(tzinfo=tz))
    except (OverflowError, ValueError, OSError):
        raise UserError(f"{flag} {text!r}: out of range") from None


def _iso(ms: int, tz: timezone) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(ms))
            ).astimezone(tz).isoformat(timespec="milliseconds")


def run(args) -> int:
    tz = _zone(args.tz)
    if args.import_csv is not None:
        status = _import(args, tz)
        if not (args.sensor or args.list or args.report):
            return status
    if not args.store.exists():
        raise UserError(f"{args.store}: no such file")
    from twin.sim.store import HistoryStore

    try:
        store = HistoryStore(args.store, None)
        store.stats()
    except Exception as exc:
        raise UserError(f"{args.store}: not a CityTwin history store ({exc})") from None
    try:
        if args.retention_days is not None:
            try:
                store.set_retention(args.retention_days)
            except ValueError as exc:
                raise UserError(f"--retention-days: {exc}") from None
        if args.prune:
            if store.retention_days is None:
                raise UserError(f"{args.store}: no retention set (give --retention-days N)")
            print(f"pruned {store.prune():,} observations older than "
                  f"{store.retention_days:g} days", file=sys.stderr)
        if args.list:
            _list(store, tz)
        if args.report:
            _report(store, args.json)
        if args.sensor is not None:
            _series(store, args, tz)
        elif not (args.list or args.report or args.prune or args.retention_days is not None
                  or args.import_csv is not None):
            raise UserError("history: give --sensor ID, --list, --report, --import CSV or "
                            "--prune")
        return EXIT_OK
    finally:
        store.close()


def _series(store, args, tz: timezone) -> None:
    lo = _when(args.t_from, tz, "--from")
    hi = _when(args.t_to, tz, "--to")
    try:
        t, v = store.series(args.sensor, -(2**62) if lo is None else lo,
                            2**62 if hi is None else hi)
    except KeyError:
        known = ", ".join(store.sensor_ids[:10]) + (" ..." if len(store.sensor_ids) > 10 else "")
        raise UserError(f"{args.store}: no sensor {args.sensor!r} (have: {known or 'none'})"
                        ) from None
    vals = [None if x != x else float(x) for x in v.tolist()]
    out = sys.stdout
    if args.json:
        json.dump({"sensor": args.sensor, "observations": [
            {"time": _iso(ms, tz), "t_ms": int(ms), "value": val}
            for ms, val in zip(t.tolist(), vals, strict=True)]}, out, ensure_ascii=False)
        out.write("\n")
    elif args.csv:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["time", "value"])
        w.writerows((_iso(ms, tz), "" if val is None else repr(val))
                    for ms, val in zip(t.tolist(), vals, strict=True))
    else:
        for ms, val in zip(t.tolist(), vals, strict=True):
            out.write(f"{_iso(ms, tz)}  {'(gap)' if val is None else val}\n")
        print(f"{len(t)} observations of {args.sensor}", file=sys.stderr)


def _list(store, tz: timezone) -> None:
    for sid in store.sensor_ids:
        t, _ = store.series(sid, -(2**62), 2**62)
        span = f"{_iso(t[0], tz)} .. {_iso(t[-1], tz)}" if len(t) else "-"
        print(f"{sid}\t{len(t)}\t{span}")


def _report(store, as_json: bool) -> None:
    report = {"stats": store.stats(), "retention_days": store.retention_days,
              "conflicts": [{"sensor": s, "t_ms": t, "stored": _num(a), "received": _num(b)}
                            for s, t, a, b in store.conflicts(100)],
              "seq_gaps": [{"sensor": s, "first": lo, "last": hi}
                           for s, lo, hi in store.seq_gaps()]}
    if as_json:
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
        return
    for k, n in report["stats"].items():
        print(f"{k}\t{n}")
    print(f"retention_days\t{report['retention_days'] or 'keep all'}")
    for c in report["conflicts"]:
        print(f"conflict\t{c['sensor']}\t{c['t_ms']}\tstored {c['stored']}\t"
              f"received {c['received']}")
    for g in report["seq_gaps"]:
        print(f"seq gap\t{g['sensor']}\t{g['first']}..{g['last']}")


def _num(x: float) -> float | None:
    return None if x != x else x


def _import(args, tz: timezone) -> int:
    from twin.sim.ingest import import_csv

    columns = None
    if args.map:
        columns = {}
        for item in args.map:
            col, sep, sid = item.partition("=")
            if not sep or not col.strip() or not sid.strip():
                raise UserError(f"--map {item!r}: expected COLUMN=SENSOR")
            columns[col.strip()] = sid.strip()
    if not args.import_csv.exists():
        raise UserError(f"{args.import_csv}: no such file")
    options = {"tz": tz, "decimal": args.decimal, "thousands": args.thousands or None,
               "duplicates": args.duplicates, "naive_times": args.naive_times,
               "encoding": args.encoding, "delimiter": args.delimiter}
    try:
        feed = import_csv(args.store, args.import_csv, columns, args.time_column, **options)
    except (ValueError, LookupError) as exc:
        raise UserError(str(exc).splitlines()[0]) from None
    if feed.status == "failed":
        raise UserError(feed.last_error)
    c = feed.counters
    print(f"{args.import_csv}: {c['rows']} rows, {c['written']} observations new, "
          f"{c['duplicates']} already stored, {c['conflicts']} conflicts, {c['gaps']} gaps, "
          f"{c['bad_rows']} bad rows, {c['malformed']} bad values, "
          f"{c['duplicate_times']} repeated times ({feed.duplicates} kept)", file=sys.stderr)
    for line in feed.problems.lines():
        print(f"  {line}", file=sys.stderr)
    return EXIT_FINDINGS if feed.problems.count("error") or feed.problems.more else EXIT_OK
