"""Feed adapters: CSV replay, synthetic generator, OGC SensorThings API (local HTTP)."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from conftest import SHARED

from twin.sim.clock import ICT, to_ms
from twin.sim.feeds.csv_replay import CsvReplayFeed
from twin.sim.feeds.sensorthings import SensorThingsFeed
from twin.sim.feeds.synthetic import SyntheticFeed
from twin.sim.sensors import SensorSet
from twin.sim.store import HistoryStore

AIRQ = SHARED / "timeseries" / "vn_airquality" / "aqi_hanoi_2025_feb.csv"


def make_sensors(ids: list[str], kinds: list[str] | None = None) -> SensorSet:
    n = len(ids)
    kinds = kinds or ["air_quality"] * n
    return SensorSet(
        ids=np.array(ids, object), kinds=np.array(kinds, object),
        units=np.array(["u"] * n, object), names=np.array([""] * n, object),
        positions=np.column_stack([np.arange(n) * 100.0, np.zeros(n), np.zeros(n)]),
        layer=np.array([None] * n, object), row=np.full(n, -1, np.int64),
        warning=np.full(n, np.nan), alarm=np.full(n, np.nan), params=[{} for _ in ids],
    )


# -- CSV --------------------------------------------------------------------------------
def test_csv_gaps_are_gaps_and_bad_rows_are_counted(tmp_path: Path):
    path = tmp_path / "aq.csv"
    path.write_text(
        "time,pm25,aqi\n"
        "2025-02-05T22:00:00+07:00,76.0,165\n"
        "2025-02-05T23:00:00+07:00,N/A,155\n"     # gap in pm25
        "not a time,1,2\n"                        # bad row
        "2025-02-06T00:00:00+07:00,,196\n"        # empty = gap
        "2025-02-06T01:00:00+07:00,12\n"          # wrong field count
        "2025-02-06T02:00:00,30.5,abc\n"          # naive -> +07:00; 'abc' malformed
        "2025-02-05T21:00:00+07:00,50,100\n",     # out of order
        encoding="utf-8",
    )
    sensors = make_sensors(["PM", "AQI"])
    store = HistoryStore(":memory:", sensors.ids.tolist())
    feed = CsvReplayFeed("aq", sensors, store, path, {"pm25": "PM", "aqi": "AQI"})
    feed.run()
    assert feed.counters["bad_rows"] == 2
    assert feed.counters["malformed"] == 1
    assert feed.counters["gaps"] == 2
    t, v = store.series("PM", 0, 2**62)
    assert len(t) == 5 and np.isnan(v).sum() == 2 and (v[np.isfinite(v)] != 0).all()
    assert t.tolist() == sorted(t.tolist())  # late row sits in order
    naive = to_ms(datetime(2025, 2, 6, 2, 0, tzinfo=ICT))
    assert store.values_at(naive)[0] == 30.5
    feed.run()  # replaying again stores nothing twice
    assert feed.counters["duplicates"] == 9 and len(store) == 9


def test_csv_missing_file_fails_softly(tmp_path):
    sensors = make_sensors(["A"])
    feed = CsvReplayFeed("x", sensors, HistoryStore(":memory:", ["A"]), tmp_path / "no.csv",
                         {"v": "A"})
    feed.start()
    feed.join(5)
    assert feed.status == "failed" and "cannot read" in feed.last_error


@pytest.mark.skipif(not AIRQ.exists(), reason=f"corpus file not here: {AIRQ} "
                    "(IQAir-derived, no licence: kept out of the repository)")
def test_csv_replays_the_hanoi_air_quality_corpus():
    sensors = make_sensors(["HN-AQI", "HN-SO2", "HN-PM25"])
    store = HistoryStore(":memory:", sensors.ids.tolist())
    feed = CsvReplayFeed("hanoi", sensors, store, AIRQ,
                         {"aqi": "HN-AQI", "so2": "HN-SO2", "pm25": "HN-PM25"},
                         time_column="timestamp")
    feed.run()
    assert feed.status == "running" and feed.counters["bad_rows"] == 0
    assert feed.counters["gaps"] >= 10  # the N/A cells (so2 is mostly N/A)
    t, v = store.series("HN-AQI", 0, 2**62)
    assert len(t) > 400 and np.nanmax(v) < 500
    first = datetime.fromisoformat("2025-02-05T22:01:05.826077+07:00")
    assert t[0] == to_ms(first) and v[0] == 165


# -- synthetic --------------------------------------------------------------------------
def _synthetic(seed: int):
    kinds = ["traffic", "street_light", "air_quality", "water_level"]
    sensors = make_sensors([f"s{i}" for i in range(8)], kinds * 2)
    store = HistoryStore(":memory:", sensors.ids.tolist())
    start = datetime(2025, 6, 2, tzinfo=ICT)  # a Monday
    return SyntheticFeed("demo", sensors, store, start, start + timedelta(days=7),
                         step=timedelta(minutes=30), seed=seed), store


def test_synthetic_is_deterministic_and_seeded():
    a, _ = _synthetic(7)
    b, _ = _synthetic(7)
    c, _ = _synthetic(8)
    va, vb, vc = a.values(), b.values(), c.values()
    for kind in va:
        assert np.array_equal(va[kind][1], vb[kind][1])
    assert not np.array_equal(va["air_quality"][1], vc["air_quality"][1])


def test_synthetic_daily_and_weekly_patterns():
    feed, store = _synthetic(1)
    t = feed.times()
    hour = ((t // 1000 + 7 * 3600) % 86400) / 3600
    vals = feed.values()
    traffic = vals["traffic"][1].mean(0)
    weekday = np.arange(len(t)) < 48 * 5
    peak = traffic[weekday & (np.abs(hour - 8) < 1)].mean()
    night = traffic[weekday & (hour < 4)].mean()
    weekend_peak = traffic[~weekday & (np.abs(hour - 8) < 1)].mean()
    assert peak > 5 * night and weekend_peak < peak
    lights = vals["street_light"][1].max(0)
    assert lights[np.abs(hour - 12) < 2].max() == 0 and lights[np.abs(hour - 20) < 1].min() > 0
    aq = vals["air_quality"][1]
    assert np.all((aq >= 5) & (aq <= 500))
    feed.run()
    assert feed.status == "running" and len(store) == 8 * len(t)


# -- SensorThings -----------------------------------------------------------------------
class _STA(BaseHTTPRequestHandler):
    """Responses shaped like OGC 18-088's examples, two observations per page."""

    loop = False

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        url = urlparse(self.path)
        q = parse_qs(url.query)
        base = f"http://{self.headers['Host']}/v1.1"
        skip = int(q.get("$skip", ["0"])[0])
        if url.path.endswith("/Datastreams"):
            body = {"value": [
                {"@iot.id": 1, "name": "PM2.5 at Cầu Giấy", "Thing": {"name": "station-1"},
                 "Observations@iot.navigationLink": f"{base}/Datastreams(1)/Observations"},
                {"@iot.id": 2, "name": "unmapped", "Thing": {"name": "x"}},
            ]}
        elif url.path.endswith("/Datastreams(1)/Observations"):
            obs = [{"@iot.id": 100 + i, "phenomenonTime": f"2025-06-01T0{i}:00:00+07:00",
                    "result": 10.0 * i} for i in range(5)]
            obs.append({"@iot.id": 200, "phenomenonTime": "2025-06-01T06:00:00Z",
                        "result": "offline"})
            page = obs[skip : skip + 2]
            if skip == 2:
                page = [obs[1], *page]  # data shifted while paging: a repeat
            body = {"value": page}
            if skip + 2 < len(obs):
                nxt = 0 if self.loop and skip == 2 else skip + 2
                body["@iot.nextLink"] = f"{base}/Datastreams(1)/Observations?$skip={nxt}"
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def sta_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _STA)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1.1", server
    server.shutdown()
    server.server_close()


