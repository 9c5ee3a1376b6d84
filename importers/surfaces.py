"""Shared helpers of the city-model importers: 3D polygons to triangles, semantic
surface codes and their default colours, and thin meshes for lines and points.

CityJSON and CityGML both describe geometry as planar-ish 3D polygons (an outer
ring plus holes) that must become triangles. Doing that one polygon at a time in
Python is what makes naive viewers slow, so :func:`triangulate_rings` takes every
polygon of a file at once as flat arrays: triangles and convex rings (most walls
and many roofs) are fanned with numpy, and only the rest go through earcut, one
call each, after projection onto their dominant plane.
"""

from __future__ import annotations

from dataclasses import dataclass

import mapbox_earcut
import numpy as np

from twin.layer import TreeNode
from twin.meshing import TriMesh

#: Semantic surface types (CityJSON names, which are also CityGML's local names).
#: Index = code stored per triangle in the ``surface`` cell array; 0 = none.
SURFACE_TYPES: tuple[str, ...] = (
    "",
    "RoofSurface",
    "WallSurface",
    "GroundSurface",
    "ClosureSurface",
    "OuterCeilingSurface",
    "OuterFloorSurface",
    "Window",
    "Door",
    "InteriorWallSurface",
    "CeilingSurface",
    "FloorSurface",
    "WaterSurface",
    "WaterGroundSurface",
    "WaterClosureSurface",
    "TrafficArea",
    "AuxiliaryTrafficArea",
    "TransportationMarking",
    "TransportationHole",
    "Marking",
    "HoleSurface",
)

#: Default colour per semantic type: the convention of 3D city viewers (red
#: roofs, pale walls, dark ground) so a model reads at a glance.
SURFACE_COLORS: dict[str, tuple[int, int, int]] = {
    "RoofSurface": (196, 82, 64),
    "WallSurface": (236, 230, 216),
    "GroundSurface": (105, 100, 95),
    "ClosureSurface": (190, 205, 215),
    "OuterCeilingSurface": (215, 205, 185),
    "OuterFloorSurface": (180, 170, 150),
    "Window": (110, 160, 215),
    "Door": (140, 95, 60),
    "InteriorWallSurface": (225, 220, 205),
    "CeilingSurface": (240, 238, 230),
    "FloorSurface": (170, 140, 110),
    "WaterSurface": (80, 145, 210),
    "WaterGroundSurface": (60, 95, 130),
    "WaterClosureSurface": (150, 190, 220),
    "TrafficArea": (120, 120, 126),
    "AuxiliaryTrafficArea": (160, 170, 130),
    "TransportationMarking": (245, 245, 245),
    "TransportationHole": (70, 70, 70),
    "Marking": (245, 245, 245),
    "HoleSurface": (70, 70, 70),
}

#: Colour of surfaces without semantics, by CityObject type (CityJSON names).
TYPE_COLORS: dict[str, tuple[int, int, int]] = {
    "Building": (226, 218, 204),
    "BuildingPart": (226, 218, 204),
    "BuildingInstallation": (200, 190, 175),
    "BuildingConstructiveElement": (200, 190, 175),
    "BuildingFurniture": (190, 150, 110),
    "BuildingRoom": (235, 230, 220),
    "BuildingStorey": (235, 230, 220),
    "BuildingUnit": (235, 230, 220),
    "Bridge": (185, 175, 165),
    "BridgePart": (185, 175, 165),
    "BridgeInstallation": (170, 160, 150),
    "BridgeConstructiveElement": (170, 160, 150),
    "BridgeRoom": (230, 225, 215),
    "BridgeFurniture": (190, 150, 110),
    "Tunnel": (150, 140, 130),
    "TunnelPart": (150, 140, 130),
    "TunnelInstallation": (140, 130, 120),
    "TunnelConstructiveElement": (140, 130, 120),
    "TunnelHollowSpace": (200, 195, 185),
    "TunnelFurniture": (190, 150, 110),
    "Road": (128, 128, 134),
    "Railway": (115, 95, 80),
    "TransportSquare": (170, 165, 160),
    "Waterway": (80, 145, 210),
    "WaterBody": (80, 145, 210),
    "LandUse": (205, 200, 165),
    "PlantCover": (120, 175, 95),
    "SolitaryVegetationObject": (70, 140, 70),
    "TINRelief": (196, 186, 160),
    "ReliefFeature": (196, 186, 160),
    "MassPointRelief": (196, 186, 160),
    "BreaklineRelief": (196, 186, 160),
    "RasterRelief": (196, 186, 160),
    "CityFurniture": (205, 125, 60),
    "GenericCityObject": (175, 175, 205),
    "OtherConstruction": (185, 180, 170),
    "CityObjectGroup": (200, 200, 200),
}
DEFAULT_COLOR = (190, 190, 195)


