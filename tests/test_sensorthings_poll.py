"""SensorThings polling against a real local HTTP server (http.server in a thread)
that serves SensorThings-shaped JSON, pages with ``@iot.nextLink`` (two per
page), honours ``$filter=phenomenonTime gt …`` and may require an auth header.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlparse

import numpy as np
import pytest

from twin.scenefile import SceneFileError
from twin.sim.feeds import make_feed
from twin.sim.feeds.sensorthings import SensorThingsFeed
from twin.sim.sensors import SensorSet
from twin.sim.store import HistoryStore

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
TOKEN = "Bearer vt-9f2c"


def sensors(ids=("WL-1", "WL-2")) -> SensorSet:
    n = len(ids)
    return SensorSet(
        ids=np.array(ids, object), kinds=np.array(["water_level"] * n, object),
        units=np.array(["m"] * n, object), names=np.array([""] * n, object),
        positions=np.zeros((n, 3)), layer=np.array([None] * n, object),
        row=np.full(n, -1, np.int64), warning=np.full(n, np.nan), alarm=np.full(n, np.nan),
        params=[{} for _ in ids])


class Service:
    """The server's data and what it was asked (shared with the handler)."""

    def __init__(self) -> None:
        self.obs: dict[int, list[dict]] = {1: [], 2: []}
        self.token: str | None = None
        self.requests: list[tuple[str, str | None]] = []  # (path?query, Authorization)
        self.served = 0  # observations sent, all pages together
        self.next_host: str | None = None  # send nextLinks to another origin
        self.scheme = "http"  # of the links the service writes
        self.lock = threading.Lock()

    def add(self, ds: int, minutes: int, value: float) -> None:
        with self.lock:
            n = sum(len(v) for v in self.obs.values())
            t = (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
            self.obs[ds].append({"@iot.id": 1000 + n, "phenomenonTime": t, "result": value})


def handler_for(svc: Service):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            auth = self.headers.get("Authorization")
            svc.requests.append((self.path, auth))
            if svc.token and auth != svc.token:
                self.send_error(401, "Unauthorized")
                return
            url = urlparse(self.path)
            q = parse_qs(url.query)
            base = f"{svc.scheme}://{self.headers['Host']}/v1.1"
            if url.path.endswith("/Datastreams"):
                body = {"value": [
                    {"@iot.id": ds, "name": f"level {ds}", "Thing": {"name": f"gauge-{ds}"},
                     "Observations@iot.navigationLink": f"{base}/Datastreams({ds})/Observations"}
                    for ds in (1, 2)]}
            elif url.path.startswith("/v1.1/Datastreams(") and url.path.endswith("/Observations"):
                ds = int(url.path.split("(")[1].split(")")[0])
                with svc.lock:
                    rows = list(svc.obs[ds])
                flt = q.get("$filter", [""])[0]
                if flt:
                    field, op, value = flt.split(" ", 2)
                    assert field == "phenomenonTime" and op == "gt", flt
                    since = datetime.fromisoformat(value.replace("Z", "+00:00"))
                    rows = [r for r in rows if datetime.fromisoformat(
                        r["phenomenonTime"].replace("Z", "+00:00")) > since]
                rows.sort(key=lambda r: r["phenomenonTime"])
                skip = int(q.get("$skip", ["0"])[0])
                page = rows[skip:skip + 2]
                svc.served += len(page)
                body = {"value": page}
                if skip + 2 < len(rows):
                    host = svc.next_host or base.split("/v1.1")[0]
                    link = f"{host}{url.path}?$skip={skip + 2}"
                    if flt:
                        link += "&$filter=" + quote(flt)
                    body["@iot.nextLink"] = link
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture
def service():
    svc = Service()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(svc))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    svc.url = f"http://127.0.0.1:{server.server_address[1]}/v1.1"
    yield svc
    server.shutdown()
    server.server_close()


