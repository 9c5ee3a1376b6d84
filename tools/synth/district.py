"""Seeded generator of a synthetic pilot district of Việt Trì (Phú Thọ, Vietnam).

No open building footprints of Việt Trì exist, yet the viewer, its tests and its
demos need a district that looks and behaves like the real pilot area: thousands of
footprints with heights (and some without, to exercise fallbacks), real street names
on a street grid that follows the city's axis, a railway station with a transit-
oriented cluster, a river, parks and points that can host IoT sensors. This module
invents one, deterministically: the same seed gives byte-identical geometry and
attributes, so the bundled GeoPackage can be regenerated and reviewed.

The plan is laid out in a local frame ``(u, v)`` in metres whose ``u`` axis runs
along Đại lộ Hùng Vương (WNW to ESE) and whose origin is the anchor point; only at
the end is everything rotated and shifted into VN-2000 / TM-3 104-45 (EPSG:9208).
The street layout, the river and the notable sites are fixed by design; the seed
drives lanes, lot sizes, building heights and which ordinary houses exist.

Regenerate the bundled asset with::

    python -m tools.synth.district -o assets/viet_tri/viet_tri_district.gpkg --seed 269
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

log = logging.getLogger(__name__)

CRS = "EPSG:9208"
"""VN-2000 / TM-3 104-45, the projected CRS of Phú Thọ province (metres)."""
ANCHOR_LONLAT = (105.410, 21.313)
"""WGS 84 position of the local origin: Đại lộ Hùng Vương in front of the station axis."""
AXIS_DEG = -22.0
"""Direction of Hùng Vương (the local ``u`` axis), degrees counter-clockwise from east."""
HALF_U, HALF_V = 1250.0, 1000.0
"""Half extent of the district along and across Hùng Vương, metres."""
LEVEL_HEIGHT = 3.2
"""Storey height used to derive ``height`` from ``building:levels`` (and back)."""

RAIL_V = -456.0  # the Hà Nội – Lào Cai line, parallel to Hùng Vương
RAIL_CLEARANCE = 15.0  # half width of the railway corridor kept free of buildings
STATION_U = 140.0  # Ga Việt Trì, on the north side of the track
RIVER_SETBACK = 85.0  # riverside road centreline, metres inland of the bank
RIVER_BANK = (
    (-1500.0, -805.0),
    (-1000.0, -795.0),
    (-600.0, -815.0),
    (-200.0, -810.0),
    (200.0, -795.0),
    (550.0, -772.0),
    (820.0, -725.0),
    (1000.0, -648.0),
    (1085.0, -530.0),
    (1115.0, -360.0),
    (1110.0, -100.0),
    (1122.0, 200.0),
    (1140.0, 600.0),
    (1160.0, 1200.0),
)
"""North/west bank of Sông Hồng turning into Sông Lô on the east edge (local frame)."""

SIDEWALK = {"primary": 6.0, "secondary": 4.0, "residential": 3.0, "service": 1.0, "rail": 0.0}
"""Pavement between carriageway and lot line, metres, by road class."""
ROAD_RANK = {"primary": 0, "secondary": 1, "residential": 2, "service": 3, "rail": 4}
LANDUSE_HEIGHT = {
    "park": 0.3,
    "green": 0.2,
    "plaza": 0.15,
    "parking": 0.1,
    "water": 0.05,
    "river": 0.05,
}
"""Slab thickness of each land-use class, metres: enough to layer parks over water."""

BUILDING_CLASSES = (
    "residential",
    "shophouse",
    "apartment",
    "office",
    "commercial",
    "school",
    "hospital",
    "station",
    "government",
    "industrial",
    "religious",
)
ZONES = ("station_tod", "riverside", "old_town", "new_urban", "industrial")
LAYERS = ("buildings", "roads", "landuse", "pois")
GPKG_DATE = "2025-01-01T00:00:00.000Z"
"""Timestamp written into the GeoPackage's metadata tables (fixed for reproducibility)."""

_WARD = {
    "old_town": ("Thọ Sơn", "Tiên Cát"),
    "station_tod": ("Tiên Cát", "Bến Gót"),
    "new_urban": ("Tân Dân", "Gia Cẩm", "Nông Trang"),
    "riverside": ("Bến Gót", "Thanh Miếu"),
    "industrial": ("Thanh Miếu",),
}


# --------------------------------------------------------------------------- public data


@dataclass(frozen=True)
class LayerData:
    """One output layer: geometries and their attribute columns.

    Attributes
    ----------
    geometry : (n,) object
        Shapely geometries in EPSG:9208, metres.
    columns : mapping of field name -> (n,) array
        Text columns are object arrays of ``str``; numeric columns are float64 (NaN
        for missing) or int32 (0 for missing, written as NULL).
    geometry_type : str
        OGR layer geometry type written to the GeoPackage.
    """

    geometry: np.ndarray
    columns: dict[str, np.ndarray]
    geometry_type: str

    def __len__(self) -> int:
        return len(self.geometry)


@dataclass(frozen=True)
class District:
    """The generated district: four layers in one CRS, plus how it was made."""

    buildings: LayerData
    roads: LayerData
    landuse: LayerData
    pois: LayerData
    seed: int
    crs: str = CRS

    @property
    def layers(self) -> dict[str, LayerData]:
        """Layers by GeoPackage layer name, in writing order."""
        return {name: getattr(self, name) for name in LAYERS}


# --------------------------------------------------------------------------- internal records


@dataclass
class _Road:
    name: str
    cls: str
    width: float
    lanes: int
    line: LineString

    @property
    def clearance(self) -> float:
        """Distance from the centreline to the lot line (carriageway + pavement)."""
        return self.width / 2 + SIDEWALK[self.cls]

    @property
    def short(self) -> str:
        """Street name without ``Đường``/``Đại lộ``, as used in addresses (``Ngõ 12 X``)."""
        for prefix in ("Đại lộ ", "Đường "):
            if self.name.startswith(prefix):
                return self.name[len(prefix) :]
        return self.name


@dataclass
class _Bldg:
    geom: Polygon | MultiPolygon
    cls: str
    levels: int
    rank: int  # 0 notable (never thinned), 1 main-street row, 2 side-street row, 3 infill
    name: str = ""
    min_height: float = 0.0
    height: float = math.nan  # explicit height; NaN means derive from levels


@dataclass(frozen=True)
class _Lot:
    cls: str
    width: tuple[float, float]
    depth: tuple[float, float]
    levels: tuple[int, ...]
    gap: tuple[float, float] = (0.15, 0.15)


@dataclass(frozen=True)
class _Row:
    lots: tuple[tuple[float, _Lot], ...]  # (weight, lot type)
    setback: float
    rank: int
    vacancy: float = 0.0  # share of lots left empty (unsold plots of planned areas)


@dataclass(frozen=True)
class _Infill:
    cls: str
    width: tuple[float, float]
    depth: tuple[float, float]
    gap: tuple[float, float]  # along, across
    levels: tuple[int, ...]
    clearance: float  # free distance kept from the frontage rows
    skip: float  # probability that a grid cell stays a garden / yard


class _Occupancy:
    """Footprints placed so far in one block, with a bounding-box prefilter."""

    def __init__(self) -> None:
        self.geoms: list[BaseGeometry] = []
        self._bb = np.empty((64, 4))

    def hits(self, geom: BaseGeometry) -> bool:
        n = len(self.geoms)
        if n == 0:
            return False
        x0, y0, x1, y1 = geom.bounds
        bb = self._bb[:n]
        near = (bb[:, 0] <= x1) & (bb[:, 2] >= x0) & (bb[:, 1] <= y1) & (bb[:, 3] >= y0)
        cand = np.flatnonzero(near)
        return any(self.geoms[i].intersects(geom) for i in cand)

    def add(self, geom: BaseGeometry) -> None:
        n = len(self.geoms)
        if n == len(self._bb):
            self._bb = np.concatenate([self._bb, np.empty_like(self._bb)])
        self._bb[n] = geom.bounds
        self.geoms.append(geom)


# --------------------------------------------------------------------------- street network

