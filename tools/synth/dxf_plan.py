"""A synthetic detailed-plan drawing (quy hoạch chi tiết 1/500) of a Việt Trì block, as DXF.

Planning departments draw detailed plans in AutoCAD in VN-2000 metres, one CAD
layer per kind of thing: red lines (chỉ giới đường đỏ), road centre lines, lots
with their codes, hatched green space, symbols as block references. No such
drawing of Việt Trì is open data, so this one is generated, seeded and
reproducible, on four blocks south-west of the synthetic pilot district
(VN-2000 / TM-3 104-45, EPSG:9208). It exercises what a real drawing has:
polylines with arcs (bulges) at the kerb corners, a hatch with a hole (a pond
in the park), circles, lines and arcs, TEXT and MTEXT, and block references
with attributes.

    python -m tools.synth.dxf_plan --seed 269 --out tests/data/plan_viet_tri.dxf
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import ezdxf
import numpy as np

#: South-west corner of the plan (VN-2000 / TM-3 104-45 metres).
X0, Y0 = 567600.0, 2356900.0
WIDTH, DEPTH = 360.0, 240.0
#: Road centre lines (plan-local) and the red-line half width.
ROAD_X, ROAD_Y, HALF = 180.0, 120.0, 10.0
KERB_R = 8.0
LAYERS = {
    # name: (ACI colour, description)
    "RANH_GIOI_QH": (6, "ranh giới quy hoạch (plan boundary)"),
    "CHI_GIOI_DUONG_DO": (1, "chỉ giới đường đỏ (red lines)"),
    "TIM_DUONG": (4, "tim đường (road centre lines)"),
    "LO_DAT": (7, "lô đất (lots)"),
    "HATCH_CAY_XANH": (3, "cây xanh (green space, hatched)"),
    "HO_NUOC": (5, "hồ nước (pond)"),
    "TEXT_LO_DAT": (2, "ký hiệu lô, chỉ tiêu (lot codes, indicators)"),
    "KY_HIEU": (3, "ký hiệu (symbols: trees, lamps, markers)"),
}
#: bulge of a 90-degree arc (tan of a quarter of the angle)
QUARTER = math.tan(math.radians(90.0) / 4)


def _blocks() -> dict[str, tuple[float, float, float, float, str]]:
    """The four blocks between the red lines: name -> (x0, y0, x1, y1, rounded corner)."""
    return {
        "A": (0.0, 0.0, ROAD_X - HALF, ROAD_Y - HALF, "ne"),
        "B": (ROAD_X + HALF, 0.0, WIDTH, ROAD_Y - HALF, "nw"),
        "C": (0.0, ROAD_Y + HALF, ROAD_X - HALF, DEPTH, "se"),
        "D": (ROAD_X + HALF, ROAD_Y + HALF, WIDTH, DEPTH, "sw"),
    }


def _rounded_ring(x0, y0, x1, y1, corner) -> list[tuple[float, float, float]]:
    """(x, y, bulge) of a counter-clockwise rectangle whose ``corner`` is a kerb arc."""
    r = KERB_R
    out: list[tuple[float, float, float]] = []
    for name, (x, y) in (("sw", (x0, y0)), ("se", (x1, y0)), ("ne", (x1, y1)), ("nw", (x0, y1))):
        if name != corner:
            out.append((x, y, 0.0))
            continue
        # arc from the point before the corner to the point after it, turning left
        before = {"sw": (x0, y0 + r), "se": (x1 - r, y0), "ne": (x1, y1 - r), "nw": (x0 + r, y1)}
        after = {"sw": (x0 + r, y0), "se": (x1, y0 + r), "ne": (x1 - r, y1), "nw": (x0, y1 - r)}
        # a block's corner is convex: the arc turns left, about (corner - r, corner - r)
        out.append((*before[name], QUARTER))
        out.append((*after[name], 0.0))
    return out


def _w(x: float, y: float) -> tuple[float, float]:
    return (X0 + x, Y0 + y)


def make(seed: int = 269) -> ezdxf.document.Drawing:
    """The drawing (R2010, metres); the same seed gives the same entities."""
    rng = np.random.default_rng(seed)
    doc = ezdxf.new("R2010", setup=False)
    doc.header["$INSUNITS"] = 6  # metres
    for name, (colour, desc) in LAYERS.items():
        doc.layers.add(name, color=colour).description = desc
    _block_definitions(doc)
    msp = doc.modelspace()
    boundary = [_w(0, 0), _w(WIDTH, 0), _w(WIDTH, DEPTH), _w(0, DEPTH)]
    msp.add_lwpolyline(boundary, close=True, dxfattribs={"layer": "RANH_GIOI_QH"})
    msp.add_text("KHU QUY HOẠCH CHI TIẾT GA VIỆT TRÌ", height=4.0,
                 dxfattribs={"layer": "TEXT_LO_DAT"}).set_placement(_w(4.0, DEPTH + 6.0))
    # road centre lines: two straight lines and an arc where the side street bends
    msp.add_line(_w(0, ROAD_Y), _w(WIDTH, ROAD_Y), dxfattribs={"layer": "TIM_DUONG"})
    msp.add_line(_w(ROAD_X, 0), _w(ROAD_X, DEPTH), dxfattribs={"layer": "TIM_DUONG"})
    msp.add_arc(_w(ROAD_X, DEPTH + 40.0), radius=40.0, start_angle=270, end_angle=330,
                dxfattribs={"layer": "TIM_DUONG"})
    lot_no = 0
    for name, (x0, y0, x1, y1, corner) in _blocks().items():
        ring = _rounded_ring(x0, y0, x1, y1, corner)
        # the red line of the block: an open polyline around it (kerb arc included)
        red = [(*_w(x, y), 0.0, 0.0, b) for x, y, b in ring]
        red.append((*red[0][:4], 0.0))
        msp.add_lwpolyline(red, format="xyseb", dxfattribs={"layer": "CHI_GIOI_DUONG_DO"})
        if name == "D":
            lot_no = _park(msp, x0, y0, x1, y1, corner, lot_no)
            continue
        lot_no = _lots(msp, rng, name, x0, y0, x1, y1, corner, lot_no)
    _symbols(msp, rng)
    return doc


def _lots(msp, rng, block, x0, y0, x1, y1, corner, lot_no) -> int:
    """Split a block into lots across its width; the corner lot keeps the kerb arc."""
    width = x1 - x0
    n = int(rng.integers(5, 8))
    cuts = np.sort(rng.uniform(0.1, 0.9, n - 1)) * width + x0
    edges = [x0, *np.round(cuts, 2).tolist(), x1]
    for i in range(n):
        a, b = edges[i], edges[i + 1]
        lot_no += 1
        code = f"{block}{i + 1:02d}"
        last_corner = (corner in ("ne", "se") and i == n - 1) or (corner in ("nw", "sw") and i == 0)
        ring = _rounded_ring(a, y0, b, y1, corner if last_corner else "")
        pts = [(*_w(x, y), 0.0, 0.0, bulge) for x, y, bulge in ring]
        msp.add_lwpolyline(pts, format="xyseb", close=True, dxfattribs={"layer": "LO_DAT"})
        use = "LK" if (y1 - y0) < 120 and (b - a) < 30 else "HH"
        cx, cy = _w((a + b) / 2, (y0 + y1) / 2)
        msp.add_text(f"{use}-{code}", height=2.0,
                     dxfattribs={"layer": "TEXT_LO_DAT"}).set_placement((cx, cy + 3.0))
        if rng.random() < 0.5:
            floors = int(rng.integers(3, 9))
            density = int(rng.integers(6, 9)) * 10
            mt = msp.add_mtext(f"MĐXD {density}%\\PTầng cao {floors}",
                               dxfattribs={"layer": "TEXT_LO_DAT", "char_height": 1.5})
            mt.set_location((cx, cy - 2.0))
    return lot_no


def _park(msp, x0, y0, x1, y1, corner, lot_no) -> int:
    """Block D is a park: one lot, hatched green with the pond left out, and the pond."""
    lot_no += 1
    ring = _rounded_ring(x0, y0, x1, y1, corner)
    pts = [(*_w(x, y), 0.0, 0.0, b) for x, y, b in ring]
    msp.add_lwpolyline(pts, format="xyseb", close=True, dxfattribs={"layer": "LO_DAT"})
    hatch = msp.add_hatch(color=3, dxfattribs={"layer": "HATCH_CAY_XANH"})
    hatch.paths.add_polyline_path([(*_w(x, y), b) for x, y, b in ring], is_closed=True,
                                  flags=ezdxf.const.BOUNDARY_PATH_EXTERNAL)
    cx, cy = (x0 + x1) / 2 + 20.0, (y0 + y1) / 2
    edge = hatch.paths.add_edge_path(flags=ezdxf.const.BOUNDARY_PATH_OUTERMOST)
    edge.add_arc(_w(cx, cy), radius=18.0, start_angle=0, end_angle=360)
    msp.add_circle(_w(cx, cy), radius=18.0, dxfattribs={"layer": "HO_NUOC"})
    msp.add_text("CX-D01", height=2.0, dxfattribs={"layer": "TEXT_LO_DAT"}).set_placement(
        _w(x0 + 25.0, (y0 + y1) / 2)
    )
    msp.add_text("HỒ", height=2.0, dxfattribs={"layer": "TEXT_LO_DAT"}).set_placement(
        _w(cx, cy)
    )
    return lot_no


def _block_definitions(doc) -> None:
    tree = doc.blocks.new("CAY_XANH")
    tree.add_circle((0, 0), radius=1.5)
    lamp = doc.blocks.new("COT_DEN")
    lamp.add_line((-0.5, 0), (0.5, 0))
    lamp.add_circle((0, 0), radius=0.3)
    marker = doc.blocks.new("MOC_GIOI")
    marker.add_circle((0, 0), radius=0.5)
    marker.add_attdef("SO", (0.8, 0.8), dxfattribs={"height": 1.0})


def _symbols(msp, rng) -> None:
    """Trees along the red lines, lamps along the main road, boundary markers."""
    for x in np.arange(10.0, WIDTH, 24.0):
        if abs(x - ROAD_X) < HALF + 4:
            continue
        for y in (ROAD_Y - HALF - 2.0, ROAD_Y + HALF + 2.0):
            jitter = float(rng.uniform(-1.5, 1.5))
            msp.add_blockref("CAY_XANH", _w(x + jitter, y), dxfattribs={"layer": "KY_HIEU"})
    for y in np.arange(12.0, DEPTH, 30.0):
        msp.add_blockref("COT_DEN", _w(ROAD_X + HALF - 1.0, y),
                         dxfattribs={"layer": "KY_HIEU", "rotation": 90.0})
    for k, (x, y) in enumerate(((0, 0), (WIDTH, 0), (WIDTH, DEPTH), (0, DEPTH)), start=1):
        ref = msp.add_blockref("MOC_GIOI", _w(x, y), dxfattribs={"layer": "KY_HIEU"})
        ref.add_auto_attribs({"SO": f"M{k}"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=269)
    parser.add_argument("--out", type=Path, default=Path("tests/data/plan_viet_tri.dxf"))
    args = parser.parse_args(argv)
    doc = make(args.seed)
    doc.saveas(args.out, encoding="utf-8")
    print(f"{args.out}: {args.out.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
