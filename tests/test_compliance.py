"""Planning compliance against hand-computed values (twin.compliance, no scene files)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Polygon, box

from twin.compliance.assign import assign_lots, assign_lots_loop
from twin.compliance.buildings import BuildingSet, from_columns
from twin.compliance.indicators import lot_table
from twin.compliance.rules import check


def lots(geoms, **columns):
    ids = np.array([f"L{i + 1}" for i in range(len(geoms))], dtype=object)
    cols = {k: np.array(v, dtype=object if any(x is None or isinstance(x, str) for x in v)
                        else float) for k, v in columns.items()}
    return lot_table(ids, np.array(geoms, dtype=object), cols)


def buildings(geoms, ids=None, **columns) -> BuildingSet:
    ids = np.array(ids or [f"B{i + 1}" for i in range(len(geoms))], dtype=object)
    cols = {k: np.array(v, dtype=float) for k, v in columns.items()}
    return from_columns(ids, np.array(geoms, dtype=object), cols, "buildings")


L_SHAPE = Polygon([(2, 2), (12, 2), (12, 7), (7, 7), (7, 12), (2, 12)])  # 100 - 25 = 75 m²


def test_l_shaped_footprint_density():
    b = buildings([L_SHAPE], height=[6.4])
    res = check(b, lots([box(0, 0, 20, 20)], max_density=[18.75]))
    assert res.values["max_density"][0] == pytest.approx(75 / 400 * 100)  # 18.75 %
    assert not res.failing.any()  # equal to the limit complies
    res = check(b, lots([box(0, 0, 20, 20)], max_density=[18.7]))
    assert res.violations() == [
        {"building": "B1", "lot": "L1", "rule": "max_density", "value": 18.75, "limit": 18.7}
    ]


def test_far_with_mixed_floors_and_estimate():
    # A: 10 x 10 m, 3 storeys = 300 m²; B: 5 x 4 m, 9.6 m high, no levels -> 3 (estimate) = 60 m²
    b = buildings([box(1, 1, 11, 11), box(13, 1, 18, 5)],
                  height=[9.6, 9.6], **{"building:levels": [3, np.nan]})
    assert b.floors.tolist() == [3, 3]
    assert b.floors_estimated.tolist() == [False, True]
    assert b.gfa.tolist() == pytest.approx([300.0, 60.0])
    res = check(b, lots([box(0, 0, 20, 20)], max_far=[0.9]))
    assert res.values["max_far"].tolist() == pytest.approx([0.9, 0.9])  # 360 / 400
    assert not res.failing.any()
    res = check(b, lots([box(0, 0, 20, 20)], max_far=[0.89]))
    assert [v["building"] for v in res.violations()] == ["B1", "B2"]
    assert {v["rule"] for v in res.violations()} == {"max_far"}


def test_floors_from_height_rounds_and_podium_storeys_are_not_floor_area():
    # a 96 m tower on a 12 m podium: 30 storeys counted for max_floors, 30 - 4 for GFA
    b = buildings([box(0, 0, 10, 10)], height=[96.0], min_height=[12.0])
    assert b.floors[0] == 30 and b.floors_estimated[0]
    assert b.gfa[0] == pytest.approx(100 * 26)


@pytest.mark.parametrize("gap, fails", [(3.0, False), (2.99, True)])
def test_setback_exactly_at_the_limit_passes_one_cm_less_fails(gap, fails):
    red = np.array([LineString([(-50, 0), (50, 0)])], dtype=object)
    b = buildings([box(0, gap, 10, gap + 10)], height=[7.0])
    res = check(b, lots([box(-20, -1, 20, 30)], setback=[3.0]), red_lines=red)
    assert res.setback_from == "red_lines"
    assert res.values["setback"][0] == pytest.approx(gap)
    assert bool(res.fails["setback"][0]) is fails


def test_setback_without_red_lines_is_to_the_lot_boundary():
    b = buildings([box(4, 5, 10, 10)], height=[7.0])
    res = check(b, lots([box(0, 0, 20, 20)], setback=[4.0]))
    assert res.setback_from == "lot_boundary"
    assert res.values["setback"][0] == pytest.approx(4.0)
    assert not res.failing.any()


def test_building_across_two_lots_belongs_to_the_larger_overlap():
    # overlaps L1 by 4 x 6 = 24 m², L2 by 6 x 6 = 36 m²: L2, with its whole footprint
    b = buildings([box(6, 2, 16, 8)], height=[10.0])
    res = check(b, lots([box(0, 0, 10, 10), box(10, 0, 20, 10)], max_density=[50, 50]))
    assert res.lot.tolist() == [1]
    assert res.values["max_density"][0] == pytest.approx(60.0)  # 60 m² on 100 m²
    assert res.violations()[0]["lot"] == "L2"


def test_lot_without_indicators_checks_nothing_and_off_lot_is_unassigned():
    b = buildings([box(1, 1, 9, 9), box(100, 100, 110, 110)], height=[200.0, 5.0])
    res = check(b, lots([box(0, 0, 10, 10)], land_use=["park"]))
    assert res.lot.tolist() == [0, -1]
    assert res.checked.tolist() == [False, False]  # a lot without indicators checks nothing
    assert res.without_rules.tolist() == [True, False]
    assert not res.failing.any()
    assert res.summary() == {"checked": 0, "violations": [], "unassigned": ["B2"]}
    assert not res.lots.has_rules()[0]


def test_missing_value_is_no_rule_not_zero():
    b = buildings([box(1, 1, 9, 9), box(21, 1, 29, 9)], height=[50.0, 50.0])
    res = check(b, lots([box(0, 0, 10, 10), box(20, 0, 30, 10)], max_height=[None, 40.0]))
    assert res.fails["max_height"].tolist() == [False, True]
    assert np.isnan(res.limits["max_height"][0])


def test_underground_counts_for_far_only_where_the_lot_says_so():
    park = box(2, 2, 18, 18)  # 256 m², -9 m .. -0.4 m: 8.6 / 3.2 -> 3 storeys below ground
    house = box(5, 5, 10, 10)  # 25 m², 2 storeys
    b = buildings([park, house], height=[-0.4, 6.4], min_height=[-9.0, 0.0])
    assert b.underground.tolist() == [True, False]
    base = dict(max_height=[10.0], max_density=[10.0], max_far=[1.0])
    ids = np.array(["L1"], dtype=object)
    for flag, far in ((0, 50 / 400), (1, (50 + 256 * 3) / 400)):
        cols = {k: np.array(v, float) for k, v in base.items()}
        cols["far_below_ground"] = np.array([flag], float)
        res = check(b, lot_table(ids, np.array([box(0, 0, 20, 20)]), cols))
        assert res.values["max_density"][1] == pytest.approx(25 / 400 * 100)  # park left out
        assert np.isnan(res.values["max_height"][0])
        assert res.lot_far[0] == pytest.approx(far)
    assert res.fails["max_far"].tolist() == [True, True]  # 2.045 > 1.0


def test_density_counts_a_tower_on_its_podium_once():
    b = buildings([box(0, 0, 20, 20), box(5, 5, 15, 15)], height=[12.0, 60.0],
                  min_height=[0.0, 12.0])
    res = check(b, lots([box(-5, -5, 25, 25)], max_density=[50.0]))
    assert res.lot_density[0] == pytest.approx(400 / 900 * 100)


def test_plan_phase_inactive_buildings_are_not_checked():
    b = buildings([box(1, 1, 9, 9)], height=[200.0])
    b.active[:] = False
    res = check(b, lots([box(0, 0, 10, 10)], max_height=[10.0]))
    assert res.summary() == {"checked": 0, "violations": [], "unassigned": []}


def test_bad_lots_get_one_line_warnings_naming_the_lot():
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    table = lots([bowtie, box(20, 0, 30, 10), box(25, 0, 35, 10), box(50, 0, 60, 10)],
                 max_height=[10.0, 10.0, 10.0, -5.0])
    text = "\n".join(table.warnings)
    assert all("\n" not in w for w in table.warnings)
    assert "lot L1: invalid polygon" in text
    assert "lot L2: overlaps lot L3 by 50.0 m²" in text
    assert "lot L4: max_height = -5 is negative; rule ignored" in text
    assert np.isnan(table.limits["max_height"][3])
    assert shapely.is_valid(table.geoms[0]) and table.geoms[0].area == pytest.approx(50.0)


def test_vectorised_assignment_matches_the_loop():
    rng = np.random.default_rng(5)
    lot_geoms = np.array([box(x, y, x + 40, y + 30) for x in range(0, 400, 40)
                          for y in range(0, 300, 30)], dtype=object)
    xy = rng.uniform(-10, 400, size=(500, 2))
    wh = rng.uniform(4, 30, size=(500, 2))
    fps = shapely.box(xy[:, 0], xy[:, 1], xy[:, 0] + wh[:, 0], xy[:, 1] + wh[:, 1])
    fast, area = assign_lots(fps, lot_geoms)
    assert np.array_equal(fast, assign_lots_loop(fps, lot_geoms))
    assert (area[fast >= 0] > 0).all()


SCENE_HEAD = """[scene]
crs = "EPSG:9208"
origin = [568000.0, 2357000.0, 0.0]

