"""Labels by attribute: names over buildings, street names on roads, placed in
screen space without overlaps.

Per layer the user picks a column ("Label by"; ``Style.label``, scene file
``style = { label = "name" }``). Every frame that follows a camera move:

1. all anchor points of all labelled layers are projected with the camera's
   composite matrix in one numpy product;
2. they are sorted by priority: apparent size (feature size / depth), so the
   nearest and the largest win;
3. a greedy pass over a coarse occupancy grid keeps a label only when its box
   touches no kept one; the rest are hidden.

The kept labels are copied, as pre-rasterised bitmaps (one per distinct text,
drawn once with the bundled DejaVu Sans, which has every Vietnamese glyph,
with a light halo), into one RGBA screen image that a single ``vtkActor2D``
draws. Because kept boxes are disjoint, composing is plain array assignment.
A frame without a camera move re-uses the image: the only cost is one
textured quad. The same overlay is on every :class:`~twin.render.view.SceneView`,
so the window, screenshots, ``render`` and printed maps show the same labels.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.layer import Layer
from twin.render.captions import font_file
from twin.render.scalebar import ui_scale

#: Label text height at the reference window height (px); see ``ui_scale``.
FONT_PX = 15
#: Occupancy grid cell (px): boxes are rounded outwards to whole cells, so
#: boxes kept on the grid are disjoint in pixels too.
GRID_PX = 4
#: Halo width around the glyphs (px at the reference height).
HALO_PX = 2
#: Text colours (RGB 0-255) and halo (RGBA) by label kind.
TEXT_RGB = {"feature": (25, 25, 30), "line": (20, 40, 110)}
HALO_RGBA = (255, 255, 255, 215)
#: Bitmaps kept per overlay (distinct texts); older ones are rasterised again.
BITMAP_CACHE = 6000
#: Street names turn with their street in steps of this many degrees (a cached
#: bitmap per step).
ANGLE_STEP = 5.0
#: Layer kinds labelled along their line (street names) rather than on top.
LINE_KINDS = ("roads", "lines", "alignments", "rivers")


@dataclass
class Candidates:
    """One labelled layer's anchors, texts and sizes (scene-local metres)."""

    rows: np.ndarray  # (n,) feature rows
    anchors: np.ndarray  # (n, 3) float64
    texts: np.ndarray  # (n,) object (str)
    sizes: np.ndarray  # (n,) float64: footprint diagonal or line length scale
    line: bool  # street names: centred on the line, not above the feature
    #: (n, 2) unit plan direction of each line (its principal axis); None for features
    directions: np.ndarray | None = None


def label_texts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column values -> (rows with a value, their texts); numbers print as ``%g``."""
    vals = np.asarray(values)
    if vals.dtype.kind in "fiu":
        f = vals.astype(np.float64)
        keep = np.flatnonzero(np.isfinite(f))
        return keep, np.array([f"{v:g}" for v in f[keep]], dtype=object)
    texts = np.array(["" if v is None else str(v).strip() for v in vals], dtype=object)
    bad = (texts == "") | (texts == "nan") | (texts == "None")
    keep = np.flatnonzero(~bad)
    return keep, texts[keep]


def _line_anchors(layer: Layer, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row, a point of the street near its middle and its plan
    direction (principal axis of its points).

    The point is the cell-edge midpoint nearest the feature's box centre: a
    straight ribbon of two triangles has its diagonal's midpoint there, and on
    a bent street it is a point of the street, where the box centre may not be."""
    pts = np.asarray(layer.mesh.points, dtype=np.float64)
    b = layer.features.bounds
    centre = np.column_stack([(b[:, 0] + b[:, 1]) / 2, (b[:, 2] + b[:, 3]) / 2])
    out = np.column_stack([centre, b[:, 5]])[rows]
    dirs = np.tile([1.0, 0.0], (len(rows), 1))
    edges = _cell_edges(layer) if len(pts) and layer.mesh.n_cells else None
    if edges is None:
        return out, dirs
    cell_of, a, z = edges
    f = layer.cell_features[cell_of].astype(np.int64)
    mid = (pts[a] + pts[z]) / 2
    d = np.hypot(mid[:, 0] - centre[f, 0], mid[:, 1] - centre[f, 1])
    order = np.lexsort((d, f))
    f_sorted = f[order]
    first = np.r_[True, f_sorted[1:] != f_sorted[:-1]]
    best = np.full(len(b), -1, dtype=np.int64)
    best[f_sorted[first]] = order[first]
    have = best[rows] >= 0
    out[have] = mid[best[rows][have]]
    # principal axis per feature from second moments (one bincount each)
    n = len(b)
    x, y = pts[a, 0], pts[a, 1]
    count = np.maximum(np.bincount(f, minlength=n), 1)
    dx = x - (np.bincount(f, x, n) / count)[f]
    dy = y - (np.bincount(f, y, n) / count)[f]
    sxx, syy, sxy = (np.bincount(f, w, n) for w in (dx * dx, dy * dy, dx * dy))
    angle = 0.5 * np.arctan2(2 * sxy, sxx - syy)
    dirs = np.column_stack([np.cos(angle), np.sin(angle)])[rows]
    return out, dirs


