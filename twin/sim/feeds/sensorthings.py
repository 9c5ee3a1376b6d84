"""OGC SensorThings API (v1.1) over HTTP/JSON: Things, Datastreams, Observations.

Paging follows ``@iot.nextLink`` until it is absent (OGC 18-088 section 7.3.3.6),
with a guard against servers that loop (a link seen before stops paging and is
counted in ``page_loops``), a page cap and an entity cap, and de-duplication by
``@iot.id`` (data added while paging shifts pages and repeats entities).
Datastreams map to sensors by ``@iot.id``, by name, or by their Thing's name.

Polling (issue 14): every ``poll_s`` seconds each mapped datastream is asked
only for what is new, ``$filter=phenomenonTime gt <last seen>``, ordered by
time, following ``@iot.nextLink``. The optional auth header (e.g.
``Authorization: Bearer …``) comes from :mod:`twin.sim.secrets`, and is sent
only to the service's own origin: never along a redirect, never to a nextLink
on another host. A refused login (401/403) or an untrusted certificate fails
the feed at once with one line (polling again cannot fix either); a server
that is down is polled again at the next interval.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime

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
    poll_s : seconds between polls; 0 (the default here; scene files default
        to 60) reads once and stops, and then an error fails the feed.
    auth_header, auth_value : one HTTP header sent with every request to the
        service's origin (the value is a secret: never from a file).
    ca_file : CA certificate(s) to trust for https (else the system's).
    """

    kind = "sensorthings"

    def __init__(self, name: str, sensors: SensorSet, store: HistoryStore, url: str,
                 datastreams: dict[str, str] | None = None, max_pages: int = 1000,
                 max_entities: int = 1_000_000, timeout: float = 10.0,
                 future_ms: int | None = 24 * 3600_000, poll_s: float = 0.0,
                 auth_header: str | None = None, auth_value: str | None = None,
                 ca_file: str | None = None) -> None:
        super().__init__(name, sensors, store, future_ms=future_ms)
        self.url = url.rstrip("/")
        self.datastreams = dict(datastreams or {})
        self.max_pages, self.max_entities, self.timeout = max_pages, max_entities, timeout
        self.poll_s = poll_s
        self.auth_header, self.auth_value = auth_header, auth_value
        self.ca_file = ca_file
        #: why the last poll failed: "" (none), "auth", "tls_untrusted", "unreachable",
        #: "http", "bad_data", "config"
        self.error_code = ""
        #: observations link -> last phenomenonTime seen (ms): the next poll's $filter
        self.last_seen: dict[str, int] = {}
        self._streams: list[tuple[str, str]] | None = None
        self._origin = _origin(self.url)
        self._ssl: ssl.SSLContext | None = None  # built in run(): a bad CA file fails the feed

    def _get(self, url: str) -> dict:
        req = urllib.request.Request(url, headers={"Accept": "application/json"})
        if self.auth_header and self.auth_value and _origin(url) == self._origin:
            req.add_unredirected_header(self.auth_header, self.auth_value)
        with urllib.request.urlopen(req, timeout=self.timeout, context=self._ssl) as resp:
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

    def discover(self) -> list[tuple[str, str]]:
        """(sensor id, observations link) of every mapped datastream."""
        streams = []
        for ds in self.pages(f"{self.url}/Datastreams?$expand=Thing"):
            sensor = self._sensor_for(ds)
            if sensor is None:
                self.counters["unmapped_datastreams"] += 1
                continue
            link = ds.get("Observations@iot.navigationLink") or \
                f"{self.url}/Datastreams({json.dumps(ds['@iot.id'])})/Observations"
            streams.append((sensor, link))
        return streams

    def poll_once(self) -> int:
        """Read what is new in every mapped datastream; rows newly stored."""
        if self._streams is None:
            self._streams = self.discover()
        new = 0
        for sensor, link in self._streams:
            sep = "&" if "?" in link else "?"
            url = f"{link}{sep}$orderby=phenomenonTime%20asc&$select=@iot.id,phenomenonTime,result"
            last = self.last_seen.get(link)
            if last is not None:
                url += "&$filter=" + urllib.parse.quote(f"phenomenonTime gt {_iso(last)}")
            times: list[int] = []
            vals: list[float] = []
            for obs in self.pages(url):
                t = _time_ms(str(obs.get("phenomenonTime", "")).split("/")[-1])
                r = obs.get("result")
                if t is None or isinstance(r, bool) or not isinstance(r, int | float):
                    self.counters["malformed"] += 1
                    continue
                times.append(t)
                vals.append(float(r))
            if times:
                new += self.write([sensor] * len(times), np.array(times, dtype=np.int64), vals,
                                  gaps_ok=False)
                self.last_seen[link] = max(max(times), last or times[0])
        self.counters["polls"] += 1
        return new

    def run(self) -> None:
        self.status = "connecting"
        if self.ca_file and self._ssl is None:
            try:
                self._ssl = ssl.create_default_context(cafile=self.ca_file)
            except (OSError, ssl.SSLError) as exc:
                self.error_code = "config"
                self.fail(f"{self.ca_file}: not a readable CA certificate (PEM) "
                          f"({getattr(exc, 'strerror', None) or exc})")
                return
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:
                code, text = describe_http_error(exc, self.url)
                self.error_code = code
                if code in ("auth", "tls_untrusted") or self.poll_s <= 0:
                    self.fail(text)  # polling again cannot fix these
                    return
                self.last_error = text
                self.counters["errors"] += 1
                self.status = "connecting"
            else:
                self.status, self.error_code = "running", ""
            if self.poll_s <= 0 or self._stop.wait(self.poll_s):
                return