[[layers]]
name = "lots"
path = "lots.geojson"

[[layers]]
name = "houses"
path = "houses.geojson"
"""


def test_scene_file_compliance_table_is_parsed_and_checked():
    from twin.scenefile import SceneFileError, parse_scene

    spec = parse_scene(SCENE_HEAD + """
[[compliance]]
lots = "lots"
buildings = ["houses"]
columns = { max_height = "hmax", max_far = "hssdd" }
below_ground_counts_far = true
""", "s.toml")
    (c,) = spec.compliance
    assert (c.lots, c.buildings, c.red_lines, c.below_ground_counts_far) == (
        "lots", ["houses"], None, True)
    assert c.columns == {"max_height": "hmax", "max_far": "hssdd"}
    for bad, key in (
        ('lots = "parcels"\nbuildings = ["houses"]', "compliance[0].lots"),
        ('lots = "lots"\nbuildings = ["houses"]\nred_lines = "x"', "compliance[0].red_lines"),
        ('lots = "lots"\nbuildings = []', "compliance[0].buildings"),
        ('lots = "lots"\nbuildings = ["houses"]\ncolumns = { max_hight = "h" }',
         "compliance[0].columns.max_hight"),
        ('lots = "lots"\nbuildings = ["houses"]\nsetbacks = 3', "compliance[0].setbacks"),
    ):
        with pytest.raises(SceneFileError) as err:
            parse_scene(SCENE_HEAD + "\n[[compliance]]\n" + bad + "\n", "s.toml")
        assert err.value.key == key and "\n" not in str(err.value)


def test_renamed_columns_are_read_and_the_default_names_ignored():
    ids = np.array(["L1"], dtype=object)
    cols = {"hmax": np.array([12.0]), "max_height": np.array([99.0])}
    table = lot_table(ids, np.array([box(0, 0, 10, 10)]), cols, {"max_height": "hmax"})
    assert table.limits["max_height"].tolist() == [12.0]


def test_colours_mark_breaking_complying_and_unruled_buildings_and_lots():
    from twin.compliance import colors

    b = buildings([box(1, 1, 9, 9), box(11, 1, 19, 9), box(21, 1, 29, 9), box(50, 50, 55, 55)],
                  height=[30.0, 10.0, 30.0, 5.0])
    res = check(b, lots([box(0, 0, 10, 10), box(10, 0, 20, 10), box(20, 0, 30, 10)],
                        max_height=[20.0, 20.0, None]))
    rgb = colors.building_colors(res, "buildings", 4)
    assert [tuple(c) for c in rgb] == [colors.BREAKS, colors.COMPLIES, colors.NOT_CHECKED,
                                       colors.NOT_CHECKED]
    assert [tuple(c) for c in colors.lot_colors(res)] == [
        colors.LOT_BREAKS, colors.LOT_COMPLIES, colors.LOT_NO_RULES]
    spec = colors.legend("vi")
    assert spec.key == colors.LEGEND_KEY and spec.swatches[0].label == "Vượt chỉ tiêu"
