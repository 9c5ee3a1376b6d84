"""How far data lie from the scene origin, what that costs in float32, and re-centring.

Layer vertices are float32 once the scene origin is subtracted (see
:mod:`twin.scene`), so a vertex ``L`` metres from the origin is only known to
half a float32 step there: for ``2**e <= L < 2**(e+1)`` the step (ULP) is
``2**(e - 23)`` m and the rounding error at most half of it,

    error_mm = 1000 * 2**(floor(log2 L) - 24)

(0.98 mm at 20 km, 15.6 mm at 500 km, 125 mm at a Hà Nội northing of
2.3e6 m). The GPU, picking and depth all work on those float32 numbers, so a
layer imported far from the origin is drawn and picked centimetres off. This
module is the one place that judges such distances (no VTK, no Qt): the app
asks :func:`judge_import` after an import or on reopening a project, shows the
message, and on "yes" calls :func:`recentre`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from twin.layer import Layer
from twin.scene import Scene

#: Data whose centre lies further than this (m) from the origin get a warning:
#: float32 steps reach 2 mm there (error ±1 mm).
FLOAT32_GUARD_M = 20_000.0
#: Re-centring is offered only when it at least halves the worst error.
_WORTH_IT = 0.5


@dataclass
class OriginReport:
    """Verdict on one extent of data relative to the scene origin.

    distance_m : distance from the origin to the centre of the data (m).
    error_mm : float32 rounding error (half ULP, mm) at the data's largest
        scene-local coordinate.
    far : ``distance_m`` is beyond the threshold.
    suggested_origin : (3,) world coordinates: the horizontal centre of the
        content rounded to whole metres, the origin's own height (importers
        put the ground at local z = 0, and heights are small numbers anyway).
    message : one sentence for the user.
    layer : the layer's name ("" when not judged for a layer).
    recentre_helps : moving the origin to ``suggested_origin`` at least halves
        the worst float32 error (False when the data are rather misplaced, far
        from the rest of the scene, or spread too wide for any origin).
    """

    distance_m: float
    error_mm: float
    far: bool
    suggested_origin: np.ndarray
    message: str
    layer: str = ""
    recentre_helps: bool = False


def float32_error_mm(magnitude_m: float | np.ndarray) -> float | np.ndarray:
    """Half the float32 spacing at ``|magnitude_m|``, in mm (the rounding error
    of a float32 coordinate that large)."""
    m = np.abs(np.asarray(magnitude_m, dtype=np.float64)).astype(np.float32)
    out = np.spacing(m).astype(np.float64) * 500.0
    return float(out) if out.ndim == 0 else out


def _distance_text(metres: float) -> str:
    return f"{metres / 1000:.1f} km" if metres >= 1000 else f"{metres:.0f} m"


def _box(bounds: Iterable[float]) -> np.ndarray:
    b = np.asarray(bounds, dtype=np.float64).reshape(6)
    if not np.isfinite(b).all():
        raise ValueError(f"bounds must be finite, got {b}")
    return b


def _union(boxes: list[np.ndarray]) -> np.ndarray | None:
    if not boxes:
        return None
    b = np.vstack(boxes)
    out = np.empty(6)
    out[0::2] = b[:, 0::2].min(axis=0)
    out[1::2] = b[:, 1::2].max(axis=0)
    return out


def _centre(box: np.ndarray) -> np.ndarray:
    return (box[0::2] + box[1::2]) / 2


def _max_magnitude(box: np.ndarray) -> float:
    """Largest |coordinate| of any point of the box (float32 rounds each axis)."""
    return float(np.abs(box).max())


def _suggest(origin: np.ndarray, local_centre: np.ndarray) -> np.ndarray:
    """World origin over a local centre, whole metres, keeping the origin's height."""
    out = np.round(origin + local_centre)
    out[2] = origin[2]
    return out


def _box_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two boxes (0 when they touch or overlap)."""
    gap = np.maximum(0.0, np.maximum(a[0::2] - b[1::2], b[0::2] - a[1::2]))
    return float(np.linalg.norm(gap))


def judge_layer_extent(
    scene_origin: Iterable[float],
    local_bounds: Iterable[float],
    threshold_m: float = FLOAT32_GUARD_M,
    name: str = "layer",
) -> OriginReport:
    """Judge one extent ``xmin, xmax, ymin, ymax, zmin, zmax`` (scene-local):
    how far its centre is from the origin and how much float32 loses there."""
    origin = np.asarray(scene_origin, dtype=np.float64).reshape(3)
    box = _box(local_bounds)
    centre = _centre(box)
    distance = float(np.linalg.norm(centre))
    error = float32_error_mm(_max_magnitude(box))
    far = distance > threshold_m
    suggested = _suggest(origin, centre)
    text = (
        f"{name}: data lie {_distance_text(distance)} from the scene origin; "
        f"float32 precision there is ±{error:.1f} mm."
    )
    helps = far and float32_error_mm(_max_magnitude(box - np.repeat(suggested - origin, 2))) < (
        error * _WORTH_IT
    )
    if far and helps:
        text += " Re-centre the scene on the data?"
    return OriginReport(distance, error, far, suggested, text, name, helps)


def layer_extent(layer: Layer) -> np.ndarray | None:
    """(6,) scene-local bounds of a layer's mesh, None when it has no points."""
    if not layer.mesh.n_points:
        return None
    return np.asarray(layer.mesh.bounds, dtype=np.float64)