class SurfaceCodes:
    """Semantic type name -> int code, growing for extension types (``+Thermal``)."""

    def __init__(self) -> None:
        self.names: list[str] = list(SURFACE_TYPES)
        self._code = {name: i for i, name in enumerate(self.names)}

    def code(self, name: object) -> int:
        if not isinstance(name, str) or not name:
            return 0
        code = self._code.get(name)
        if code is None:
            code = self._code[name] = len(self.names)
            self.names.append(name)
        return code

    def colors(self) -> np.ndarray:
        """(n_codes, 3) uint8 default colour per code (row 0 unused)."""
        out = np.array([SURFACE_COLORS.get(n, DEFAULT_COLOR) for n in self.names], np.uint8)
        return out.reshape(-1, 3)


def type_colors(types: list[str]) -> np.ndarray:
    """(n, 3) uint8 default colour of each CityObject type name."""
    rows = [TYPE_COLORS.get(t.lstrip("+"), TYPE_COLORS["GenericCityObject"]) for t in types]
    return np.array(rows, dtype=np.uint8).reshape(-1, 3)


@dataclass
class Triangulation:
    """Triangles of many polygons given as flat ring arrays.

    tris : (m, 3) int64 positions into the flat ring-point array that was passed
        in (not vertex ids), so per-corner data such as texture coordinates can
        be gathered for each triangle.
    tri_surface : (m,) int64 polygon of each triangle.
    dropped : (s,) bool, polygons that produced no triangle because they are
        degenerate (fewer than 3 distinct points, or zero area).
    """

    tris: np.ndarray
    tri_surface: np.ndarray
    dropped: np.ndarray