def _cell_edges(layer: Layer) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(cell id, first point, second point) of every edge of the mesh's
    polygons (closed) or polylines (open); None for a mix of both."""
    from vtk.util.numpy_support import vtk_to_numpy

    mesh = layer.mesh
    found = []
    for getter, closed in (("GetPolys", True), ("GetLines", False)):
        arr = getattr(mesh, getter)()
        if arr is None or not arr.GetNumberOfCells():
            continue
        offsets = vtk_to_numpy(arr.GetOffsetsArray()).astype(np.int64)
        conn = vtk_to_numpy(arr.GetConnectivityArray()).astype(np.int64)
        counts = np.diff(offsets)
        owner = np.repeat(np.arange(len(counts)), counts)
        nxt = np.arange(len(conn)) + 1
        last = offsets[1:] - 1  # the last entry of each cell
        if closed:
            nxt[last[counts > 0]] = offsets[:-1][counts > 0]
            keep = np.ones(len(conn), dtype=bool)
        else:
            keep = np.ones(len(conn), dtype=bool)
            keep[last[counts > 0]] = False
            nxt = np.minimum(nxt, len(conn) - 1)
        found.append((owner[keep], conn[keep], conn[nxt[keep]]))
    # VTK numbers verts, lines, polys, strips in turn; a layer holds one kind,
    # so the per-kind numbering is the cell id
    if len(found) != 1 or mesh.GetVerts().GetNumberOfCells():
        return None
    return found[0]


_CANDIDATES: weakref.WeakKeyDictionary[Layer, tuple[tuple, Candidates]] = (
    weakref.WeakKeyDictionary()
)


def candidates(layer: Layer, column: str) -> Candidates:
    """The layer's label candidates for ``column`` (cached until its bounds,
    points or column change)."""
    values = layer.features.column(column)
    pts = layer.mesh.GetPoints()
    key = (column, id(values), id(layer.features.bounds),
           int(pts.GetMTime()) if pts is not None else 0)
    hit = _CANDIDATES.get(layer)
    if hit is not None and hit[0] == key:
        return hit[1]
    rows, texts = label_texts(values)
    b = layer.features.bounds[rows]
    finite = np.isfinite(b).all(axis=1)
    rows, texts, b = rows[finite], texts[finite], b[finite]
    line = layer.kind in LINE_KINDS
    directions = None
    if line:
        anchors, directions = _line_anchors(layer, rows)
    else:
        anchors = np.column_stack([(b[:, 0] + b[:, 1]) / 2, (b[:, 2] + b[:, 3]) / 2, b[:, 5]])
    sizes = np.hypot(b[:, 1] - b[:, 0], b[:, 3] - b[:, 2]) + 1.0
    out = Candidates(rows, anchors, texts, sizes, line, directions)
    _CANDIDATES[layer] = (key, out)
    return out


# -- projection and placement (pure numpy) -------------------------------------------------
def project(matrix: np.ndarray, points: np.ndarray, size: tuple[int, int]
            ) -> tuple[np.ndarray, np.ndarray]:
    """World points (n, 3) through a 4x4 world->clip matrix to display pixels
    (n, 2), x right and y up from the lower-left corner, and their clip ``w``
    (the depth along the view direction; <= 0: behind the eye)."""
    p = points @ matrix[:3, :3].T + matrix[:3, 3]
    w = points @ matrix[3, :3] + matrix[3, 3]
    safe = np.where(np.abs(w) > 1e-12, w, 1e-12)
    xy = (p[:, :2] / safe[:, None] + 1.0) * 0.5 * np.asarray(size, dtype=np.float64)
    return xy, w


def place(boxes: np.ndarray, priority: np.ndarray, size: tuple[int, int],
          cell: int = GRID_PX) -> np.ndarray:
    """Greedy placement: indices of the boxes kept, best priority first.

    ``boxes`` (n, 4) are ``x0, y0, x1, y1`` display pixels. Boxes not wholly
    inside the ``size`` viewport are dropped; the others are taken in order of
    decreasing ``priority`` and kept when none of the grid cells they cover
    (rounded outwards) is taken. Candidates whose box starts in a cell already
    covered are rejected in bulk before the loop, so the Python loop runs
    over about as many boxes as fit on the screen, not over every candidate.
    """
    w, h = size
    gw, gh = max(1, -(-w // cell)), max(1, -(-h // cell))
    inside = (boxes[:, 0] >= 0) & (boxes[:, 1] >= 0) & (boxes[:, 2] <= w) & (boxes[:, 3] <= h)
    idx = np.flatnonzero(inside & np.isfinite(priority))
    if not len(idx):
        return idx
    idx = idx[np.argsort(-priority[idx], kind="stable")]
    cb = boxes[idx] / cell
    c0 = np.floor(cb[:, :2]).astype(np.int64)
    c1 = np.minimum(np.ceil(cb[:, 2:]).astype(np.int64), (gw, gh))
    c1 = np.maximum(c1, c0 + 1)
    grid = np.zeros((gh, gw), dtype=bool)
    kept: list[int] = []
    x0s, y0s, x1s, y1s = c0[:, 0].tolist(), c0[:, 1].tolist(), c1[:, 0].tolist(), c1[:, 1].tolist()
    # Rounds: each round keeps, greedily, candidates in order, but first drops
    # in one vectorised test every candidate whose corner cells are taken.
    alive = np.ones(len(idx), dtype=bool)
    start = 0
    batch = 256
    while start < len(idx):
        stop = min(len(idx), start + batch)
        for i in range(start, stop):
            if not alive[i]:
                continue
            x0, y0, x1, y1 = x0s[i], y0s[i], x1s[i], y1s[i]
            region = grid[y0:y1, x0:x1]
            if region.any():
                continue
            region[:] = True
            kept.append(i)
        start = stop
        if start < len(idx):
            rest = slice(start, None)
            corner = (grid[c0[rest, 1], c0[rest, 0]] | grid[c1[rest, 1] - 1, c1[rest, 0] - 1]
                      | grid[c0[rest, 1], c1[rest, 0] - 1] | grid[c1[rest, 1] - 1, c0[rest, 0]])
            alive[rest] &= ~corner
            batch *= 2
    return idx[np.asarray(kept, dtype=np.int64)]


def boxes_for(xy: np.ndarray, widths: np.ndarray, height: float, line: bool,
              lift: float) -> np.ndarray:
    """Label boxes around projected anchors: above the anchor (features,
    lifted ``lift`` px) or centred on it (street names)."""
    half = widths / 2.0
    y0 = xy[:, 1] - height / 2.0 if line else xy[:, 1] + lift
    return np.column_stack([xy[:, 0] - half, y0, xy[:, 0] + half, y0 + height])


def rotated_size(w: np.ndarray, h: float, deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Width and height (whole pixels) of a w x h label turned by ``deg``."""
    r = np.radians(deg)
    c, s = np.abs(np.cos(r)), np.abs(np.sin(r))
    return np.ceil(w * c + h * s - 1e-6), np.ceil(w * s + h * c - 1e-6)


