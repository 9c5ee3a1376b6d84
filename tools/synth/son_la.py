"""Seeded generator of a synthetic pilot scene of Sơn La city, on terrain.

Sơn La is the second pilot province of the viewer and no open building footprints
or bundlable DEM of the city exist, yet a mountain-valley city exercises what the
flat Việt Trì district cannot: buildings standing on terrain, roads following it,
a stream in a valley floor with a flood gauge, hills all round. This module
invents one, deterministically (the same seed gives the same bytes):

* a DEM (GeoTIFF, EPSG:9206, 25 m cells) of the Nậm La valley: a floor rising
  gently away from the stream (``BANK + SLOPE * distance``, the same ground model
  the flood overlay assumes, so its water sheet fits the terrain), hills of seeded
  relief to about 1,000 m on both sides, and the Khau Cả knoll in town;
* the city in a GeoPackage with the same four layers as Việt Trì (buildings,
  roads, land use, sensor sites), made by the shared block filler of
  :mod:`tools.synth.district` on Sơn La's own street plan and notable sites;
  ordinary houses are kept off steep ground;
* ``plan.geojson``: invented planned projects with phases (a riverside road, a TOD
  cluster at the bus station, an underground car park).

Everything is laid out in a local frame ``(u, v)`` in metres: ``u`` runs up the
valley (NNW), the origin is near Quảng trường Tây Bắc. Only at the end is it
rotated and shifted into VN-2000 / TM-3 104-00 (EPSG:9206).

Regenerate the bundled assets with::

    python -m tools.synth.son_la -o assets/son_la --seed 2025
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from tools.synth import dem
from tools.synth import district as vt

CRS = "EPSG:9206"
"""VN-2000 / TM-3 104-00, the projected CRS of Sơn La province (metres)."""
ANCHOR_LONLAT = (103.910, 21.330)
"""WGS 84 position of the local origin, in the Nậm La valley by the central square."""
AXIS_DEG = 105.0
"""Direction of the valley (the local ``u`` axis), degrees counter-clockwise from east."""
DATUM = 598.0
"""Gauge datum of the Nậm La at the city (m above sea level); the scene's origin z."""
BANK, SLOPE = 2.5, 0.01
"""Valley floor: ``BANK`` m above the datum at the stream's edge, rising ``SLOPE`` m/m."""
RIVER_HALF = 12.0
"""Half width of the Nậm La's bed, metres."""
RIVER_PARK = 35.0
"""Width of the green strip kept on each bank, metres."""
VALLEY_AXIS_V = -40.0
KNOLL = (690.0, -470.0, 42.0, 45.0, 110.0)
"""Đồi Khau Cả: centre u, v, height above the floor, radius of its flat top and width
of its slopes, metres (the museum stands on the top)."""
HALF_U = 1650.0
"""Half length of the city along the valley, metres."""
GORGE_HALF = 170.0
"""Half width of the valley floor in the gorges at both ends of the basin, metres."""
DEM_HALF = 2600.0
"""Half extent of the DEM in the local frame, metres."""
DEM_CELL = 25.0
PREFIX = "SL"
MAX_SLOPE_RANGE = 3.0
"""Ordinary buildings whose footprint spans more ground height than this are dropped."""
MAX_RISE = 30.0
"""Ordinary buildings stay below this height above the valley floor's edge level."""

_WARD = {
    "centre": ("Tô Hiệu", "Chiềng Lề", "Quyết Thắng"),
    "riverside": ("Chiềng Lề", "Quyết Tâm"),
    "station_tod": ("Quyết Thắng",),
    "new_urban": ("Quyết Tâm", "Chiềng Sinh", "Chiềng An"),
    "foothill": ("Chiềng Cơi", "Chiềng An"),
    "industrial": ("Chiềng Sinh",),
}
ZONES = tuple(_WARD)

