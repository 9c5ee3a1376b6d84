"""Synthetic water supply and drainage networks under the Việt Trì demo district.

No pipe records of Việt Trì are open, so the networks are invented along the
district's streets (read from ``viet_tri_district.gpkg``, which this tool never
writes): a water main under one pavement of every street, a storm sewer under
the carriageway, split into pipes between nodes every 60-110 m (the seed picks
the spacing).

- **Water** (``water_mains.geojson``): pressurised mains, level, 1.0-1.2 m of
  cover; DN by street class (trunk 400 under Hùng Vương down to 110 in the
  lanes). Points: ``junction`` chambers at pipe ends, every eighth a
  ``pressure_node`` (a pressure logger), and four ``district_meter`` chambers
  (the inlets of four district metered areas, DMA-1 … DMA-4, by quadrant).
- **Drainage** (``drainage.geojson``): gravity sewers laid to a 0.3 % fall
  towards the river (the end nearer the river is downstream and deeper),
  DN 400-1500 with 1.2-1.5 m of cover at the upstream end; ``manhole`` shafts
  at every pipe end (depth = the deepest invert meeting there), every eighth a
  ``gauged_manhole`` (a level sensor), and an ``outfall`` where a sewer ends
  within 40 m of the river.

Fields: ``id``, ``class``, ``name`` (the street), ``network``, ``diameter_mm``
(pipes: bore; shafts: chamber), ``invert_depth`` (m below ground; pipes at their
start), ``invert_depth_end`` (pipes), ``material``, ``dma`` (water). EPSG:9208,
coordinates to the millimetre, deterministic: a rerun gives the same bytes::

    python -m tools.synth.networks --seed 269
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
import pyogrio
import shapely
import shapely.ops

from tools.synth.district import SIDEWALK

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "viet_tri"
CRS = "urn:ogc:def:crs:EPSG::9208"
#: street class -> (water main DN, material), (sewer DN, material)
IRON = "gang dẻo (ductile iron)"
WATER_DN = {"primary": (400, IRON), "secondary": (300, IRON), "residential": (160, "HDPE"),
            "service": (110, "HDPE")}
SEWER_DN = {"primary": (1500, "bê tông cốt thép (reinforced concrete)"),
            "secondary": (1000, "bê tông cốt thép (reinforced concrete)"),
            "residential": (800, "bê tông cốt thép (reinforced concrete)"),
            "service": (400, "uPVC")}
FALL = 0.003
OUTFALL_M = 120.0


def _read(path: Path, layer: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    meta, _, wkb, fields = pyogrio.raw.read(path, layer=layer)[:4]
    return shapely.from_wkb(wkb), dict(zip(meta["fields"], fields, strict=True))


def _pieces(line, rng: np.random.Generator) -> list:
    """A street's line cut into pipes 60-110 m long (the last one takes the rest)."""
    length = line.length
    cuts = [0.0]
    while length - cuts[-1] > 140.0:
        cuts.append(cuts[-1] + float(rng.uniform(60.0, 110.0)))
    cuts.append(length)
    return [shapely.ops.substring(line, a, b) for a, b in itertools.pairwise(cuts)]


def _round(geom):
    return shapely.set_precision(geom, 0.001)