def triangulate_rings(
    xyz: np.ndarray,
    point_vertex: np.ndarray,
    ring_len: np.ndarray,
    surface_rings: np.ndarray,
    surface_ok: np.ndarray | None = None,
) -> Triangulation:
    """Triangulate many 3D polygons (outer ring first, then holes) at once.

    Parameters
    ----------
    xyz : (n, 3) float64 vertex coordinates (scene-local metres).
    point_vertex : (p,) int64 vertex of each ring point, rings back to back;
        a repeated closing point is allowed and removed.
    ring_len : (r,) points per ring.
    surface_rings : (s,) rings per polygon; ``ring_len`` lists them in order.
    surface_ok : (s,) bool, polygons to triangulate (the rest are skipped
        without being reported as dropped).

    Returns
    -------
    Triangulation whose triangles keep the polygon's orientation (their normals
    agree with the ring's Newell normal), so outward-facing solids stay so.

    Notes
    -----
    Work is split by shape so the common cases cost least: rings that already
    are triangles (TINs, triangulated exports) only get an area check; convex
    single rings (most walls) a vectorised turn test and a fan; only concave
    rings and rings with holes need a normal, a projection and earcut.
    """
    n_surf = len(surface_rings)
    ring_len = np.asarray(ring_len, dtype=np.int64)
    surface_rings = np.asarray(surface_rings, dtype=np.int64)
    if surface_ok is None:
        surface_ok = np.ones(n_surf, dtype=bool)
    dropped = np.zeros(n_surf, dtype=bool)
    if n_surf == 0 or len(point_vertex) == 0:
        return Triangulation(np.empty((0, 3), np.int64), np.empty(0, np.int64), dropped)
    n_rings = len(ring_len)
    ring_surface = np.repeat(np.arange(n_surf), surface_rings)
    point_ring = np.repeat(np.arange(n_rings), ring_len)
    pv = np.asarray(point_vertex, dtype=np.int64)
    # Drop points repeating their predecessor (same vertex) and closing points.
    same = np.zeros(len(pv), dtype=bool)
    same[1:] = (pv[1:] == pv[:-1]) & (point_ring[1:] == point_ring[:-1])
    ring_start = np.cumsum(ring_len) - ring_len
    nonempty = ring_len > 0
    last = (ring_start + ring_len - 1)[nonempty]
    first = ring_start[nonempty]
    closing = last != first
    closing[closing] = np.all(xyz[pv[last[closing]]] == xyz[pv[first[closing]]], axis=1)
    same[last[closing]] = True
    keep = ~same & surface_ok[ring_surface[point_ring]]
    pos = np.flatnonzero(keep)
    k_ring = point_ring[pos]
    kp = xyz[pv[pos]]
    k_len = np.bincount(k_ring, minlength=n_rings)
    k_start = np.cumsum(k_len) - k_len
    surf_first_ring = np.cumsum(surface_rings) - surface_rings
    has_rings = surface_rings > 0
    ring0 = np.minimum(surf_first_ring, n_rings - 1)
    outer_len = np.where(has_rings, k_len[ring0], 0)
    alive = surface_ok & (outer_len >= 3)
    dropped |= surface_ok & ~alive
    ring_alive = (k_len >= 3) & alive[ring_surface]
    n_alive_rings = np.bincount(ring_surface[ring_alive], minlength=n_surf)
    single = alive & (n_alive_rings == 1)
    is_tri = single & (outer_len == 3)
    polys = single & (outer_len > 3)
    multi = alive & (n_alive_rings > 1)

    # Newell normals only where they are needed (concavity test, projection).
    need = polys | multi
    need_pt = need[ring_surface[k_ring]] & (k_ring == ring0[ring_surface[k_ring]])
    sel = np.flatnonzero(need_pt)
    nxt = np.arange(len(pos)) + 1
    k_nonempty = k_len > 0
    nxt[(k_start + k_len - 1)[k_nonempty]] = k_start[k_nonempty]
    prv = np.arange(len(pos)) - 1
    prv[k_start[k_nonempty]] = (k_start + k_len - 1)[k_nonempty]
    normal = np.zeros((n_surf, 3))
    if sel.size:
        base = kp[k_start[k_ring[sel]]]
        a = kp[sel] - base
        b = kp[nxt[sel]] - base
        owner = ring_surface[k_ring[sel]]
        normal[:, 0] = np.bincount(owner, (a[:, 1] - b[:, 1]) * (a[:, 2] + b[:, 2]), n_surf)
        normal[:, 1] = np.bincount(owner, (a[:, 2] - b[:, 2]) * (a[:, 0] + b[:, 0]), n_surf)
        normal[:, 2] = np.bincount(owner, (a[:, 0] - b[:, 0]) * (a[:, 1] + b[:, 1]), n_surf)
    norm = np.linalg.norm(normal, axis=1)
    flat = need & (norm <= 1e-12)
    dropped |= flat
    polys &= ~flat
    multi &= ~flat

    # Convexity of single rings with more than 3 points.
    concave = np.zeros(n_surf, dtype=bool)
    poly_pt = np.flatnonzero(polys[ring_surface[k_ring]])
    if poly_pt.size:
        unit = normal / np.where(norm > 0, norm, 1.0)[:, None]
        e_in = kp[poly_pt] - kp[prv[poly_pt]]
        e_out = kp[nxt[poly_pt]] - kp[poly_pt]
        owner = ring_surface[k_ring[poly_pt]]
        turn = np.einsum("ij,ij->i", np.cross(e_in, e_out), unit[owner])
        scale = np.linalg.norm(e_in, axis=1) * np.linalg.norm(e_out, axis=1)
        bad = turn < -1e-9 * np.maximum(scale, 1e-30)
        concave = np.bincount(owner[bad], minlength=n_surf) > 0

    fan = is_tri | (polys & ~concave)
    fan_s = np.flatnonzero(fan)
    starts = k_start[ring0[fan_s]]
    counts = outer_len[fan_s] - 2
    owner_f = np.repeat(np.arange(len(fan_s)), counts)
    first_tri = np.cumsum(counts) - counts
    j = np.arange(counts.sum()) - np.repeat(first_tri, counts) + 1
    s0 = starts[owner_f]
    fan_tris = np.column_stack([s0, s0 + j, s0 + j + 1])
    fan_surf = fan_s[owner_f]
    # Degenerate fans: polygons whose triangles have no area at all.
    if len(fan_tris):
        p0, p1, p2 = kp[fan_tris[:, 0]], kp[fan_tris[:, 1]], kp[fan_tris[:, 2]]
        area = np.linalg.norm(np.cross(p1 - p0, p2 - p0), axis=1)
        zero = np.bincount(fan_surf, weights=area, minlength=n_surf) <= 1e-12
        zero &= fan
        if zero.any():
            dropped |= zero
            ok = ~zero[fan_surf]
            fan_tris, fan_surf = fan_tris[ok], fan_surf[ok]
    tris: list[np.ndarray] = [fan_tris]
    tri_surf: list[np.ndarray] = [fan_surf]
    rest = np.flatnonzero(polys & concave | multi)
    if rest.size:
        ear_tris: list[np.ndarray] = []
        ear_surf: list[np.ndarray] = []
        _earcut_surfaces(rest, kp, normal, ring0, surface_rings, k_start, k_len, ring_alive,
                         ring_surface, k_ring, ear_tris, ear_surf, dropped)  # fmt: skip
        if ear_tris:
            t = np.concatenate(ear_tris).astype(np.int64).reshape(-1, 3)
            ts = np.concatenate(ear_surf).astype(np.int64)
            p0, p1, p2 = kp[t[:, 0]], kp[t[:, 1]], kp[t[:, 2]]
            facing = np.einsum("ij,ij->i", np.cross(p1 - p0, p2 - p0), normal[ts])
            flip = facing < 0
            t[flip] = t[flip][:, ::-1]
            tris.append(t)
            tri_surf.append(ts)
    t = np.concatenate(tris).astype(np.int64).reshape(-1, 3)
    ts = np.concatenate(tri_surf).astype(np.int64)
    dropped &= surface_ok
    return Triangulation(pos[t] if len(t) else t, ts, dropped)


