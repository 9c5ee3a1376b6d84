"""Overlays and the simulation wiring: glyphs, thematic colours, heat map, alerts,
planned states, flood; plus one offscreen render of the Việt Trì scene with them."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
import pyvista as pv
from conftest import SCENES

import importers
from twin.features import FeatureTable
from twin.layer import Layer
from twin.render import SceneView, render_image, save_png
from twin.render.glyphs import LEVEL_RGB, GlyphOverlay
from twin.render.overlays import water_sheet
from twin.scene import Scene
from twin.sim.clock import ICT, to_ms
from twin.sim.overlays.alerts import AlertMonitor
from twin.sim.overlays.flood import FloodModel
from twin.sim.overlays.heatmap import idw
from twin.sim.overlays.planned import (
    BUILT,
    CONSTRUCTION,
    NOT_IN_PLAN,
    PLANNED,
    REMOVED,
    layer_plan,
    parse_plans,
)
from twin.sim.overlays.thematic import ThematicOverlay, sensor_feature_values
from twin.sim.simulation import Simulation

T0 = datetime(2025, 6, 1, tzinfo=ICT)


def boxes_layer(n: int = 4, name: str = "buildings", **attrs) -> Layer:
    """n unit boxes 100 m apart along x, two triangles per box top (cells 2i, 2i+1)."""
    pts, faces = [], []
    for i in range(n):
        x = i * 100.0
        base = len(pts)
        pts += [[x, 0, 10], [x + 10, 0, 10], [x + 10, 10, 10], [x, 10, 10]]
        faces += [3, base, base + 1, base + 2, 3, base, base + 2, base + 3]
    mesh = pv.PolyData(np.array(pts, float), faces=faces)
    mesh.cell_data["feature"] = np.repeat(np.arange(n, dtype=np.int32), 2)
    bounds = np.array([[i * 100, i * 100 + 10, 0, 10, 0, 10] for i in range(n)], float)
    table = FeatureTable(np.array([f"F{i}" for i in range(n)], object),
                         np.array(["office"] * n, object), np.array([""] * n, object),
                         bounds, {k: np.asarray(v) for k, v in attrs.items()})
    return Layer(name, mesh, table, kind="buildings")


def sensor_set(n_features: int = 4):
    from test_sim_feeds import make_sensors

    s = make_sensors(["a", "b", "c"], ["air_quality", "air_quality", "traffic"])
    s.layer[:] = "buildings"
    s.row[:] = [0, 0, 2]
    s.warning[:] = [100, 100, 1000]
    s.alarm[:] = [150, 150, 1500]
    return s


# -- glyphs and thematic colouring ---------------------------------------------------------
def test_one_glyph_per_sensor_one_actor_per_kind():
    s = sensor_set()
    g = GlyphOverlay(s, base_size=5.0)
    assert set(g.actors) == {"air_quality", "traffic"}
    assert g.count("air_quality") == 2 and g.count("traffic") == 1
    g.update(np.array([50.0, 160.0, np.nan]), np.array([0, 2, -1], np.int8))
    rgb = g.points["air_quality"].point_data["rgb"]
    assert rgb[0].tolist() == LEVEL_RGB[1].tolist() and rgb[1].tolist() == LEVEL_RGB[3].tolist()
    scale = g.points["air_quality"].point_data["scale"]
    assert scale[1] > scale[0]
    assert g.points["traffic"].point_data["rgb"][0].tolist() == LEVEL_RGB[0].tolist()


def test_thematic_by_sensor_value_averages_attached_sensors():
    s = sensor_set()
    vals = np.array([40.0, 80.0, 900.0])
    per = sensor_feature_values(s, vals, "buildings", 4, kind="air_quality")
    assert per[0] == 60.0 and np.isnan(per[1:]).all()
    layer = boxes_layer()
    rgb, legend = ThematicOverlay("buildings", kind="air_quality", clim=(0, 120)).colors(
        layer, s, vals)
    assert legend.clim == (0, 120) and legend.title == "air_quality" and legend.unit == "u"
    assert rgb.shape == (4, 3) and len(legend.colors(5)) == 5
    assert not np.array_equal(rgb[0], rgb[1])


def test_recolour_writes_exactly_the_cells_of_the_features(tmp_path):
    scene = Scene(crs="EPSG:9208")
    layer = scene.add_layer(boxes_layer())
    plotter = pv.Plotter(off_screen=True, window_size=[64, 64])
    view = SceneView(scene, plotter, ground=False)
    try:
        before = view.cell_colors(layer).copy()
        colors = view.layer_feature_colors(layer)
        colors[2] = (255, 0, 0)
        view.set_feature_colors(layer, colors)
        after = view.cell_colors(layer)
        assert after[4:6].tolist() == [[255, 0, 0]] * 2
        assert np.array_equal(after[[0, 1, 2, 3, 6, 7]], before[[0, 1, 2, 3, 6, 7]])
        view.set_feature_colors(layer, None)
        assert np.array_equal(view.cell_colors(layer), before)
        assert "rgb" not in layer.mesh.cell_data  # the view never writes into the model
        actor = view.add_overlay_actor("x", pv.Sphere(), color="red")
        assert view.overlay_actors["x"] is actor
        view.remove_overlay_actor("x")
        assert "x" not in view.overlay_actors
    finally:
        view.close()
        plotter.close()


# -- heat map ------------------------------------------------------------------------------
def test_idw_values():
    known = np.array([[0.0, 0.0], [10.0, 0.0]])
    q = np.array([[0.0, 0.0], [5.0, 0.0], [2.5, 0.0], [100.0, 0.0]])
    out = idw(known, np.array([10.0, 20.0]), q)
    assert out[0] == 10.0 and out[1] == pytest.approx(15.0)
    # at 2.5 m: weights 1/2.5^2 and 1/7.5^2 -> 9:1
    assert out[2] == pytest.approx((9 * 10 + 1 * 20) / 10)
    assert 10 < out[3] < 20
    assert np.isnan(idw(known, np.array([np.nan, np.nan]), q)).all()
    assert idw(known, np.array([np.nan, 7.0]), q) == pytest.approx([7.0] * 4)


# -- alerts --------------------------------------------------------------------------------
def test_alerts_on_threshold_crossings_only_when_time_moves_forward():
    s = sensor_set()
    mon = AlertMonitor(s)
    raised = []
    mon.alert_raised.connect(raised.append)
    t = T0
    assert mon.update(t, to_ms(t), np.array([120.0, 50.0, 10.0])) == []  # first look: no event
    t += timedelta(minutes=15)
    out = mon.update(t, to_ms(t), np.array([160.0, 110.0, 10.0]))
    assert [(a.sensor, a.level, a.previous) for a in out] == [
        ("a", "alarm", "warning"), ("b", "warning", "normal")]
    assert raised == out and mon.active().tolist() == [0, 1]
    t += timedelta(minutes=15)
    out = mon.update(t, to_ms(t), np.array([90.0, np.nan, 10.0]))
    assert [(a.sensor, a.level) for a in out] == [("a", "normal")]  # dropout is no alert
    assert "a (air_quality)" in out[0].text()
    mon.update(T0, to_ms(T0), np.array([160.0, 160.0, 2000.0]))  # scrubbing back: silent
    assert len(mon.alerts) == 3


# -- planned -------------------------------------------------------------------------------
def test_planned_states_by_date_from_attributes_and_scene_file():
    layer = boxes_layer(
        3, start=np.array(["2026-01-01", "2027-06-01", ""], object),
        end=np.array(["2026-12-31", "2028-06-30", ""], object),
        status=np.array(["proposed", "to_demolish", ""], object),
        phase=np.array(["1", "2", ""], object),
    )
    plan = layer_plan(layer, [])
    at = {y: plan.states(to_ms(datetime(y, 3, 1, tzinfo=ICT))).tolist() for y in range(2025, 2030)}
    assert at[2025] == [PLANNED, NOT_IN_PLAN, NOT_IN_PLAN]
    assert at[2026] == [CONSTRUCTION, NOT_IN_PLAN, NOT_IN_PLAN]
    assert at[2027] == [BUILT, NOT_IN_PLAN, NOT_IN_PLAN]
    assert at[2028] == [BUILT, CONSTRUCTION, NOT_IN_PLAN]
    assert at[2029] == [BUILT, REMOVED, NOT_IN_PLAN]
    items = parse_plans("p.toml", [{"name": "x", "layer": "buildings", "features": ["F2"],
                                    "start": datetime(2025, 1, 1).date(),
                                    "end": "2025-02-01", "action": "remove"}])
    plan = layer_plan(layer, items)
    assert plan.states(to_ms(datetime(2025, 3, 1, tzinfo=ICT)))[2] == REMOVED


def test_plan_errors_name_the_key():
    from twin.scenefile import SceneFileError

    with pytest.raises(SceneFileError, match=r"plans\[0\]\.end"):
        parse_plans("p.toml", [{"name": "x", "layer": "l", "start": "2026-01-01",
                                "end": "2025-01-01"}])
    with pytest.raises(SceneFileError, match=r"plans\[0\]\.start"):
        parse_plans("p.toml", [{"name": "x", "layer": "l", "start": "soon"}])


# -- flood ---------------------------------------------------------------------------------
def test_flood_counts_features_below_the_water():
    river = np.column_stack([np.full(50, -50.0), np.linspace(-100, 100, 50)])
    flood = FloodModel(river, (-60, 400, -20, 30), bank=2.0, slope=0.01, resolution=60)
    layer = boxes_layer(4)  # centres at x = 5, 105, 205, 305: 55 .. 355 m from the river
    flood.set_level(1.0)
    assert flood.flooded(layer).sum() == 0 and water_sheet(flood).n_points == 0
    flood.set_level(2.0 + 0.01 * 160)  # reaches 160 m inland
    assert flood.flooded(layer).tolist() == [True, True, False, False]
    assert water_sheet(flood).n_cells > 0
    assert water_sheet(flood).bounds[1] < 200  # the sheet stops where the ground rises above it
    flood.set_level(10.0)
    assert flood.flooded(layer).all()


# -- the Việt Trì scene --------------------------------------------------------------------
@pytest.fixture(scope="module")
def viet_tri():
    scene = importers.open_scene(SCENES / "viet_tri.toml")
    return scene


def test_viet_tri_simulation_is_alive_and_headless(viet_tri):
    sim = Simulation.from_scene(viet_tri)
    try:
        sim.run_feeds_now()
        kinds = set(sim.sensors.kinds.tolist())
        assert {"air_quality", "traffic", "street_light", "water_meter", "water_level"} <= kinds
        assert not hasattr(sim, "glyphs") and not hasattr(sim, "view")  # arrays, no actors
        assert (sim.sensors.layer[sim.sensors.of_kind("water_meter")] == "Công trình (buildings)"
                ).all()
        sim.clock.set_time(datetime(2025, 6, 1, 20, 0, tzinfo=ICT))
        sim.update()
        lights = sim.values[sim.sensors.of_kind("street_light")]
        assert np.nanmean(lights) > 50  # on after dusk
        sim.clock.set_time(datetime(2025, 6, 2, 14, 0, tzinfo=ICT))  # flood crest, AQI episode
        assert sim.flood_level() > 3.0 and sim.flood_counts["Công trình (buildings)"] > 0
        assert any(a.level in ("warning", "alarm") for a in sim.alerts.alerts)
        summary = sim.plan_summary()
        tod = next(k for k in summary if k.startswith("Quy hoạch") and "buildings" in k)
        assert summary[tod]["planned"] == 6
        sim.clock.set_time(datetime(2028, 9, 1, tzinfo=ICT))
        s = sim.plan_summary()
        assert s[tod]["built"] == 4 and s[tod]["under construction"] == 2  # podium, A, car park
        assert s["Công trình (buildings)"]["removed"] == 31
        assert np.isnan(sim.values).all()  # no sensor data in 2028: shown as no data
    finally:
        sim.close()


@pytest.mark.render
def test_render_with_overlays_at_two_times(viet_tri, output_dir):
    bm = viet_tri.bookmark("overview")
    day = render_image(viet_tri, (480, 270), bm, time=datetime(2025, 6, 2, 16, 0, tzinfo=ICT))
    later = render_image(viet_tri, (480, 270), bm, time=datetime(2028, 9, 1, tzinfo=ICT))
    plain = render_image(viet_tri, (480, 270), bm, simulation=None)
    save_png(day, output_dir / "viet_tri_sim_2025.png")
    save_png(later, output_dir / "viet_tri_sim_2028.png")
    assert day.shape == (270, 480, 3)
    # the heat map and flood sheet change the picture; the bare scene has neither
    assert np.abs(day.astype(int) - plain.astype(int)).mean() > 5
    assert np.abs(day.astype(int) - later.astype(int)).mean() > 2
    # water in the day picture: strongly blue pixels
    blue = (day[:, :, 2] > day[:, :, 0] + 60) & (day[:, :, 2] > 150)
    assert blue.mean() > 0.01
    # the render leaves the scene as it found it: plan layers hidden, no feature hidden
    plan = [la for la in viet_tri.layers if la.name.startswith("Quy hoạch")]
    assert plan and not any(la.visible for la in plan)
    assert not any(viet_tri.hidden_features(la).any() for la in viet_tri.layers)


def test_store_path_and_feed_reports(viet_tri, tmp_path):
    sim = Simulation.from_scene(viet_tri, store_path=tmp_path / "h.sqlite")
    try:
        sim.start()
        for feed in sim.feeds:
            feed.join(20)
        rep = sim.feed_reports()
        assert rep[0]["status"] == "done" and rep[0]["written"] > 50_000
        assert (tmp_path / "h.sqlite").exists()
    finally:
        sim.close()