def test_sensorthings_follows_nextlinks_and_dedupes(sta_server):
    url, _ = sta_server
    sensors = make_sensors(["PM-1"])
    store = HistoryStore(":memory:", ["PM-1"])
    feed = SensorThingsFeed("sta", sensors, store, url, datastreams={"station-1": "PM-1"},
                            future_ms=None)
    feed.run()
    _t, v = store.series("PM-1", 0, 2**62)
    assert v.tolist() == [0.0, 10.0, 20.0, 30.0, 40.0]
    assert feed.counters["duplicates_paging"] == 1
    assert feed.counters["malformed"] == 1  # "offline" is not a number
    assert feed.counters["unmapped_datastreams"] == 1
    assert feed.counters["page_loops"] == 0


def test_sensorthings_nextlink_loop_is_stopped(sta_server, monkeypatch):
    url, _ = sta_server
    monkeypatch.setattr(_STA, "loop", True)
    store = HistoryStore(":memory:", ["PM-1"])
    feed = SensorThingsFeed("sta", make_sensors(["PM-1"]), store, url,
                            datastreams={"1": "PM-1"}, future_ms=None)
    feed.start()
    feed.join(10)
    assert feed.counters["page_loops"] == 1 and "loop" in feed.last_error
    assert len(store) == 4 and feed.status == "done"  # 0, 1 (page 1), 2, 3 (page 2)


def test_sensorthings_server_down_is_reported():
    feed = SensorThingsFeed("sta", make_sensors(["A"]), HistoryStore(":memory:", ["A"]),
                            "http://127.0.0.1:9/v1.1", timeout=1.0)
    feed.start()
    feed.join(10)
    assert feed.status == "failed" and feed.last_error