_LONGITUDINAL = (  # name, class, width, lanes, v
    ("Đường Trần Phú", "secondary", 20.0, 4, 880.0),
    ("Đường Châu Phong", "secondary", 18.0, 4, 560.0),
    ("Đường Minh Lang", "residential", 14.0, 2, 280.0),
    ("Đại lộ Hùng Vương", "primary", 48.0, 6, 0.0),
    ("Đường Hai Bà Trưng", "secondary", 20.0, 4, -250.0),
    ("Đường Âu Cơ", "residential", 12.0, 2, -600.0),
)
_CROSS = (  # name, class, width, lanes, u at v=-1100, u at v=+1100, crosses rail, v range
    ("Đường Lạc Long Quân", "residential", 12.0, 2, -1130.0, -1130.0, False, (RAIL_V, 1100.0)),
    ("Đường Nguyễn Du", "secondary", 20.0, 4, -900.0, -820.0, True, (-1100.0, 1100.0)),
    ("Đường Kim Đồng", "residential", 12.0, 2, -580.0, -580.0, False, (-1100.0, 1100.0)),
    ("Đường Tiên Dung", "residential", 14.0, 2, -300.0, -300.0, False, (-1100.0, 1100.0)),
    ("Đường Nguyễn Tất Thành", "secondary", 30.0, 4, -20.0, -20.0, True, (-1100.0, 1100.0)),
    ("Đường Phù Đổng", "residential", 14.0, 2, 280.0, 280.0, False, (-1100.0, 1100.0)),
    ("Đường Hòa Phong", "residential", 14.0, 2, 560.0, 560.0, False, (-1100.0, 560.0)),
    ("Đường Long Châu Sa", "secondary", 20.0, 4, 820.0, 820.0, True, (-1100.0, 1100.0)),
)


def _lines(geom: BaseGeometry, min_length: float = 15.0) -> list[LineString]:
    """The LineString parts of a clipped line, short stubs dropped, in stored order."""
    parts = shapely.get_parts(shapely.line_merge(geom) if geom.geom_type != "LineString" else geom)
    return [p for p in parts if p.geom_type == "LineString" and p.length >= min_length]


def _polygons(geom: BaseGeometry, min_area: float = 1.0) -> list[Polygon]:
    """The Polygon parts of an overlay result, slivers dropped, in stored order."""
    return [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area >= min_area]


def _network() -> tuple[list[_Road], list[tuple[str, Polygon]], Polygon, Polygon]:
    """Fixed street plan: roads, river polygons, riverside strip and buildable land.

    Returns
    -------
    roads : the streets, the riverside road and the railway (local frame).
    rivers : ``(name, polygon)`` for Sông Hồng and Sông Lô.
    riverside_park : the strip between the bank and the riverside road.
    land : district area inland of the riverside road.
    """
    district = box(-HALF_U, -HALF_V, HALF_U, HALF_V)
    bank = LineString(RIVER_BANK)
    river = Polygon([*RIVER_BANK, (1600.0, 1200.0), (1600.0, -1200.0), (-1500.0, -1200.0)])
    strip = bank.buffer(RIVER_SETBACK, single_sided=True, quad_segs=4)
    land = district.difference(river).difference(strip)
    rail_line = LineString([(-1300.0, RAIL_V), (1300.0, RAIL_V)])
    rail_gap = rail_line.buffer(RAIL_CLEARANCE + 1.0, cap_style="flat")

    roads: list[_Road] = []
    riverside = bank.offset_curve(RIVER_SETBACK, quad_segs=4).intersection(district)
    roads += [_Road("Đường Bạch Đằng", "secondary", 16.0, 2, p) for p in _lines(riverside)]
    for name, cls, width, lanes, v in _LONGITUDINAL:
        line = LineString([(-1300.0, v), (1300.0, v)]).intersection(land)
        roads += [_Road(name, cls, width, lanes, p) for p in _lines(line)]
    for name, cls, width, lanes, u_s, u_n, crosses, (v0, v1) in _CROSS:

        def u_at(v: float, u_s: float = u_s, u_n: float = u_n) -> float:
            return u_s + (u_n - u_s) * (v + 1100.0) / 2200.0

        line = LineString([(u_at(v0), v0), (u_at(v1), v1)]).intersection(land)
        if not crosses:
            line = line.difference(rail_gap)
        roads += [_Road(name, cls, width, lanes, p) for p in _lines(line)]
    rail = rail_line.intersection(district)
    roads.append(_Road("Đường sắt Hà Nội – Lào Cai", "rail", 6.0, 1, rail))
    for dv in (-7.0, 7.0):  # station loops
        loop = LineString(
            [(-230.0, RAIL_V), (-170.0, RAIL_V + dv), (450.0, RAIL_V + dv), (510.0, RAIL_V)]
        )
        roads.append(_Road("Đường ga Việt Trì", "rail", 5.0, 1, loop))

    bank_river = river.intersection(district)
    lo = bank_river.intersection(box(1000.0, -520.0, 1600.0, 1200.0))
    hong = bank_river.difference(lo)
    rivers = [("Sông Hồng", p) for p in _polygons(hong, 100.0)]
    rivers += [("Sông Lô", p) for p in _polygons(lo, 100.0)]
    road_half = 8.0 + 2.0  # riverside road half width + a pavement on the park side
    park = bank.buffer(RIVER_SETBACK - road_half, single_sided=True, quad_segs=4)
    park = park.intersection(district).difference(river).difference(rail_gap)
    return roads, rivers, park, land


def _road_cut(roads: Sequence[_Road], clearance: bool = True) -> BaseGeometry:
    """Union of the road corridors: lot-line to lot-line, or carriageway only."""
    parts = []
    for r in roads:
        if r.cls == "rail":
            half = RAIL_CLEARANCE if clearance else r.width / 2
        else:
            half = r.clearance if clearance else r.width / 2
        parts.append(r.line.buffer(half, cap_style="flat", join_style="mitre", quad_segs=4))
    return shapely.union_all(parts)


# --------------------------------------------------------------------------- small geometry


def _quad(p0: np.ndarray, d: np.ndarray, n: np.ndarray, w: float, depth: float) -> Polygon:
    """Rectangle with one side on ``p0 -> p0 + w d`` extending ``depth`` along ``n``."""
    a = p0
    b = p0 + d * w
    return Polygon([tuple(a), tuple(b), tuple(b + n * depth), tuple(a + n * depth)])


def _courtyard(x0: float, y0: float, x1: float, y1: float, wing: float) -> Polygon:
    """Closed courtyard building (a rectangle with a rectangular hole), wing depth ``wing``."""
    hole = [
        (x0 + wing, y0 + wing),
        (x1 - wing, y0 + wing),
        (x1 - wing, y1 - wing),
        (x0 + wing, y1 - wing),
    ]
    return Polygon(box(x0, y0, x1, y1).exterior.coords, [hole])


def _rot(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]])


def _dominant_angle(poly: BaseGeometry) -> float:
    """Direction (radians) of the longest side of the polygon's oriented envelope."""
    env = shapely.oriented_envelope(poly)
    if env.geom_type != "Polygon":
        return 0.0
    xy = np.asarray(env.exterior.coords)
    vec = np.diff(xy[:3], axis=0)
    longest = vec[int(np.argmax(np.hypot(vec[:, 0], vec[:, 1])))]
    return math.atan2(longest[1], longest[0])


def _to_frame(geom: BaseGeometry, origin: np.ndarray, angle: float) -> BaseGeometry:
    rot = _rot(angle)
    return shapely.transform(geom, lambda xy: (xy - origin) @ rot)


def _from_frame(geoms: np.ndarray, origin: np.ndarray, angle: float) -> np.ndarray:
    rot = _rot(angle)
    return shapely.transform(geoms, lambda xy: xy @ rot.T + origin)


def _choose(rng: np.random.Generator, weighted: Sequence[tuple[float, _Lot]]) -> _Lot:
    weights = np.array([w for w, _ in weighted])
    return weighted[int(rng.choice(len(weighted), p=weights / weights.sum()))][1]


