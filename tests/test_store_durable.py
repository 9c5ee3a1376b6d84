"""History store that lasts (issue 14): kept across restarts, retention, conflicts,
sequence gaps, counters committed with the rows, an older file upgraded."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from twin.sim.store import HistoryStore, project_store_path

T0 = 1_750_000_000_000
DAY = 86_400_000


def _write(store, sensor, t, v, seq=None, stats=None):
    return store.write_batch(np.asarray(sensor), np.asarray(t, dtype=np.int64),
                             np.asarray(v, dtype=float),
                             None if seq is None else np.asarray(seq), stats)


def test_history_survives_a_restart_with_its_numbering(tmp_path):
    path = tmp_path / "h.sqlite"
    store = HistoryStore(path, ["A", "B"])
    _write(store, [0, 1, 0], [T0, T0, T0 + 1000], [1.0, np.nan, 2.0], seq=[0, 0, 1])
    store.close()
    # reopened by a scene that lists its sensors in another order, plus a new one
    again = HistoryStore(path, ["C", "B", "A"])
    assert again.values_at(T0 + 1000).tolist()[2] == 2.0  # from the latest cache
    t, v = again.series("A", 0, 2**62)
    assert t.tolist() == [T0, T0 + 1000] and v.tolist() == [1.0, 2.0]
    assert np.isnan(again.series("B", 0, 2**62)[1][0])  # a gap stays a gap
    assert again.time_range() == (T0, T0 + 1000)
    res = _write(again, [2], [T0 + 2000], [3.0], seq=[3])  # A's seq continues from 1
    assert res.gaps == [("A", 2, 2)]
    again.close()
    reader = HistoryStore(path, None)  # no scene: every sensor the file knows
    assert reader.sensor_ids == ["A", "B", "C"] and len(reader) == 4
    reader.close()
    assert project_store_path(tmp_path / "site.ctproj") == tmp_path / "site.history.sqlite"


def test_duplicates_are_counted_and_differing_values_kept_as_conflicts(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite", ["A"])
    assert _write(store, [0, 0], [T0, T0 + 1], [1.0, np.nan]).new == 2
    res = _write(store, [0, 0, 0, 0], [T0, T0 + 1, T0, T0 + 2], [1.0, np.nan, 5.0, 7.0])
    assert (res.new, res.duplicates) == (1, 3)
    assert res.conflicts == [("A", T0, 1.0, 5.0)]  # equal values and equal gaps are not
    assert store.series("A", T0, T0)[1].tolist() == [1.0]  # never applied twice
    assert store.conflicts() == [("A", T0, 1.0, 5.0)]
    assert store.stats() == {"conflicts": 1, "duplicates": 3, "written": 3}


def test_sequence_gaps_open_fill_and_reset():
    store = HistoryStore(":memory:", ["A", "B"])
    res = _write(store, [0, 0, 0, 1, 1], np.arange(5) + T0, [1, 2, 3, 4, 5],
                 seq=[0, 1, 5, 10, 11])
    assert res.gaps == [("A", 2, 4)]
    res = _write(store, [0, 0, 0], T0 + np.array([10, 1, 11]), [1, 2, 3], seq=[3, 1, 6])
    # 3 arrives late (fills the middle), 1 is a re-delivery (stored already), 6 is next
    assert res.filled == 1 and res.duplicates == 1 and res.gaps == []
    assert store.seq_gaps() == [("A", 2, 2), ("A", 4, 4)]
    assert store.stats()["seq_missing"] == 2
    res = _write(store, [1], [T0 + 99], [0.0], seq=[0])  # B's publisher restarted at 0
    assert res.seq_resets == 1 and store.seq_gaps("B") == []
    res = _write(store, [1], [T0 + 100], [0.0], seq=[1])
    assert res.gaps == []  # counting from the reset


def test_a_failed_batch_changes_nothing(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite", ["A"])
    _write(store, [0], [T0], [1.0], seq=[0])
    with pytest.raises(ValueError):  # fails inside the transaction, after the rows
        _write(store, [0, 0], [T0 + 1, T0 + 2], [1.0, 2.0], seq=[4, 5], stats={"x": "bad"})
    assert len(store) == 1 and store.seq_gaps() == [] and store.stats()["written"] == 1
    assert _write(store, [0], [T0 + 3], [1.0], seq=[1]).gaps == []


def test_retention_is_saved_in_the_store_and_prunes_per_sensor(tmp_path):
    path = tmp_path / "h.sqlite"
    store = HistoryStore(path, ["A", "B"])
    t = T0 + np.arange(10) * DAY
    _write(store, np.r_[np.zeros(10, int), np.ones(10, int)], np.r_[t, t], np.arange(20.0))
    assert store.prune(now_ms=T0 + 10 * DAY) == 0  # no retention: keep all
    with pytest.raises(ValueError):
        store.set_retention(0)
    store.set_retention(3)
    store.close()
    store = HistoryStore(path, ["A", "B"])
    assert store.retention_days == 3
    assert store.prune(now_ms=T0 + 10 * DAY) == 2 * 7
    assert store.series("A", 0, 2**62)[0].tolist() == t[7:].tolist()
    assert store.time_range() == (int(t[7]), int(t[9]))
    assert store.values_at(int(t[9])).tolist() == [9.0, 19.0]
    store.vacuum()
    store.close()


def test_a_schema_1_file_is_upgraded_and_loses_its_index_on_t(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE sensor (idx INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);
        CREATE TABLE obs (sensor INTEGER NOT NULL, t INTEGER NOT NULL, value REAL,
                          PRIMARY KEY (sensor, t)) WITHOUT ROWID;
        CREATE INDEX obs_t ON obs (t);
        INSERT INTO sensor VALUES (1, 'A');
        INSERT INTO obs VALUES (1, 1750000000000, 4.5);
    """)
    db.commit()
    db.close()
    store = HistoryStore(path, ["A"])
    assert store.values_at(T0).tolist() == [4.5]
    assert store.nearest_time(T0 + 5000) == T0 and store.nearest_time(T0 - 9, "A") == T0
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT name FROM sqlite_master WHERE name = 'obs_t'").fetchall() == []
    db.close()
