"""The one offscreen renderer: ``render``, ``check``, tour frames and the
screenshot export all draw through :class:`OffscreenRenderer`.

It owns an offscreen plotter, a :class:`~twin.render.view.SceneView`, the
simulation overlay (glyphs, heat map, water sheet, status outlines) when the
scene has sensors or plans, and the annotations. A :class:`~twin.viewstate.ViewState`
puts it in the state the window is in; a tour state moves its clock.

Without a time, a scene with a simulation is drawn at the time its scene file
declares (``[scene] time``), else at the start of its data: a render never
depends on the wall clock unless asked (``--time now``).
"""

from __future__ import annotations

import logging
import os
import time as _time
from datetime import datetime
from pathlib import Path

import numpy as np
import pyvista as pv

from twin.render.captions import Caption
from twin.render.tourstate import apply_state, layer_visibility, restore_visibility
from twin.render.view import SceneView
from twin.scene import Bookmark, Scene
from twin.tour import TourState
from twin.viewstate import ViewState, has_simulation, scene_time

log = logging.getLogger(__name__)


def use_offscreen_gl() -> None:
    """Prefer EGL for offscreen renders (no X server needed), unless the user
    chose a window class already (e.g. ``vtkOSMesaRenderWindow``)."""
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


class OffscreenRenderer:
    """An offscreen plotter drawing one scene, for exports and render checks.

    Use as a context manager; on exit the layer visibility the scene had before
    is restored, the simulation it made is closed and the plotter is closed, so
    the same scene object can be rendered again or shown in the app.

    ``simulation``: ``"auto"`` makes one from the scene file when it declares
    sensors, feeds or plans; ``None`` draws the bare scene; or pass the
    window's own :class:`~twin.sim.simulation.Simulation` (screenshot export),
    which is then drawn, not closed.
    """

    def __init__(
        self,
        scene: Scene,
        size: tuple[int, int],
        captions: bool = True,
        multi_samples: int | None = None,
        simulation="auto",
        time: datetime | None = None,
        looks="auto",
        sun: bool | str = "auto",
        shadows: bool = False,
    ) -> None:
        """``sun``: light the scene by the sun at the clock time
        (:class:`twin.render.lighting.SunLight`): ``"auto"`` (the window's
        default for this GL, :func:`twin.render.looks.default_sun`), ``True`` or
        ``False`` (the light kit); a scene with no place on Earth keeps the light
        kit whatever is asked. ``shadows``: the sun casts shadows (implies
        ``sun``). ``looks``: ``"auto"`` (what
        this GL affords, as the window: see
        :func:`twin.render.looks.default_looks`), ``None`` (plain), or a
        :class:`~twin.render.looks.LookOptions`."""
        import vtk

        use_offscreen_gl()
        self.scene = scene
        self.size = (int(size[0]), int(size[1]))
        self.plotter = pv.Plotter(off_screen=True, window_size=list(self.size))
        if multi_samples is not None:  # None: pyvista's default, as `render` and the app
            self.plotter.render_window.SetMultiSamples(int(multi_samples))
        self.base_visibility = layer_visibility(scene)
        self.view = SceneView(scene, self.plotter)
        self.caption = Caption(self.plotter.renderer) if captions else None
        self.ren_win = self.plotter.render_window
        self._pixels = vtk.vtkUnsignedCharArray()
        self.render_s = 0.0
        self.readback_s = 0.0
        self.sim = None
        self._own_sim = False
        self.overlay = None
        #: the clock time bookmark frames are drawn at (tour frames move the clock)
        self.base_time: datetime | None = None
        if simulation == "auto":
            if has_simulation(scene):
                self._start_simulation()
        elif simulation is not None:
            self.sim = simulation
        if self.sim is not None:
            from twin.render.overlays import SimulationOverlay

            if time is None and self._own_sim:
                time = self.default_time()
            if time is not None:
                self.sim.clock.set_time(time)
            self.base_time = self.sim.clock.time
            self.overlay = SimulationOverlay(self.view, self.sim)
        else:  # no clock: the sun stands where the scene file's time puts it
            self.base_time = time if time is not None else scene_time(scene)
        self.view.annotations.simulation = self.sim
        gl = self.renderer_info() if (isinstance(looks, str) or sun == "auto") else ""
        if sun == "auto":
            from twin.render.looks import default_sun

            sun = default_sun(gl)
        self.sun_light = None
        self.shadows = bool(shadows)
        if sun or shadows:
            from twin.render.lighting import SunLight, sun_available

            if sun_available(scene):
                self.sun_light = SunLight()
            else:
                log.info("%s has no place on Earth: light kit, no sun", scene.name)
        if looks is not None:
            from twin.render.looks import apply_looks, default_looks

            apply_looks(self.view, default_looks(gl) if looks == "auto" else looks)

    def _start_simulation(self) -> None:
        from twin.sim.simulation import Simulation

        sim = Simulation.from_scene(self.scene, start_feeds=False)
        sim.run_feeds_now()  # synthetic and CSV replay: deterministic
        self.sim, self._own_sim = sim, True

    def default_time(self) -> datetime | None:
        """The scene file's view time, else the start of the simulation's data."""
        declared = scene_time(self.scene)
        if declared is not None:
            return declared
        return self.sim.clock.start if self.sim is not None else None

    def __enter__(self) -> OffscreenRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            from twin.render.looks import remove_looks

            remove_looks(self.view)
            if self.sun_light is not None:
                self.sun_light.remove()
            if self.overlay is not None:
                self.overlay.close()
            if self._own_sim and self.sim is not None:
                self.sim.close()
            restore_visibility(self.scene, self.base_visibility)
        finally:
            self.view.close()  # stop listening to the scene before the plotter goes
            self.plotter.close()

    def renderer_info(self) -> str:
        """The GL renderer string (e.g. "llvmpipe (LLVM 15.0.6, 256 bits)")."""
        report = self.ren_win.ReportCapabilities()
        if "renderer string" not in report:  # no GL context before the first render
            self.ren_win.Render()
            report = self.ren_win.ReportCapabilities()
        for line in report.splitlines():
            if "renderer string" in line:
                return line.split(":", 1)[1].strip()
        return "unknown"

    # -- time -------------------------------------------------------------------------
    def set_time(self, when: datetime | None) -> None:
        """Move the simulation's clock (no-op for a scene without one)."""
        if when is not None and self.sim is not None:
            self.sim.clock.set_time(when)

    def light_by_sun(self, when: datetime | None = None) -> None:
        """Put the sun light at the clock's time (or ``when``, else the scene
        file's time, for a scene without a simulation); no-op when the sun is
        off or the scene has no place on Earth."""
        if self.sun_light is None:
            return
        when = self.sim.clock.time if self.sim is not None else (when or self.base_time)
        if when is not None:
            self.sun_light.apply(self.plotter, self.scene, when)
            if self.shadows:
                from twin.render.lighting import set_shadows

                set_shadows(self.plotter, True)

    # -- frames -----------------------------------------------------------------------
    def frame(self) -> np.ndarray:
        """Render and read back: (h, w, 3) uint8, top row first."""
        from vtk.util.numpy_support import vtk_to_numpy

        t0 = _time.perf_counter()
        self.ren_win.Render()
        self.ren_win.WaitForCompletion()
        t1 = _time.perf_counter()
        w, h = self.size
        # Front buffer: the resolved (multisampled, gamma-correct) image that
        # the screenshot path reads too; no second render.
        self.ren_win.GetPixelData(0, 0, w - 1, h - 1, 1, self._pixels, 0)
        img = vtk_to_numpy(self._pixels).reshape(h, w, -1)[::-1, :, :3]
        out = np.ascontiguousarray(img)
        self.render_s += t1 - t0
        self.readback_s += _time.perf_counter() - t1
        return out

    def tour_frame(self, state: TourState) -> np.ndarray:
        """A tour moment: camera, visibility, caption and the clock at its scene time."""
        self.set_time(state.scene_time)
        self.light_by_sun(state.scene_time)
        apply_state(self.view, state, self.base_visibility, self.caption)
        return self.frame()

    def bookmark_frame(self, name: str) -> np.ndarray:
        self.set_time(self.base_time)
        self.light_by_sun(self.base_time)
        restore_visibility(self.scene, self.base_visibility)
        if self.caption is not None:
            self.caption.set(None)
        self.view.apply_bookmark(name)
        return self.frame()

    def draw(self, state: ViewState) -> np.ndarray:
        """Put the renderer in ``state`` and render it."""
        self.set_time(state.time)
        self.light_by_sun(state.time)
        view = self.view
        if state.camera is None:
            view.default_camera()
        else:
            view.apply_bookmark(state.camera)
        if state.selection is not None:
            layer = self.scene.layer(state.selection[0])
            view.select(layer, list(state.selection[1]))
            view.annotations.label_feature(layer, state.selection[1][0])
        if state.measurement is not None:
            a, b = state.measurement
            view.annotations.show_measurement(a, b)
        if view.marks.area is not None or view.marks.height is not None:
            view.marks.clear()  # a state shows its own marks only
        for mark in state.marks:
            view.marks.show(mark, view.annotations.language)
        if state.section is not None:
            view.set_section(*state.section)
        elif view.section is not None:
            view.clear_section()
        view.annotations.set_north_and_scale(state.north_arrow, state.scale_bar)
        view.annotations.set_legend(state.legend)
        if self.caption is not None:
            self.caption.set(state.caption)
        return self.frame()