# --------------------------------------------------------------------------- notable sites


def _podium_towers(
    site: tuple[float, float, float, float],
    n: int,
    side: tuple[float, float],
    levels: tuple[int, int],
    podium_levels: int,
    tower_cls: str,
    names: Sequence[str],
    rng: np.random.Generator,
) -> list[_Bldg]:
    """Towers standing in holes of a commercial podium, as in a TOD block.

    The podium is one polygon with a hole per tower (plus a 0.3 m joint), so the two
    never overlap yet read as one complex from above.
    """
    x0, y0, x1, y1 = site
    long_x = (x1 - x0) >= (y1 - y0)
    length, width = (x1 - x0, y1 - y0) if long_x else (y1 - y0, x1 - x0)
    out: list[_Bldg] = []
    holes = []
    for i in range(n):
        s = min(float(rng.uniform(*side)), width - 10.0, length / n - 8.0)
        c_long = (i + 0.5) * length / n
        cx, cy = (x0 + c_long, (y0 + y1) / 2) if long_x else ((x0 + x1) / 2, y0 + c_long)
        tower = box(cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2)
        holes.append(tower.buffer(0.3, join_style="mitre"))
        name = names[i] if i < len(names) else ""
        lv = int(rng.integers(levels[0], levels[1] + 1))
        out.append(_Bldg(tower, tower_cls, lv, 0, name))
    podium = box(x0, y0, x1, y1).difference(shapely.union_all(holes))
    out.append(_Bldg(podium, "commercial", podium_levels, 0, ""))
    return out


def _specials(
    rng: np.random.Generator,
) -> tuple[list[_Bldg], list[tuple[str, str, Polygon]], list[Polygon]]:
    """Hand-placed notable sites: station, TOD, civic centre, hospital, schools ...

    Returns the buildings, the land-use polygons ``(name, class, polygon)`` and the
    reserved areas that the ordinary block filler must leave alone.
    """
    b: list[_Bldg] = []
    lu: list[tuple[str, str, Polygon]] = []
    reserved: list[Polygon] = []

    # Ga Việt Trì and its forecourt: station hall + luggage annex (one MultiPolygon).
    station = MultiPolygon([box(70, -437, 180, -419), box(184, -437, 214, -423)])
    b.append(_Bldg(station, "station", 2, 0, "Ga Việt Trì"))
    b.append(
        _Bldg(
            box(95, -416, 160, -410),
            "station",
            0,
            0,
            "Mái che sảnh Ga Việt Trì",
            min_height=3.6,
            height=4.6,
        )
    )
    lu.append(("Quảng trường Ga Việt Trì", "plaza", box(62, -406, 222, -264)))
    lu.append(("Bãi đỗ xe Ga Việt Trì", "parking", box(2, -438, 58, -402)))
    b += _podium_towers(
        (4, -396, 56, -268),
        2,
        (20, 24),
        (18, 26),
        3,
        "apartment",
        ("Chung cư TOD Ga Việt Trì C1", "Chung cư TOD Ga Việt Trì C2"),
        rng,
    )
    b += _podium_towers(
        (228, -438, 268, -268),
        3,
        (20, 22),
        (12, 20),
        2,
        "office",
        ("Tòa văn phòng Ga Việt Trì",),
        rng,
    )
    reserved.append(box(-5, -445, 275, -260))
    # TOD block between Hai Bà Trưng and Hùng Vương, split by a pedestrian axis.
    lu.append(("Trục đi bộ Ga – Hùng Vương", "plaza", box(105, -234, 165, -32)))
    b += _podium_towers(
        (4, -230, 98, -36),
        3,
        (24, 28),
        (20, 30),
        3,
        "apartment",
        (
            "Chung cư TOD Ga Việt Trì A1",
            "Chung cư TOD Ga Việt Trì A2",
            "Chung cư TOD Ga Việt Trì A3",
        ),
        rng,
    )
    b += _podium_towers(
        (172, -230, 266, -36),
        3,
        (24, 28),
        (16, 28),
        3,
        "office",
        ("Tháp TOD Ga Việt Trì B1", "Tháp TOD Ga Việt Trì B2"),
        rng,
    )
    reserved.append(box(-5, -240, 275, -25))

    # Civic centre on the station axis, north of Hùng Vương.
    lu.append(("Quảng trường Hùng Vương", "plaza", box(20, 32, 250, 130)))
    b.append(
        _Bldg(_courtyard(55, 150, 215, 252, 22), "government", 5, 0, "Trụ sở UBND tỉnh Phú Thọ")
    )
    b.append(_Bldg(box(4, 150, 44, 215), "government", 6, 0, "Sở Kế hoạch và Đầu tư tỉnh Phú Thọ"))
    b.append(_Bldg(box(226, 150, 266, 232), "government", 5, 0, "Tỉnh ủy Phú Thọ"))
    lu.append(("Vườn hoa Trụ sở tỉnh", "green", box(80, 140, 190, 146)))
    reserved.append(box(-5, 25, 275, 275))

    # Provincial general hospital: H-shaped main block and departments around it.
    main = shapely.union_all(
        [box(-240, 400, -100, 424), box(-240, 360, -216, 470), box(-124, 360, -100, 470)]
    )
    b.append(_Bldg(main, "hospital", 9, 0, "Bệnh viện Đa khoa tỉnh Phú Thọ"))
    b.append(
        _Bldg(
            box(-232, 486, -150, 530),
            "hospital",
            7,
            0,
            "Nhà kỹ thuật cao – Bệnh viện Đa khoa tỉnh Phú Thọ",
        )
    )
    b.append(
        _Bldg(
            box(-132, 486, -60, 530), "hospital", 5, 0, "Khoa Nhi – Bệnh viện Đa khoa tỉnh Phú Thọ"
        )
    )
    b.append(
        _Bldg(
            box(-284, 300, -250, 346),
            "hospital",
            3,
            0,
            "Khoa Truyền nhiễm – Bệnh viện Đa khoa tỉnh Phú Thọ",
        )
    )
    b.append(_Bldg(box(-82, 300, -46, 340), "hospital", 2, 0, ""))
    b.append(_Bldg(box(-284, 380, -256, 440), "hospital", 4, 0, ""))
    lu.append(("Bãi đỗ xe Bệnh viện Đa khoa tỉnh", "parking", box(-205, 296, -110, 350)))
    lu.append(("Vườn Bệnh viện Đa khoa tỉnh", "green", box(-212, 428, -128, 466)))
    reserved.append(box(-295, 285, -33, 553))

    # Schools: closed courtyard blocks (polygons with holes), halls and sports fields.
    b.append(
        _Bldg(_courtyard(585, 300, 665, 352, 14), "school", 4, 0, "Trường THPT Chuyên Hùng Vương")
    )
    b.append(
        _Bldg(box(675, 300, 716, 332), "school", 2, 0, "Nhà thi đấu Trường THPT Chuyên Hùng Vương")
    )
    b.append(_Bldg(box(585, 362, 625, 382), "school", 3, 0, ""))
    lu.append(("Sân thể thao Trường THPT Chuyên Hùng Vương", "green", box(635, 362, 716, 445)))
    reserved.append(box(575, 293, 724, 452))

    b.append(_Bldg(_courtyard(-730, 300, -650, 346, 13), "school", 4, 0, "Trường THCS Văn Lang"))
    b.append(_Bldg(box(-640, 300, -600, 330), "school", 2, 0, ""))
    lu.append(("Sân trường THCS Văn Lang", "green", box(-730, 356, -600, 424)))
    reserved.append(box(-740, 293, -594, 430))

    b.append(
        _Bldg(_courtyard(-1100, -228, -1030, -190, 12), "school", 3, 0, "Trường Tiểu học Tiên Cát")
    )
    b.append(_Bldg(box(-1100, -180, -1060, -164), "school", 2, 0, ""))
    lu.append(("Sân trường Tiểu học Tiên Cát", "green", box(-1050, -180, -1000, -150)))
    reserved.append(box(-1110, -233, -994, -144))

    kinder = shapely.union_all([box(425, -582, 495, -568), box(425, -568, 440, -535)])
    b.append(_Bldg(kinder, "school", 2, 0, "Trường Mầm non Thọ Sơn"))
    lu.append(("Sân chơi Trường Mầm non Thọ Sơn", "green", box(446, -562, 495, -535)))
    reserved.append(box(418, -588, 502, -528))

    # Central market (two halls, one MultiPolygon) and its parking.
    market = MultiPolygon([box(-770, -190, -700, -112), box(-694, -190, -624, -112)])
    b.append(_Bldg(market, "commercial", 2, 0, "Chợ Trung tâm Việt Trì"))
    lu.append(("Bãi xe Chợ Trung tâm Việt Trì", "parking", box(-770, -104, -624, -66)))
    reserved.append(box(-780, -200, -612, -58))

    # City hall, police, ward office.
    b.append(
        _Bldg(_courtyard(-530, 70, -420, 140, 18), "government", 4, 0, "UBND thành phố Việt Trì")
    )
    lu.append(("Vườn hoa UBND thành phố", "green", box(-530, 36, -420, 62)))
    reserved.append(box(-540, 30, -410, 150))
    b.append(_Bldg(box(-560, 300, -480, 338), "government", 6, 0, "Công an thành phố Việt Trì"))
    reserved.append(box(-566, 293, -474, 344))
    b.append(_Bldg(box(450, -150, 482, -124), "government", 3, 0, "UBND phường Tiên Cát"))
    reserved.append(box(444, -156, 488, -118))

    # Religious buildings: pagoda with its gate, communal house, church.
    b.append(_Bldg(box(-462, -150, -428, -128), "religious", 1, 0, "Chùa Tiên Cát"))
    b.append(_Bldg(box(-452, -168, -438, -162), "religious", 1, 0, "Tam quan Chùa Tiên Cát"))
    lu.append(("Sân Chùa Tiên Cát", "green", box(-462, -160, -428, -152)))
    reserved.append(box(-470, -174, -420, -120))
    b.append(_Bldg(box(-250, -562, -224, -540), "religious", 1, 0, "Đình Thọ Sơn"))
    reserved.append(box(-256, -568, -218, -534))
    b.append(_Bldg(box(-482, 700, -456, 752), "religious", 4, 0, "Nhà thờ Việt Trì"))
    reserved.append(box(-490, 692, -448, 760))

    # High-rise cluster on Hùng Vương east of the civic centre.
    b.append(_Bldg(box(300, 40, 336, 76), "office", 30, 0, "Tháp văn phòng Hùng Vương"))
    b.append(_Bldg(box(360, 40, 460, 108), "commercial", 5, 0, "Trung tâm thương mại Việt Trì"))
    lu.append(("Bãi đỗ xe Trung tâm thương mại", "parking", box(470, 40, 540, 108)))
    b.append(_Bldg(box(300, 150, 330, 200), "commercial", 18, 0, "Khách sạn Sông Hồng"))
    reserved.append(box(294, 34, 546, 114))
    reserved.append(box(294, 144, 336, 206))
    b.append(_Bldg(box(590, 40, 626, 76), "office", 22, 0, "Tòa nhà Hùng Vương Plaza"))
    b.append(_Bldg(box(700, 40, 734, 74), "apartment", 25, 0, "Chung cư Tân Dân Tower"))
    reserved += [box(584, 34, 632, 82), box(694, 34, 740, 80)]

    # Filling stations: a canopy on columns (min_height) beside a one-storey shop.
    b.append(
        _Bldg(
            box(10, 838, 40, 858),
            "commercial",
            0,
            0,
            "Cửa hàng xăng dầu Trần Phú",
            min_height=4.5,
            height=5.6,
        )
    )
    b.append(_Bldg(box(48, 844, 62, 858), "commercial", 1, 0, ""))
    reserved.append(box(4, 832, 68, 864))
    b.append(
        _Bldg(
            box(-72, -532, -48, -502),
            "commercial",
            0,
            0,
            "Cửa hàng xăng dầu Nguyễn Tất Thành",
            min_height=4.5,
            height=5.6,
        )
    )
    b.append(_Bldg(box(-92, -526, -80, -506), "commercial", 1, 0, ""))
    reserved.append(box(-98, -538, -42, -494))

    # Industry along the railway and the river.
    b.append(_Bldg(box(-1230, -580, -1090, -500), "industrial", 3, 0, "Nhà máy Giấy Việt Trì"))
    b.append(_Bldg(box(-1080, -580, -1010, -520), "industrial", 3, 0, ""))
    reserved.append(box(-1240, -588, -1000, -490))
    b.append(
        _Bldg(box(-810, -575, -700, -510), "industrial", 3, 0, "Công ty Cổ phần Hóa chất Việt Trì")
    )
    b.append(_Bldg(box(-690, -575, -630, -540), "industrial", 2, 0, ""))
    reserved.append(box(-820, -586, -620, -500))
    b.append(_Bldg(box(30, -502, 240, -480), "industrial", 2, 0, "Kho hàng Ga Việt Trì"))
    b.append(_Bldg(box(30, -560, 140, -526), "industrial", 2, 0, ""))
    reserved.append(box(20, -588, 250, -474))

    # Parks and the lake.
    lake = shapely.union_all(
        [
            affinity.rotate(affinity.scale(Point(520, 715).buffer(1.0), 150, 70), 12),
            affinity.scale(Point(650, 690).buffer(1.0), 80, 55),
        ]
    ).simplify(0.5)
    park = box(292, 575, 804, 864).difference(lake)
    lu.append(("Công viên Văn Lang", "park", park))
    lu.append(("Hồ Văn Lang", "water", lake))
    reserved.append(box(285, 568, 812, 872))
    lu.append(("Vườn hoa Gia Cẩm", "park", box(700, -200, 790, -120)))
    reserved.append(box(694, -206, 796, -114))
    lu.append(("Công viên Thọ Sơn", "park", box(-1110, 300, -960, 400)))
    reserved.append(box(-1116, 294, -954, 406))
    return b, lu, reserved