def triangulate_batches(
    xyz: np.ndarray,
    point_vertex: np.ndarray,
    ring_len: np.ndarray,
    surface_rings: np.ndarray,
    surface_ok: np.ndarray | None = None,
    batch: int = 200_000,
) -> Triangulation:
    """:func:`triangulate_rings` over slices of ``batch`` polygons, so its
    temporary per-point arrays stay bounded on city-sized inputs."""
    n_surf = len(surface_rings)
    if n_surf <= batch:
        return triangulate_rings(xyz, point_vertex, ring_len, surface_rings, surface_ok)
    ring_len = np.asarray(ring_len, dtype=np.int64)
    surface_rings = np.asarray(surface_rings, dtype=np.int64)
    ok = np.ones(n_surf, dtype=bool) if surface_ok is None else surface_ok
    ring0 = np.concatenate([[0], np.cumsum(surface_rings)])
    pt0 = np.concatenate([[0], np.cumsum(ring_len)])
    tris, surf, dropped = [], [], []
    for s0 in range(0, n_surf, batch):
        s1 = min(s0 + batch, n_surf)
        r0, r1 = ring0[s0], ring0[s1]
        p0, p1 = pt0[r0], pt0[r1]
        part = triangulate_rings(
            xyz, point_vertex[p0:p1], ring_len[r0:r1], surface_rings[s0:s1], ok[s0:s1]
        )
        tris.append(part.tris + p0)
        surf.append(part.tri_surface + s0)
        dropped.append(part.dropped)
    return Triangulation(
        np.concatenate(tris).reshape(-1, 3), np.concatenate(surf), np.concatenate(dropped)
    )