def rotate_bitmap(bmp: np.ndarray, deg: float) -> np.ndarray:
    """``bmp`` (h, w, 4, rows bottom-up) turned counter-clockwise by ``deg``,
    bilinear on premultiplied colour so the halo edge stays clean."""
    h, w = bmp.shape[:2]
    ow, oh = (int(v) for v in rotated_size(np.array(w, float), float(h), np.array(deg)))
    r = np.radians(deg)
    c, s = np.cos(r), np.sin(r)
    v, u = np.mgrid[0:oh, 0:ow].astype(np.float32)
    u -= (ow - 1) / 2
    v -= (oh - 1) / 2
    x = c * u + s * v + (w - 1) / 2  # inverse rotation into the source
    y = -s * u + c * v + (h - 1) / 2
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    src = bmp.astype(np.float32)
    src[..., :3] *= src[..., 3:] / 255.0
    pad = np.zeros((h + 2, w + 2, 4), np.float32)
    pad[1:-1, 1:-1] = src
    x0, y0 = np.clip(x0 + 1, 0, w), np.clip(y0 + 1, 0, h)
    x1, y1 = x0 + 1, y0 + 1
    out = (pad[y0, x0] * (1 - fx) * (1 - fy) + pad[y0, x1] * fx * (1 - fy)
           + pad[y1, x0] * (1 - fx) * fy + pad[y1, x1] * fx * fy)
    outside = (x <= -1) | (x >= w) | (y <= -1) | (y >= h)  # clamped indices lie there
    out[outside] = 0.0
    a = out[..., 3:]
    out[..., :3] = np.where(a > 0, out[..., :3] * 255.0 / np.maximum(a, 1e-6), 0)
    return np.clip(out, 0, 255).astype(np.uint8)


