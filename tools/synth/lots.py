"""Synthetic planning lots and red lines for the Việt Trì demo district.

Lots are the district's blocks between the road reserves (carriageway plus
pavement, as ``tools.synth.district`` lays them out), cut where the plan puts a
project of its own: the TOD tower site at the station and one row of
shophouses on the riverside. Indicators follow the zone: the station TOD area
and the riverside get the full set (height, floors, density, FAR, setback from
the red line); other lots carry a land use and no indicators (no approved
detailed plan), which is "no rule", not zero. Limits start from the zone's
values and are raised where an existing synthetic building would break them,
except two findings kept on purpose: TOD tower A (96 m) on a 90 m lot and a
shophouse row by the station over its row-house lot's density.
Deterministic (``--seed`` picks the row).

    python -m tools.synth.lots --seed 269
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pyogrio
import shapely

from tools.synth.district import SIDEWALK
from twin.compliance.buildings import BuildingSet, from_columns
from twin.compliance.indicators import RULES, lot_table
from twin.compliance.rules import check

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "viet_tri"
CRS = "urn:ogc:def:crs:EPSG::9208"
PLAN_FIRST = "2026-01-01"
#: zone -> (id prefix, land use, indicators or None); density in %, setback in m
ZONES = {
    "station_tod": ("TOD", "hỗn hợp TOD (mixed use)",
                    {"max_height": 100.0, "max_floors": 30, "max_density": 60.0,
                     "max_far": 9.0, "setback": 6.0}),
    "riverside": ("VS", "ở liên kế, dịch vụ ven sông (riverside housing)",
                  {"max_height": 22.0, "max_floors": 6, "max_density": 70.0,
                   "max_far": 3.5, "setback": 3.0}),
    "old_town": ("PC", "đô thị hiện hữu (existing town)", None),
    "new_urban": ("DM", "đô thị mới (new urban)", None),
    "industrial": ("CN", "công nghiệp (industry)", None),
}
TOWER_SITE_HEIGHT = 90.0  # TOD tower A is 96 m: the finding on purpose
ROW_DENSITY = 80.0  # row-house lots: 80 % (the row is denser: the other finding)


def _read(path: Path, layer: str | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    meta, _, wkb, fields = pyogrio.raw.read(path, layer=layer)[:4]
    return shapely.from_wkb(wkb), dict(zip(meta["fields"], fields, strict=True))


def _reserves(roads: np.ndarray, cols: dict) -> np.ndarray:
    """Road reserve polygons: carriageway and pavement, the land inside the red lines."""
    half = cols["width"] / 2 + np.array([SIDEWALK.get(c, 0.0) for c in cols["class"]])
    return shapely.buffer(roads, half, cap_style="flat")


def _blocks(area, cut) -> list:
    parts = shapely.get_parts(shapely.difference(area, cut))
    return [p for p in parts if p.area > 300.0]


def _buildings(dist: Path, plan: Path) -> tuple[BuildingSet, np.ndarray, np.ndarray, dict]:
    """Existing buildings + planned polygons; masks: standing now, standing at the plan's end."""
    fp, cols = _read(dist, "buildings")
    existing = from_columns(cols["id"], fp, cols, "buildings")
    pfp, pcols = _read(plan)
    poly = shapely.get_type_id(pfp) >= 3
    planned = from_columns(pcols["id"][poly], pfp[poly], {k: v[poly] for k, v in pcols.items()})
    both = BuildingSet.concat([existing, planned])
    n = len(existing)
    now = np.zeros(len(both), dtype=bool)
    now[:n] = True
    removed = np.zeros(len(both), dtype=bool)
    removed[:n] = _demolished(cols["id"])
    end = ~removed
    return both, now, end, cols


def _demolished(ids: np.ndarray) -> np.ndarray:
    """The TOD site's demolition list of scenes/viet_tri.toml."""
    nums = np.array([int(str(i).split("-")[-1]) for i in ids])
    return ((nums >= 91) & (nums <= 108)) | ((nums >= 265) & (nums <= 277))