_LONGITUDINAL = (  # name, class, width, lanes, v
    ("Đường Nguyễn Lương Bằng", "residential", 12.0, 2, 630.0),
    ("Đường Tô Hiệu", "secondary", 20.0, 4, 400.0),
    ("Đường Trường Chinh (Quốc lộ 6)", "primary", 30.0, 4, 150.0),
    ("Đường Chu Văn Thịnh", "secondary", 18.0, 4, -340.0),
    ("Đường Lò Văn Giá", "residential", 12.0, 2, -600.0),
)
_CROSS = (  # name, class, width, lanes, u; secondary streets bridge the stream
    ("Đường Lê Đức Thọ", "residential", 12.0, 2, -1450.0),
    ("Đường Nguyễn Văn Linh", "secondary", 20.0, 4, -1100.0),
    ("Đường Hoàng Văn Thụ", "residential", 12.0, 2, -780.0),
    ("Đường 3 tháng 2", "secondary", 20.0, 4, -450.0),
    ("Đường Tô Ngọc Vân", "residential", 12.0, 2, -150.0),
    ("Đường Điện Biên", "secondary", 20.0, 4, 180.0),
    ("Đường Khau Cả", "residential", 12.0, 2, 520.0),
    ("Đường Lê Duẩn", "secondary", 20.0, 4, 860.0),
    ("Đường Hai Bà Trưng", "residential", 12.0, 2, 1200.0),
    ("Đường Nguyễn Du", "residential", 12.0, 2, 1500.0),
)
TOD_SITE = (1030.0, 290.0, 1180.0, 378.0)
"""Local box of the planned TOD podium by the bus station (its houses are demolished)."""


# --------------------------------------------------------------------------- terrain


def river_v(u: np.ndarray | float) -> np.ndarray | float:
    """Centreline of the Nậm La (local ``v`` at ``u``): a gentle meander."""
    return -110.0 + 60.0 * np.sin(np.asarray(u) / 420.0 + 0.4)


