"""The headless half of a printed map: the view rendered at print resolution by
the one :class:`~twin.render.offscreen.OffscreenRenderer`, plus what the page
needs to explain it (north, scale, legends, CRS, time, sources), as plain data.

The page itself is laid out with Qt (``app/print_map.py``); everything here
runs without Qt, and the page's fixed words come from :data:`TEXT`, so the
command line and the window print the same words in Vietnamese or English.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from twin.scene import Scene
from twin.viewstate import ViewState

#: The page's fixed words: key -> (English, Vietnamese).
TEXT: dict[str, tuple[str, str]] = {
    "legend": ("Legend", "Chú giải"),
    "scale": ("Scale at the map centre", "Tỉ lệ tại tâm bản đồ"),
    "north": ("N", "B"),
    "crs": ("Coordinate reference system", "Hệ tọa độ"),
    "scene_time": ("Scene date and time", "Ngày giờ của cảnh"),
    "printed": ("Printed", "Ngày in"),
    "sources": ("Data sources", "Nguồn dữ liệu"),
    "no_time": ("not set", "chưa đặt"),
    "no_licence": ("licence not stated", "chưa ghi giấy phép"),
    "perspective": ("Perspective view: distances hold at the map centre only.",
                    "Hình phối cảnh: khoảng cách chỉ đúng tại tâm bản đồ."),
    "made_with": ("Made with CityTwin", "Lập bằng CityTwin"),
    "labels": ("Labels", "Nhãn"),
    "section": ("Section plane", "Mặt cắt"),
}
LANGS = ("en", "vi")


def text(key: str, lang: str = "en") -> str:
    """A fixed page word in ``lang`` ("en" or "vi")."""
    en, vi = TEXT[key]
    return vi if lang == "vi" else en


@dataclass
class PrintView:
    """The rendered view and the facts the page prints beside it."""

    image: np.ndarray  # (h, w, 3) uint8
    #: the scene time shown (aware), or None for a scene without one
    time: datetime | None
    #: screen angle of grid north, radians counter-clockwise from up
    north_angle: float
    #: metres per image pixel at the focal point
    metres_per_pixel: float
    legends: list = field(default_factory=list)
    crs: str = ""
    sources: list[str] = field(default_factory=list)


def crs_text(scene: Scene) -> str:
    """``VN-2000 / TM-3 104-45 (EPSG:9208)``: the name first, as map margins print it."""
    from twin.geo import parse_crs

    crs = parse_crs(scene.crs)
    if crs.is_engineering:
        return f"{crs.name} (local)"
    auth = crs.to_authority()
    return f"{crs.name} ({auth[0]}:{auth[1]})" if auth else crs.name


def data_sources(scene: Scene, lang: str = "en") -> list[str]:
    """One line per distinct source of the visible layers: the scene file's
    ``attribution`` (e.g. "© OpenStreetMap contributors, ODbL"), else the
    file name with "licence not stated"."""
    by_name, by_path = {}, {}
    if scene.spec is not None:
        by_name = {la.name: la.attribution for la in scene.spec.layers if la.attribution}
        by_path = {la.path: la.attribution for la in scene.spec.layers if la.attribution}
    out: list[str] = []
    for layer in scene.layers:
        if not layer.visible:
            continue
        # a file with several geometry kinds opens as several layers, renamed
        line = by_name.get(layer.name) or (
            by_path.get(layer.source.resolve()) if layer.source is not None else None)
        if not line:
            name = layer.source.name if layer.source is not None else layer.name
            line = f"{name}: {text('no_licence', lang)}"
        if line not in out:
            out.append(line)
    return out


def _matrix(renderer, size: tuple[int, int]) -> np.ndarray:
    cam = renderer.GetActiveCamera()
    m = cam.GetCompositeProjectionTransformMatrix(size[0] / max(size[1], 1), -1, 1)
    return np.array([[m.GetElement(i, j) for j in range(4)] for i in range(4)])


def north_angle(renderer, size: tuple[int, int]) -> float:
    """Screen angle of grid north (+Y) at the focal point, radians
    counter-clockwise from up; 0 when looking straight along north."""
    from twin.render.labels import project

    cam = renderer.GetActiveCamera()
    focal = np.asarray(cam.GetFocalPoint(), dtype=float)
    step = max(cam.GetDistance(), 1.0) * 0.01
    north = focal + np.array([0.0, step, 0.0])
    xy, _ = project(_matrix(renderer, size), np.array([focal, north]), size)
    dx, dy = xy[1] - xy[0]
    if math.hypot(dx, dy) < 1e-9:
        return 0.0
    return math.atan2(-dx, dy)


def render_print_view(
    scene: Scene,
    size: tuple[int, int],
    state: ViewState,
    lang: str = "en",
    simulation="auto",
    looks="auto",
    sun: bool | str = "auto",
) -> PrintView:
    """Render ``state`` at ``size`` for a page. The page draws its own north
    arrow, scale bar and legends (vector, beside the map), so the picture
    carries the rest of the view: layers, overlays, labels, selection,
    measurement, section."""
    from twin.render.offscreen import OffscreenRenderer
    from twin.render.scalebar import metres_per_pixel

    bare = replace(state, north_arrow=False, scale_bar=False, legend=False, caption=None)
    with OffscreenRenderer(scene, size, simulation=simulation, time=state.time, looks=looks,
                           sun=sun, captions=False) as r:
        r.view.annotations.language = lang
        image = r.draw(bare)
        ren = r.plotter.renderer
        cam = ren.GetActiveCamera()
        mpp = metres_per_pixel(cam.GetDistance(), cam.GetViewAngle(), size[1])
        if cam.GetParallelProjection():
            mpp = 2.0 * cam.GetParallelScale() / max(size[1], 1)
        shown = r.sim.clock.time if r.sim is not None else (state.time or scene_time_of(scene))
        return PrintView(
            image=image,
            time=shown,
            north_angle=north_angle(ren, size),
            metres_per_pixel=mpp,
            legends=r.view.annotations.legend_specs(),
            crs=crs_text(scene),
            sources=data_sources(scene, lang),
        )


def scene_time_of(scene: Scene) -> datetime | None:
    return scene.spec.time if scene.spec is not None else None