# --------------------------------------------------------------------------- ordinary blocks


def _zone(u: float, v: float) -> str:
    """Planning zone of a point of the local frame."""
    if v < RAIL_V:
        return "industrial" if u < -590.0 else "riverside"
    if v < 0.0 and abs(u - STATION_U) < 450.0:
        return "station_tod"
    if u < -310.0 and v < 290.0:
        return "old_town"
    return "new_urban"


def _kind(zone: str, u: float, v: float, rng: np.random.Generator) -> str:
    """Block type inside a zone: what gets built along its edges and inside it."""
    if zone == "old_town":
        return "dense" if v > -250.0 and u > -880.0 else "houses"
    if zone == "station_tod":
        return "tod"
    if zone in ("riverside", "industrial"):
        return zone
    if 0.0 < v < 290.0:
        return "cbd"
    return "villa" if rng.random() < 0.45 else "apartment"


_SHOP_OLD = _Lot("shophouse", (3.8, 5.8), (14.0, 22.0), (3, 3, 4, 4, 5, 6))
_SHOP_NEW = _Lot("shophouse", (4.5, 6.5), (15.0, 20.0), (4, 4, 5, 5, 6))
_TUBE = _Lot("residential", (5.0, 8.0), (9.0, 14.0), (1, 2, 2, 3, 3, 4), (0.15, 2.5))
_HOUSE = _Lot("residential", (8.0, 12.0), (10.0, 15.0), (2, 2, 3, 3), (2.0, 4.0))
_VILLA = _Lot("residential", (12.0, 16.0), (12.0, 16.0), (2, 3, 3), (5.0, 8.0))
_ROWHOUSE = _Lot("residential", (5.0, 6.0), (14.0, 18.0), (3, 4, 4, 5))
_SHOP_BIG = _Lot("commercial", (14.0, 24.0), (16.0, 22.0), (3, 4, 5, 6), (1.0, 3.0))
_OFFICE = _Lot("office", (18.0, 28.0), (18.0, 24.0), (6, 8, 9, 11, 14), (2.0, 6.0))
_RESTAURANT = _Lot("commercial", (14.0, 22.0), (12.0, 18.0), (2, 3, 4, 6), (3.0, 6.0))
_SHED = _Lot("industrial", (28.0, 60.0), (24.0, 40.0), (2, 2, 3), (8.0, 14.0))


