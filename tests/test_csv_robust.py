"""Bad CSV rows never stop the simulation (issue 14): each is skipped and named by
file and line, good rows are kept, separators/zones/duplicates follow declared
settings, and a scene with such a file still plays."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from twin.scenefile import SceneFileError
from twin.sim.clock import ICT, to_ms
from twin.sim.feeds import make_feed
from twin.sim.feeds.csv_replay import CsvReplayFeed, parse_value
from twin.sim.ingest import bare_sensors
from twin.sim.store import HistoryStore

ROOT = Path(__file__).resolve().parents[1]


def _feed(tmp_path: Path, text: bytes | str, **options) -> tuple[CsvReplayFeed, HistoryStore]:
    path = tmp_path / "obs.csv"
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    sensors = bare_sensors(["A", "B"])
    store = HistoryStore(":memory:", ["A", "B"])
    feed = CsvReplayFeed("f", sensors, store, path, {"a": "A", "b": "B"}, **options)
    feed.start()
    feed.join(20)
    return feed, store


def _ms(*args) -> int:
    return to_ms(datetime(*args, tzinfo=ICT))


def test_out_of_range_times_are_one_bad_row_each(tmp_path):
    feed, store = _feed(tmp_path, "time,a,b\n"
                        "2025-06-01T08:00:00+07:00,1,2\n"
                        "0001-01-01T00:00:00+07:00,3,4\n"      # before year 1 in UTC
                        "9999-12-31T23:00:00-07:00,5,6\n"      # after year 9999 in UTC
                        "0001-01-01T12:00:00+00:00,7,8\n"      # valid instant, absurd year
                        "2025-06-01T09:00:00+07:00,9,10\n")
    assert feed.status == "done", feed.last_error
    assert feed.counters["bad_rows"] == 3
    assert [p.where for p in feed.problems.items] == ["obs.csv:3", "obs.csv:4", "obs.csv:5"]
    assert all("out of range" in p.reason for p in feed.problems.items)
    assert store.series("A", 0, 2**62)[1].tolist() == [1.0, 9.0]
    assert store.time_range() == (_ms(2025, 6, 1, 8), _ms(2025, 6, 1, 9))


def test_a_bad_byte_loses_one_line_not_the_file(tmp_path):
    text = (b"time,a,b\n2025-06-01T08:00:00+07:00,1,2\n"
            + b"2025-06-01T09:00:00+07:00,\xff\xfe,2\n"
            + "2025-06-01T10:00:00+07:00,3,4\n# Hà Nội,x,y\n".encode())
    feed, store = _feed(tmp_path, text)
    assert feed.counters["encoding_errors"] == 1
    first = feed.problems.items[0]
    assert first.where == "obs.csv:3" and "utf-8" in first.reason
    assert store.series("A", 0, 2**62)[1].tolist() == [1.0, 3.0]
    assert feed.counters["bad_rows"] == 2  # the bad byte, and the comment line's time


def test_every_problem_is_listed_up_to_100_then_counted(tmp_path):
    rows = ["time,a,b"] + [f"not-a-time-{i},1,2" for i in range(130)]
    rows += ["2025-06-01T08:00:00+07:00,1,2"]
    feed, store = _feed(tmp_path, "\n".join(rows) + "\n")
    assert feed.counters["bad_rows"] == 130
    assert len(feed.problems.items) == 100 and feed.problems.more == 30
    assert feed.problems.items[9].where == "obs.csv:11"  # 10 of 10 named, not only the last
    assert feed.problems.lines()[-1] == "... and 30 more"
    assert len(store) == 2


def test_thousands_and_decimal_separators_are_settings(tmp_path):
    text = 'time,a,b\n2025-06-01T08:00:00+07:00,"1,234",2.5\n'
    feed, store = _feed(tmp_path, text)  # defaults: "." decimal, no grouping
    assert feed.counters["malformed"] == 1
    assert "not declared" in feed.problems.items[0].reason
    assert store.series("A", 0, 2**62)[0].size == 0  # never 1.234
    feed, store = _feed(tmp_path, text, thousands=",")
    assert store.series("A", 0, 2**62)[1].tolist() == [1234.0]
    feed, store = _feed(tmp_path, text, decimal=",", delimiter=",")
    assert store.series("A", 0, 2**62)[1].tolist() == [1.234]
    assert feed.counters["malformed"] == 1  # "2.5" is not a number with decimal ","
    eu = "time;a;b\n2025-06-01T08:00:00+07:00;1.234,5;-0,5\n"
    feed, store = _feed(tmp_path, eu, decimal=",", thousands=".", delimiter=";")
    assert store.values_at(_ms(2025, 6, 1, 8)).tolist() == [1234.5, -0.5]
    assert parse_value("1,23", thousands=",") is None  # groups of three only


@pytest.mark.parametrize(("policy", "expected"), [("first", [1.0, 7.0]), ("last", [5.0, None]),
                                                  ("mean", [3.0, 7.0])])
def test_duplicate_times_follow_the_declared_policy_and_are_reported(tmp_path, policy,
                                                                     expected):
    """first/last keep a row (a gap too); mean averages the values present."""
    text = ("time,a,b\n2025-06-01T08:00:00+07:00,1,7\n2025-06-01T08:00:00+07:00,3,N/A\n"
            "2025-06-01T01:00:00Z,5,N/A\n")  # the same instant written in UTC
    feed, store = _feed(tmp_path, text, duplicates=policy)
    got = [None if np.isnan(x) else x for x in store.values_at(_ms(2025, 6, 1, 8)).tolist()]
    assert got == expected
    assert feed.counters["duplicate_times"] == 4  # 2 repeats for A, 2 for B
    assert feed.report()["duplicate_policy"] == policy
    warn = [p for p in feed.problems.items if p.level == "warning"]
    assert warn and "repeats line 2" in warn[0].reason and policy in warn[0].reason


def test_times_without_zone_take_the_declared_zone_with_a_warning_or_are_refused(tmp_path):
    text = "time,a,b\n2025-06-01T08:00:00,1,2\n2025-06-01T09:00:00,3,4\n"
    feed, store = _feed(tmp_path, text, tz=timezone(timedelta(hours=-3)))
    assert store.time_range()[0] == to_ms(datetime(2025, 6, 1, 11, tzinfo=UTC))
    assert feed.counters["naive_times"] == 2
    (warn,) = feed.problems.items
    assert warn.level == "warning" and "-03:00" in warn.reason and warn.where == "obs.csv:2"
    feed, store = _feed(tmp_path, text, naive_times="refuse")
    assert len(store) == 0 and feed.counters["bad_rows"] == 2
    assert "no zone" in feed.problems.items[0].reason


def test_scene_file_declares_the_options_and_rejects_bad_ones(tmp_path):
    (tmp_path / "obs.csv").write_text("time;a;b\n2025-06-01T08:00:00;1.234,5;2\n")
    sensors = bare_sensors(["A", "B"])
    store = HistoryStore(":memory:", ["A", "B"])
    table = {"type": "csv", "path": "obs.csv", "columns": {"a": "A", "b": "B"},
             "decimal": ",", "thousands": ".", "delimiter": ";", "duplicates": "mean",
             "timezone": "+07:00", "naive_times": "assume", "encoding": "cp1258"}
    feed = make_feed(tmp_path / "s.toml", table, "feeds[0]", sensors, store)
    feed.run()
    assert store.values_at(_ms(2025, 6, 1, 8)).tolist() == [1234.5, 2.0]
    for key, bad, words in [("duplicates", "avg", "first, last, mean"),
                            ("timezone", "ICT", "+07:00"), ("decimal", "..", "one character"),
                            ("encoding", "klingon", "unknown encoding"),
                            ("naive_times", "guess", "assume, refuse")]:
        with pytest.raises(SceneFileError, match=re.escape(words)) as err:
            make_feed(tmp_path / "s.toml", {**table, key: bad}, "feeds[0]", sensors, store)
        assert f"feeds[0].{key}" in str(err.value)


def test_a_scene_with_a_broken_csv_still_plays(tmp_path):
    """The simulation keeps running: the good rows give values, the clock range
    is that of the good rows (not year 1), the feed lists what was wrong."""
    from twin.scene import Scene
    from twin.scenefile import parse_scene
    from twin.sim.simulation import Simulation

    (tmp_path / "obs.csv").write_bytes(
        b"time,level\n2025-06-01T08:00:00+07:00,1.5\n0001-01-01T00:00:00+07:00,9\n"
        b"2025-06-01T09:00:00+07:00,\xff\n2025-06-01T10:00:00+07:00,2.5\n")
    text = """
