"""Decree domains in the Việt Trì demo: EV charging, water supply (pressure, leak
by night minimum flow), drainage tied to the flood warning; alerts with hysteresis."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from conftest import SCENES

import importers
from twin.scenefile import SceneFileError
from twin.sim.clock import ICT, to_ms
from twin.sim.feeds.synthetic import SyntheticFeed
from twin.sim.kinds import KINDS, alert_text, kind_name, unit_text
from twin.sim.overlays.alerts import AlertMonitor
from twin.sim.rules import RULE_DROP, RULE_MNF, night_minimum_flow
from twin.sim.sensors import KINDS as UNIT_KINDS
from twin.sim.sensors import SensorSet, parse_sensors
from twin.sim.simulation import Simulation
from twin.sim.store import HistoryStore

T0 = datetime(2025, 6, 1, tzinfo=ICT)


def _one(thresholds: dict, kind: str = "noise") -> SensorSet:
    spec = parse_sensors("s.toml", [{"id": "S", "kind": kind, "location": [0, 0],
                                     "thresholds": thresholds}])[0]
    e = np.array
    return SensorSet(e(["S"], object), e([kind], object), e([spec.unit], object), e([""], object),
                     np.zeros((1, 3)), e([None], object), e([-1]), e([spec.warning]),
                     e([spec.alarm]), [{}], hysteresis=e([spec.hysteresis]),
                     clear_after=e([spec.clear_after]))


def _feed(sensors: SensorSet, series: np.ndarray) -> tuple[AlertMonitor, list[int]]:
    mon = AlertMonitor(sensors)
    levels = []
    for i, v in enumerate(series):
        t = T0 + timedelta(minutes=15 * i)
        mon.update(t, to_ms(t), np.array([v]))
        levels.append(int(mon.levels[0]))
    return mon, levels


def test_hysteresis_stops_flapping_on_a_noisy_series_and_clears_below_the_clear_level():
    rng = np.random.default_rng(7)
    noisy = 100 + 3 * rng.standard_normal(200)  # hovering at the warning threshold
    series = np.concatenate([[60.0], noisy, [92.0] * 6, [89.0] * 3, [60.0]])
    plain, _ = _feed(_one({"warning": 100, "alarm": 150}), series)
    assert len(plain.alerts) > 40  # without a band it flaps (the test can fail)
    held, lv = _feed(_one({"warning": 100, "alarm": 150, "hysteresis": 10,
                           "clear_after": 3}), series)
    assert [(a.previous, a.level) for a in held.alerts] == [("normal", "warning"),
                                                           ("warning", "normal")]
    # 92 is below the threshold but above the clear level 90: still a warning
    assert lv[201:207] == [1] * 6
    # below 90 it clears only after three samples in a row
    assert lv[207:210] == [1, 1, 0]


def test_hysteresis_lower_is_worse_and_alarm_falls_to_warning():
    s = _one({"warning": 1.5, "alarm": 1.0, "clear": 1.7}, kind="water_pressure")
    assert s.hysteresis[0] == pytest.approx(0.2)
    _, lv = _feed(s, [2.5, 0.9, 1.1, 1.25, 1.45, 1.6, 1.69, 1.75, 2.0])
    # alarm holds up to 1.2, the warning up to 1.7 (exclusive)
    assert lv == [0, 2, 2, 1, 1, 1, 1, 0, 0]


@pytest.mark.parametrize(("table", "key"), [
    ({"warning": 1, "alarm": 2, "clear": 0.5, "hysteresis": 0.5}, "thresholds.clear"),
    ({"warning": 10, "alarm": 20, "clear": 12}, "thresholds.clear"),
    ({"warning": 1.5, "alarm": 1.0, "clear": 1.2}, "thresholds.clear"),
    ({"warning": 10, "alarm": 20, "hysteresis": -1}, "thresholds.hysteresis"),
    ({"warning": 10, "alarm": 20, "clear_after": 0}, "thresholds.clear_after"),
])
def test_bad_hysteresis_is_one_line_naming_the_key(table, key):
    with pytest.raises(SceneFileError) as err:
        parse_sensors("city.toml", [{"id": "x", "kind": "noise", "location": [0, 0],
                                     "thresholds": table}])
    text = str(err.value)
    assert "\n" not in text and f"sensors[0].{key}" in text and "city.toml" in text


def test_night_minimum_flow_is_per_night_and_ignores_the_day():
    t = np.arange(to_ms(T0), to_ms(T0 + timedelta(days=2)), 900_000)
    h = ((t + 7 * 3600_000) % 86_400_000) / 3600_000
    flow = np.where((h >= 2) & (h < 4), 10.0, 80.0)
    flow[(h >= 2) & (h < 4) & (t > to_ms(T0 + timedelta(days=1)))] = 30.0
    flow[(h >= 2.5) & (h < 2.75)] = 7.0  # the minimum, both nights
    end, mnf = night_minimum_flow(t, np.vstack([flow, flow * 2]))
    assert [datetime.fromtimestamp(e / 1000, ICT).hour for e in end] == [4, 4]
    assert mnf.tolist() == [[7.0, 7.0], [14.0, 14.0]]


def test_catalogue_names_units_and_alerts_in_both_languages():
    assert set(UNIT_KINDS) == set(KINDS)
    for key in ("ev_charger", "ev_power", "water_pressure", "water_flow", "manhole_level",
                "rain_gauge"):
        assert key in KINDS
    for key in KINDS:
        assert kind_name(key, "vi") != kind_name(key, "en")
        for level in ("warning", "alarm"):
            assert alert_text(key, level, "vi") != alert_text(key, level, "en")
    assert kind_name("water_pressure", "vi") == "Áp lực nước cấp"
    assert unit_text("mm/h", "vi") == "mm/giờ"


def test_domain_kinds_leave_the_older_kinds_numbers_alone():
    def values(kinds):
        n = len(kinds)
        e = np.array
        s = SensorSet(e([f"S{i}" for i in range(n)], object), e(kinds, object),
                      e([UNIT_KINDS[k] for k in kinds], object), e([""] * n, object),
                      np.zeros((n, 3)), e([None] * n, object), np.full(n, -1),
                      np.full(n, np.nan), np.full(n, np.nan), [{}] * n)
        feed = SyntheticFeed("f", s, HistoryStore(":memory:", s.ids.tolist()), T0,
                             T0 + timedelta(days=1), seed=269)
        return feed.values()

    before = values(["air_quality", "noise", "waste"])
    after = values(["air_quality", "ev_charger", "noise", "rain_gauge", "waste",
                    "water_pressure"])
    for kind in ("air_quality", "noise", "waste"):
        assert np.array_equal(before[kind][1], after[kind][1])


# -- the Việt Trì demo -------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo():
    scene = importers.open_scene(SCENES / "viet_tri.toml")
    sim = Simulation.from_scene(scene)
    sim.run_feeds_now()
    walk = []
    t = sim.clock.start
    while t <= sim.clock.start + timedelta(days=2):
        sim.clock.set_time(t)
        walk.append((t, sim.flood_warning, sim.values.copy(), sim.levels.copy()))
        t += timedelta(minutes=15)
    yield sim, walk
    sim.close()


def test_every_domain_has_sensors_in_the_demo(demo):
    sim, _ = demo
    count = {k: int((sim.sensors.kinds == k).sum()) for k in set(sim.sensors.kinds.tolist())}
    assert count["ev_charger"] == count["ev_power"] == 4  # the car parks
    assert count["water_flow"] == 4  # the district meters
    assert count["water_pressure"] >= 20 and count["manhole_level"] >= 20
    assert count["rain_gauge"] == 8  # school roofs
    # pressure and levels sit on the buried networks, attached to their features
    for kind, layer in (("water_pressure", "Cấp nước (water mains)"),
                        ("manhole_level", "Thoát nước (drainage)")):
        assert set(sim.sensors.layer[sim.sensors.of_kind(kind)].tolist()) == {layer}


def test_leak_rule_fires_on_the_leak_night_only(demo):
    sim, _ = demo
    flow = [a for a in sim.alerts.alerts if a.kind == "water_flow"]
    assert [(a.sensor, a.level, a.rule) for a in flow] == [("WF-DMA-2", "alarm", RULE_MNF)]
    assert flow[0].time == datetime(2025, 6, 2, 4, 0, tzinfo=ICT)
    # the same feed over four days: the burst night stands out, normal nights do not
    rows = sim.sensors.of_kind("water_flow")
    feed = SyntheticFeed("f", sim.sensors, sim.store, T0, T0 + timedelta(days=4), seed=269)
    t = feed.times()
    vals = feed.values()["water_flow"][1]
    _, mnf = night_minimum_flow(t, vals)
    warning = sim.sensors.warning[rows][:, None]
    leaking = sim.sensors.ids[rows] == "WF-DMA-2"
    assert mnf.shape == (4, 4)
    assert (mnf[leaking, 1] >= sim.sensors.alarm[rows][leaking]).all()
    others = np.ones_like(mnf, dtype=bool)
    others[leaking, 1] = False
    assert (mnf[others] < warning.repeat(4, 1)[others]).all()


def test_burst_drops_pressure_near_the_leaking_meter(demo):
    sim, _ = demo
    drops = [a for a in sim.alerts.alerts if a.kind == "water_pressure" and a.rule == RULE_DROP]
    assert drops, "the burst raised no pressure-drop alert"
    start = datetime(2025, 6, 1, 22, 0, tzinfo=ICT)
    assert all(start <= a.time <= start + timedelta(hours=1) for a in drops)
    meter = sim.sensors.positions[sim.sensors.index("WF-DMA-2"), :2]
    near = [np.hypot(*(sim.sensors.positions[sim.sensors.index(a.sensor), :2] - meter))
            for a in drops]
    assert max(near) < 600.0


def test_rain_event_raises_manholes_and_the_flood_warning(demo):
    sim, walk = demo
    manholes = sim.sensors.of_kind("manhole_level")
    river = sim.sensors.of_kind("water_level")
    by_time = {t: (fw, v, lv) for t, fw, v, lv in walk}
    before = by_time[datetime(2025, 6, 1, 14, 0, tzinfo=ICT)]
    storm = by_time[datetime(2025, 6, 1, 18, 0, tzinfo=ICT)]
    assert before[0][0] == 0 and np.nanmax(before[1][manholes]) < 1.0
    assert np.nanmedian(storm[1][manholes]) > 1.2
    level, causes = storm[0]
    assert level >= 1 and causes.get("manhole_level", 0) > len(manholes) // 2
    assert (storm[2][river] == 0).all()  # the river is low: the drainage raised it
    rain = [a for a in sim.alerts.alerts if a.kind == "rain_gauge" and a.level == "alarm"]
    assert rain and all(a.time.date() == datetime(2025, 6, 1).date() for a in rain)


def test_ev_chargers_fill_up_in_the_evening(demo):
    sim, walk = demo
    rows = sim.sensors.of_kind("ev_charger")
    evening = [v[rows] for t, _, v, _ in walk if t.hour == 19]
    night = [v[rows] for t, _, v, _ in walk if t.hour == 3]
    assert np.nanmean(evening) > 2 * np.nanmean(night)
    assert any(a.kind == "ev_charger" and a.level == "alarm" for a in sim.alerts.alerts)
    # whole ports: 8 ports -> multiples of 12.5 %
    assert np.allclose(np.concatenate(evening) % 12.5, 0)
    alert = next(a for a in sim.alerts.alerts if a.kind == "ev_charger")
    assert alert.message("vi").startswith("Trạm sạc xe điện")
    line = alert.display("vi")
    assert "Trạm sạc xe điện" in line and "ev_charger" not in line


def test_alert_lines_speak_vietnamese(demo):
    sim, _ = demo
    burst = next(a for a in sim.alerts.alerts if a.rule == RULE_DROP)
    line = burst.display("vi")
    assert "Áp lực nước cấp" in line and "sụt áp" in line and "," in line  # 2,45 bar
    assert "pressure" not in line
