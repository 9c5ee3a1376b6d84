"""Opening what the user named: a scene file, or one data file in a scene fitted to it.

Shared by the command line and the window (``app.main_window.run_app``); it lives
apart from both so that neither imports the other.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twin.scene import Scene


class UserError(Exception):
    """A problem with what the user asked for; printed as one line, exit 2."""


def scene_for_file(
    path: Path, at: tuple[float, ...] | None = None, crs: str = "EPSG:9208"
) -> tuple[Scene, dict]:
    """An empty scene fitted to one data file, and the options to import it with.

    With ``at``, the scene is built in ``crs`` around that point and the file is
    imported with the option ``at`` (its placement when it is not georeferenced).
    Reads only the file's CRS and extent, so the app can show its window first.
    """
    import importers
    from twin.scene import Scene

    if at is None:
        return importers.scene_for(path), {}
    scene = Scene(crs=crs, origin=[round(at[0], -1), round(at[1], -1), 0.0], name=path.stem)
    return scene, {"at": list(at) + [0.0] * (4 - len(at))}


def load_any(path: Path, at: tuple[float, ...] | None = None, crs: str = "EPSG:9208") -> Scene:
    """A scene from a scene file, or a fitted scene holding one data file."""
    import importers

    if path.suffix.lower() == ".toml":
        if at is not None:
            raise UserError(f"{path}: --at places a data file, not a scene file")
        return importers.open_scene(path)
    scene, options = scene_for_file(path, at, crs)
    for layer in importers.open(path, scene, options):
        scene.add_layer(layer)
    return scene