# -- rasterising -----------------------------------------------------------------------------
class TextBitmaps:
    """Label texts rasterised once (FreeType, the bundled font) with a halo;
    bitmaps are (h, w, 4) uint8, row 0 at the bottom (VTK image order)."""

    def __init__(self, font_px: int, halo_px: int) -> None:
        import vtk

        self.font_px = int(font_px)
        self.halo = int(halo_px)
        self.renderer = vtk.vtkTextRenderer()
        self.props = {}
        for kind, rgb in TEXT_RGB.items():
            prop = vtk.vtkTextProperty()
            prop.SetFontFamily(vtk.VTK_FONT_FILE)
            prop.SetFontFile(str(font_file()))
            prop.SetFontSize(self.font_px)
            prop.SetColor(*(c / 255.0 for c in rgb))
            prop.SetJustificationToLeft()
            prop.SetVerticalJustificationToBottom()
            self.props[kind] = prop
        self._image = vtk.vtkImageData()
        self._widths: dict[str, int] = {}
        self._bitmaps: OrderedDict[tuple, np.ndarray] = OrderedDict()
        bb = [0, 0, 0, 0]
        self.renderer.GetBoundingBox(self.props["feature"], "ĐÁỹgjQ|", bb, 72)
        #: the box height of every label (one line, halo included)
        self.height = int(bb[3] - bb[2] + 1) + 2 * self.halo

    def widths(self, texts: np.ndarray) -> np.ndarray:
        """Box width (px, halo included) of each text; measured once per text."""
        cache, bb, prop = self._widths, [0, 0, 0, 0], self.props["feature"]
        out = np.empty(len(texts), dtype=np.float64)
        for i, t in enumerate(texts.tolist()):
            wpx = cache.get(t)
            if wpx is None:
                self.renderer.GetBoundingBox(prop, t, bb, 72)
                wpx = cache[t] = int(bb[1] - bb[0] + 1) + 2 * self.halo
            out[i] = wpx
        return out

    def bitmap(self, text: str, kind: str, deg: float = 0.0) -> np.ndarray:
        """The label's bitmap, turned by ``deg`` (counter-clockwise) if not 0."""
        if deg:
            key = (text, kind, float(deg))
            hit = self._bitmaps.get(key)
            if hit is None:
                hit = self._bitmaps[key] = rotate_bitmap(self.bitmap(text, kind), deg)
                if len(self._bitmaps) > BITMAP_CACHE:
                    self._bitmaps.popitem(last=False)
            return hit
        key = (text, kind)
        hit = self._bitmaps.get(key)
        if hit is not None:
            self._bitmaps.move_to_end(key)
            return hit
        from vtk.util.numpy_support import vtk_to_numpy

        dims = [0, 0]
        img = self._image
        self.renderer.RenderString(self.props[kind], text, img, dims, 72)
        nx, ny, _ = img.GetDimensions()
        raw = vtk_to_numpy(img.GetPointData().GetScalars()).reshape(ny, nx, 4)
        glyphs = raw[: dims[1], : dims[0]]
        pad = self.halo
        h, w = self.height, dims[0] + 2 * pad
        out = np.zeros((h, w, 4), dtype=np.uint8)
        gh = min(dims[1], h - 2 * pad)
        body = glyphs[:gh]
        a = np.zeros((h, w), dtype=np.uint8)
        a[pad:pad + gh, pad:pad + dims[0]] = body[..., 3]
        halo = a.copy()
        for dy in range(-pad, pad + 1):  # dilate the glyph coverage into a halo
            for dx in range(-pad, pad + 1):
                if dx * dx + dy * dy <= pad * pad and (dx or dy):
                    np.maximum(halo, np.roll(np.roll(a, dy, 0), dx, 1), out=halo)
        ha = (halo.astype(np.float32) / 255.0) * (HALO_RGBA[3] / 255.0)
        ga = a.astype(np.float32) / 255.0
        rgb = np.zeros((h, w, 3), dtype=np.float32)
        rgb[pad:pad + gh, pad:pad + dims[0]] = body[..., :3]
        alpha = ga + ha * (1 - ga)
        halo_rgb = np.asarray(HALO_RGBA[:3], np.float32)
        col = rgb * ga[..., None] + halo_rgb * (ha * (1 - ga))[..., None]
        col /= np.maximum(alpha, 1e-6)[..., None]
        out[..., :3] = np.clip(col, 0, 255).astype(np.uint8)
        out[..., 3] = np.clip(alpha * 255.0, 0, 255).astype(np.uint8)
        self._bitmaps[key] = out
        if len(self._bitmaps) > BITMAP_CACHE:
            self._bitmaps.popitem(last=False)
        return out