def _earcut_surfaces(
    rest: np.ndarray,
    kp: np.ndarray,
    normal: np.ndarray,
    ring0: np.ndarray,
    surface_rings: np.ndarray,
    k_start: np.ndarray,
    k_len: np.ndarray,
    ring_alive: np.ndarray,
    ring_surface: np.ndarray,
    k_ring: np.ndarray,
    tris: list,
    tri_surf: list,
    dropped: np.ndarray,
) -> None:
    """Earcut each polygon in ``rest``, projected onto the plane that drops its
    normal's largest component (which keeps the shape best). The projection is
    done for all points at once; the loop only slices and calls earcut."""
    n_surf = len(normal)
    drop_axis = np.argmax(np.abs(normal), axis=1)
    last_ring = ring0 + surface_rings - 1
    lo = k_start[ring0[rest]]
    hi = k_start[last_ring[rest]] + k_len[last_ring[rest]]
    # Points of the surfaces in ``rest``, relative to each surface's first point.
    in_rest = np.zeros(n_surf, dtype=bool)
    in_rest[rest] = True
    pt_surf = ring_surface[k_ring]
    sel = np.flatnonzero(in_rest[pt_surf])
    first = np.zeros(n_surf, dtype=np.int64)
    first[rest] = lo
    rel = kp[sel] - kp[first[pt_surf[sel]]]
    ax = drop_axis[pt_surf[sel]]
    plane = np.empty((len(kp), 2))
    plane[sel] = np.where(
        (ax == 0)[:, None], rel[:, [1, 2]], np.where((ax == 1)[:, None], rel[:, [2, 0]], rel[:, :2])
    )
    n_rings = surface_rings[rest].tolist()
    counts: list[int] = []
    owners: list[int] = []
    for s, a, b, r0, nr in zip(
        rest.tolist(), lo.tolist(), hi.tolist(), ring0[rest].tolist(), n_rings, strict=True
    ):
        if nr == 1:
            tri = mapbox_earcut.triangulate_float64(plane[a:b], np.array([b - a], np.uint32))
            offset: np.ndarray | int = a
        else:
            alive = ring_alive[r0 : r0 + nr]
            if alive.all():
                ends = np.cumsum(k_len[r0 : r0 + nr]).astype(np.uint32)
                tri = mapbox_earcut.triangulate_float64(plane[a:b], ends)
                offset = a
            else:
                rings = np.arange(r0, r0 + nr)[alive]
                idx = np.concatenate([np.arange(k_start[r], k_start[r] + k_len[r]) for r in rings])
                ends = np.cumsum(k_len[rings]).astype(np.uint32)
                tri = mapbox_earcut.triangulate_float64(np.ascontiguousarray(plane[idx]), ends)
                offset = idx  # type: ignore[assignment]
        if tri.size == 0:
            dropped[s] = True
            continue
        tri = np.asarray(tri, dtype=np.int64)
        tris.append(
            tri.reshape(-1, 3) + offset if isinstance(offset, int) else offset[tri].reshape(-1, 3)
        )
        counts.append(tri.size // 3)
        owners.append(s)
    if counts:
        tri_surf.append(np.repeat(np.asarray(owners, dtype=np.int64), counts))


def line_ribbons(
    xyz: np.ndarray, seg_a: np.ndarray, seg_b: np.ndarray, seg_feature: np.ndarray, width: float
) -> TriMesh:
    """Flat horizontal strips ``width`` metres wide along 3D line segments.

    Lines (LoD0 road and rail centre lines, curves of MultiLineString) have no
    area to draw; a strip keeps them visible and pickable in a triangle layer.
    """
    if len(seg_a) == 0:
        return TriMesh.empty()
    p = xyz[seg_a]
    q = xyz[seg_b]
    d = q[:, :2] - p[:, :2]
    length = np.linalg.norm(d, axis=1)
    side = np.zeros_like(d)
    ok = length > 1e-9
    side[ok] = np.column_stack([-d[ok, 1], d[ok, 0]]) / length[ok, None]
    side[~ok] = (1.0, 0.0)
    off = np.column_stack([side * (width / 2.0), np.zeros(len(side))])
    n = len(p)
    points = np.concatenate([p - off, p + off, q + off, q - off])
    i = np.arange(n)
    tris = np.concatenate(
        [np.column_stack([i, i + 3 * n, i + 2 * n]), np.column_stack([i, i + 2 * n, i + n])]
    )
    feature = np.concatenate([seg_feature, seg_feature]).astype(np.int32)
    return TriMesh(points, tris.astype(np.int64), feature)


def point_markers(xyz: np.ndarray, feature: np.ndarray, size: float = 0.6) -> TriMesh:
    """A small octahedron at every point so MultiPoint geometry can be seen and picked."""
    if len(xyz) == 0:
        return TriMesh.empty()
    h = size / 2.0
    corners = np.array(
        [[h, 0, 0], [-h, 0, 0], [0, h, 0], [0, -h, 0], [0, 0, h], [0, 0, -h]], dtype=np.float64
    )
    faces = np.array(
        [[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]]
    )
    n = len(xyz)
    points = (xyz[:, None, :] + corners[None]).reshape(-1, 3)
    tris = (faces[None] + (np.arange(n) * 6)[:, None, None]).reshape(-1, 3)
    return TriMesh(points, tris.astype(np.int64), np.repeat(feature, 8).astype(np.int32))


def compact(mesh: TriMesh) -> TriMesh:
    """Drop points no triangle uses (other LoDs, skipped objects) and renumber."""
    used = np.zeros(len(mesh.points), dtype=bool)
    used[mesh.triangles.ravel()] = True
    if used.all():
        return mesh
    remap = np.cumsum(used) - 1
    return TriMesh(mesh.points[used], remap[mesh.triangles], mesh.feature)


#: Column names the importers add themselves; source attributes with these
#: names (or the table's built-in id/class/name) get an ``attr_`` prefix.
RESERVED_COLUMNS = ("id", "class", "name", "object_type", "lod", "parent_id")


def add_object_columns(
    attrs: dict[str, np.ndarray], types: list[str], lods: list[str], parents: list[str]
) -> dict[str, np.ndarray]:
    """Source attributes plus ``object_type``, ``lod`` and ``parent_id``, renaming
    attributes that would shadow a built-in or added column."""
    out: dict[str, np.ndarray] = {}
    for key, col in attrs.items():
        name = key
        while name in RESERVED_COLUMNS or name in out:
            name = f"attr_{name}"
        out[name] = col
    out["object_type"] = np.array(types, dtype=object)
    out["lod"] = np.array(lods, dtype=object)
    out["parent_id"] = np.array(parents, dtype=object)
    return out


def sample_ids(ids: list[str] | np.ndarray, limit: int = 5) -> str:
    """``a, b, c ...`` for warnings that must name the objects they are about."""
    ids = list(ids)
    text = ", ".join(str(i) for i in ids[:limit])
    return text + (" ..." if len(ids) > limit else "")


def type_tree(name: str, types: list[str]) -> TreeNode:
    """A city model's tree: one node per object type, rows in file order, so the
    GUI can toggle all roads or all buildings of a file at once."""
    by_type: dict[str, list[int]] = {}
    for row, typ in enumerate(types):
        by_type.setdefault(typ, []).append(row)
    return TreeNode(
        name=name,
        kind="CityModel",
        children=[TreeNode(name=t, kind="type", rows=r) for t, r in sorted(by_type.items())],
    )
