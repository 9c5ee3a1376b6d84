"""Model-metre points into a scene, the one way every IFC layer is placed.

Its own module so that :mod:`importers.ifc.layers` (elements) and
:mod:`importers.ifc.alignment` (centre lines) share it without importing each other.
"""

from __future__ import annotations

import numpy as np

from importers.ifc import georef
from twin.scene import Scene


def place_points(
    points: np.ndarray, placement: georef.Placement, to_local: np.ndarray | None, scene: Scene
) -> tuple[np.ndarray, str]:
    """Model-metre points (n, 3) -> scene-local float64 points, placed as
    :func:`importers.ifc.layers.build` places element vertices: through
    ``to_local`` when one affine map is exact, else the placement then pyproj per
    vertex. Also returns the ``reprojection`` label of the layer info."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    if to_local is not None:
        return pts @ to_local[:3, :3].T + to_local[:3, 3], "affine"
    out = pts @ placement.affine[:3, :3].T + placement.affine[:3, 3]
    georef.reproject_points(out, placement, scene.crs, scene.origin)
    return out, "per-vertex (pyproj)"