def _content_box(scene: Scene, exclude: Iterable[Layer] = ()) -> np.ndarray | None:
    skip = {id(la) for la in exclude}
    boxes = [b for la in scene.layers if id(la) not in skip if (b := layer_extent(la)) is not None]
    return _union(boxes)


def distance_to_content(
    scene: Scene, layer_bounds: Iterable[float], exclude: Iterable[Layer] = ()
) -> float | None:
    """Distance (m) from a box (scene-local) to the bounding box of the scene's
    content, all layers visible or not but those in ``exclude`` (pass the
    layers being placed if they are in the scene already); 0 when they
    overlap, None when there is no other content. E.g. an IFC placement dialog
    warns when this exceeds 50 km."""
    content = _content_box(scene, exclude)
    if content is None:
        return None
    return _box_gap(_box(layer_bounds), content)


def judge_import(
    scene: Scene, layers: Iterable[Layer], threshold_m: float = FLOAT32_GUARD_M
) -> OriginReport | None:
    """One report on ``layers`` (being added to ``scene``, whether already in
    ``scene.layers`` or not), for the worst of those whose data lie further
    than ``threshold_m`` from the scene origin; None when all is well.

    Two verdicts. The far layer also lies far from the rest of the content
    (further than ``threshold_m`` and than that content's own size): most
    likely misplaced (a wrong or missing CRS), so the message asks to check
    that and ``recentre_helps`` is False. Otherwise, when moving the origin to
    the centre of all content at least halves the worst float32 error, the
    message offers to re-centre. A far layer that neither explains (content
    spread over a whole province) gives None. Also right on reopening a
    project: pass ``scene.layers``.
    """
    new = [la for la in layers if layer_extent(la) is not None]
    far = [
        (r, la)
        for la in new
        if (r := judge_layer_extent(scene.origin, layer_extent(la), threshold_m, la.name)).far
    ]
    if not far:
        return None
    worst, worst_layer = max(far, key=lambda rl: (rl[0].error_mm, rl[0].distance_m))
    new_ids = {id(la) for la in new}
    everything = [la for la in scene.layers if id(la) not in new_ids] + new
    combined = _union([b for la in everything if (b := layer_extent(la)) is not None])
    others = _union(
        [b for la in everything if la is not worst_layer if (b := layer_extent(la)) is not None]
    )
    suggested = _suggest(scene.origin, _centre(combined))
    head = f"{worst.layer}: data lie {_distance_text(worst.distance_m)} from the scene origin"
    if others is not None:
        gap = _box_gap(layer_extent(worst_layer), others)
        size = float(np.linalg.norm(others[1::2] - others[0::2]))
        if gap > max(threshold_m, size):
            message = (
                f"{head} and {_distance_text(gap)} from the rest of the scene; float32 "
                f"precision there is ±{worst.error_mm:.1f} mm. Check the layer's CRS or "
                "placement."
            )
            return OriginReport(
                worst.distance_m, worst.error_mm, True, suggested, message, worst.layer, False
            )
    before = float32_error_mm(_max_magnitude(combined))
    after = float32_error_mm(_max_magnitude(combined - np.repeat(suggested - scene.origin, 2)))
    if not after < before * _WORTH_IT:
        return None
    message = (
        f"{head}; float32 precision there is ±{worst.error_mm:.1f} mm. "
        "Re-centre the scene on the data?"
    )
    return OriginReport(
        worst.distance_m, worst.error_mm, True, suggested, message, worst.layer, True
    )


def recentre(scene: Scene, new_origin: Iterable[float]) -> np.ndarray:
    """Move the scene origin to ``new_origin`` (world) keeping every vertex where
    it is in the world; returns the shift added to scene-local coordinates
    (``old_origin - new_origin``) so a view can move its camera and ground by it.

    Mesh points and feature bounds are shifted in float64 and written back in
    their own dtype (a new bounds array, so caches keyed on it refresh);
    bookmarks are world coordinates and stay. Bits float32 lost at the old
    origin stay lost: re-import a layer to get them back. Emits
    ``layer_changed(layer, "mesh")`` per layer after the origin is set.
    """
    new = np.asarray(new_origin, dtype=np.float64).reshape(3)
    shift = scene.origin - new
    if not shift.any():
        return shift
    bounds_shift = np.repeat(shift, 2)
    for layer in scene.layers:
        mesh = layer.mesh
        if mesh.n_points:
            pts = mesh.points
            mesh.points = (pts.astype(np.float64) + shift).astype(pts.dtype, copy=False)
        layer.features.bounds = layer.features.bounds + bounds_shift
        layer.origin_shift = layer.origin_shift + shift
    scene.origin = new.copy()
    for layer in scene.layers:
        scene.events.layer_changed.emit(layer, "mesh")
    return shift


def picking_error_mm(scene: Scene) -> float:
    """Worst float32 error (mm) of the scene's content at the current origin."""
    box = _content_box(scene)
    return 0.0 if box is None else float32_error_mm(_max_magnitude(box))


__all__ = [
    "FLOAT32_GUARD_M",
    "OriginReport",
    "distance_to_content",
    "float32_error_mm",
    "judge_import",
    "judge_layer_extent",
    "layer_extent",
    "picking_error_mm",
    "recentre",
]