def make(seed: int, dist: Path, plan: Path) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    roads, rcols = _read(dist, "roads")
    land, lcols = _read(dist, "landuse")
    buildings, now, end, bcols = _buildings(dist, plan)
    # the TOD tower site and one shophouse row get lots of their own; the
    # site's podium spans a lane the plan closes, so its road reserve gives way
    pfp, pcols = _read(plan)
    tod = [g for g, i in zip(pfp, pcols["id"], strict=True) if str(i).startswith("PL-TOD")]
    site = shapely.buffer(shapely.union_all(tod), 12.0, join_style="mitre")
    reserves = shapely.difference(_reserves(roads, rcols), site)
    main = rcols["class"] != "service"
    cut = shapely.union_all(reserves[main])
    water = shapely.union_all(land[np.isin(lcols["class"], ["water", "river"])])
    area = shapely.buffer(shapely.envelope(shapely.union_all(buildings.footprints)), 40.0)
    blocks = _blocks(shapely.difference(area, water), cut)
    zone_of = np.asarray(bcols["zone"], dtype=object)
    n_exist = len(zone_of)
    fps = buildings.footprints
    row_lot = _shophouse_row(rng, fps[:n_exist], bcols, blocks)
    lots, kinds = [], []
    for block in blocks:
        pieces = [("block", block)]
        for kind, special in (("tower_site", site), ("row", row_lot)):
            new = []
            for k, geom in pieces:
                inside = shapely.intersection(geom, special)
                if k == "block" and inside.area > 200.0:
                    new.append((kind, inside))
                    rest = shapely.difference(geom, special)
                    new.extend(("block", p) for p in shapely.get_parts(rest) if p.area > 300.0)
                else:
                    new.append((k, geom))
            pieces = new
        for k, geom in pieces:
            lots.append(shapely.set_precision(geom, 0.001))
            kinds.append(k)
    lots = np.array(lots, dtype=object)
    zones = _lot_zones(lots, fps[:n_exist], zone_of)
    ids, props = _indicators(lots, zones, kinds)
    _relax(props, ids, lots, buildings, now, end, reserves[main], kinds)
    lines = shapely.get_parts(shapely.line_merge(shapely.intersection(
        shapely.boundary(cut), shapely.buffer(area, -1.0))))
    return _collection("viet_tri_lots", lots, props), _collection(
        "viet_tri_red_lines", lines,
        [{"id": f"CGDD-{i + 1:03d}", "kind": "chỉ giới đường đỏ (red line)"}
         for i in range(len(lines))],
    )


def _shophouse_row(rng, fps, cols, blocks):
    """A row of eight or more adjoining shophouses in the station TOD area (the
    seed picks which), as one row-house lot hugging it."""
    idx = np.flatnonzero((cols["class"] == "shophouse") & (cols["zone"] == "station_tod"))
    grown = shapely.buffer(fps[idx], 1.2, join_style="mitre")
    groups = shapely.get_parts(shapely.union_all(grown))
    tree = shapely.STRtree(fps[idx])
    rows = [g for g in groups if len(tree.query(g, predicate="contains")) >= 8]
    rows.sort(key=lambda g: tuple(np.round(shapely.get_coordinates(shapely.centroid(g))[0])))
    pick = rows[int(rng.integers(len(rows)))]
    return shapely.buffer(pick, -0.6, join_style="mitre")


def _lot_zones(lots, fps, zone_of) -> np.ndarray:
    """Each lot's zone: that of most of its buildings, else of the nearest building."""
    tree = shapely.STRtree(fps)
    out = np.empty(len(lots), dtype=object)
    for i, lot in enumerate(lots):
        inside = tree.query(lot, predicate="contains")
        if inside.size:
            vals, counts = np.unique(zone_of[inside].astype(str), return_counts=True)
            out[i] = vals[np.argmax(counts)]
        else:
            out[i] = zone_of[tree.query_nearest(lot)[0]]
    return out