def _row_style(kind: str, road_cls: str) -> _Row | None:
    """Frontage row for a block kind facing a road class (None: leave the edge open)."""
    main = road_cls in ("primary", "secondary")
    if kind == "dense":
        if main:
            return _Row(((0.9, _SHOP_OLD), (0.07, _SHOP_BIG), (0.03, _OFFICE)), 0.3, 1)
        return _Row(((1.0, _TUBE),), 0.3, 1, 0.35)  # the old town is kept whole
    if kind == "tod":
        if main:
            return _Row(((0.75, _SHOP_NEW), (0.17, _SHOP_BIG), (0.08, _OFFICE)), 1.0, 1)
        return None
    if kind == "cbd":
        if road_cls == "primary":
            return _Row(((0.55, _OFFICE), (0.45, _SHOP_BIG)), 4.0, 1)
        return _Row(((0.5, _SHOP_NEW), (0.5, _SHOP_BIG)), 1.5, 1 if main else 2, 0.3)
    if kind == "villa":
        if main:
            return _Row(((0.35, _SHOP_NEW), (0.5, _VILLA), (0.15, _SHOP_BIG)), 2.0, 1, 0.3)
        return _Row(((0.75, _VILLA), (0.25, _ROWHOUSE)), 3.5, 2, 0.5)
    if kind == "apartment":
        lots = ((0.6, _SHOP_NEW), (0.25, _SHOP_BIG), (0.15, _OFFICE))
        return _Row(lots, 2.0, 1, 0.5) if main else None
    if kind == "houses":
        if main:
            return _Row(((0.85, _SHOP_OLD), (0.15, _SHOP_BIG)), 0.5, 1, 0.1)
        return _Row(((0.7, _HOUSE), (0.3, _VILLA)), 1.5, 2, 0.45)
    if kind == "riverside":
        if main:
            return _Row(((0.3, _SHOP_OLD), (0.35, _RESTAURANT), (0.35, _VILLA)), 1.0, 1, 0.3)
        return _Row(((0.6, _HOUSE), (0.4, _VILLA)), 2.0, 2, 0.5)
    if kind == "industrial":
        return _Row(((1.0, _SHED),), 8.0, 2)
    return None


_INFILL = {
    "dense": _Infill("residential", (7.0, 10.0), (9.0, 13.0), (2.0, 2.5), (1, 2, 2, 3), 2.0, 0.45),
    "houses": _Infill("residential", (9.0, 13.0), (9.0, 13.0), (5.0, 5.0), (1, 2, 2, 3), 3.0, 0.55),
    "tod": _Infill(
        "apartment", (24.0, 30.0), (24.0, 30.0), (22.0, 22.0), (12, 15, 18, 21, 25), 10.0, 0.1
    ),
    "cbd": _Infill(
        "apartment", (26.0, 32.0), (26.0, 32.0), (24.0, 24.0), (15, 18, 21, 25), 12.0, 0.15
    ),
    "villa": _Infill("residential", (12.0, 16.0), (12.0, 15.0), (8.0, 8.0), (2, 3, 3), 5.0, 0.5),
    "apartment": _Infill(
        "apartment", (42.0, 64.0), (14.0, 18.0), (18.0, 26.0), (9, 12, 15, 17, 21), 12.0, 0.08
    ),
    "riverside": _Infill("residential", (9.0, 13.0), (9.0, 13.0), (6.0, 6.0), (2, 2, 3), 4.0, 0.55),
    "industrial": _Infill(
        "industrial", (30.0, 50.0), (20.0, 30.0), (14.0, 14.0), (2, 2, 3), 10.0, 0.2
    ),
}
_LANES = {  # kind: (class, width, lanes, through spacing, cross spacing or None)
    "dense": ("service", 4.0, 1, (62.0, 78.0), (150.0, 190.0)),
    "houses": ("service", 4.0, 1, (70.0, 90.0), None),
    "riverside": ("service", 5.0, 1, (75.0, 95.0), None),
}


def _nearest_road(pt: Point, tree: shapely.STRtree, roads: Sequence[_Road]) -> _Road:
    return roads[int(tree.query_nearest(pt, all_matches=False)[0])]


def _lanes(
    block: Polygon,
    kind: str,
    keep_out: BaseGeometry | None,
    main_tree: shapely.STRtree,
    main_roads: Sequence[_Road],
    rng: np.random.Generator,
) -> list[_Road]:
    """Ngõ lanes through a large block, parallel and across its long side."""
    spec = _LANES.get(kind)
    if spec is None:
        return []
    cls, width, lanes, through, cross = spec
    angle = _dominant_angle(block)
    origin = np.asarray(block.centroid.coords[0])
    x0, y0, x1, y1 = _to_frame(block, origin, angle).bounds
    segs = []
    span = y1 - y0
    k = round(span / rng.uniform(*through)) - 1
    segs += [
        ((x0 - 20, y), (x1 + 20, y))
        for y in y0 + span * (np.arange(1, k + 1) / (k + 1)) + rng.uniform(-6, 6, max(k, 0))
    ]
    if cross is not None:
        span = x1 - x0
        k = round(span / rng.uniform(*cross)) - 1
        segs += [
            ((x, y0 - 20), (x, y1 + 20))
            for x in x0 + span * (np.arange(1, k + 1) / (k + 1)) + rng.uniform(-8, 8, max(k, 0))
        ]
    if not segs:
        return []
    lines = _from_frame(np.array([LineString(s) for s in segs]), origin, angle)
    reach = block.buffer(4.0, join_style="mitre")
    if keep_out is not None:
        reach = reach.difference(keep_out.buffer(6.0, join_style="mitre"))
    out = []
    for line in lines:
        for part in _lines(line.intersection(reach), 25.0):
            end = Point(part.coords[0])
            road = _nearest_road(end, main_tree, main_roads)
            number = max(1, int(road.line.project(end) / 5.0))
            out.append(_Road(f"Ngõ {number} {road.short}", cls, width, lanes, part))
    return out


def _facing_road(
    a: np.ndarray, b: np.ndarray, d: np.ndarray, tree: shapely.STRtree, roads: Sequence[_Road]
) -> _Road | None:
    """The road a block edge fronts on: parallel to it and at lot-line distance."""
    mid = Point((a + b) / 2)
    best: tuple[float, int] | None = None
    for i in tree.query(mid, predicate="dwithin", distance=40.0):
        road = roads[int(i)]
        dist = road.line.distance(mid)
        if road.cls == "rail" or dist > road.clearance + 3.0:
            continue
        s = road.line.project(mid)
        p, q = road.line.interpolate(max(s - 1.0, 0.0)), road.line.interpolate(s + 1.0)
        t = np.array([q.x - p.x, q.y - p.y])
        norm = float(np.hypot(*t))
        if norm == 0.0 or abs(float(t @ d)) / norm < 0.9:
            continue
        if best is None or dist < best[0]:
            best = (dist, int(i))
    return None if best is None else roads[best[1]]