# -- the overlay ---------------------------------------------------------------------------
@dataclass
class Placed:
    """What the last placement showed: for tests and the printed map."""

    layers: list[str]
    rows: np.ndarray  # (k,) feature row per shown label
    texts: list[str]
    boxes: np.ndarray  # (k, 4) display pixels x0, y0, x1, y1 (y up)


class LabelOverlay:
    """The labels of one view: one RGBA screen image on one ``vtkActor2D``,
    re-composed only when the camera, the window size or the labelled layers
    change."""

    def __init__(self, view) -> None:
        self.view = view
        self.renderer = view.plotter.renderer
        self.actor = None
        self._mapper = None
        self._image = None
        self._buffer: np.ndarray | None = None
        self._key: tuple | None = None
        self._bitmaps: TextBitmaps | None = None
        self.placed = Placed([], np.empty(0, np.int64), [], np.empty((0, 4)))
        #: seconds spent in the last placement and composition, and how many there were
        self.last_s = 0.0
        self.compositions = 0
        self._tag = self.renderer.AddObserver("StartEvent", self._update)

    def labelled(self) -> list[tuple[Layer, str]]:
        """(layer, column) of every visible layer with a ``label`` in its style."""
        out = []
        for layer in self.view.scene.layers:
            column = getattr(layer.style, "label", None)
            if (column and layer.visible and layer in self.view.actors
                    and column in layer.features.column_names()):
                out.append((layer, column))
        return out

    def invalidate(self) -> None:
        self._key = None

    def _state_key(self, labelled, size) -> tuple:
        cam = self.renderer.GetActiveCamera()
        scene = self.view.scene
        layers = []
        for la, col in labelled:
            hidden = scene.hidden_features(la)  # a fresh array when nothing is hidden
            shape = hash(hidden.tobytes()) if hidden.any() else 0
            layers.append((id(la), col, id(la.features.column(col)), shape))
        return (size, cam.GetPosition(), cam.GetFocalPoint(), cam.GetViewUp(),
                cam.GetViewAngle(), cam.GetParallelProjection(), cam.GetParallelScale(),
                tuple(layers))

    def _update(self, *_: Any) -> None:
        import time

        labelled = self.labelled()
        if not labelled:
            if self.actor is not None and self.actor.GetVisibility():
                self.actor.SetVisibility(False)
            self._key = None
            return
        size = tuple(int(v) for v in self.renderer.GetSize())
        key = self._state_key(labelled, size)
        if key == self._key:
            return
        t0 = time.perf_counter()
        self._key = key
        self._compose(labelled, size)
        self.compositions += 1
        self.last_s = time.perf_counter() - t0

    def _ensure_actor(self, size: tuple[int, int]) -> np.ndarray:
        import vtk
        from vtk.util.numpy_support import numpy_to_vtk

        w, h = size
        if self._buffer is None or self._buffer.shape[:2] != (h, w):
            self._buffer = np.zeros((h, w, 4), dtype=np.uint8)
            self._image = vtk.vtkImageData()
            self._image.SetDimensions(w, h, 1)
            self._image.GetPointData().SetScalars(
                numpy_to_vtk(self._buffer.reshape(-1, 4), deep=False))
            if self._mapper is None:
                self._mapper = vtk.vtkImageMapper()
                self._mapper.SetColorWindow(255.0)
                self._mapper.SetColorLevel(127.5)
                self.actor = vtk.vtkActor2D()
                self.actor.SetMapper(self._mapper)
                self.actor.SetPickable(False)
                self.renderer.AddViewProp(self.actor)
            self._mapper.SetInputData(self._image)
        else:
            self._buffer[:] = 0
        self.actor.SetVisibility(True)
        return self._buffer

    def _fonts(self, height_px: int) -> TextBitmaps:
        s = ui_scale(height_px)
        px = max(10, round(FONT_PX * s))
        if self._bitmaps is None or self._bitmaps.font_px != px:
            self._bitmaps = TextBitmaps(px, max(1, round(HALO_PX * s)))
        return self._bitmaps

    def _compose(self, labelled, size: tuple[int, int]) -> None:
        w, h = size
        if w < 2 or h < 2:
            return
        buf = self._ensure_actor(size)
        fonts = self._fonts(h)
        cam = self.renderer.GetActiveCamera()
        aspect = w / h
        m = cam.GetCompositeProjectionTransformMatrix(aspect, -1, 1)
        matrix = np.array([[m.GetElement(i, j) for j in range(4)] for i in range(4)])
        all_boxes, all_pri, all_deg, refs = [], [], [], []
        scene = self.view.scene
        lift = 3.0 * ui_scale(h)
        for li, (layer, column) in enumerate(labelled):
            c = candidates(layer, column)
            if not len(c.rows):
                continue
            hidden = scene.hidden_features(layer)
            keep = ~hidden[c.rows] if hidden.any() else np.ones(len(c.rows), bool)
            xy, depth = project(matrix, c.anchors, size)
            keep &= depth > 1e-6
            keep &= (xy[:, 0] > -w) & (xy[:, 0] < 2 * w) & (xy[:, 1] > -h) & (xy[:, 1] < 2 * h)
            sel = np.flatnonzero(keep)
            if not len(sel):
                continue
            widths = fonts.widths(c.texts[sel])
            deg = np.zeros(len(sel))
            if c.line and c.directions is not None:
                deg = self._screen_angles(matrix, c, sel, xy[sel], depth[sel], size)
                rw, rh = rotated_size(widths, fonts.height, deg)
                all_boxes.append(boxes_for(xy[sel], rw, rh, True, lift))
            else:
                all_boxes.append(boxes_for(xy[sel], widths, fonts.height, c.line, lift))
            all_deg.append(deg)
            all_pri.append(c.sizes[sel] / depth[sel])
            refs.append((li, sel))
        if not all_boxes:
            self.placed = Placed([], np.empty(0, np.int64), [], np.empty((0, 4)))
            self._image.Modified()
            return
        boxes = np.vstack(all_boxes)
        pri = np.concatenate(all_pri)
        degs = np.concatenate(all_deg)
        which = np.concatenate([np.full(len(s), li) for li, s in refs])
        local = np.concatenate([s for _, s in refs])
        kept = place(boxes, pri, size)
        names, rows, texts = [], [], []
        ibox = np.floor(boxes[kept]).astype(np.int64)
        for k, (x0, y0, _x1, _y1) in zip(kept.tolist(), ibox.tolist(), strict=True):
            layer, column = labelled[which[k]]
            c = candidates(layer, column)
            j = local[k]
            bmp = fonts.bitmap(c.texts[j], "line" if c.line else "feature", float(degs[k]))
            # never wider than the box it was placed with (kept boxes are disjoint)
            bw = min(bmp.shape[1], int(np.ceil(boxes[k, 2] - boxes[k, 0])))
            bh = min(bmp.shape[0], int(np.ceil(boxes[k, 3] - boxes[k, 1])))
            bmp = bmp[:bh, :bw]
            x0 = min(max(x0, 0), w - bw)
            y0 = min(max(y0, 0), h - bh)
            if x0 < 0 or y0 < 0:
                continue
            buf[y0:y0 + bh, x0:x0 + bw] = bmp
            names.append(layer.name)
            rows.append(int(c.rows[j]))
            texts.append(str(c.texts[j]))
        self.placed = Placed(names, np.asarray(rows, np.int64), texts, boxes[kept])
        self._image.Modified()

    @staticmethod
    def _screen_angles(matrix, c: Candidates, sel, xy, depth, size) -> np.ndarray:
        """Screen angle (degrees, readable: within ±90, in :data:`ANGLE_STEP`
        steps) of each street's direction at its anchor."""
        d3 = np.column_stack([c.directions[sel], np.zeros(len(sel))])
        step = np.maximum(depth, 1.0)[:, None] * 0.02
        ahead, _ = project(matrix, c.anchors[sel] + d3 * step, size)
        delta = ahead - xy
        deg = np.degrees(np.arctan2(delta[:, 1], delta[:, 0]))
        deg = (deg + 90.0) % 180.0 - 90.0
        deg = np.round(deg / ANGLE_STEP) * ANGLE_STEP
        deg[deg <= -90.0] += 180.0
        return deg

    def close(self) -> None:
        self.renderer.RemoveObserver(self._tag)
        if self.actor is not None:
            self.renderer.RemoveViewProp(self.actor)
            self.actor = None


def set_label(layer: Layer, column: str | None) -> None:
    """Label ``layer`` by ``column`` (None: no labels). The caller emits the
    scene's ``layer_changed(layer, "style")`` so views re-place their labels."""
    if column is not None and column not in layer.features.column_names():
        raise KeyError(f"layer {layer.name!r} has no column {column!r}")
    layer.style.label = column