def describe_http_error(exc: BaseException, url: str) -> tuple[str, str]:
    """``(error code, one line)`` for a failed request to ``url``: codes
    ``auth``, ``tls_untrusted``, ``http``, ``unreachable``, ``bad_data``."""
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code in (401, 403):
            return "auth", (f"{url} refused access (HTTP {exc.code} {exc.reason}): "
                            "check the auth header")
        return "http", f"{url}: HTTP {exc.code} {exc.reason}"
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ssl.SSLCertVerificationError):
        return "tls_untrusted", (f"certificate of {url} is not trusted "
                                 f"({reason.verify_message or reason.reason}): check the CA file")
    if isinstance(exc, ValueError | KeyError | TypeError | AttributeError):  # JSON etc.
        return "bad_data", f"{url}: not a SensorThings answer ({type(exc).__name__}: {exc})"
    return "unreachable", f"cannot reach {url} ({reason})"


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def feed_from_table(r, name: str, sensors: SensorSet, store: HistoryStore,
                    secret: str | None = None) -> SensorThingsFeed:
    """A SensorThingsFeed from a ``[[feeds]] type = "sensorthings"`` table (scene
    file or project). The auth header's value is ``secret`` (typed in the window)
    or comes from :mod:`twin.sim.secrets` by the service URL, never the table."""
    from twin.sim import secrets

    for key in ("auth_value", "password", "token"):
        if key in r.table:
            r.used.add(key)
            raise r.fail(key, "secrets never go in scene or project files: use the keyring, "
                         f"{secrets.ENV_VARS['sensorthings']} or the file {secrets.secrets_path()}")
    url = r.get("url", str)
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise r.fail("url", f"expected an http(s):// service root, got {url!r}")
    mapping = r.get("datastreams", dict, {})
    poll = r.get("poll_s", float, 60.0)
    if poll < 0:
        raise r.fail("poll_s", f"must be 0 (read once) or a positive number, got {poll}")
    ca = r.get("ca_file", str, None)
    if ca:
        ca_path = (r.path.parent / ca).resolve()
        if not ca_path.is_file():
            raise r.fail("ca_file", f"file not found: {ca_path}")
        ca = str(ca_path)
    header = r.get("auth_header", str, "Authorization")
    env = r.get("auth_env", str, secrets.ENV_VARS["sensorthings"])
    value = secret
    if value is None and header:
        try:
            value = secrets.lookup(secrets.secret_key("sensorthings", url.rstrip("/")), env)
        except secrets.SecretError as exc:
            raise r.fail("auth_header", str(exc)) from None
    return SensorThingsFeed(name, sensors, store, url,
                            datastreams={str(k): str(v) for k, v in mapping.items()},
                            poll_s=poll, auth_header=header or None, auth_value=value, ca_file=ca)
