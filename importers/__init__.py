"""File -> :class:`twin.layer.Layer` readers, picked by extension (one registry).

``open(path, scene, options, progress, cancel) -> list[Layer]`` is the only entry
point the app and CLI need; :func:`open_scene` builds a whole scene from a
scene file. Importers return data, never actors, and import no Qt.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from importers.errors import ImportCancelled, ImportFailed

if TYPE_CHECKING:  # at run time only where used: worker processes import this
    from twin.layer import Layer  # package and must not pay for pyvista (~0.4 s)
    from twin.scene import Scene

Progress = Callable[[int, int], None]

__all__ = [
    "ImportCancelled",
    "ImportFailed",
    "Importer",
    "importer_for",
    "open",
    "open_scene",
    "scene_for",
]


@dataclass(frozen=True)
class Importer:
    """One file format family.

    ``module`` is imported lazily and must provide ``read(path, scene, options,
    progress, cancel) -> list[Layer]`` and ``extent(path) -> (crs, (xmin, ymin,
    xmax, ymax))`` (the CRS the file declares, or None, and its bounds in it),
    which :func:`scene_for` uses to fit a scene to a lone file.
    """

    name: str
    module: str
    suffixes: tuple[str, ...]

    def load(self):
        return importlib.import_module(self.module)


#: importer name -> Importer; suffixes are matched longest first.
REGISTRY: dict[str, Importer] = {
    imp.name: imp
    for imp in (
        Importer("vector", "importers.vector", (".geojson", ".json", ".gpkg", ".shp", ".fgb")),
        Importer("ifc", "importers.ifc", (".ifc", ".ifczip")),
        Importer("cityjson", "importers.cityjson", (".city.json", ".city.jsonl", ".jsonl")),
        Importer("citygml", "importers.citygml", (".gml", ".xml")),
        Importer("terrain", "importers.terrain", (".tif", ".tiff")),
        Importer("pointcloud", "importers.pointcloud", (".las", ".laz")),
        Importer("mesh", "importers.mesh", (".gltf", ".glb", ".obj", ".ply", ".stl")),
        Importer("pipes", "importers.pipes", ()),  # only when a scene file names it
        Importer("dxf", "importers.dxf", (".dxf",)),
        # a GeoTIFF orthophoto needs importer = "orthophoto" (.tif is a DEM by default)
        Importer("orthophoto", "importers.orthophoto", (".mbtiles",)),
    )
}


def importer_for(path: Path, name: str | None = None) -> str:
    """The importer name for a file: the one asked for, else by suffix."""
    if name is not None:
        if name not in REGISTRY:
            raise ImportFailed(path, f"unknown importer {name!r}; have {', '.join(REGISTRY)}")
        return name
    name_lower = Path(path).name.lower()
    by_length = sorted(
        ((sfx, imp.name) for imp in REGISTRY.values() for sfx in imp.suffixes),
        key=lambda pair: -len(pair[0]),
    )
    for sfx, key in by_length:
        if name_lower.endswith(sfx):
            return key
    known = sorted({sfx for imp in REGISTRY.values() for sfx in imp.suffixes})
    raise ImportFailed(
        path, f"unsupported file type {Path(path).suffix!r}; supported: {' '.join(known)}"
    )


def open(
    path: Path | str,
    scene: Scene,
    options: dict[str, Any] | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    importer: str | None = None,
) -> list[Layer]:
    """Read a file, or a ``postgresql://`` source (:mod:`importers.postgis`), into
    layers in ``scene``'s CRS (not yet added to the scene)."""
    if isinstance(path, str) and path.startswith(("postgresql://", "postgres://")):
        from importers import postgis

        return postgis.read(path, scene, dict(options or {}), progress, cancel)
    path = Path(path)
    if not path.exists():
        raise ImportFailed(path, "file not found")
    if path.is_dir() and path.suffix.lower() != ".gdb":
        raise ImportFailed(path, "is a folder, not a file")
    module = REGISTRY[importer_for(path, importer)].load()
    return module.read(path, scene, dict(options or {}), progress, cancel)


