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
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twin.render.offscreen import OffscreenRenderer, save_png
from twin.render.tourstate import apply_state
from twin.scene import Scene
from twin.tour import Tour, TourState

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov")


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
    sun: bool | str = "auto",
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
    sun : light every frame by the sun at its scene time (as the window's Sun light):
        "auto" (on by default, :func:`twin.render.looks.default_sun`), True or False.
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
    renderer: OffscreenRenderer | None = None
    done = 0
    interrupted = False
    moved = False
    recent: deque[float] = deque(maxlen=30)
    try:
        try:
            renderer = OffscreenRenderer(scene, size, multi_samples=multi_samples, sun=sun)
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
                renderer.set_time(state.scene_time)
                renderer.light_by_sun(state.scene_time)
                apply_state(renderer.view, state, renderer.base_visibility, renderer.caption)
                timings["state"] += time.perf_counter() - t0
                image = renderer.frame()
                if on_frame is not None:
                    on_frame(k, image)
                if frames_path is not None:
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