def make(seed: int, district: Path) -> tuple[dict, dict]:
    """The water and drainage feature collections (GeoJSON dicts)."""
    rng = np.random.default_rng(seed)
    roads, cols = _read(district, "roads")
    land, lcols = _read(district, "landuse")
    river = shapely.union_all(land[lcols["class"] == "river"])
    streets = [i for i, c in enumerate(cols["class"]) if c != "rail"]
    water, sewer = [], []
    for i in streets:
        cls, width, name = str(cols["class"][i]), float(cols["width"][i]), str(cols["name"][i])
        line = roads[i]
        pavement = width / 2 + SIDEWALK.get(cls, 1.0) / 2  # mains under one pavement
        carriage = -width / 4  # sewers under the carriageway, the other side
        for side, out in ((pavement, water), (carriage, sewer)):
            off = shapely.offset_curve(line, side, join_style="mitre", mitre_limit=2.0)
            if off.geom_type != "LineString" or off.length < 5:
                continue
            out.extend((cls, name, p) for p in _pieces(off, rng) if p.length > 2.0)
    centre = shapely.centroid(shapely.union_all(roads[streets]))
    w_feats, s_feats = [], []
    # water: level pipes, DN by class
    junctions = []
    for n, (cls, name, p) in enumerate(water, start=1):
        dn, mat = WATER_DN[cls]
        cover = float(rng.uniform(1.0, 1.2))
        inv = round(cover + dn / 1000.0, 2)
        w_feats.append(({"id": f"VT-WM-{n:04d}", "class": "water_main", "name": name,
                         "network": "water", "diameter_mm": dn, "invert_depth": inv,
                         "invert_depth_end": inv, "material": mat}, p))
        junctions.append((shapely.Point(p.coords[-1]), inv, name))
    for n, (pt, inv, name) in enumerate(junctions, start=1):
        cls = "pressure_node" if n % 8 == 0 else "junction"
        w_feats.append(({"id": f"VT-WN-{n:04d}", "class": cls, "name": name, "network": "water",
                         "diameter_mm": 1000, "invert_depth": round(inv + 0.3, 2),
                         "material": "bê tông (concrete)"}, pt))
    # four district meters: the junction nearest each quadrant's middle
    pts = np.array([[j[0].x, j[0].y] for j in junctions])
    quads = [(-1, 1), (1, 1), (-1, -1), (1, -1)]
    span = pts.max(0) - pts.min(0)
    for q, (sx, sy) in enumerate(quads, start=1):
        aim = np.array([centre.x + sx * span[0] / 4, centre.y + sy * span[1] / 4])
        k = int(np.argmin(((pts - aim) ** 2).sum(1)))
        props, geom = w_feats[len(water) + k]
        props.update({"class": "district_meter", "id": f"VT-DMA-{q}", "diameter_mm": 1600})
    meters = np.array([[g.x, g.y] for p, g in w_feats if p["class"] == "district_meter"])
    for props, geom in w_feats:
        c = shapely.centroid(geom)
        props["dma"] = f"DMA-{int(np.argmin(((meters - [c.x, c.y]) ** 2).sum(1))) + 1}"
    # drainage: laid to a fall towards the river
    ends: dict[tuple[float, float], float] = {}
    starts: set[tuple[float, float]] = set()
    for n, (cls, name, p) in enumerate(sewer, start=1):
        a, b = shapely.Point(p.coords[0]), shapely.Point(p.coords[-1])
        if river.distance(a) < river.distance(b):  # flow runs away from the start
            p = shapely.reverse(p)
        dn, mat = SEWER_DN[cls]
        top = round(float(rng.uniform(1.2, 1.5)) + dn / 1000.0, 2)
        bottom = round(top + FALL * p.length, 2)
        s_feats.append(({"id": f"VT-D-{n:04d}", "class": "storm_sewer", "name": name,
                         "network": "drainage", "diameter_mm": dn, "invert_depth": top,
                         "invert_depth_end": bottom, "material": mat}, p))
        for xy, depth in ((p.coords[0], top), (p.coords[-1], bottom)):
            key = (round(xy[0], 3), round(xy[1], 3))
            ends[key] = max(ends.get(key, 0.0), depth)
        starts.add((round(p.coords[0][0], 3), round(p.coords[0][1], 3)))
    for n, ((x, y), depth) in enumerate(ends.items(), start=1):
        pt = shapely.Point(x, y)
        sink = (x, y) not in starts  # no pipe leaves it: the network ends here
        cls = "outfall" if sink and river.distance(pt) < OUTFALL_M else (
            "gauged_manhole" if n % 8 == 0 else "manhole")
        s_feats.append(({"id": f"VT-MH-{n:04d}", "class": cls, "name": "", "network": "drainage",
                         "diameter_mm": 1200 if cls != "outfall" else 1800,
                         "invert_depth": round(depth + 0.2, 2),
                         "material": "bê tông (concrete)"}, pt))
    return _collection("water_mains", w_feats), _collection("drainage", s_feats)


def _collection(name: str, feats: list[tuple[dict, object]]) -> dict:
    out = []
    for props, geom in feats:
        geo = json.loads(shapely.to_geojson(_round(geom)))
        out.append({"type": "Feature", "properties": props, "geometry": geo})
    return {"type": "FeatureCollection", "name": name,
            "crs": {"type": "name", "properties": {"name": CRS}}, "features": out}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=269)
    ap.add_argument("--district", type=Path, default=ASSETS / "viet_tri_district.gpkg")
    ap.add_argument("--out", type=Path, default=ASSETS)
    args = ap.parse_args(argv)
    for doc in make(args.seed, args.district):
        path = args.out / f"{doc['name']}.geojson"
        path.write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")
        classes: dict[str, int] = {}
        for f in doc["features"]:
            classes[f["properties"]["class"]] = classes.get(f["properties"]["class"], 0) + 1
        print(f"wrote {path}: {len(doc['features'])} features {classes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