def _frontage(
    region: Polygon,
    kind: str,
    tree: shapely.STRtree,
    roads: Sequence[_Road],
    occ: _Occupancy,
    rng: np.random.Generator,
) -> list[_Bldg]:
    """Rows of lots along every edge of ``region`` that fronts a road.

    Edges facing the most important roads go first, so corner lots belong to the main
    street; later rows stop where they meet earlier ones.
    """
    simple = region.simplify(1.0)
    if simple.geom_type != "Polygon" or simple.is_empty:
        return []
    poly = shapely.orient_polygons(simple)
    container = region.buffer(0.3, join_style="mitre")
    shapely.prepare(container)
    xy = np.asarray(poly.exterior.coords)
    edges = []
    for k in range(len(xy) - 1):
        a, b = xy[k], xy[k + 1]
        length = float(np.hypot(*(b - a)))
        if length < 10.0:
            continue
        d = (b - a) / length
        road = _facing_road(a, b, d, tree, roads)
        row = None if road is None else _row_style(kind, road.cls)
        if row is not None:
            edges.append((ROAD_RANK[road.cls], -length, k, a, d, length, row))
    edges.sort(key=lambda e: e[:3])
    out: list[_Bldg] = []
    for _, _, _, a, d, length, row in edges:
        n = np.array([-d[1], d[0]])  # inward: the exterior ring is counter-clockwise
        s = 0.5
        while True:
            lot = _choose(rng, row.lots)
            w = float(rng.uniform(*lot.width))
            depth = float(rng.uniform(*lot.depth))
            levels = int(rng.choice(lot.levels))
            gap = float(rng.uniform(*lot.gap))
            vacant = rng.random() < row.vacancy
            if s + w > length - 0.5:
                break
            p0 = a + d * s + n * row.setback
            for dep in (depth, depth * 0.65):
                rect = _quad(p0, d, n, w, dep)
                if dep >= 6.0 and container.contains(rect) and not occ.hits(rect):
                    occ.add(rect)  # a vacant plot stays a yard: infill must not take it
                    if not vacant:
                        out.append(_Bldg(rect, lot.cls, levels, row.rank))
                    break
            s += w + gap
    return out


def _infill(region: Polygon, kind: str, occ: _Occupancy, rng: np.random.Generator) -> list[_Bldg]:
    """A jittered grid of buildings in what the frontage rows left free."""
    style = _INFILL.get(kind)
    if style is None or region.area < 200.0:
        return []
    angle = _dominant_angle(region)
    origin = np.asarray(region.centroid.coords[0])
    x0, y0, x1, y1 = _to_frame(region, origin, angle).bounds
    cw = style.width[1] + style.gap[0]
    ch = style.depth[1] + style.gap[1]
    xs = np.arange(x0 + rng.uniform(0, style.gap[0]), x1, cw)
    ys = np.arange(y0 + rng.uniform(0, style.gap[1]), y1, ch)
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    m = len(gx)
    if m == 0:
        return []
    w = rng.uniform(*style.width, m)
    h = rng.uniform(*style.depth, m)
    jx = rng.uniform(0, 1, m) * (style.width[1] - w)
    jy = rng.uniform(0, 1, m) * (style.depth[1] - h)
    levels = rng.choice(style.levels, m)
    skip = rng.random(m) < style.skip
    rects = _from_frame(shapely.box(gx + jx, gy + jy, gx + jx + w, gy + jy + h), origin, angle)
    container = region.buffer(-1.0, join_style="mitre")
    shapely.prepare(container)
    # Planned slabs and sheds are not yards; old-town yards thin after the suburbs.
    rank = 1 if style.cls != "residential" else 2 if kind == "dense" else 3
    ok = shapely.contains(container, rects) & ~skip
    if occ.geoms:
        blocked = shapely.union_all(shapely.buffer(np.array(occ.geoms), style.clearance))
        shapely.prepare(blocked)
        ok &= ~shapely.intersects(blocked, rects)
    out = []
    for i in np.flatnonzero(ok):
        occ.add(rects[i])
        out.append(_Bldg(rects[i], style.cls, int(levels[i]), rank))
    return out


# --------------------------------------------------------------------------- assembly


def _local_to_crs() -> Callable[[np.ndarray], np.ndarray]:
    """Coordinate function local ``(u, v)`` -> EPSG:9208, rounded to the millimetre."""
    return local_to_crs(ANCHOR_LONLAT, AXIS_DEG, CRS)


def local_to_crs(
    anchor_lonlat: tuple[float, float], axis_deg: float, crs: str
) -> Callable[[np.ndarray], np.ndarray]:
    """Coordinate function local ``(u, v)`` -> ``crs``, rounded to the millimetre.

    The local frame has its origin at the WGS 84 ``anchor_lonlat`` and its ``u``
    axis ``axis_deg`` counter-clockwise from the CRS's east.
    """
    from pyproj import Transformer

    e0, n0 = Transformer.from_crs(4326, crs, always_xy=True).transform(*anchor_lonlat)
    rot = _rot(math.radians(axis_deg))
    origin = np.array([e0, n0])
    return lambda xy: np.round(xy @ rot.T + origin, 3)


def _cleanup(geoms: np.ndarray, ranks: np.ndarray, forbidden: BaseGeometry) -> np.ndarray:
    """Mask of buildings to keep: valid, off roads and open land, overlapping nothing.

    Greedy in rank order (notable first), so an overlap always drops the lesser one.
    """
    keep = shapely.is_valid(geoms) & ~shapely.is_empty(geoms)
    shapely.prepare(forbidden)
    keep &= ~shapely.intersects(forbidden, geoms)
    order = np.argsort(ranks, kind="stable")
    pos = np.empty_like(order)
    pos[order] = np.arange(len(order))
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left != right
    left, right = left[pairs], right[pairs]
    first = np.argsort(pos[left], kind="stable")
    left, right = left[first], right[first]
    starts = np.searchsorted(pos[left], np.arange(len(order)))
    ends = np.searchsorted(pos[left], np.arange(len(order)), side="right")
    for rank_pos, i in enumerate(order):
        if keep[i]:
            nb = right[starts[rank_pos] : ends[rank_pos]]
            keep[nb[pos[nb] > rank_pos]] = False
    return keep


def _thin(ranks: np.ndarray, target: int, rng: np.random.Generator) -> np.ndarray:
    """Mask keeping ``target`` buildings, dropping side-street rows and yard infill.

    Notable buildings (rank 0) always stay, main-street rows (rank 1) only go when
    nothing else is left; among the rest a yard house is twice as likely to go as a
    side-street one, so thinning reads as scattered empty plots, not empty blocks.
    """
    n = len(ranks)
    keep = np.ones(n, dtype=bool)
    excess = n - max(target, int((ranks == 0).sum()))
    if excess <= 0:
        return keep
    key = rng.random(n) / np.where(ranks == 3, 2.0, 1.0)
    tier = np.select([ranks == 0, ranks == 1], [2, 1], 0)
    drop_order = np.lexsort((key, tier))
    keep[drop_order[:excess]] = False
    return keep


