"""Headless ingest: a scene's live feeds written into a history store until told to stop.

``citytwin ingest`` runs this (no Qt, no rendering): a long-lived process on a
server next to the broker, whose store the app opens to show the history. The
feeds already commit before they acknowledge (twin.sim.feeds.mqtt), so this
module only starts them, applies the store's retention every ``prune_every_s``,
and on a stop request flushes and acknowledges what is buffered before leaving.
Also here: importing a CSV history file into a store (``citytwin history
--import``), with the CSV feed's per-row robustness.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from twin.sim.feeds.base import Feed
from twin.sim.sensors import SensorSet, SensorSpec
from twin.sim.store import HistoryStore

#: feeds that run until stopped (the others replay a finite history)
LIVE_KINDS = ("mqtt", "sensorthings")
FINITE_KINDS = ("csv", "synthetic")


def needs_layers(specs: list[SensorSpec]) -> bool:
    """Whether placing these sensors needs the scene's layers (``feature``,
    ``each``, ``attach``); ingest loads no layer it does not need."""
    return any(s.feature is not None or s.each is not None or s.attach is not None
               for s in specs)


def bare_sensors(ids: list[str]) -> SensorSet:
    """A SensorSet of ids only (no place, no kind): enough to store their history."""
    n = len(ids)
    return SensorSet(
        ids=np.array(ids, dtype=object), kinds=np.array(["unknown"] * n, dtype=object),
        units=np.array([""] * n, dtype=object), names=np.array([""] * n, dtype=object),
        positions=np.zeros((n, 3)), layer=np.array([None] * n, dtype=object),
        row=np.full(n, -1, np.int64), warning=np.full(n, np.nan), alarm=np.full(n, np.nan),
        params=[{} for _ in range(n)],
    )


#: Feed states that no longer receive anything (see :class:`twin.sim.feeds.base.Feed`).
ENDED = frozenset({"failed", "done", "stopped"})


def run_until(stop: threading.Event, feeds: list[Feed], store: HistoryStore,
              prune_every_s: float = 3600.0, tick_s: float = 0.5,
              on_tick: Callable[[list[Feed]], None] | None = None) -> None:
    """Start ``feeds``, keep them running until ``stop`` is set or none of them
    runs any more (a broker that refuses the login is not retried: waiting on
    would look like a working ingest that writes nothing), prune the store on
    its retention schedule, then stop every feed (each flushes and acknowledges
    its last batch) in order."""
    for feed in feeds:
        feed.start()
    next_prune = time.monotonic()
    try:
        while not stop.wait(tick_s):
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + prune_every_s
                try:
                    store.prune()
                except Exception as exc:  # a failed prune must not stop ingest
                    for feed in feeds:
                        feed.last_error = f"prune: {exc}"
            if on_tick is not None:
                on_tick(feeds)
            if all(feed.status in ENDED for feed in feeds):
                break
    finally:
        for feed in feeds:
            feed.stop(timeout=10.0)


def import_csv(store_path: Path | str, csv_path: Path | str, columns: dict[str, str] | None,
               time_column: str = "time", **options) -> Feed:
    """Import one CSV file into a store (created if missing); returns the finished
    feed (its ``counters`` and ``problems`` say what happened).

    ``columns``: CSV column -> sensor id; None maps every column but the time
    column to a sensor of the same name. ``options``: the CSV feed's settings
    (tz, decimal, thousands, duplicates, naive_times, encoding, delimiter).
    """
    from twin.sim.feeds.csv_replay import CsvReplayFeed

    csv_path = Path(csv_path)
    if columns is None:
        columns = _header_columns(csv_path, time_column, options)
    ids = list(dict.fromkeys(columns.values()))
    store = HistoryStore(store_path, ids)
    try:
        feed = CsvReplayFeed(f"import {csv_path.name}", bare_sensors(ids), store, csv_path,
                             columns=columns, time_column=time_column, **options)
        feed._guarded_run()
    finally:
        store.close()
    return feed


def _header_columns(csv_path: Path, time_column: str, options: dict) -> dict[str, str]:
    import csv

    try:
        with csv_path.open(encoding=options.get("encoding", "utf-8-sig"), errors="replace",
                           newline="") as f:
            header = next(csv.reader(f, delimiter=options.get("delimiter", ",")), [])
    except OSError as exc:
        raise ValueError(f"{csv_path}: cannot read: {exc.strerror or exc}") from None
    header = [h.strip().lstrip("\ufeff") for h in header]
    if time_column not in header:
        raise ValueError(f"{csv_path}: no column {time_column!r}; have {', '.join(header)}")
    return {h: h for h in header if h and h != time_column}