def open_scene(
    path: Path | str, progress: Progress | None = None, cancel: threading.Event | None = None
) -> Scene:
    """Load a scene file and every layer it names.

    A layer whose file fails to import stops the load with :class:`ImportFailed`
    naming that file: a scene that silently lacks a layer would mislead.
    """
    from twin.scene import Scene
    from twin.scenefile import load_scene_spec

    spec = load_scene_spec(path)
    scene = Scene(
        crs=spec.crs,
        origin=spec.origin,
        name=spec.name,
        default_height=spec.default_height,
        spec=spec,
    )
    scene.bookmarks = list(spec.bookmarks)
    for i, layer_spec in enumerate(spec.layers):
        if cancel is not None and cancel.is_set():
            raise ImportCancelled(str(path))
        if layer_spec.stream:  # indexed now, read tile by tile as the view needs
            from importers import tile_reader

            scene.streams.append(tile_reader.open_spec(layer_spec, scene))
            continue
        layers = open(
            layer_spec.source or layer_spec.path,
            scene,
            layer_spec.options,
            None,
            cancel,
            importer=layer_spec.importer,
        )
        for layer in layers:
            layer.name = layer_spec.name if len(layers) == 1 else f"{layer_spec.name}: {layer.name}"
            if layer_spec.style is not None:
                layer.style = layer_spec.style
            layer.visible = layer_spec.visible
            if layer_spec.drape is not None:
                _drape(path, scene, layer_spec.drape, layer, layer_spec.drape_mode)
            scene.add_layer(layer)
        if progress is not None:
            progress(i + 1, len(spec.layers))
    return scene


def _drape(path: Path | str, scene: Scene, ground: str, layer: Layer, mode: str) -> None:
    """Set ``layer`` on the scene's terrain layer ``ground`` (a scene file's
    ``drape``): footprints and lines carry no ground height of their own."""
    from importers import terrain

    found = [la for la in scene.layers if la.name == ground]
    if not found or found[0].kind != "terrain":
        what = f"layer {layer.name!r}: drape on {ground!r}: not a terrain layer"
        raise ImportFailed(Path(path), what)
    if layer.kind == "basemap":  # an image follows the ground vertex by vertex
        from importers import orthophoto

        orthophoto.drape(found[0], layer)
    elif mode == "vertex":
        terrain.drape_vertices(found[0], layer)
    else:
        terrain.drape(found[0], layer, relative=True)


def scene_for(path: Path | str) -> Scene:
    """A scene fitted to one data file: its projected CRS (or the UTM zone of its
    centre for lon/lat data) with the origin at its centre, rounded to 100 m."""
    path = Path(path)
    if not path.exists():
        raise ImportFailed(path, "file not found")
    crs, bounds = REGISTRY[importer_for(path)].load().extent(path)
    if crs is None:
        from twin.geo import LOCAL_CRS

        # No CRS at all: a local metric scene; the importer warns that it assumed it.
        cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
        origin = [round(cx, -1), round(cy, -1), 0.0]
        from twin.scene import Scene

        return Scene(crs=LOCAL_CRS, origin=origin, name=f"{path.stem} (local coordinates)")
    return _fitted_scene(path, crs, bounds)


def _fitted_scene(path: Path, crs: str, bounds: tuple[float, float, float, float]) -> Scene:
    import numpy as np

    from twin.geo import WGS84, parse_crs, transform_xy, utm_zone

    cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    if parse_crs(crs).is_projected:
        scene_crs, ex, ny = crs, float(cx), float(cy)
    else:
        fit = utm_zone(cx, cy, crs)
        if fit is None:
            lon, lat = transform_xy(np.array([cx]), np.array([cy]), crs, WGS84)
            raise ImportFailed(
                path, f"cannot choose a projected CRS near {lon[0]:.4f}, {lat[0]:.4f}"
            )
        scene_crs, ex, ny = fit
    if not (np.isfinite(ex) and np.isfinite(ny)):
        raise ImportFailed(path, "its extent cannot be projected; check its CRS")
    origin = np.array([round(ex, -2), round(ny, -2), 0.0])
    from twin.scene import Scene

    return Scene(crs=scene_crs, origin=origin, name=path.stem)