def _indicators(lots, zones, kinds) -> tuple[list[str], list[dict]]:
    counters: dict[str, int] = {}
    ids, props = [], []
    order = np.lexsort((shapely.get_coordinates(shapely.centroid(lots))[:, 0],))
    names = np.empty(len(lots), dtype=object)
    for i in order:
        prefix, use, rules = ZONES[zones[i]]
        if kinds[i] == "tower_site":
            prefix, use = "TOD-CT", "tháp hỗn hợp TOD (TOD towers)"
        elif kinds[i] == "row":
            prefix, use = "TOD-LK", "nhà ở liên kế (shophouse row)"
        counters[prefix] = counters.get(prefix, 0) + 1
        names[i] = f"{prefix}-{counters[prefix]:02d}"
    for i in range(len(lots)):
        prefix, use, rules = ZONES[zones[i]]
        p = {"id": names[i], "zone": zones[i], "land_use": use}
        p.update({r: None for r in RULES})
        p["far_below_ground"] = None
        if rules is not None:
            p.update(rules)
        if kinds[i] == "tower_site":
            p.update(land_use="tháp hỗn hợp TOD (TOD towers)", max_height=TOWER_SITE_HEIGHT,
                     far_below_ground=False)
        elif kinds[i] == "row":
            p.update(land_use="nhà ở liên kế (shophouse row)", max_density=ROW_DENSITY,
                     max_far=6.0, max_height=22.0, max_floors=6)
        ids.append(names[i])
        props.append(p)
    return ids, props


def _relax(props, ids, lots, buildings, now, end, red, kinds) -> None:
    """Raise (setback: lower) limits an existing or planned building would break,
    except the two findings kept on purpose; record in ``note`` what was changed."""
    for _ in range(3):
        attrs = {r: np.array([p[r] if p[r] is not None else np.nan for p in props]) for r in RULES}
        table = lot_table(np.array(ids, dtype=object), lots, attrs)
        changed = False
        for mask in (now, end):
            buildings.active = mask
            res = check(buildings, table, red)
            for rule in RULES:
                bad = np.flatnonzero(res.fails[rule])
                for b in bad:
                    li = res.lot[b]
                    if (kinds[li], rule) in (("tower_site", "max_height"), ("row", "max_density")):
                        continue
                    value = res.values[rule][b]
                    p = props[li]
                    if rule == "setback":
                        p[rule] = float(np.floor(value * 2) / 2)
                    elif rule == "max_floors":
                        p[rule] = int(np.ceil(value))
                    else:
                        p[rule] = float(np.ceil(value + 0.01))
                    p["note"] = "limits fitted to the synthetic buildings"
                    changed = True
        if not changed:
            return


def _collection(name: str, geoms, props) -> dict:
    feats = []
    for g, p in zip(geoms, props, strict=True):
        geo = json.loads(shapely.to_geojson(shapely.set_precision(g, 0.001)))
        feats.append({"type": "Feature", "properties": p, "geometry": geo})
    return {"type": "FeatureCollection", "name": name,
            "crs": {"type": "name", "properties": {"name": CRS}}, "features": feats}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=269)
    ap.add_argument("--district", type=Path, default=ASSETS / "viet_tri_district.gpkg")
    ap.add_argument("--plan", type=Path, default=ASSETS / "plan.geojson")
    ap.add_argument("--out", type=Path, default=ASSETS)
    args = ap.parse_args(argv)
    lots, lines = make(args.seed, args.district, args.plan)
    for name, doc in (("lots.geojson", lots), ("red_lines.geojson", lines)):
        path = args.out / name
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=None) + "\n", encoding="utf-8")
        print(f"wrote {path}: {len(doc['features'])} features")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