[scene]
name = "csv"
crs = "EPSG:9208"
origin = [568000.0, 2357000.0, 0.0]

[[sensors]]
id = "WL"
kind = "water_level"
location = [568000.0, 2357000.0]

[[feeds]]
type = "csv"
path = "obs.csv"
columns = { level = "WL" }
"""
    spec = parse_scene(text, tmp_path / "s.toml")
    scene = Scene(crs=spec.crs, origin=spec.origin, name=spec.name, spec=spec)
    sim = Simulation.from_scene(scene)
    sim.run_feeds_now()
    (feed,) = sim.feeds
    assert feed.status == "done" and feed.counters["bad_rows"] == 2
    assert sim.clock.start == datetime(2025, 6, 1, 8, tzinfo=ICT)
    sim.clock.set_time(datetime(2025, 6, 1, 10, 30, tzinfo=ICT))
    assert np.allclose(sim.values, [2.5])
    sim.close()


def test_history_import_cli_names_bad_rows_and_exits_1(tmp_path):
    csv_path = tmp_path / "old.csv"
    csv_path.write_text("time,WL-1,WL-2\n2025-06-01T08:00:00+07:00,1.5,2\n"
                        "2025-06-01T09:00:00+07:00,oops,3\n2025-06-01T10:00:00+07:00,N/A,4\n")
    store = tmp_path / "h.sqlite"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "app.cli", "history", *map(str, args)],
                              capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)

    done = cli(store, "--import", csv_path)
    assert done.returncode == 1, done.stderr
    assert "old.csv:3: bad value 'oops' in column 'WL-1'" in done.stderr
    done = cli(store, "--sensor", "WL-1", "--json")
    assert done.returncode == 0, done.stderr
    obs = json.loads(done.stdout)["observations"]
    assert [o["value"] for o in obs] == [1.5, None]
    assert obs[0]["time"] == "2025-06-01T08:00:00.000+07:00"
    again = cli(store, "--import", csv_path, "--map", "WL-2=WL-2")
    assert again.returncode == 0 and "0 observations new, 3 already stored" in again.stderr
    bad = cli(store, "--sensor", "nope")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "no sensor 'nope'" in bad.stderr