def _pois(
    roads: Sequence[_Road],
    landuse: Sequence[tuple[str, str, Polygon]],
    notable: Sequence[_Bldg],
    rng: np.random.Generator,
) -> list[tuple[str, str, Point]]:
    """Street furniture and sensor sites: future hosts of the district's IoT devices."""
    out: list[tuple[str, str, Point]] = []
    station = Point(STATION_U, -300.0)

    def along(line: LineString, s: float, offset: float) -> Point:
        p, q = line.interpolate(max(s - 1.0, 0.0)), line.interpolate(min(s + 1.0, line.length))
        t = np.array([q.x - p.x, q.y - p.y])
        t /= np.hypot(*t)
        return Point(p.x + (q.x - p.x) / 2 - t[1] * offset, p.y + (q.y - p.y) / 2 + t[0] * offset)

    stops: dict[str, int] = {}
    for r in roads:
        if r.cls not in ("primary", "secondary"):
            continue
        for j, s in enumerate(np.arange(120.0, r.line.length - 60.0, 320.0)):
            side = 1.0 if j % 2 == 0 else -1.0
            pt = along(r.line, float(s), side * (r.width / 2 + 1.5))
            stops[r.short] = stops.get(r.short, 0) + 1
            name = f"Điểm dừng xe buýt {r.short} {stops[r.short]:02d}"
            if pt.distance(station) < 260.0:
                name = f"Điểm dừng xe buýt Ga Việt Trì ({r.short})"
            out.append((name, "bus_stop", pt))
    lights = 0
    for r in roads:
        if r.name != "Đại lộ Hùng Vương":
            continue
        for s in np.arange(40.0, r.line.length - 10.0, 90.0):
            for side in (1.0, -1.0):
                lights += 1
                out.append(
                    (
                        f"Đèn đường HV-{lights:03d}",
                        "street_light",
                        along(r.line, float(s), side * (r.width / 2 + 1.0)),
                    )
                )
    for name, cls, poly in landuse:
        if cls == "plaza" or name.startswith("Công viên ven sông"):
            ring = poly.exterior
            for s in np.arange(0.0, ring.length, 60.0 if cls == "plaza" else 150.0):
                lights += 1
                out.append(
                    (
                        f"Đèn chiếu sáng {name} {lights:03d}",
                        "street_light",
                        ring.interpolate(float(s)),
                    )
                )
    main = [r for r in roads if r.cls in ("primary", "secondary")]
    for i, a in enumerate(main):
        for bb in main[i + 1 :]:
            if a.name == bb.name:
                continue
            for p in shapely.get_parts(a.line.intersection(bb.line)):
                if p.geom_type == "Point":
                    out.append((f"Đếm xe nút {a.short} – {bb.short}", "traffic_counter", p))
    air = [
        ("Ga Việt Trì", (140.0, -350.0)),
        ("Quảng trường Hùng Vương", (135.0, 80.0)),
        ("Bệnh viện Đa khoa tỉnh", (-160.0, 320.0)),
        ("Công viên Văn Lang", (420.0, 820.0)),
        ("Trường THPT Chuyên Hùng Vương", (676.0, 420.0)),
        ("Khu công nghiệp", (-940.0, -540.0)),
        ("Ven sông Hồng", (-300.0, -760.0)),
        ("Chợ Trung tâm", (-697.0, -85.0)),
    ]
    out += [(f"Trạm quan trắc không khí {n}", "air_quality_station", Point(xy)) for n, xy in air]
    for k, frac in enumerate((0.2, 0.45, 0.7, 0.92)):
        bank = LineString(RIVER_BANK)
        out.append(
            (
                f"Trạm đo mực nước sông {k + 1}",
                "water_level_sensor",
                bank.interpolate(frac, normalized=True),
            )
        )
    for bl in notable:
        if bl.name and bl.min_height == 0.0:
            out.append((f"Đồng hồ nước {bl.name}", "water_meter", bl.geom.representative_point()))
    bins = 0
    for name, cls, poly in landuse:
        if cls not in ("park", "plaza"):
            continue
        x0, y0, x1, y1 = poly.bounds
        want = max(2, min(8, int(poly.area / 6000.0)))
        cand = shapely.points(rng.uniform(x0, x1, 8 * want), rng.uniform(y0, y1, 8 * want))
        inside = cand[shapely.contains(poly, cand)][:want]
        for p in inside:
            bins += 1
            out.append((f"Thùng rác thông minh {bins:03d} ({name})", "waste_bin", p))
    return out


def generate_district(seed: int = 269, target_buildings: int = 2400) -> District:
    """Generate the synthetic Việt Trì pilot district.

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``; the only source of randomness, so the
        same seed gives byte-identical geometry and attributes.
    target_buildings : int
        Number of buildings wanted (exact unless the notable sites alone, about 90,
        exceed it). The notable sites are always built; ordinary blocks are filled
        outwards from the station until there are 1.6 times enough (with the default
        that is every block), then the surplus is thinned: suburban yard houses and
        side-street plots first, old-town yards next, main-street rows and planned
        slabs never. Small values (a few hundred) give a fast, compact district for
        tests; the main streets, land use and points stay those of the full
        district, only the lanes of unfilled blocks are missing.

    Returns
    -------
    District
        Buildings, roads, land use and points of interest in EPSG:9208 (metres).
    """
    if target_buildings < 1:
        raise ValueError(f"target_buildings must be positive, got {target_buildings}")
    rng = np.random.default_rng(seed)
    roads, rivers, riverside_park, land = _network()
    special, landuse, reserved = _specials(rng)
    landuse = [(name, "river", p) for name, p in rivers] + landuse
    landuse += [("Công viên ven sông Hồng", "park", p) for p in _polygons(riverside_park, 500.0)]
    hv = next(r for r in roads if r.name == "Đại lộ Hùng Vương")
    cross_cut = shapely.union_all(
        [r.line.buffer(r.width / 2 + 3.0, cap_style="flat") for r in roads if r.name != hv.name]
    )
    median = hv.line.buffer(4.0, cap_style="flat").difference(cross_cut)
    landuse += [("Dải phân cách Đại lộ Hùng Vương", "green", p) for p in _polygons(median, 50.0)]

    main_roads = [r for r in roads if r.cls != "rail"]
    keep_out = shapely.union_all(reserved)
    blocks = _polygons(land.difference(_road_cut(roads)), 400.0)
    cents = np.array([p.centroid.coords[0] for p in blocks])
    dist = np.hypot(cents[:, 0] - STATION_U, cents[:, 1] + 150.0)
    order = np.lexsort((cents[:, 1], cents[:, 0], np.round(dist, 3)))

    built: list[_Bldg] = list(special)

    def kind_of(cu: float, cv: float, rng: np.random.Generator) -> str:
        return _kind(_zone(cu, cv), cu, cv, rng)

    roads += fill_blocks(
        blocks, order, kind_of, keep_out, main_roads, built, 1.6 * target_buildings, rng
    )
    to_crs = _local_to_crs()
    geoms = shapely.transform(np.array([b.geom for b in built], dtype=object), to_crs)
    lu_geoms = shapely.transform(np.array([p for _, _, p in landuse], dtype=object), to_crs)
    road_geoms = shapely.transform(np.array([r.line for r in roads], dtype=object), to_crs)
    carriageways = shapely.transform(_road_cut(roads, clearance=False), to_crs)
    idx = keep_buildings(built, geoms, [carriageways, *lu_geoms], target_buildings, rng)
    kept = [built[i] for i in idx]
    buildings = _building_layer(kept, geoms[idx], rng)
    notable = [b for b in kept if b.rank == 0]
    pois = _pois(roads, landuse, notable, rng)
    poi_geoms = shapely.transform(np.array([p for _, _, p in pois], dtype=object), to_crs)
    return District(
        buildings,
        road_layer(roads, road_geoms, "VT"),
        landuse_layer(landuse, lu_geoms, "VT"),
        poi_layer(pois, poi_geoms, "VT"),
        seed,
    )


def road_layer(roads: Sequence[_Road], geoms: np.ndarray, prefix: str) -> LayerData:
    """The ``roads`` layer: ids ``{prefix}-R-0001`` …, name, class, width, lanes."""
    return LayerData(
        geoms,
        {
            "id": np.array([f"{prefix}-R-{k + 1:04d}" for k in range(len(roads))], dtype=object),
            "name": np.array([r.name for r in roads], dtype=object),
            "class": np.array([r.cls for r in roads], dtype=object),
            "width": np.array([r.width for r in roads], dtype=np.float64),
            "lanes": np.array([r.lanes for r in roads], dtype=np.int32),
        },
        "LineString",
    )


def landuse_layer(
    landuse: Sequence[tuple[str, str, Polygon]], geoms: np.ndarray, prefix: str
) -> LayerData:
    """The ``landuse`` layer: ids ``{prefix}-L-001`` …, name, class, slab height."""
    return LayerData(
        geoms,
        {
            "id": np.array([f"{prefix}-L-{k + 1:03d}" for k in range(len(landuse))], dtype=object),
            "name": np.array([n for n, _, _ in landuse], dtype=object),
            "class": np.array([c for _, c, _ in landuse], dtype=object),
            "height": np.array([LANDUSE_HEIGHT[c] for _, c, _ in landuse], dtype=np.float64),
        },
        "Polygon",
    )


def poi_layer(
    pois: Sequence[tuple[str, str, Point]], geoms: np.ndarray, prefix: str
) -> LayerData:
    """The ``pois`` layer (future sensor sites): ids ``{prefix}-P-0001`` …, name, class."""
    return LayerData(
        geoms,
        {
            "id": np.array([f"{prefix}-P-{k + 1:04d}" for k in range(len(pois))], dtype=object),
            "name": np.array([n for n, _, _ in pois], dtype=object),
            "class": np.array([c for _, c, _ in pois], dtype=object),
        },
        "Point",
    )


