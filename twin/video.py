"""Draw tours: captions, applying a tour state to a view, and headless MP4 export.

Export renders each frame offscreen on the calling thread (VTK is only ever
called from there), reads the pixels back without a second render
(``GetPixelData`` on the front buffer, which is what pyvista's screenshot reads
with ``ShouldRerenderOff``), and hands them to an encoder thread through a
small bounded queue. The encoder thread feeds imageio-ffmpeg's bundled ffmpeg
(libx264, yuv420p: plays in browsers, PowerPoint and phones), so encoding runs
alongside rendering and the queue bounds memory when one side is slower.

The video is written to a hidden temporary file next to the target and moved
into place with :func:`os.replace` only once ffmpeg has closed it, so the
target is either absent, the previous file, or a complete video. On Ctrl-C the
encoder is closed cleanly (ffmpeg writes the MP4 index), and the frames done so
far are kept as a playable, shorter video (or removed, ``keep_partial=False``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import resource
import textwrap
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twin.scene import Scene
from twin.tour import Tour, TourState, layer_matches

log = logging.getLogger(__name__)

#: Shipped with the project (assets/fonts/README.md): has Vietnamese glyphs.
FONT_FILE = Path(__file__).resolve().parents[1] / "assets" / "fonts" / "DejaVuSans.ttf"
_SYSTEM_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
#: Caption text height as a fraction of the frame height.
CAPTION_SCALE = 0.042
CAPTION_BOX_RGB = (0.08, 0.12, 0.18)
CAPTION_BOX_OPACITY = 0.72
VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov")


def font_file() -> Path:
    """The caption font: the shipped DejaVu Sans, else the system copy."""
    for candidate in (FONT_FILE, _SYSTEM_FONT):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{FONT_FILE}: caption font missing (see assets/fonts/README.md)")


class Caption:
    """A lower-third caption: centred text on a translucent box near the bottom.

    VTK's own text background hugs the glyphs, so the box is a separate 2D
    polygon with padding, drawn before the text. The font is a font *file*
    (``VTK_FONT_FILE``): VTK's built-in Arial/Courier/Times lack Vietnamese
    glyphs such as "ộ" and "ữ". Sizes follow the render window, so the same
    caption works in a 160x90 test frame, a 1080p export and a resized window.
    """

    def __init__(self, renderer, font: Path | None = None, bottom_px: float | None = None) -> None:
        """``bottom_px``: baseline height above the bottom edge; default 5 % of the
        height (the app passes more, to clear its scale bar)."""
        import vtk

        self.renderer = renderer
        self.bottom_px = bottom_px
        self.text = vtk.vtkTextActor()
        prop = self.text.GetTextProperty()
        prop.SetFontFamily(vtk.VTK_FONT_FILE)
        prop.SetFontFile(str(font or font_file()))
        prop.SetColor(1.0, 1.0, 1.0)
        prop.SetJustificationToCentered()
        prop.SetVerticalJustificationToBottom()
        prop.SetLineSpacing(1.1)
        self._points = vtk.vtkPoints()
        self._points.SetNumberOfPoints(4)
        poly = vtk.vtkPolyData()
        poly.SetPoints(self._points)
        cells = vtk.vtkCellArray()
        cells.InsertNextCell(4, [0, 1, 2, 3])
        poly.SetPolys(cells)
        mapper = vtk.vtkPolyDataMapper2D()
        mapper.SetInputData(poly)
        self._poly = poly
        self.box = vtk.vtkActor2D()
        self.box.SetMapper(mapper)
        self.box.GetProperty().SetColor(*CAPTION_BOX_RGB)
        renderer.AddViewProp(self.box)
        renderer.AddViewProp(self.text)
        self._layout_key: tuple | None = None
        self._box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
        self.current: str | None = None
        self.set(None)

    def set(self, text: str | None, opacity: float = 1.0) -> None:
        """Show ``text`` (None or empty hides it) at ``opacity`` (0..1, fades)."""
        if not text or opacity <= 0.0:
            self.text.SetVisibility(False)
            self.box.SetVisibility(False)
            self.current = None
            return
        w, h = (int(v) for v in self.renderer.GetRenderWindow().GetSize())
        key = (text, w, h)
        if key != self._layout_key:
            self._layout(text, w, h)
            self._layout_key = key
        self.current = text
        self.text.GetTextProperty().SetOpacity(float(opacity))
        self.box.GetProperty().SetOpacity(CAPTION_BOX_OPACITY * float(opacity))
        self.text.SetVisibility(True)
        self.box.SetVisibility(True)

    def _layout(self, text: str, w: int, h: int) -> None:
        # sized on the 16:9 frame that fits, so a tall, narrow app viewport does
        # not get a caption that fills half its width
        size = max(9, round(min(h, w * 9 / 16) * CAPTION_SCALE))
        # DejaVu Sans averages ~0.55 em per character; wrap to 86 % of the width.
        per_line = max(12, int(0.86 * w / (0.55 * size)))
        lines = []
        for para in text.splitlines() or [text]:
            lines += textwrap.wrap(para, per_line) or [""]
        self.text.SetInput("\n".join(lines))
        self.text.GetTextProperty().SetFontSize(size)
        x = w / 2.0
        y = self.bottom_px if self.bottom_px is not None else max(4.0, h * 0.05)
        self.text.SetPosition(x, y)
        bbox = [0.0, 0.0, 0.0, 0.0]
        self.text.GetBoundingBox(self.renderer, bbox)
        pad_x, pad_y = size * 0.7, size * 0.35
        x0, x1 = x + bbox[0] - pad_x, x + bbox[1] + pad_x
        y0, y1 = y + bbox[2] - pad_y, y + bbox[3] + pad_y
        self._box = (x0, x1, y0, y1)
        for i, (px, py) in enumerate(((x0, y0), (x1, y0), (x1, y1), (x0, y1))):
            self._points.SetPoint(i, px, py, 0.0)
        self._points.Modified()
        self._poly.Modified()

    def region(self) -> tuple[slice, slice] | None:
        """Rows and columns of the caption box in an image (top row first), or
        None when no caption is shown; render checks compare it on its own."""
        if self.current is None:
            return None
        h = int(self.renderer.GetRenderWindow().GetSize()[1])
        x0, x1, y0, y1 = self._box
        rows = slice(max(0, int(h - y1)), max(0, int(h - y0) + 1))
        return rows, slice(max(0, int(x0)), max(0, int(x1) + 1))

    def remove(self) -> None:
        self.renderer.RemoveViewProp(self.text)
        self.renderer.RemoveViewProp(self.box)


def layer_visibility(scene: Scene) -> dict[str, bool]:
    """Layer name -> visible, to restore after a tour changed some."""
    return {layer.name: layer.visible for layer in scene.layers}


def apply_state(
    view,
    state: TourState,
    base_visibility: dict[str, bool] | None = None,
    caption: Caption | None = None,
) -> None:
    """Point ``view``'s camera (a :class:`twin.render.SceneView`) at a tour state,
    set layer visibility and the caption. Does not render.

    Layers the tour shows or hides somewhere get the tour's visibility once
    their keyframe is reached and their ``base_visibility`` (what they had
    before the tour) until then, so scrubbing backwards undoes a hide. Layers
    the tour never names are left alone.
    """
    scene = view.scene
    cam = view.plotter.renderer.GetActiveCamera()
    c = state.camera
    cam.SetPosition(*scene.to_local(c.position))
    cam.SetFocalPoint(*scene.to_local(c.focal_point))
    cam.SetViewUp(*c.view_up)
    cam.SetViewAngle(c.view_angle)
    cam.OrthogonalizeViewUp()
    fit_clipping_range(view)
    if base_visibility is not None and state.layers:
        for layer in scene.layers:
            if not any(layer_matches(layer.name, name) for name in state.layers):
                continue
            wanted = base_visibility.get(layer.name, layer.visible)
            for name, visible in state.visibility.items():
                if layer_matches(layer.name, name):
                    wanted = visible
            scene.set_visible(layer, wanted)
    if caption is not None:
        caption.set(state.caption, state.caption_opacity)


def fit_clipping_range(view) -> None:
    """VTK's clipping range, with the near plane pulled in for low cameras.

    VTK puts the near plane at 1/1000 of the far one; with a ground plane
    kilometres wide that is ~10 m, so a street-level camera (1.7 m up) loses
    the pavement in front of it and shows the sky colour there instead. Near
    is capped at half the camera's height above the lowest geometry (at least
    5 cm), which keeps the depth range as tight as the view allows.
    """
    renderer = view.plotter.renderer
    renderer.ResetCameraClippingRange()
    bounds = view.scene.local_bounds()
    if bounds is None:
        return
    cam = renderer.GetActiveCamera()
    near, far = cam.GetClippingRange()
    height = cam.GetPosition()[2] - float(bounds[4])
    cap = max(0.05, 0.5 * height)
    if cap < near:
        cam.SetClippingRange(cap, far)


def restore_visibility(
    scene: Scene, visibility: dict[str, bool], only: Sequence[str] | None = None
) -> None:
    """Put layers back as ``visibility`` recorded them; with ``only``, just the
    layers answering to those (tour) names, leaving the others to whoever
    changed them since (e.g. the simulation clock showing a planned project)."""
    for layer in scene.layers:
        if layer.name not in visibility:
            continue
        if only is not None and not any(layer_matches(layer.name, n) for n in only):
            continue
        scene.set_visible(layer, visibility[layer.name])


class FrameRenderer:
    """An offscreen plotter drawing one scene, for exports and render checks.

    Use as a context manager; on exit the layer visibility the scene had
    before is restored and the plotter is closed, so the same scene object can
    be rendered again or shown in the app.
    """

    def __init__(
        self,
        scene: Scene,
        size: tuple[int, int],
        captions: bool = True,
        multi_samples: int | None = None,
    ) -> None:
        import pyvista as pv
        import vtk

        from twin.render import SceneView, use_offscreen_gl

        use_offscreen_gl()
        self.scene = scene
        self.size = (int(size[0]), int(size[1]))
        self.plotter = pv.Plotter(off_screen=True, window_size=list(self.size))
        if multi_samples is not None:  # None: pyvista's default, as `render` and the app
            self.plotter.render_window.SetMultiSamples(int(multi_samples))
        self.view = SceneView(scene, self.plotter)
        self.base_visibility = layer_visibility(scene)
        self.caption = Caption(self.plotter.renderer) if captions else None
        self.ren_win = self.plotter.render_window
        self._pixels = vtk.vtkUnsignedCharArray()
        self.render_s = 0.0
        self.readback_s = 0.0

    def __enter__(self) -> FrameRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            restore_visibility(self.scene, self.base_visibility)
        finally:
            close_view = getattr(self.view, "close", None)
            if close_view is not None:  # stop listening to the scene before the plotter goes
                close_view()
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

    def frame(self) -> np.ndarray:
        """Render and read back: (h, w, 3) uint8, top row first."""
        from vtk.util.numpy_support import vtk_to_numpy

        t0 = time.perf_counter()
        self.ren_win.Render()
        self.ren_win.WaitForCompletion()
        t1 = time.perf_counter()
        w, h = self.size
        # Front buffer: the resolved (multisampled, gamma-correct) image that
        # the screenshot path reads too; no second render.
        self.ren_win.GetPixelData(0, 0, w - 1, h - 1, 1, self._pixels, 0)
        img = vtk_to_numpy(self._pixels).reshape(h, w, -1)[::-1, :, :3]
        out = np.ascontiguousarray(img)
        self.render_s += t1 - t0
        self.readback_s += time.perf_counter() - t1
        return out

    def tour_frame(self, state: TourState) -> np.ndarray:
        apply_state(self.view, state, self.base_visibility, self.caption)
        return self.frame()

    def bookmark_frame(self, name: str) -> np.ndarray:
        restore_visibility(self.scene, self.base_visibility)
        if self.caption is not None:
            self.caption.set(None)
        self.view.apply_bookmark(name)
        return self.frame()


# -- encoding -----------------------------------------------------------------------
class _Encoder(threading.Thread):
    """Owns the ffmpeg writer; frames arrive through a bounded queue."""

    def __init__(
        self, path: Path, size: tuple[int, int], fps: float, crf: int, preset: str, depth: int
    ) -> None:
        super().__init__(name="citytwin-encoder", daemon=True)
        self.path, self.size, self.fps, self.crf, self.preset = path, size, fps, crf, preset
        self.frames: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.written = 0
        self.send_s = 0.0
        self.close_s = 0.0
        self.ready = threading.Event()

    def run(self) -> None:
        import imageio_ffmpeg

        writer = None
        try:
            writer = imageio_ffmpeg.write_frames(
                str(self.path),
                self.size,
                fps=self.fps,
                codec="libx264",
                quality=None,
                macro_block_size=2,
                ffmpeg_log_level="error",
                output_params=[
                    "-preset",
                    self.preset,
                    "-crf",
                    str(self.crf),
                    "-movflags",
                    "+faststart",
                ],
            )
            writer.send(None)
            self.ready.set()
            while True:
                frame = self.frames.get()
                if frame is None:
                    break
                t0 = time.perf_counter()
                writer.send(frame)
                self.send_s += time.perf_counter() - t0
                self.written += 1
        except BaseException as exc:
            self.error = exc
        finally:
            self.ready.set()
            if writer is not None:
                t0 = time.perf_counter()
                try:
                    writer.close()  # ffmpeg flushes and writes the MP4 index
                except BaseException as exc:
                    self.error = self.error or exc
                self.close_s = time.perf_counter() - t0

    def put(self, frame: np.ndarray) -> float:
        """Queue a frame; returns seconds spent waiting for room."""
        t0 = time.perf_counter()
        while True:
            self._check()
            try:
                self.frames.put(frame, timeout=0.1)
                return time.perf_counter() - t0
            except queue.Full:
                continue

    def _check(self) -> None:
        if self.error is not None or not self.is_alive():
            raise OSError(f"{self.path}: video encoding failed: {self.error or 'encoder stopped'}")

    def finish(self) -> None:
        """Ask ffmpeg to finish the file and wait for it (even if it failed)."""
        while self.is_alive():
            try:
                self.frames.put(None, timeout=0.1)
                break
            except queue.Full:
                continue
        self.join()


@dataclass
class ExportProgress:
    """Passed to the progress callback after each frame."""

    done: int
    total: int
    elapsed: float
    eta: float | None  # seconds left, from the recent frame rate
    rate: float | None  # frames per second over the last frames


@dataclass
class ExportResult:
    """What an export produced and where the time went (seconds).

    timings: ``render`` (GL draw + finish), ``readback`` (pixels to numpy),
    ``state`` (sampling the tour, camera, caption layout), ``png`` (``--frames``),
    ``queue_wait`` (renderer blocked on a full queue: encoder slower),
    ``encode_send`` (encoder thread writing to ffmpeg), ``encode_finish``
    (ffmpeg flushing after the last frame), ``wall``, and the CPU seconds of
    ffmpeg (``encoder_cpu``) and of this process, render threads included
    (``process_cpu``).
    """

    output: Path | None
    frames: int
    total: int
    fps: float
    size: tuple[int, int]
    interrupted: bool = False
    timings: dict[str, float] = field(default_factory=dict)


class ExportInterrupted(KeyboardInterrupt):
    """Ctrl-C during an export, after cleaning up; ``result`` says what is left."""

    def __init__(self, result: ExportResult) -> None:
        super().__init__("export interrupted")
        self.result = result


def check_video_path(output: Path) -> None:
    if output.suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(
            f"{output}: unsupported video type {output.suffix!r}; use {', '.join(VIDEO_SUFFIXES)}"
        )
    if not output.parent.is_dir():
        raise FileNotFoundError(f"{output}: folder {output.parent} does not exist")


def check_size(size: tuple[int, int]) -> None:
    if size[0] % 2 or size[1] % 2:
        raise ValueError(
            f"video size {size[0]}x{size[1]} must have an even width and height (H.264 4:2:0)"
        )


def export_tour(
    scene: Scene,
    tour: Tour,
    output: Path | str | None,
    *,
    fps: float = 30.0,
    size: tuple[int, int] = (1920, 1080),
    frames_dir: Path | str | None = None,
    progress: Callable[[ExportProgress], None] | None = None,
    on_state: Callable[[TourState], None] | None = None,
    keep_partial: bool = True,
    crf: int = 18,
    preset: str = "veryfast",
    times: Sequence[float] | None = None,
    queue_depth: int = 6,
    on_frame: Callable[[int, np.ndarray], None] | None = None,
    multi_samples: int | None = None,
) -> ExportResult:
    """Render ``tour`` offscreen and encode it as H.264 to ``output``.

    Parameters
    ----------
    output : the video (.mp4, .mkv or .mov), or None to only render (``frames_dir``
        or benchmarks).
    fps, size : frame rate and pixel size; width and height must be even.
    frames_dir : also write every frame as ``frame_00000.png`` there (for
        inspection and tests).
    progress : called after each frame with an :class:`ExportProgress`.
    on_state : called with each frame's :class:`TourState` before it is drawn,
        so a simulation clock can follow ``state.scene_time``.
    keep_partial : on Ctrl-C keep a playable video of the frames done (True) or
        leave no file (False). Either way :class:`ExportInterrupted` is raised.
    crf, preset : x264 quality (lower is better, 18 is visually lossless) and
        speed; "veryfast" leaves the two cores mostly to the renderer.
    times : frame times in seconds instead of ``tour.frame_times(fps)``
        (benchmarks spread a few frames over the whole tour).
    queue_depth : frames buffered between renderer and encoder (bounds memory).
    on_frame : called with (index, image) for every frame (hashing, benchmarks).
    multi_samples : MSAA samples; None keeps pyvista's default, as ``render`` and
        the app use. 0 roughly halves the frame time on a software renderer.
    """
    size = (int(size[0]), int(size[1]))
    check_size(size)
    stamps = tour.frame_times(fps) if times is None else np.asarray(times, dtype=np.float64)
    total = len(stamps)
    frames_path = Path(frames_dir) if frames_dir is not None else None
    if frames_path is not None:
        frames_path.mkdir(parents=False, exist_ok=True)
    out = Path(output) if output is not None else None
    tmp: Path | None = None
    if out is not None:
        check_video_path(out)
        tmp = out.with_name(f".{out.stem}.{os.getpid()}.part{out.suffix}")
        try:
            with open(tmp, "xb"):
                pass
        except FileExistsError:
            tmp.unlink()
        except OSError as exc:
            raise PermissionError(
                f"{out}: cannot write in {out.parent} ({exc.strerror or exc})"
            ) from None

    path = tour.path
    timings = dict.fromkeys(
        ("state", "render", "readback", "png", "queue_wait", "encode_send", "encode_finish"), 0.0
    )
    cpu0 = time.process_time()
    child0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    encoder: _Encoder | None = None
    renderer: FrameRenderer | None = None
    done = 0
    interrupted = False
    moved = False
    recent: deque[float] = deque(maxlen=30)
    try:
        try:
            renderer = FrameRenderer(scene, size, multi_samples=multi_samples)
            if out is not None and tmp is not None:
                encoder = _Encoder(tmp, size, fps, crf, preset, queue_depth)
                encoder.start()
                encoder.ready.wait()
                encoder._check()
            for k, t in enumerate(stamps):
                t0 = time.perf_counter()
                state = path.sample(float(t))
                if on_state is not None:
                    on_state(state)
                apply_state(renderer.view, state, renderer.base_visibility, renderer.caption)
                timings["state"] += time.perf_counter() - t0
                image = renderer.frame()
                if on_frame is not None:
                    on_frame(k, image)
                if frames_path is not None:
                    from twin.render import save_png

                    t1 = time.perf_counter()
                    save_png(image, frames_path / f"frame_{k:05d}.png")
                    timings["png"] += time.perf_counter() - t1
                if encoder is not None:
                    timings["queue_wait"] += encoder.put(image)
                done = k + 1
                now = time.perf_counter()
                recent.append(now)
                if progress is not None:
                    rate = _rate(recent)
                    eta = (total - done) / rate if rate else None
                    progress(ExportProgress(done, total, now - start, eta, rate))
        except KeyboardInterrupt:
            interrupted = True
            log.info("export interrupted after %d of %d frames", done, total)
        finally:
            if renderer is not None:
                timings["render"] = renderer.render_s
                timings["readback"] = renderer.readback_s
                renderer.close()
            if encoder is not None:
                encoder.finish()
                timings["encode_send"] = encoder.send_s
                timings["encode_finish"] = encoder.close_s
        frames = done
        if encoder is not None:
            frames = encoder.written
            if encoder.error is not None:
                raise OSError(f"{out}: video encoding failed: {encoder.error}")
            if frames and (not interrupted or keep_partial):
                _fsync(tmp)
                os.replace(tmp, out)  # type: ignore[arg-type]
                _fsync_dir(out.parent)  # type: ignore[union-attr]
                moved = True
    finally:
        if tmp is not None and not moved:
            with contextlib.suppress(OSError):
                tmp.unlink()
    child1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    timings["encoder_cpu"] = (child1.ru_utime - child0.ru_utime) + (
        child1.ru_stime - child0.ru_stime
    )
    timings["process_cpu"] = time.process_time() - cpu0
    timings["wall"] = time.perf_counter() - start
    result = ExportResult(
        output=out if moved else None,
        frames=frames,
        total=total,
        fps=fps,
        size=size,
        interrupted=interrupted,
        timings=timings,
    )
    if interrupted:
        raise ExportInterrupted(result)
    return result


def encode_frames(
    frames: Sequence[np.ndarray],
    output: Path | str,
    fps: float = 30.0,
    crf: int = 18,
    preset: str = "veryfast",
) -> dict[str, float]:
    """Encode ready frames with exactly the export's encoder settings and
    return its timings (``wall``, ``encoder_cpu``): the encoder alone, for
    benchmarks that compare it with the pipelined export."""
    h, w = frames[0].shape[:2]
    child0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    encoder = _Encoder(Path(output), (w, h), fps, crf, preset, depth=6)
    encoder.start()
    encoder.ready.wait()
    try:
        for frame in frames:
            encoder.put(frame)
    finally:
        encoder.finish()
    wall = time.perf_counter() - start
    if encoder.error is not None:
        raise OSError(f"{output}: video encoding failed: {encoder.error}")
    child1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (child1.ru_utime - child0.ru_utime) + (child1.ru_stime - child0.ru_stime)
    return {"wall": wall, "encoder_cpu": cpu, "encode_finish": encoder.close_s}


def _rate(recent: deque[float]) -> float | None:
    """Frames per second over the recent frames (the first frame, with GL
    start-up, would skew a whole-run average)."""
    if len(recent) < 2:
        return None
    return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-9)


def _fsync(path: Path | None) -> None:
    if path is None:
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem allows it
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_video(path: Path | str) -> tuple[dict, list[np.ndarray]]:
    """Decode a video with the bundled ffmpeg: (metadata, frames as (h, w, 3)
    uint8). For tests and for checking that an export is playable."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = reader.__next__()
    w, h = meta["size"]
    frames = [np.frombuffer(buf, dtype=np.uint8).reshape(h, w, 3) for buf in reader]
    return meta, frames
