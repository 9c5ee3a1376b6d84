"""The georeferenced scene: one projected CRS, a float64 local origin, layers.

Vertices live in scene-local coordinates (world minus ``origin``) so that float32
GPU buffers keep millimetre precision at UTM magnitudes (a float32 step at a
Hà Nội northing of 2.3e6 m is 0.25 m).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from psygnal import Signal, SignalGroup

from twin.geo import WGS84, crs_label, parse_crs, require_projected, transform_xy
from twin.layer import Layer

if TYPE_CHECKING:  # twin.scenefile imports this module
    from twin.scenefile import SceneSpec


@dataclass
class Bookmark:
    """A named camera, stored in scene CRS world coordinates (metres)."""

    name: str
    position: tuple[float, float, float]
    focal_point: tuple[float, float, float]
    view_up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    view_angle: float = 30.0


class SceneEvents(SignalGroup):
    """What views subscribe to; the model never knows who listens (no Qt here)."""

    layer_added = Signal(object)
    layer_removed = Signal(object)
    #: (layer, what) where what is "style", "visible", "mesh", "selection" or
    #: "features" (per-feature visibility, see Scene.set_feature_visibility)
    layer_changed = Signal(object, str)
    bookmarks_changed = Signal()


@dataclass(eq=False)
class Scene:
    """Layers and bookmarks in one CRS.

    Parameters
    ----------
    crs : projected CRS in metres, e.g. ``"EPSG:9208"``.
    origin : (3,) float64 world coordinates subtracted from every vertex.
    default_height : building height (m) for footprints without height data.
    spec : the scene file this scene was opened from (tours, sensors, view time);
        None for a scene built around one data file.
    """

    crs: str
    origin: np.ndarray = field(default_factory=lambda: np.zeros(3))
    name: str = "Untitled scene"
    default_height: float = 9.0
    layers: list[Layer] = field(default_factory=list)
    bookmarks: list[Bookmark] = field(default_factory=list)
    spec: SceneSpec | None = None
    #: layers too large to hold whole, streamed as tiles (twin.tiles.TiledSource)
    streams: list = field(default_factory=list)

    def __post_init__(self) -> None:
        require_projected(parse_crs(self.crs))
        self.origin = np.asarray(self.origin, dtype=np.float64).reshape(3)
        self.events = SceneEvents()
        self._hidden: dict[Layer, np.ndarray] = {}

    # -- coordinates -----------------------------------------------------------
    def to_local(self, xyz: np.ndarray) -> np.ndarray:
        """World (scene CRS) -> scene-local, float64 in and out."""
        return np.asarray(xyz, dtype=np.float64) - self.origin

    def to_world(self, local: np.ndarray) -> np.ndarray:
        return np.asarray(local, dtype=np.float64) + self.origin

    def local_from(self, x: np.ndarray, y: np.ndarray, src_crs: str) -> np.ndarray:
        """Reproject x/y arrays from ``src_crs`` and subtract the origin: (n, 2) float64."""
        tx, ty = transform_xy(x, y, src_crs, self.crs)
        return np.column_stack([tx - self.origin[0], ty - self.origin[1]])

    def local_to_wgs84(self, local: np.ndarray) -> np.ndarray:
        """Scene-local (n, 2|3) -> (n, 2) lon/lat degrees."""
        pts = np.atleast_2d(np.asarray(local, dtype=np.float64))
        lon, lat = transform_xy(
            pts[:, 0] + self.origin[0], pts[:, 1] + self.origin[1], self.crs, WGS84
        )
        return np.column_stack([lon, lat])

    @property
    def crs_label(self) -> str:
        return crs_label(self.crs)

    # -- layers ------------------------------------------------------------------
    def add_layer(self, layer: Layer) -> Layer:
        if any(existing.name == layer.name for existing in self.layers):
            layer.name = self._unique_name(layer.name)
        self.layers.append(layer)
        self.events.layer_added.emit(layer)
        return layer

    def remove_layer(self, layer: Layer) -> None:
        self.layers.remove(layer)
        self._hidden.pop(layer, None)
        self.events.layer_removed.emit(layer)

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer named {name!r}; have {[la.name for la in self.layers]}")

    def set_visible(self, layer: Layer, visible: bool) -> None:
        if layer.visible != visible:
            layer.visible = visible
            self.events.layer_changed.emit(layer, "visible")

    def set_feature_visibility(self, layer: Layer, rows, visible: bool) -> None:
        """Show or hide some features of a layer (e.g. one IFC storey) without
        touching its mesh; views hide the cells of hidden rows."""
        mask = self._hidden.get(layer)
        if mask is None or len(mask) != len(layer.features):
            mask = np.zeros(len(layer.features), dtype=bool)
        mask = mask.copy()
        mask[np.asarray(rows, dtype=np.intp)] = not visible
        self._hidden[layer] = mask
        self.events.layer_changed.emit(layer, "features")

    def hidden_features(self, layer: Layer) -> np.ndarray:
        """(n_features,) bool, True for features hidden with :meth:`set_feature_visibility`."""
        mask = self._hidden.get(layer)
        if mask is None or len(mask) != len(layer.features):
            return np.zeros(len(layer.features), dtype=bool)
        return mask

    def set_opacity(self, layer: Layer, opacity: float) -> None:
        layer.style.opacity = float(np.clip(opacity, 0.0, 1.0))
        self.events.layer_changed.emit(layer, "style")

    def restyle(self, layer: Layer, **changes) -> None:
        for key, value in changes.items():
            if not hasattr(layer.style, key):
                raise AttributeError(f"Style has no field {key!r}")
            setattr(layer.style, key, value)
        self.events.layer_changed.emit(layer, "style")

    def _unique_name(self, base: str) -> str:
        names = {la.name for la in self.layers}
        i = 2
        while f"{base} ({i})" in names:
            i += 1
        return f"{base} ({i})"

    # -- bookmarks ---------------------------------------------------------------
    def bookmark(self, name: str) -> Bookmark:
        for bm in self.bookmarks:
            if bm.name == name:
                return bm
        have = ", ".join(bm.name for bm in self.bookmarks) or "none"
        raise KeyError(f"no bookmark named {name!r}; have {have}")

    def add_bookmark(self, bookmark: Bookmark) -> None:
        self.bookmarks = [b for b in self.bookmarks if b.name != bookmark.name] + [bookmark]
        self.events.bookmarks_changed.emit()

    def remove_bookmark(self, name: str) -> None:
        self.bookmarks = [b for b in self.bookmarks if b.name != name]
        self.events.bookmarks_changed.emit()

    def rename_bookmark(self, old: str, new: str) -> None:
        """Rename in place, keeping the order; a clash with another name raises."""
        if new != old and any(b.name == new for b in self.bookmarks):
            raise KeyError(f"a bookmark named {new!r} exists already")
        self.bookmark(old).name = new
        self.events.bookmarks_changed.emit()

    # -- extent ------------------------------------------------------------------
    def local_bounds(self, visible_only: bool = True) -> np.ndarray | None:
        """(6,) ``xmin, xmax, ymin, ymax, zmin, zmax`` of layers, scene-local."""
        boxes = [
            np.asarray(la.mesh.bounds, dtype=np.float64)
            for la in self.layers
            if la.mesh.n_points and (la.visible or not visible_only)
        ]
        boxes += [  # streamed layers: their tiles' boxes (twin.tiles.TiledSource)
            src.boxes[:, [0, 3, 1, 4, 2, 5]]
            for src in self.streams
            if len(src.boxes) and (src.visible or not visible_only)
        ]
        if not boxes:
            return None
        b = np.vstack(boxes)
        return np.array(
            [
                b[:, 0].min(),
                b[:, 1].max(),
                b[:, 2].min(),
                b[:, 3].max(),
                b[:, 4].min(),
                b[:, 5].max(),
            ]
        )