def fill_blocks(
    blocks: Sequence[Polygon],
    order: Sequence[int],
    kind_of: Callable[[float, float, np.random.Generator], str],
    keep_out: BaseGeometry,
    main_roads: Sequence[_Road],
    built: list[_Bldg],
    limit: float,
    rng: np.random.Generator,
) -> list[_Road]:
    """Fill city blocks in ``order`` with lanes, frontage rows and infill.

    Shared by every synthetic city (Việt Trì, Sơn La): a city supplies its own
    street plan, notable sites (``keep_out``, already in ``built``) and a
    ``kind_of(u, v, rng)`` that names the block type at a block centroid (see
    :func:`_row_style`); this does the rest. Appends to ``built`` until it holds
    ``limit`` buildings and returns the lanes it cut.
    """
    main_tree = shapely.STRtree([r.line for r in main_roads])
    keep_clear = keep_out.buffer(2.0, join_style="mitre")
    out: list[_Road] = []
    for i in order:
        if len(built) >= limit:
            break
        block = blocks[i]
        cu, cv = block.centroid.coords[0]
        kind = kind_of(cu, cv, rng)
        free = block.difference(keep_clear)
        if free.area < 300.0:
            continue
        lanes = _lanes(block, kind, keep_out, main_tree, main_roads, rng)
        out += lanes
        local_roads = [*main_roads, *lanes]
        local_tree = shapely.STRtree([r.line for r in local_roads])
        if lanes:
            free = free.difference(_road_cut(lanes))
        for sub in _polygons(free, 150.0):
            occ = _Occupancy()
            built += _frontage(sub, kind, local_tree, local_roads, occ, rng)
            built += _infill(sub, kind, occ, rng)
    return out


def keep_buildings(
    built: Sequence[_Bldg],
    geoms: np.ndarray,
    open_land: Sequence[BaseGeometry],
    target: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Indices of the buildings to keep: valid, off ``open_land`` (carriageways,
    parks, water), overlapping nothing, thinned to ``target`` (see :func:`_thin`).
    ``geoms`` are the footprints already in the output CRS."""
    ranks = np.array([b.rank for b in built])
    keep = _cleanup(geoms, ranks, shapely.union_all(list(open_land)))
    keep[keep] = _thin(ranks[keep], target, rng)
    idx = np.flatnonzero(keep)
    dropped = len(built) - len(idx)
    log.info("generated %d buildings, kept %d (dropped %d)", len(built), len(idx), dropped)
    return idx


def _building_layer(
    kept: Sequence[_Bldg],
    geoms: np.ndarray,
    rng: np.random.Generator,
    prefix: str = "VT",
    zone_of: Callable[[float, float], str] = _zone,
    wards: dict[str, tuple[str, ...]] = _WARD,
) -> LayerData:
    """Attribute columns of the kept buildings, with deliberate gaps in heights.

    About 15 % of ordinary houses and shophouses get no ``height`` (a third of those
    no ``building:levels`` either), so importers' fallbacks get exercised. Another
    city passes its id ``prefix``, its ``zone_of(u, v)`` and the wards of each zone
    (which name its unnamed apartment blocks).
    """
    n = len(kept)
    levels = np.array([b.levels for b in kept], dtype=np.int32)
    cls = np.array([b.cls for b in kept], dtype=object)
    names = np.array([b.name for b in kept], dtype=object)
    ranks = np.array([b.rank for b in kept])
    explicit = np.array([b.height for b in kept], dtype=np.float64)
    height = levels * LEVEL_HEIGHT + rng.uniform(0.2, 1.4, n)
    height = np.where(np.isnan(explicit), height, explicit)
    ordinary = (ranks > 0) & np.isin(cls, ["residential", "shophouse"]) & (names == "")
    r1, r2 = rng.random(n), rng.random(n)
    no_height = ordinary & (r1 < 0.15)
    height[no_height] = np.nan
    no_levels = (no_height & (r2 < 0.35)) | (ordinary & ~no_height & (r2 < 0.08))
    levels[no_levels] = 0
    uv = [b.geom.representative_point().coords[0] for b in kept]
    zone = np.array([zone_of(u, v) for u, v in uv], dtype=object)
    towers: dict[str, int] = {}
    for k in np.flatnonzero((cls == "apartment") & (names == "")):
        in_zone = wards[zone[k]]
        ward = in_zone[int((uv[k][0] + HALF_U) // 700.0) % len(in_zone)]
        towers[ward] = towers.get(ward, 0) + 1
        names[k] = f"Chung cư {ward} CT{towers[ward]}"
    return LayerData(
        geoms,
        {
            "id": np.array([f"{prefix}-B-{k + 1:05d}" for k in range(n)], dtype=object),
            "name": names,
            "class": cls,
            "height": np.round(height, 2),
            "building:levels": levels,
            "min_height": np.array([b.min_height for b in kept], dtype=np.float64),
            "zone": zone,
        },
        "MultiPolygon",
    )


# --------------------------------------------------------------------------- output


def write_geopackage(
    district: District, path: str | Path, meta: dict[str, str] | None = None
) -> None:
    """Write the four layers into one GeoPackage, replacing any existing file.

    Integer columns use 0 for "missing" in memory; they are written as NULL.
    Buildings are promoted to MultiPolygon so the layer has one geometry type.
    GDAL's ``OGR_CURRENT_DATE`` is pinned while writing, so the GeoPackage's
    timestamps do not change and the same district gives the same bytes (a
    regenerated asset shows no diff). ``meta`` replaces the layers' metadata
    (generator, seed, what is synthetic); the default is Việt Trì's.
    """
    import pyogrio

    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_DATE})
    try:
        _write_layers(district, Path(path), meta)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


def _write_layers(district: District, path: Path, meta: dict[str, str] | None) -> None:
    import pyogrio.raw

    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    # A stale GDAL side-car would leak its metadata into the new file.
    path.with_name(path.name + ".aux.xml").unlink(missing_ok=True)
    meta = meta or {
        "generator": "twin.synth.district",
        "seed": str(district.seed),
        "synthetic": "yes: invented geometry, real street names for plausibility",
    }
    for k, (name, layer) in enumerate(district.layers.items()):
        fields = list(layer.columns)
        data = [layer.columns[f] for f in fields]
        masks = [(col == 0) if col.dtype.kind == "i" else None for col in data]
        pyogrio.raw.write(
            str(path),
            geometry=shapely.to_wkb(layer.geometry),
            field_data=data,
            fields=fields,
            field_mask=masks,
            layer=name,
            driver="GPKG",
            crs=district.crs,
            geometry_type=layer.geometry_type,
            promote_to_multi=layer.geometry_type.startswith("Multi"),
            append=k > 0,
            layer_metadata=meta,
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: regenerate the bundled GeoPackage."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.synth.district",
        description="Generate the synthetic Việt Trì pilot district (EPSG:9208) as a GeoPackage.",
    )
    parser.add_argument("-o", "--output", type=Path, required=True, help="GeoPackage to write")
    parser.add_argument("--seed", type=int, default=269, help="random seed (default 269)")
    parser.add_argument(
        "--target-buildings", type=int, default=2400, help="number of buildings (default 2400)"
    )
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    district = generate_district(args.seed, args.target_buildings)
    t1 = time.perf_counter()
    write_geopackage(district, args.output)
    t2 = time.perf_counter()
    classes, counts = np.unique(district.buildings.columns["class"].astype(str), return_counts=True)
    out = sys.stdout
    out.write(
        f"{args.output}: seed {args.seed}, generated in {t1 - t0:.2f} s, "
        f"written in {t2 - t1:.2f} s\n"
    )
    for name, layer in district.layers.items():
        out.write(f"  {name}: {len(layer)}\n")
    out.write(
        "  buildings by class: "
        + ", ".join(f"{c} {k}" for c, k in zip(classes, counts, strict=True))
        + "\n"
    )
    every = np.concatenate([layer.geometry for layer in district.layers.values()])
    x0, y0, x1, y1 = shapely.total_bounds(every)
    out.write(f"  bounds ({district.crs}): {x0:.1f} {y0:.1f} {x1:.1f} {y1:.1f}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
