"""Camera clipping range that follows the content near the camera.

VTK's ``ResetCameraClippingRange`` fits near/far to the bounds of *every*
visible prop and then keeps near >= far / 1000. One small layer placed 500 km
away therefore pushes the near plane out to hundreds of metres and the
foreground disappears (a reopened project showed only sky, near = 5.5 km).

Here the range is fitted to the per-feature boxes of visible layers instead:

* only boxes that reach into the view frustum count (a conservative
  box-against-plane test, so nothing visible is ever dropped);
* far is the deepest of those boxes along the view direction;
* near is the least depth any of them can have *inside the frustum*: the
  larger of the box's least depth and its distance from the eye times
  ``cos`` of the frustum's corner half-angle (a point of the frustum at
  distance ``s`` from the eye has depth >= ``s / sqrt(1 + tan_v² + tan_h²)``).
  For a street-level camera 1.7 m above the ground that is about 1.5 m, so the
  pavement in front stays; for a box enclosing the eye it is 0 (-> 5 cm);
* the depth buffer holds only so much: near/far is kept within
  :data:`MAX_DEPTH_RATIO` by clipping *far* content, never the foreground.

It runs before every frame, so it must be cheap for 100k features. Each
layer's boxes are cached, sorted along a Z-order curve and grouped in tiles of
:data:`TILE` features. A frame tests the tiles (a tile box bounds its features,
so its near is a lower bound and its far an upper bound), takes far from them
(at most a tile's size too deep: harmless) and refines near exactly by branch
and bound: tiles in order of their near bound, until the next bound is within
:data:`NEAR_TOLERANCE` of the best feature found. Near is never more than the
brute-force value (nothing is clipped) and at most 5 % less.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.layer import Layer
from twin.scene import Scene

#: Nearest the near plane may come (m): closer than this, the depth buffer's
#: precision over a city-sized far range is gone anyway.
MIN_NEAR_M = 0.05
#: Largest far/near ratio. A 24-bit depth buffer then resolves ~0.1 m at 1 km
#: with near = 0.5 m; beyond it content far away is clipped, never the foreground.
MAX_DEPTH_RATIO = 1e5
#: Range used when no content lies in front of the camera (nothing to see but sky).
FALLBACK_RANGE = (0.5, 10_000.0)
#: pyvista names of the view's actors (see twin.render.view): layers and the ground.
LAYER_ACTOR_PREFIX = "layer:"
GROUND_ACTOR = "ground"
#: Features per tile of the per-layer cache.
TILE = 64
#: Near may come out this much (relative) nearer than the exact value: it spares
#: refining many tiles of an overview for a near plane a few per cent tighter.
NEAR_TOLERANCE = 0.05
#: Relative slack on both planes (float32 vertices, rounding in the box test).
_MARGIN = 0.01
#: Frustum widened by this factor in the box test (window centre, odd aspect).
_FRUSTUM_SLACK = 1.05


@dataclass
class _Boxes:
    """One layer's boxes as rows ``[centre - anchor, half-size]``, Z-order sorted."""

    source: np.ndarray  # the features.bounds array these were made from
    points_mtime: int
    anchor: np.ndarray  # (3,) float64, the layer box centre (keeps values small)
    feats: np.ndarray  # (n, 6) feature boxes, tile after tile
    rows: np.ndarray  # (n,) feature row of each box; -1: the whole layer's box
    tiles: np.ndarray  # (k, 6) tile boxes
    starts: np.ndarray  # (k + 1,) first box of each tile, then n
    layer_box: np.ndarray  # (1, 6) the union of all


_CACHE: weakref.WeakKeyDictionary[Layer, _Boxes] = weakref.WeakKeyDictionary()


def _points_mtime(layer: Layer) -> int:
    pts = layer.mesh.GetPoints()
    return int(pts.GetMTime()) if pts is not None else 0


def _spread_bits(q: np.ndarray) -> np.ndarray:
    """Interleave zeros between the low 16 bits (for a 2D Morton code)."""
    q = q.astype(np.uint32)
    q = (q | (q << 8)) & 0x00FF00FF
    q = (q | (q << 4)) & 0x0F0F0F0F
    q = (q | (q << 2)) & 0x33333333
    return (q | (q << 1)) & 0x55555555