#: The name the tour export and the check used before the render package.
FrameRenderer = OffscreenRenderer


def render_image(
    scene: Scene,
    size: tuple[int, int] = (1280, 720),
    bookmark: str | Bookmark | None = None,
    time: datetime | None = None,
    legend: bool = False,
    simulation="auto",
    looks="auto",
    sun: bool | str = "auto",
) -> np.ndarray:
    """Render ``scene`` offscreen and return an (h, w, 3) uint8 image.

    A scene with sensors, feeds or plans is drawn with its simulation at
    ``time`` (default: the scene file's ``[scene] time``, else the start of its
    data); ``simulation=None`` draws the bare scene.
    """
    state = ViewState(camera=bookmark, time=time, legend=legend)
    with OffscreenRenderer(scene, size, simulation=simulation, time=time,
                           looks=looks, sun=sun) as renderer:
        return renderer.draw(state)


def save_png(image: np.ndarray, path: Path | str) -> None:
    """Write an RGB image as PNG via VTK (no extra imaging dependency)."""
    import vtk
    from vtk.util.numpy_support import numpy_to_vtk

    h, w = image.shape[:2]
    data = vtk.vtkImageData()
    data.SetDimensions(w, h, 1)
    flat = np.ascontiguousarray(image[::-1]).reshape(-1, image.shape[2])
    data.GetPointData().SetScalars(numpy_to_vtk(flat, deep=True))
    writer = vtk.vtkPNGWriter()
    writer.SetFileName(str(path))
    writer.SetInputData(data)
    writer.Write()
    if writer.GetErrorCode():
        raise OSError(f"{path}: could not write PNG (error {writer.GetErrorCode()})")
