"""A view state: what a picture of the twin shows, as plain data.

The scene (layers, their styles and visibility) is shared by reference; the
rest — camera, clock time, selection, measurement and which annotations are on
— is captured here, so the window can hand its state to the offscreen renderer
(screenshot export) and the CLI can build one from its arguments (``render``,
``check``, tour frames). One state gives the same pixels on every path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

import numpy as np

from twin.scene import Bookmark, Scene
from twin.sim.clock import ICT


@dataclass
class ViewState:
    """Everything a render of ``scene`` needs besides the scene itself."""

    #: camera in world coordinates; None: the scene's first bookmark, else an overview
    camera: Bookmark | str | None = None
    #: clock time (aware); None: :func:`default_time`
    time: datetime | None = None
    #: (layer name, feature rows) highlighted and labelled
    selection: tuple[str, tuple[int, ...]] | None = None
    #: measured segment, world coordinates
    measurement: tuple[np.ndarray, np.ndarray] | None = None
    north_arrow: bool = False
    scale_bar: bool = False
    legend: bool = False
    caption: str | None = None
    #: section plane (scene-local origin, normal), cut solids capped; None: no section
    section: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    #: area and height measurements drawn (twin.measure AreaMeasurement / HeightMeasurement)
    marks: tuple = ()


def parse_time(text: str, now: datetime | None = None, tz: tzinfo = ICT) -> datetime:
    """``--time`` values: an ISO 8601 date-time with offset (a time without one
    is read in ``tz``, Vietnam time +07:00 by default), or ``now`` for the wall clock."""
    if text.strip().lower() == "now":
        return now or datetime.now(tz)
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"--time {text!r}: not an ISO 8601 date-time, e.g. 2025-06-02T13:00+07:00, or 'now'"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def scene_time(scene: Scene) -> datetime | None:
    """The view time the scene file declares (``[scene] time``), if any."""
    return scene.spec.time if scene.spec is not None else None


def has_simulation(scene: Scene) -> bool:
    """Does the scene file declare sensors, feeds or plans?"""
    extra = scene.spec.extra if scene.spec is not None else {}
    return any(extra.get(key) for key in ("sensors", "plans", "feeds"))