def _centre_half(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.hstack([(lo + hi) / 2, (hi - lo) / 2])


def _layer_boxes(layer: Layer) -> _Boxes | None:
    """Cached boxes of a layer; rebuilt when its bounds array or its points
    change (``recentre`` writes a new bounds array, ``drape`` new points)."""
    fb = layer.features.bounds
    mtime = _points_mtime(layer)
    hit = _CACHE.get(layer)
    if hit is not None and hit.source is fb and hit.points_mtime == mtime:
        return hit
    finite = np.isfinite(fb).all(axis=1)
    if finite.any():
        rows = np.flatnonzero(finite)
        b = fb[rows]
    elif layer.mesh.n_points:
        b = np.asarray(layer.mesh.bounds, dtype=np.float64).reshape(1, 6)
        rows = np.full(1, -1)
    else:
        return None
    lo, hi = b[:, 0::2], b[:, 1::2]
    ulo, uhi = lo.min(axis=0), hi.max(axis=0)
    anchor = (ulo + uhi) / 2
    if len(b) > TILE:
        span = np.maximum(uhi[:2] - ulo[:2], 1e-9)
        q = np.clip(((lo[:, :2] + hi[:, :2]) / 2 - ulo[:2]) / span * 1023, 0, 1023)
        order = np.argsort(_spread_bits(q[:, 0]) | (_spread_bits(q[:, 1]) << 1), kind="stable")
        lo, hi, rows = lo[order], hi[order], rows[order]
    starts = np.append(np.arange(0, len(b), TILE), len(b))
    tlo = np.minimum.reduceat(lo, starts[:-1], axis=0)
    thi = np.maximum.reduceat(hi, starts[:-1], axis=0)
    entry = _Boxes(
        source=fb,
        points_mtime=mtime,
        anchor=anchor,
        feats=_centre_half(lo - anchor, hi - anchor),
        rows=rows,
        tiles=_centre_half(tlo - anchor, thi - anchor),
        starts=starts,
        layer_box=_centre_half(ulo[None] - anchor, uhi[None] - anchor),
    )
    _CACHE[layer] = entry
    return entry


@dataclass
class _Frustum:
    """The camera as linear forms: depth and four inward side planes."""

    eye: np.ndarray
    #: (3, 5) normals: column 0 the view direction, 1..4 the side planes
    normals: np.ndarray
    #: (5,) offsets so that value = x . n + offset (column 0: the depth)
    offsets: np.ndarray
    #: depth >= distance * depth_per_distance for points inside (0: parallel)
    depth_per_distance: float
    #: (6, 6) product matrix for rows [centre, half]: depth, depth radius,
    #: then the four plane values at the box's best corner
    matrix: np.ndarray


def _frustum(renderer: Any) -> _Frustum:
    cam = renderer.GetActiveCamera()
    eye = np.array(cam.GetPosition(), dtype=np.float64)
    d = np.array(cam.GetDirectionOfProjection(), dtype=np.float64)
    d /= np.linalg.norm(d) or 1.0
    up = np.array(cam.GetViewUp(), dtype=np.float64)
    up = up - up.dot(d) * d
    if np.linalg.norm(up) < 1e-9:  # looking along view-up: any perpendicular will do
        up = np.cross(d, [1.0, 0.0, 0.0] if abs(d[0]) < 0.9 else [0.0, 1.0, 0.0])
    up /= np.linalg.norm(up)
    right = np.cross(d, up)
    try:
        aspect = float(renderer.GetTiledAspectRatio())
    except (AttributeError, TypeError):
        aspect = 0.0
    if not math.isfinite(aspect) or aspect <= 0:
        aspect = 2.0  # unknown window: assume a wide one (keeps more boxes)
    if cam.GetParallelProjection():
        half_v = cam.GetParallelScale() * _FRUSTUM_SLACK
        half_h = half_v * aspect
        normals = np.column_stack([d, -up, up, -right, right])
        offsets = -(eye @ normals) + [0.0, half_v, half_v, half_h, half_h]
        per_distance = 0.0
    else:
        tan = math.tan(math.radians(cam.GetViewAngle()) / 2)
        if cam.GetUseHorizontalViewAngle():
            tan_h, tan_v = tan, tan / aspect
        else:
            tan_v, tan_h = tan, tan * aspect
        tan_v *= _FRUSTUM_SLACK
        tan_h *= _FRUSTUM_SLACK
        normals = np.column_stack(
            [d, d * tan_v - up, d * tan_v + up, d * tan_h - right, d * tan_h + right]
        )
        offsets = -(eye @ normals)
        per_distance = 1.0 / math.sqrt(1 + tan_v**2 + tan_h**2)
    m = np.zeros((6, 6))
    m[:3, 0] = d
    m[3:, 1] = np.abs(d)
    m[:3, 2:] = normals[:, 1:]
    m[3:, 2:] = np.abs(normals[:, 1:])
    return _Frustum(eye, normals, offsets, per_distance, m)


def _depths(
    boxes: np.ndarray, anchor: np.ndarray, fr: _Frustum
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For the boxes (rows [centre - anchor, half]) that reach into the frustum:
    their indices, least in-frustum depth (a lower bound), greatest depth, and
    distance from the eye (0 when the box encloses it)."""
    off = fr.offsets + anchor @ fr.normals
    v = boxes @ fr.matrix
    v += (off[0], 0.0, *off[1:])
    # a box reaches into a half-space when its best corner does
    keep = v[:, 0] + v[:, 1] > 0  # something in front of the eye
    keep &= v[:, 2] >= 0
    keep &= v[:, 3] >= 0
    keep &= v[:, 4] >= 0
    keep &= v[:, 5] >= 0
    idx = np.flatnonzero(keep)
    v = v[idx]
    near = v[:, 0] - v[:, 1]
    far = v[:, 0] + v[:, 1]
    b = boxes[idx]
    gap = np.abs(b[:, :3] + (anchor - fr.eye))
    gap -= b[:, 3:]
    np.maximum(gap, 0.0, out=gap)
    dist = np.sqrt(np.einsum("ij,ij->i", gap, gap))
    if fr.depth_per_distance > 0:
        np.maximum(near, dist * fr.depth_per_distance, out=near)
    return idx, near, far, dist


def _ranges(starts: np.ndarray, tiles: np.ndarray) -> np.ndarray:
    """Indices of the boxes of the given tiles (concatenated ranges)."""
    first, last = starts[tiles], starts[tiles + 1]
    lens = last - first
    offsets = np.repeat(first - np.cumsum(lens) + lens, lens)
    return offsets + np.arange(int(lens.sum()))


def _layer_near(
    entry: _Boxes,
    fr: _Frustum,
    hidden: np.ndarray | None,
    tiles: np.ndarray,
    bounds: np.ndarray,
    best: float,
) -> float:
    """Least in-frustum depth of a layer's shown features, or ``best`` if none
    is nearer: tiles in order of their near bound, in growing batches, until
    the next bound is within :data:`NEAR_TOLERANCE` of the best found. Never
    more than the exact value, and at most that tolerance less."""
    order = np.argsort(bounds)
    i, batch = 0, 4
    while i < len(order) and bounds[order[i]] < best * (1 - NEAR_TOLERANCE):
        idx = _ranges(entry.starts, tiles[order[i : i + batch]])
        if hidden is not None and entry.rows[0] >= 0:
            idx = idx[~hidden[entry.rows[idx]]]
        _, near, _, _ = _depths(entry.feats[idx], entry.anchor, fr)
        if len(near):
            best = min(best, float(near.min()))
        i += batch
        batch *= 4
    return min(best, float(bounds[order[i]])) if i < len(order) else best


def _as_boxes(bounds: Iterable[Any]) -> np.ndarray:
    """xmin..zmax rows -> (k, 6) [centre, half] rows, finite non-empty ones only."""
    rows = [np.asarray(b, dtype=np.float64).reshape(-1, 6) for b in bounds]
    b = np.vstack(rows) if rows else np.empty((0, 6))
    b = b[np.isfinite(b).all(axis=1) & (b[:, 0::2] <= b[:, 1::2]).all(axis=1)]
    return _centre_half(b[:, 0::2], b[:, 1::2])


def _renderer_extras(renderer: Any) -> tuple[np.ndarray | None, list[np.ndarray]]:
    """Bounds of the visible 3D props that are no layer: the view's ground plane
    (pyvista actor ``"ground"``) and the rest (overlays, glyphs, annotations)."""
    actors = getattr(renderer, "actors", None)
    if not isinstance(actors, dict):
        return None, []
    ground = None
    extras = []
    for name, actor in actors.items():
        if str(name).startswith(LAYER_ACTOR_PREFIX) or not actor.GetVisibility():
            continue
        if not hasattr(actor, "GetBounds") or not hasattr(actor, "GetMatrix"):
            continue  # 2D props (text, scale bar) have no place in depth
        bounds = actor.GetBounds()
        if bounds is None or len(bounds) != 6:
            continue
        if name == GROUND_ACTOR:
            ground = np.asarray(bounds, dtype=np.float64)
        else:
            extras.append(np.asarray(bounds, dtype=np.float64))
    return ground, extras


def content_depth_range(
    renderer: Any,
    scene: Scene,
    ground_bounds: Any = None,
    extra_bounds: Iterable[Any] | None = None,
) -> tuple[float, float] | None:
    """(least in-frustum depth, greatest depth) of visible content in front of
    the active camera, before any clamping; None when nothing is in front.
    Near is ``inf`` when only coarse extras enclosing the eye are in front.

    Arguments as for :func:`fit_clipping_range`."""
    if ground_bounds is None or extra_bounds is None:
        auto_ground, auto_extras = _renderer_extras(renderer)
        ground_bounds = auto_ground if ground_bounds is None else ground_bounds
        extra_bounds = auto_extras if extra_bounds is None else extra_bounds
    fr = _frustum(renderer)
    near, far = math.inf, -math.inf
    origin = np.zeros(3)
    # the ground first: at street level it gives the near bound that prunes the rest
    if ground_bounds is not None:
        _, gnear, gfar, _ = _depths(_as_boxes([ground_bounds]), origin, fr)
        if len(gfar):
            near, far = float(gnear.min()), float(gfar.max())
    extras = _as_boxes(list(extra_bounds))
    if len(extras):
        _, enear, efar, edist = _depths(extras, origin, fr)
        if len(efar):
            far = max(far, float(efar.max()))
            enear = enear[edist > 0]  # a coarse box round the eye says nothing of near
            near = min(near, float(enear.min())) if len(enear) else near
    for layer in scene.layers:
        if not layer.visible:
            continue
        entry = _layer_boxes(layer)
        if entry is None or not len(_depths(entry.layer_box, entry.anchor, fr)[0]):
            continue  # e.g. a layer 500 km away, outside the frustum
        tiles, tnear, tfar, _ = _depths(entry.tiles, entry.anchor, fr)
        if not len(tiles):
            continue
        hidden = scene.hidden_features(layer)
        hidden = hidden if hidden.any() else None
        near = _layer_near(entry, fr, hidden, tiles, tnear, near)
        far = max(far, float(tfar.max()))
    if not math.isfinite(far):
        return None
    return near, far


def fit_clipping_range(
    renderer: Any,
    scene: Scene | None = None,
    ground_bounds: Any = None,
    extra_bounds: Iterable[Any] | None = None,
) -> tuple[float, float]:
    """Set the active camera's clipping range to the visible content in front
    of it and return ``(near, far)``.

    ``renderer`` is the (pyvista) renderer drawing ``scene``. ``ground_bounds``
    (xmin..zmax, scene-local) is the ground plane: it counts like content, so
    the pavement in front of a low camera stays. ``extra_bounds`` are boxes of
    other props (overlays) that must not be clipped far away; one enclosing the
    eye does not pull near in (it would say nothing about where its geometry
    is). Left at None, both are read from a pyvista renderer: the visible
    actor named ``"ground"`` and every other visible 3D actor not named
    ``"layer:..."``; pass ``extra_bounds=()`` to ignore other props.
    A :class:`~twin.render.view.SceneView` may be passed alone
    (``fit_clipping_range(view)``).
    """
    if scene is None:
        view = renderer
        renderer, scene = view.plotter.renderer, view.scene
    cam = renderer.GetActiveCamera()
    got = content_depth_range(renderer, scene, ground_bounds, extra_bounds)
    if got is None:
        near, far = FALLBACK_RANGE
    else:
        near_c, far_c = got
        near = max(MIN_NEAR_M, near_c * (1 - _MARGIN)) if math.isfinite(near_c) else MIN_NEAR_M
        far = max(far_c * (1 + _MARGIN), near * 1.1)
        far = min(far, near * MAX_DEPTH_RATIO)
    cam.SetClippingRange(near, far)
    return near, far