def _half_widths(u: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Distance from the valley axis to the foot of the hills on each side.

    The basin closes to gorges beyond the city at both ends, where the stream
    enters and leaves it, so the town is ringed by hills as Sơn La is.
    """
    u = np.asarray(u, dtype=np.float64)
    west = 820.0 + 110.0 * np.sin(u / 650.0 + 1.0)
    east = 880.0 + 130.0 * np.sin(u / 540.0 + 2.1)
    pinch = dem.smoothstep((np.abs(u) - (HALF_U + 250.0)) / 600.0)
    return west - pinch * (west - GORGE_HALF), east - pinch * (east - GORGE_HALF)


class Valley:
    """The seeded landform: ``ground(u, v)`` in metres above sea level."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._ridges = dem.relief(rng, 24, (300.0, 3000.0))
        self._height = dem.relief(rng, 6, (1500.0, 5000.0))

    def floor(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """The valley floor alone (stream bed and the gentle rise from its banks)."""
        d = np.abs(np.asarray(v) - river_v(u))
        bed = 0.3 + (BANK - 0.3) * (d / RIVER_HALF) ** 2
        return DATUM + np.where(d < RIVER_HALF, bed, BANK + SLOPE * (d - RIVER_HALF))

    def outside(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Distance beyond the foot of the hills (negative inside the valley)."""
        west, east = _half_widths(u)
        v = np.asarray(v, dtype=np.float64)
        return np.maximum((VALLEY_AXIS_V - west) - v, v - (VALLEY_AXIS_V + east))

    def ground(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
        e = self.outside(u, v)
        hill_top = 320.0 + 30.0 * self._height(u, v)
        hills = hill_top * dem.smoothstep((e + 100.0) / 850.0)
        texture = 65.0 * self._ridges(u, v) * dem.smoothstep((e + 40.0) / 450.0)
        ku, kv, kh, top, slope = KNOLL
        knoll = kh * dem.smoothstep((top + slope - np.hypot(u - ku, v - kv)) / slope)
        # hills never dip below the floor: no hollows for water or sheets to show in
        return self.floor(u, v) + np.maximum(hills + texture, 0.0) + knoll


def dem_grid(valley: Valley, to_crs, from_crs) -> tuple[np.ndarray, float, float]:
    """The DEM as a north-up grid in EPSG:9206 covering the local square
    ``±DEM_HALF``: heights, west and north edges."""
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64) * DEM_HALF
    xy = to_crs(corners)
    west = math.floor(xy[:, 0].min() / DEM_CELL) * DEM_CELL
    east = math.ceil(xy[:, 0].max() / DEM_CELL) * DEM_CELL
    south = math.floor(xy[:, 1].min() / DEM_CELL) * DEM_CELL
    north = math.ceil(xy[:, 1].max() / DEM_CELL) * DEM_CELL
    xs = west + DEM_CELL * (np.arange(round((east - west) / DEM_CELL)) + 0.5)
    ys = north - DEM_CELL * (np.arange(round((north - south) / DEM_CELL)) + 0.5)
    gx, gy = np.meshgrid(xs, ys)
    uv = from_crs(np.column_stack([gx.ravel(), gy.ravel()]))
    z = valley.ground(uv[:, 0], uv[:, 1]).reshape(gx.shape)
    return np.round(z, 2), west, north


# --------------------------------------------------------------------------- street plan


def _land(valley: Valley) -> tuple[Polygon, Polygon, list[Polygon]]:
    """The valley floor the city may use, the stream's bed and its green banks."""
    us = np.arange(-HALF_U - 200.0, HALF_U + 201.0, 20.0)
    west, east = _half_widths(us)
    floor = Polygon(
        [
            *zip(us, VALLEY_AXIS_V - west + 60.0, strict=True),
            *zip(us[::-1], (VALLEY_AXIS_V + east - 60.0)[::-1], strict=True),
        ]
    )
    city = floor.intersection(box(-HALF_U, -760.0, HALF_U, 760.0))
    # few vertices on the gentle meander: fewer slivers to cut when draped
    us = np.arange(-HALF_U - 200.0, HALF_U + 201.0, 75.0)
    centre = LineString(np.column_stack([us, river_v(us)]))
    bed = centre.buffer(RIVER_HALF, cap_style="flat")
    banks = centre.buffer(RIVER_HALF + RIVER_PARK, cap_style="flat").difference(bed)
    return city, bed.intersection(box(-HALF_U - 60, -900, HALF_U + 60, 900)), banks


def _network(city: Polygon, banks: Polygon) -> list[vt._Road]:
    """Fixed street plan: streets along the valley, cross streets and bridges."""
    roads: list[vt._Road] = []
    for name, cls, width, lanes, v in _LONGITUDINAL:
        line = LineString([(-HALF_U - 100.0, v), (HALF_U + 100.0, v)]).intersection(city)
        roads += [vt._Road(name, cls, width, lanes, p) for p in vt._lines(line, 40.0)]
    stream = banks.buffer(RIVER_HALF + 1.0)  # the bed and both banks
    for name, cls, width, lanes, u in _CROSS:
        line = LineString([(u, -760.0), (u, 760.0)]).intersection(city)
        if cls != "secondary":  # only the secondary streets have bridges
            line = line.difference(stream)
        roads += [vt._Road(name, cls, width, lanes, p) for p in vt._lines(line, 40.0)]
    return roads


def _specials() -> tuple[list[vt._Bldg], list[tuple[str, str, Polygon]], list[Polygon]]:
    """Hand-placed notable sites: buildings, land use and areas the filler must leave."""
    bl, lu, res = vt._Bldg, [], []
    b: list[vt._Bldg] = []
    # Quảng trường Tây Bắc with the statue, the provincial government and party.
    statue = box(-48, 300, -32, 316)
    b.append(bl(statue, "government", 0, 0, "Tượng đài Bác Hồ", height=14.0))
    lu.append(
        ("Quảng trường Tây Bắc", "plaza", box(-125, 185, 45, 372).difference(statue.buffer(2.0)))
    )
    b.append(
        bl(vt._courtyard(60, 260, 160, 372, 16), "government", 5, 0, "Trụ sở UBND tỉnh Sơn La")
    )
    b.append(bl(box(60, 185, 160, 240), "government", 6, 0, "Tỉnh ủy Sơn La"))
    res.append(box(-135, 178, 165, 380))
    # Hotel, office tower and shopping centre facing the square.
    b.append(bl(box(210, 185, 248, 223), "commercial", 15, 0, "Khách sạn Mường Thanh Sơn La"))
    b.append(bl(box(265, 185, 295, 218), "office", 11, 0, "Tòa nhà Viettel Sơn La"))
    b.append(bl(box(315, 185, 420, 245), "commercial", 4, 0, "Trung tâm thương mại Sơn La"))
    lu.append(("Bãi đỗ xe Trung tâm thương mại", "parking", box(430, 185, 500, 245)))
    res.append(box(204, 178, 506, 252))
    # Provincial hospital.
    main = shapely.union_all(
        [box(230, 440, 390, 462), box(230, 440, 252, 560), box(368, 440, 390, 560)]
    )
    b.append(bl(main, "hospital", 9, 0, "Bệnh viện Đa khoa tỉnh Sơn La"))
    b.append(
        bl(box(240, 575, 330, 610), "hospital", 6, 0, "Nhà kỹ thuật cao – Bệnh viện Đa khoa tỉnh")
    )
    b.append(bl(box(345, 575, 400, 610), "hospital", 4, 0, "Khoa Nhi – Bệnh viện Đa khoa tỉnh"))
    lu.append(("Bãi đỗ xe Bệnh viện Đa khoa tỉnh", "parking", box(410, 440, 500, 520)))
    lu.append(("Vườn Bệnh viện Đa khoa tỉnh", "green", box(262, 470, 358, 550)))
    res.append(box(222, 430, 506, 617))
    # Schools and the university.
    b.append(bl(vt._courtyard(550, 440, 640, 500, 14), "school", 4, 0, "Trường THPT Chuyên Sơn La"))
    b.append(bl(box(655, 440, 700, 475), "school", 2, 0, "Nhà thi đấu Trường THPT Chuyên Sơn La"))
    lu.append(("Sân thể thao Trường THPT Chuyên Sơn La", "green", box(550, 515, 700, 605)))
    res.append(box(542, 432, 708, 612))
    b.append(bl(vt._courtyard(-420, -570, -340, -510, 13), "school", 4, 0, "Trường THPT Tô Hiệu"))
    lu.append(("Sân trường THPT Tô Hiệu", "green", box(-330, -570, -240, -490)))
    res.append(box(-428, -578, -232, -482))
    b.append(
        bl(vt._courtyard(-1420, 440, -1320, 520, 16), "school", 5, 0, "Trường Đại học Tây Bắc")
    )
    b.append(bl(box(-1300, 440, -1220, 475), "school", 4, 0, "Giảng đường A – Đại học Tây Bắc"))
    b.append(bl(box(-1300, 490, -1220, 525), "school", 4, 0, "Giảng đường B – Đại học Tây Bắc"))
    b.append(bl(box(-1420, 540, -1360, 600), "apartment", 6, 0, "Ký túc xá Đại học Tây Bắc"))
    lu.append(("Sân vận động Đại học Tây Bắc", "green", box(-1205, 440, -1130, 600)))
    res.append(box(-1435, 430, -1120, 612))
    # Central market on the east bank.
    market = MultiPolygon([box(-100, -300, -30, -235), box(-24, -300, 46, -235)])
    b.append(bl(market, "commercial", 2, 0, "Chợ Trung tâm Sơn La"))
    lu.append(("Bãi xe Chợ Trung tâm Sơn La", "parking", box(60, -320, 150, -250)))
    res.append(box(-108, -326, 156, -228))
    # City hall and police.
    b.append(
        bl(vt._courtyard(-420, 185, -320, 265, 16), "government", 4, 0, "UBND thành phố Sơn La")
    )
    b.append(bl(box(-300, 185, -220, 225), "government", 7, 0, "Công an tỉnh Sơn La"))
    lu.append(("Vườn hoa UBND thành phố", "green", box(-420, 275, -320, 300)))
    res.append(box(-428, 178, -212, 305))
    # Khau Cả knoll: the prison museum on its top, the rest left green.
    b.append(bl(box(660, -490, 712, -466), "government", 2, 0, "Bảo tàng tỉnh Sơn La"))
    b.append(bl(box(668, -456, 702, -440), "government", 1, 0, "Di tích Nhà tù Sơn La"))
    res.append(box(560, -585, 835, -360))
    # Bus station with its forecourt (the TOD plan grows east of it).
    b.append(bl(box(895, 185, 1005, 220), "station", 2, 0, "Bến xe khách Sơn La"))
    b.append(
        bl(box(905, 226, 995, 236), "station", 0, 0, "Mái che Bến xe khách Sơn La",
           min_height=4.0, height=5.0)
    )  # fmt: skip
    lu.append(("Quảng trường Bến xe khách Sơn La", "plaza", box(895, 245, 1005, 330)))
    lu.append(("Bãi đỗ xe Bến xe khách", "parking", box(1015, 185, 1095, 260)))
    res.append(box(888, 178, 1102, 336))
    # Religious buildings.
    b.append(bl(box(-700, -480, -672, -456), "religious", 1, 0, "Chùa Sơn La"))
    res.append(box(-708, -488, -664, -448))
    b.append(bl(box(-640, 470, -618, 520), "religious", 3, 0, "Nhà thờ Giáo xứ Sơn La"))
    res.append(box(-648, 462, -610, 528))
    # A filling station: canopy on columns and a shop.
    b.append(
        bl(box(-1000, 180, -970, 200), "commercial", 0, 0, "Cửa hàng xăng dầu Trường Chinh",
           min_height=4.5, height=5.6)
    )  # fmt: skip
    b.append(bl(box(-962, 186, -950, 200), "commercial", 1, 0, ""))
    res.append(box(-1006, 175, -944, 206))
    # Tea factory at the south-west end.
    b.append(bl(box(-1620, -560, -1500, -480), "industrial", 2, 0, "Nhà máy chế biến chè Sơn La"))
    res.append(box(-1628, -568, -1492, -472))
    # Park with a small lake.
    lake = shapely.affinity.scale(Point(-365, 500).buffer(1.0), 45, 30).simplify(0.5)
    lu.append(("Vườn hoa Chiềng Lề", "park", box(-430, 430, -300, 575).difference(lake)))
    lu.append(("Hồ Chiềng Lề", "water", lake))
    res.append(box(-436, 424, -294, 581))
    return b, lu, res


def zone_of(u: float, v: float) -> str:
    """Planning zone of a point of the local frame."""
    if u < -1250.0 and v < -300.0:
        return "industrial"
    if 874.0 <= u <= 1300.0 and 100.0 < v < 450.0:
        return "station_tod"
    if abs(v - float(river_v(u))) < 190.0:
        return "riverside"
    west, east = _half_widths(u)
    if v < VALLEY_AXIS_V - float(west) + 300.0 or v > VALLEY_AXIS_V + float(east) - 300.0:
        return "foothill"
    if abs(u) < 700.0 and -400.0 < v < 450.0:
        return "centre"
    return "new_urban"


def _kind(u: float, v: float, rng: np.random.Generator) -> str:
    """Block type (see ``district._row_style``) at a block centroid."""
    zone = zone_of(u, v)
    if zone == "centre":
        return "cbd" if -160.0 < u < 520.0 and 130.0 < v < 420.0 else "dense"
    if zone == "station_tod":
        return "tod"
    if zone in ("riverside", "industrial"):
        return zone
    if zone == "foothill":
        return "houses"
    return "villa" if rng.random() < 0.55 else "apartment"


# --------------------------------------------------------------------------- sensor sites


def _along(line: LineString, s: float, offset: float) -> Point:
    """Point at distance ``s`` along ``line``, ``offset`` metres to its left."""
    p, q = line.interpolate(max(s - 1.0, 0.0)), line.interpolate(min(s + 1.0, line.length))
    t = np.array([q.x - p.x, q.y - p.y])
    t /= np.hypot(*t)
    return Point((p.x + q.x) / 2 - t[1] * offset, (p.y + q.y) / 2 + t[0] * offset)


def _pois(
    roads: Sequence[vt._Road],
    landuse: Sequence[tuple[str, str, Polygon]],
    notable: Sequence[vt._Bldg],
    rng: np.random.Generator,
) -> list[tuple[str, str, Point]]:
    """Street furniture and sensor sites of the same classes as Việt Trì's."""
    out: list[tuple[str, str, Point]] = []
    main = [r for r in roads if r.cls in ("primary", "secondary")]
    stops: dict[str, int] = {}
    for r in main:
        for j, s in enumerate(np.arange(120.0, r.line.length - 60.0, 320.0)):
            side = 1.0 if j % 2 == 0 else -1.0
            stops[r.short] = stops.get(r.short, 0) + 1
            name = f"Điểm dừng xe buýt {r.short} {stops[r.short]:02d}"
            out.append((name, "bus_stop", _along(r.line, float(s), side * (r.width / 2 + 1.5))))
    lights = 0
    for r in roads:
        if r.cls != "primary":
            continue
        for s in np.arange(30.0, r.line.length - 10.0, 80.0):
            for side in (1.0, -1.0):
                lights += 1
                pt = _along(r.line, float(s), side * (r.width / 2 + 1.0))
                out.append((f"Đèn đường TC-{lights:03d}", "street_light", pt))
    for name, cls, poly in landuse:
        if cls == "plaza":
            ring = poly.exterior
            for s in np.arange(0.0, ring.length, 50.0):
                lights += 1
                pt = ring.interpolate(float(s))
                out.append((f"Đèn chiếu sáng {name} {lights:03d}", "street_light", pt))
    for i, a in enumerate(main):
        for other in main[i + 1 :]:
            if a.name == other.name:
                continue
            for p in shapely.get_parts(a.line.intersection(other.line)):
                if p.geom_type == "Point":
                    out.append((f"Đếm xe nút {a.short} – {other.short}", "traffic_counter", p))
    air = [
        ("Quảng trường Tây Bắc", (-40.0, 200.0)),
        ("Bến xe khách Sơn La", (1050.0, 270.0)),
        ("Bệnh viện Đa khoa tỉnh", (420.0, 530.0)),
        ("Chợ Trung tâm", (50.0, -240.0)),
        ("Đại học Tây Bắc", (-1215.0, 620.0)),
        ("Nhà máy chè", (-1480.0, -520.0)),
    ]
    out += [(f"Trạm quan trắc không khí {n}", "air_quality_station", Point(xy)) for n, xy in air]
    for k, u in enumerate((-1300.0, -420.0, 330.0, 1250.0)):
        v = float(river_v(u)) + RIVER_HALF + 2.0
        out.append((f"Trạm đo mực nước suối Nậm La {k + 1}", "water_level_sensor", Point(u, v)))
    for bl in notable:
        if bl.name and bl.min_height == 0.0:
            out.append((f"Đồng hồ nước {bl.name}", "water_meter", bl.geom.representative_point()))
    bins = 0
    for name, cls, poly in landuse:
        if cls not in ("park", "plaza"):
            continue
        x0, y0, x1, y1 = poly.bounds
        want = max(2, min(6, int(poly.area / 6000.0)))
        cand = shapely.points(rng.uniform(x0, x1, 8 * want), rng.uniform(y0, y1, 8 * want))
        for p in cand[shapely.contains(poly, cand)][:want]:
            bins += 1
            out.append((f"Thùng rác thông minh {bins:03d} ({name})", "waste_bin", p))
    return out


# --------------------------------------------------------------------------- assembly


def _on_gentle_ground(valley: Valley, built: Sequence[vt._Bldg]) -> np.ndarray:
    """Mask of buildings that may stand where they are: notable ones always,
    ordinary ones only on ground that is level enough and not up the hillside."""
    ok = np.ones(len(built), dtype=bool)
    for k, b in enumerate(built):
        if b.rank == 0:
            continue
        xy = shapely.get_coordinates(b.geom)
        z = valley.ground(xy[:, 0], xy[:, 1])
        rise = z.min() - valley.floor(xy[:, 0], xy[:, 1]).min()
        ok[k] = (z.max() - z.min()) <= MAX_SLOPE_RANGE and rise <= MAX_RISE
    return ok


def generate(
    seed: int = 2025, target_buildings: int = 2600
) -> tuple[vt.District, np.ndarray, float, float, list[dict]]:
    """Generate the Sơn La scene's data.

    Returns the district (four layers in EPSG:9206), the DEM grid with its west
    and north edges, and the planned projects as GeoJSON features.
    """
    rng = np.random.default_rng(seed)
    valley = Valley(rng)
    to_crs = vt.local_to_crs(ANCHOR_LONLAT, AXIS_DEG, CRS)
    rot = vt._rot(math.radians(AXIS_DEG))
    origin = to_crs(np.zeros((1, 2)))[0]

    def from_crs(xy: np.ndarray) -> np.ndarray:
        return (xy - origin) @ rot

    z, west, north = dem_grid(valley, to_crs, from_crs)

    city, bed, banks = _land(valley)
    roads = _network(city, banks)
    special, landuse, reserved = _specials()
    carriage = vt._road_cut(roads, clearance=False).buffer(1.0)
    landuse = [("Suối Nậm La", "river", p) for p in vt._polygons(bed, 100.0)] + landuse
    parks = banks.intersection(city.buffer(60.0)).difference(carriage)
    landuse += [("Công viên ven suối Nậm La", "park", p) for p in vt._polygons(parks, 400.0)]
    land = city.difference(banks.buffer(0.5)).difference(bed)
    keep_out = shapely.union_all(reserved)
    blocks = vt._polygons(land.difference(vt._road_cut(roads)), 400.0)
    cents = np.array([p.centroid.coords[0] for p in blocks])
    dist = np.hypot(cents[:, 0], cents[:, 1] - 150.0)
    order = np.lexsort((cents[:, 1], cents[:, 0], np.round(dist, 3)))
    built: list[vt._Bldg] = list(special)
    main_roads = list(roads)
    roads += vt.fill_blocks(
        blocks, order, _kind, keep_out, main_roads, built, 1.6 * target_buildings, rng
    )
    built = [b for b, ok in zip(built, _on_gentle_ground(valley, built), strict=True) if ok]

    def to_out(geoms: Sequence) -> np.ndarray:
        # not densified: the scene drapes roads and areas on the terrain grid itself
        return shapely.transform(np.array(list(geoms), dtype=object), to_crs)

    geoms = to_out([b.geom for b in built])
    lu_geoms = to_out([p for _, _, p in landuse])
    road_geoms = to_out([r.line for r in roads])
    carriageways = to_out([vt._road_cut(roads, clearance=False)])[0]
    idx = vt.keep_buildings(built, geoms, [carriageways, *lu_geoms], target_buildings, rng)
    kept = [built[i] for i in idx]
    buildings = vt._building_layer(kept, geoms[idx], rng, PREFIX, zone_of, _WARD)
    pois = _pois(roads, landuse, [b for b in kept if b.rank == 0], rng)
    district = vt.District(
        buildings,
        vt.road_layer(roads, road_geoms, PREFIX),
        vt.landuse_layer(landuse, lu_geoms, PREFIX),
        vt.poi_layer(pois, to_out([p for _, _, p in pois]), PREFIX),
        seed,
        CRS,
    )
    return district, z, west, north, _plans(to_crs)


def _plans(to_crs) -> list[dict]:
    """Invented planned projects with phases, as GeoJSON features in EPSG:9206."""

    def ring(poly: Polygon) -> list:
        return [np.round(to_crs(np.asarray(poly.exterior.coords)), 3).tolist()]

    def feature(props: dict, geom: dict) -> dict:
        base = {"status": "proposed"}
        return {"type": "Feature", "properties": {**props, **base}, "geometry": geom}

    def poly(fid, name, cls, h, min_h, phase, start, end, shape) -> dict:
        props = {
            "id": fid, "name": name, "class": cls, "height": h, "min_height": min_h,
            "phase": phase, "start": start, "end": end,
        }  # fmt: skip
        return feature(props, {"type": "Polygon", "coordinates": ring(shape)})

    us = np.arange(-1400.0, 1401.0, 70.0)
    road = np.column_stack([us, river_v(us) + RIVER_HALF + 22.0])
    x0, y0, x1, y1 = TOD_SITE
    return [
        feature(
            {
                "id": "PL-ROAD-1",
                "name": "Đường ven suối Nậm La (đường mới)",
                "class": "secondary",
                "width": 12.0,
                "phase": "1",
                "start": "2026-03-01",
                "end": "2027-06-30",
            },
            {"type": "LineString", "coordinates": np.round(to_crs(road), 3).tolist()},
        ),
        poly(
            "PL-PARK-U",
            "Bãi đỗ xe ngầm Quảng trường Tây Bắc",
            "parking",
            -0.4,
            -9.0,
            "1",
            "2026-06-01",
            "2027-12-31",
            box(-110, 200, 30, 360),
        ),
        poly(
            "PL-TOD-P",
            "Khối đế TOD Bến xe khách Sơn La (podium)",
            "commercial",
            12.0,
            0.0,
            "2",
            "2027-01-01",
            "2028-12-31",
            box(x0, y0, x1, y1),
        ),
        poly(
            "PL-TOD-A",
            "Tháp TOD Bến xe A",
            "apartment",
            60.0,
            12.0,
            "2",
            "2027-01-01",
            "2028-12-31",
            box(x0 + 15, y0 + 15, x0 + 45, y0 + 45),
        ),
        poly(
            "PL-TOD-B",
            "Tháp TOD Bến xe B",
            "office",
            45.0,
            12.0,
            "3",
            "2028-07-01",
            "2030-06-30",
            box(x1 - 45, y0 + 15, x1 - 15, y0 + 45),
        ),
    ]


def tod_site_ids(district: vt.District, to_crs=None) -> list[str]:
    """Ids of the existing buildings on the TOD site (demolished by the plan)."""
    to_crs = to_crs or vt.local_to_crs(ANCHOR_LONLAT, AXIS_DEG, CRS)
    site = shapely.transform(box(*TOD_SITE), to_crs)
    b = district.buildings
    hit = shapely.intersects(b.geometry, site)
    return [str(i) for i in b.columns["id"][hit]]


def write(out_dir: str | Path, seed: int = 2025, target_buildings: int = 2600) -> vt.District:
    """Write ``son_la_city.gpkg``, ``son_la_dem.tif`` and ``plan.geojson``."""
    out = Path(out_dir)
    district, z, west, north, plans = generate(seed, target_buildings)
    meta = {
        "generator": "tools.synth.son_la",
        "seed": str(seed),
        "synthetic": "yes: invented geometry and terrain, real street names for plausibility",
    }
    vt.write_geopackage(district, out / "son_la_city.gpkg", meta)
    dem.write_geotiff(out / "son_la_dem.tif", z, west, north, DEM_CELL, CRS, meta)
    doc = {
        "type": "FeatureCollection",
        "name": "son_la_plan",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::9206"}},
        "features": plans,
    }
    text = json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
    (out / "plan.geojson").write_text(text, encoding="utf-8")
    return district


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: regenerate the bundled Sơn La assets."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.synth.son_la",
        description="Generate the synthetic Sơn La pilot scene's data (EPSG:9206).",
    )
    parser.add_argument("-o", "--output", type=Path, required=True, help="folder to write")
    parser.add_argument("--seed", type=int, default=2025, help="random seed (default 2025)")
    parser.add_argument(
        "--target-buildings", type=int, default=2600, help="number of buildings (default 2600)"
    )
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    district = write(args.output, args.seed, args.target_buildings)
    out = sys.stdout
    out.write(f"{args.output}: seed {args.seed}, {time.perf_counter() - t0:.2f} s\n")
    for name, layer in district.layers.items():
        out.write(f"  {name}: {len(layer)}\n")
    classes, counts = np.unique(district.buildings.columns["class"].astype(str), return_counts=True)
    pairs = ", ".join(f"{c} {k}" for c, k in zip(classes, counts, strict=True))
    out.write(f"  buildings by class: {pairs}\n")
    out.write(f"  TOD site buildings: {', '.join(tod_site_ids(district))}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
