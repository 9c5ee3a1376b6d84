"""Scene coordinates -> Earth-centred, Earth-fixed (EPSG:4978), exactly.

A 3D Tiles tileset lives in ECEF. The root tile carries the east-north-up frame
at the scene origin as its transform, so a portal sees one georeferenced matrix,
but the vertices are not just the scene's local coordinates put in that frame:
a projected grid differs from a local tangent plane by the grid convergence
(about 0.3 degrees at Việt Trì: grid north is not true north), the point scale
factor and the Earth's curvature. Every vertex therefore goes through pyproj to
ECEF and is then expressed in the ENU frame with one rigid transform, which
introduces no error. :func:`single_frame_residual` says how far off the shortcut
(local coordinates used as ENU directly) would have been.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.geo import PROJ_LOCK, transformer

ECEF = "EPSG:4978"
WGS84_3D = "EPSG:4979"


class ExportError(ValueError):
    """The scene or the target folder cannot be exported as asked."""


def enu_rotation(lon_deg: float, lat_deg: float) -> np.ndarray:
    """(3, 3) matrix whose columns are the east, north and up unit vectors in ECEF."""
    lon, lat = np.radians(lon_deg), np.radians(lat_deg)
    sl, cl, sp, cp = np.sin(lon), np.cos(lon), np.sin(lat), np.cos(lat)
    east = [-sl, cl, 0.0]
    north = [-sp * cl, -sp * sl, cp]
    up = [cp * cl, cp * sl, sp]
    return np.column_stack([east, north, up])


@dataclass(frozen=True)
class EnuFrame:
    """The east-north-up frame at a point: ``ecef = rotation @ enu + centre``."""

    centre: np.ndarray  # (3,) ECEF metres
    rotation: np.ndarray  # (3, 3) columns E, N, U
    lon: float
    lat: float
    height: float

    def matrix(self) -> list[float]:
        """The 4x4 ENU -> ECEF matrix, column-major, as 3D Tiles ``transform`` wants."""
        m = np.eye(4)
        m[:3, :3] = self.rotation
        m[:3, 3] = self.centre
        return [float(v) for v in m.T.ravel()]

    def from_ecef(self, xyz: np.ndarray) -> np.ndarray:
        """(n, 3) ECEF -> (n, 3) coordinates in this frame (float64)."""
        return (np.asarray(xyz, dtype=np.float64) - self.centre) @ self.rotation


def _to_ecef(scene, local: np.ndarray) -> np.ndarray:
    """(n, 3) scene-local -> (n, 3) ECEF; z is taken as the ellipsoidal height."""
    world = scene.to_world(np.asarray(local, dtype=np.float64).reshape(-1, 3))
    t = transformer(scene.crs, ECEF)
    with PROJ_LOCK:
        x, y, z = t.transform(world[:, 0], world[:, 1], world[:, 2])
    out = np.column_stack([x, y, z]).astype(np.float64)
    if out.size and not np.isfinite(out).all():
        raise ExportError(f"scene CRS {scene.crs}: some vertices cannot be transformed to ECEF")
    return out


def origin_frame(scene) -> EnuFrame:
    """The ENU frame at the scene origin (the tileset's root transform)."""
    centre = _to_ecef(scene, np.zeros((1, 3)))[0]
    with PROJ_LOCK:
        lon, lat, h = transformer(ECEF, WGS84_3D).transform(*centre)
    return EnuFrame(centre, enu_rotation(lon, lat), float(lon), float(lat), float(h))


def scene_to_frame(scene, frame: EnuFrame, local: np.ndarray) -> np.ndarray:
    """(n, 3) scene-local points -> the frame's coordinates, through ECEF exactly."""
    return frame.from_ecef(_to_ecef(scene, local))


def single_frame_residual(scene, frame: EnuFrame, local: np.ndarray) -> float:
    """Largest distance (m) between the exact position of ``local`` points and
    the shortcut of using scene-local coordinates as ENU coordinates at the origin."""
    local = np.asarray(local, dtype=np.float64).reshape(-1, 3)
    if not len(local):
        return 0.0
    exact = scene_to_frame(scene, frame, local)
    shortcut = local + _origin_offset(scene, frame)
    return float(np.max(np.linalg.norm(exact - shortcut, axis=1)))


def _origin_offset(scene, frame: EnuFrame) -> np.ndarray:
    """Where scene-local (0, 0, 0) lands in the frame (zero: the frame is at the origin)."""
    return scene_to_frame(scene, frame, np.zeros((1, 3)))[0]
