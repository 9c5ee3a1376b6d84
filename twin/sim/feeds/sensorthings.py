"""OGC SensorThings API (v1.1) over HTTP/JSON: Things, Datastreams, Observations.

Paging follows ``@iot.nextLink`` until it is absent (OGC 18-088 section 7.3.3.6),
with a guard against servers that loop (a link seen before stops paging and is
counted in ``page_loops``), a page cap and an entity cap, and de-duplication by
``@iot.id`` (data added while paging shifts pages and repeats entities).
Datastreams map to sensors by ``@iot.id``, by name, or by their Thing's name.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator

import numpy as np

from twin.sim.feeds.base import Feed
from twin.sim.feeds.mqtt import _time_ms
from twin.sim.sensors import SensorSet
from twin.sim.store import HistoryStore


class SensorThingsFeed(Feed):
    """Read observations of mapped datastreams from a SensorThings service.

    Parameters
    ----------
    url : service root, e.g. ``http://host/FROST-Server/v1.1``.
    datastreams : datastream ``@iot.id`` or name (or Thing name) -> sensor id;
        empty maps datastreams whose name or Thing name *is* a sensor id.
    max_pages, max_entities : caps per collection, so a broken server cannot
        keep the feed busy forever.
    timeout : seconds per HTTP request.
    """

    kind = "sensorthings"

    def __init__(self, name: str, sensors: SensorSet, store: HistoryStore, url: str,
                 datastreams: dict[str, str] | None = None, max_pages: int = 1000,
                 max_entities: int = 1_000_000, timeout: float = 10.0,
                 future_ms: int | None = 24 * 3600_000) -> None:
        super().__init__(name, sensors, store, future_ms=future_ms)
        self.url = url.rstrip("/")
        self.datastreams = dict(datastreams or {})
        self.max_pages, self.max_entities, self.timeout = max_pages, max_entities, timeout

    def _get(self, url: str) -> dict:
        with urllib.request.urlopen(url, timeout=self.timeout) as resp:
            return json.loads(resp.read().decode("utf-8"))

    def pages(self, url: str) -> Iterator[dict]:
        """Every entity of a collection, following nextLinks with the guards."""
        seen_links: set[str] = set()
        seen_ids: set = set()
        count = 0
        for _ in range(self.max_pages):
            if self._stop.is_set():
                return
            seen_links.add(url)
            doc = self._get(url)
            self.counters["pages"] += 1
            for entity in doc.get("value", []):
                key = entity.get("@iot.id")
                if key is not None:
                    if key in seen_ids:
                        self.counters["duplicates_paging"] += 1
                        continue
                    seen_ids.add(key)
                count += 1
                if count > self.max_entities:
                    self.counters["capped"] += 1
                    return
                yield entity
            nxt = doc.get("@iot.nextLink")
            if not nxt:
                return
            nxt = urllib.parse.urljoin(url, nxt)
            if nxt in seen_links:
                self.counters["page_loops"] += 1
                self.last_error = f"nextLink loop at {nxt}"
                return
            url = nxt
        self.counters["capped"] += 1

    def _sensor_for(self, ds: dict) -> str | None:
        thing = (ds.get("Thing") or {}).get("name")
        for key in (str(ds.get("@iot.id")), ds.get("name"), thing):
            if key is not None and key in self.datastreams:
                return self.datastreams[key]
        if not self.datastreams:
            for key in (ds.get("name"), thing):
                if key is not None and self.sensors.indices([key])[0] >= 0:
                    return key
        return None

    def run(self) -> None:
        self.status = "connecting"
        streams = []
        for ds in self.pages(f"{self.url}/Datastreams?$expand=Thing"):
            sensor = self._sensor_for(ds)
            if sensor is None:
                self.counters["unmapped_datastreams"] += 1
                continue
            link = ds.get("Observations@iot.navigationLink") or \
                f"{self.url}/Datastreams({json.dumps(ds['@iot.id'])})/Observations"
            streams.append((sensor, link))
        self.status = "running"
        for sensor, link in streams:
            sep = "&" if "?" in link else "?"
            url = f"{link}{sep}$orderby=phenomenonTime%20asc&$select=@iot.id,phenomenonTime,result"
            ids: list[str] = []
            times: list[int] = []
            vals: list[float] = []
            for obs in self.pages(url):
                t = _time_ms(str(obs.get("phenomenonTime", "")).split("/")[-1])
                r = obs.get("result")
                if t is None or isinstance(r, bool) or not isinstance(r, int | float):
                    self.counters["malformed"] += 1
                    continue
                ids.append(sensor)
                times.append(t)
                vals.append(float(r))
            self.write(ids, np.array(times, dtype=np.int64), vals, gaps_ok=False)