def wait_for(cond, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def test_polling_asks_only_for_what_is_new_and_follows_pages(service):
    for i in range(5):
        service.add(1, i, 1.0 + i)
    service.add(2, 0, 9.0)
    store = HistoryStore(":memory:", ["WL-1", "WL-2"])
    feed = SensorThingsFeed("sta", sensors(), store, service.url, poll_s=0.2,
                            datastreams={"gauge-1": "WL-1", "gauge-2": "WL-2"})
    feed.start()
    try:
        assert wait_for(lambda: len(store) == 6), feed.report()
        assert wait_for(lambda: feed.counters["polls"] >= 2)
        assert feed.status == "running"
        served = service.served
        assert served == 6  # the second poll found nothing new and was sent nothing
        for i in range(5, 10):  # new data: three pages of datastream 1
            service.add(1, i, 1.0 + i)
        assert wait_for(lambda: len(store) == 11), feed.report()
        time.sleep(0.5)  # more polls: still nothing re-sent
    finally:
        feed.stop()
    assert service.served == served + 5
    assert store.series("WL-1", 0, 2**62)[1].tolist() == [1.0 + i for i in range(10)]
    filtered = [p for p, _ in service.requests if "$filter=" in p]
    last = (T0 + timedelta(minutes=4)).isoformat(timespec="milliseconds")
    assert any(quote(f"phenomenonTime gt {last[:-6]}Z") in p for p in filtered), filtered[:3]
    assert any("$skip=" in p for p in filtered)  # a filtered poll that paged


def test_auth_header_comes_from_the_secret_and_wrong_one_fails_once(service, tmp_path,
                                                                   monkeypatch):
    service.token = TOKEN
    service.add(1, 0, 5.0)
    monkeypatch.setenv("CITYTWIN_SENSORTHINGS_AUTH", TOKEN)
    table = {"type": "sensorthings", "url": service.url, "poll_s": 0.2,
             "datastreams": {"gauge-1": "WL-1"}}
    store = HistoryStore(":memory:", ["WL-1", "WL-2"])
    feed = make_feed(tmp_path / "scene.toml", table, "feeds[0]", sensors(), store)
    feed.start()
    try:
        assert wait_for(lambda: len(store) == 1), feed.report()
    finally:
        feed.stop()
    assert all(auth == TOKEN for _, auth in service.requests)

    monkeypatch.setenv("CITYTWIN_SENSORTHINGS_AUTH", "Bearer wrong")
    bad = make_feed(tmp_path / "scene.toml", table, "feeds[0]", sensors(),
                    HistoryStore(":memory:", ["WL-1", "WL-2"]))
    n = len(service.requests)
    bad.start()
    bad.join(5)
    assert not bad._thread.is_alive(), "a refused login must not be polled again"
    assert bad.status == "failed" and bad.error_code == "auth"
    assert "HTTP 401" in bad.last_error and "\n" not in bad.last_error
    assert len(service.requests) == n + 1


def test_the_auth_header_never_goes_to_another_origin(service):
    other = Service()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(other))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        other.obs = service.obs  # the same data behind another host
        service.next_host = f"http://localhost:{server.server_address[1]}"
        for i in range(4):
            service.add(1, i, float(i))
        store = HistoryStore(":memory:", ["WL-1", "WL-2"])
        feed = SensorThingsFeed("sta", sensors(), store, service.url,
                                datastreams={"gauge-1": "WL-1"},
                                auth_header="Authorization", auth_value=TOKEN)
        feed.run()
        assert len(store) == 4
        assert other.requests and all(auth is None for _, auth in other.requests)
        assert all(auth == TOKEN for _, auth in service.requests)
    finally:
        server.shutdown()
        server.server_close()


def serve(svc: Service, port: int = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(svc))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_server_that_goes_away_is_polled_again():
    svc = Service()
    server = serve(svc)
    port = server.server_address[1]
    url = f"http://127.0.0.1:{port}/v1.1"
    svc.add(1, 0, 1.0)
    store = HistoryStore(":memory:", ["WL-1", "WL-2"])
    feed = SensorThingsFeed("sta", sensors(), store, url, poll_s=0.2,
                            datastreams={"gauge-1": "WL-1"}, timeout=1.0)
    feed.start()
    try:
        assert wait_for(lambda: len(store) == 1)
        server.shutdown()
        server.server_close()
        assert wait_for(lambda: feed.status == "connecting"), feed.report()
        assert feed.error_code == "unreachable" and "cannot reach" in feed.last_error
        svc.add(1, 1, 2.0)
        server = serve(svc, port)
        assert wait_for(lambda: len(store) == 2 and feed.status == "running"), feed.report()
    finally:
        feed.stop()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("table, key", [
    ({"auth_value": "Bearer x"}, "auth_value"),
    ({"url": "ftp://x/v1.1"}, "url"),
    ({"poll_s": -1}, "poll_s"),
])
def test_bad_sensorthings_keys_are_one_line_errors(tmp_path, table, key):
    with pytest.raises(SceneFileError) as err:
        make_feed(tmp_path / "s.toml", {"type": "sensorthings", "url": "http://h/v1.1", **table},
                  "feeds[0]", sensors(), HistoryStore(":memory:", ["WL-1", "WL-2"]))
    assert f"feeds[0].{key}" in str(err.value) and "\n" not in str(err.value)
    assert "Bearer x" not in str(err.value)


def test_https_with_the_ca_file_and_an_untrusted_certificate(tmp_path):
    """A real https server (certificate from a test CA): the CA file makes it
    trusted; another CA's file fails the feed at once, saying so."""
    import ssl

    from test_mqtt_tls import OPENSSL, make_ca, make_leaf

    if OPENSSL is None:
        pytest.skip("needs openssl")
    ca = make_ca(tmp_path, "sta-ca")
    rogue = make_ca(tmp_path, "rogue-ca")
    cert, key = make_leaf(tmp_path, "sta", ca)
    svc = Service()
    svc.scheme = "https"
    svc.add(1, 0, 4.0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(svc))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://localhost:{server.server_address[1]}/v1.1"
    try:
        store = HistoryStore(":memory:", ["WL-1", "WL-2"])
        good = SensorThingsFeed("sta", sensors(), store, url, datastreams={"gauge-1": "WL-1"},
                                ca_file=str(ca[0]))
        good.run()
        assert len(store) == 1 and good.status == "running", good.report()
        bad = SensorThingsFeed("sta", sensors(), HistoryStore(":memory:", ["WL-1", "WL-2"]),
                               url, poll_s=0.2, ca_file=str(rogue[0]))
        bad.start()
        bad.join(5)
        assert not bad._thread.is_alive()
        assert bad.status == "failed" and bad.error_code == "tls_untrusted"
        assert "not trusted" in bad.last_error and "\n" not in bad.last_error
    finally:
        server.shutdown()
        server.server_close()
