"""GUI-thread stalls while a streamed city pans at street level in the real window.

Issue 15's target: while tiles stream during a pan at street level, loading work
never blocks the GUI thread for more than 30 ms beyond the frame being drawn.
``bench_city_stream.py`` measures the GUI-thread work of ``TileStream.update`` +
``pump`` in a headless loop; this one measures what a user feels, in the window:

- a scene file with a ``stream = true`` layer over the seeded city GeoPackage
  (``~/.cache/citytwin/city_N.gpkg``, written once by ``bench_city_stream``'s
  ``ensure_city``), opened in the real :class:`app.main_window.MainWindow`;
- a street-level camera (as ``bench_city_stream.street_camera``) dragged at a
  steady speed (``--step-m`` every ``--step-ms``) along rows across the city,
  one row after another, through tiles not loaded yet; a small ``--memory-mb``
  ceiling makes the stream evict tiles as it goes;
- the event loop runs normally: the window's own stream timer pumps finished
  tiles, the frames are the widget's repaints;
- a 5 ms heartbeat QTimer on the GUI thread; the render window's Start/End
  events give the VTK frame spans, and the main window's repaints
  (``UpdateRequest``: every dirty widget, the VTK widget's frame among them,
  composed and flushed) the paint spans. A gap "beyond the frame" is a
  heartbeat gap less the VTK frames inside it, "beyond the paint" less the
  paints; the same in the GUI thread's own CPU time (``time.thread_time``)
  separates work from waiting for a core or the GIL.

Reports frames, frame and paint ms, tiles added/evicted, the longest gaps beyond
the frame and the paint (wall and CPU), how many exceed 30 ms, and the stream's
own GUI-thread calls (update, pump, evict, add) inside the worst gaps.
``--trace FILE`` arms :mod:`faulthandler` on every beat outside a paint (as
``bench_gui_stall.py``): every thread's stack is dumped when a beat is
``--trace-ms`` late.

``--variants`` runs these in turn, ``--repeat`` times, in one run:

- ``new``: the stream and the window as they are (15 ms pump budget);
- ``old``: the path before this bench: evicted tiles removed through pyvista's
  ``plotter.remove_actor``, all at once in one pump, and a 25 ms pump budget;
- ``b25``: as ``new`` with the 25 ms pump budget;
- ``switch1``: as ``new`` with ``sys.setswitchinterval(0.001)`` (the GIL
  changes hands every 1 ms instead of 5);
- ``w1`` / ``w2``: as ``new`` with one / two reading threads (the window's
  default: one fewer than the cores, at most two).
- ``frozen``: a control: once settled the stream chooses no more tiles, so
  nothing loads while the camera pans; what is left is the window's own.

``--from-overview`` settles at the overview (every tile resident as far blocks)
before the street-level pan, so the pan starts with a burst of evictions::

    xvfb-run -a .venv/bin/python bench/bench_stream_stall.py --n 60000 --seconds 20
    xvfb-run -a .venv/bin/python bench/bench_stream_stall.py --n 1000000 --memory-mb 8 \
        --step-m 40 --from-overview --variants old b25 new frozen --repeat 2
"""

from __future__ import annotations

import argparse
import faulthandler
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
SWITCH_S = sys.getswitchinterval()
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "citytwin"


def scene_file(gpkg: Path, folder: Path) -> tuple[Path, tuple[float, float]]:
    """A scene centred on the city with its buildings as one streamed layer;
    returns the file and the city's (width, depth) in metres."""
    import pyogrio

    b = pyogrio.read_info(str(gpkg), layer="buildings", force_total_bounds=True)["total_bounds"]
    cx, cy = round((b[0] + b[2]) / 2, -2), round((b[1] + b[3]) / 2, -2)
    path = folder / "stream_stall.toml"
    path.write_text(
        f"""[scene]
name = "stream stall"
crs = "EPSG:9208"
origin = [{cx}, {cy}, 0.0]

[[layers]]
name = "buildings"
path = "{gpkg}"
options = {{ layer = "buildings" }}
stream = true
""",
        encoding="utf-8",
    )
    return path, (float(b[2] - b[0]), float(b[3] - b[1]))


def pan_path(extent: tuple[float, float], row_m: float = 800.0, reach: float = 2500.0):
    """position(metres travelled) -> (x, y) eye position: rows along x across the
    built-up middle of the city (``reach`` m each side of the centre, at most 35 %
    of the city), each the next ``row_m`` further north, alternating direction (a
    lawnmower), so the eye keeps meeting tiles not loaded yet."""
    half = min(reach, 0.35 * min(extent))
    length = 2 * half

    def at(s: float) -> tuple[float, float]:
        row, along = divmod(s, length)
        x = -half + along if int(row) % 2 == 0 else half - along
        y = -half + (row * row_m) % (2 * half)
        return x, y

    return at


def set_street_camera(plotter, x: float, y: float) -> None:
    """``bench_city_stream.street_camera`` moved to (x, y): eye ~27 m up,
    looking 300 m ahead north-east, a little down."""
    cam = plotter.renderer.GetActiveCamera()
    cam.SetPosition(x, y - 40.0, 26.7)
    cam.SetFocalPoint(x + 300.0, y + 300.0, 10.0)
    cam.SetViewUp(0, 0, 1)
    cam.SetViewAngle(40)


class Spans:
    """Wall and CPU spans of the stream's GUI-thread calls (bench-only wrappers on
    the instance: the stream, its frame observer and the window's timer all call
    ``self.update`` / ``self.pump`` / ``self.evict`` / ``self._add``)."""

    def __init__(self, stream, clock) -> None:
        self.clock = clock
        self.rows: list[tuple[str, float, float, float]] = []  # (what, start, end, cpu)
        self.adds = 0
        self.evicted = 0
        self.most_evicted = 0
        #: (start, end) of each tile read in the worker threads
        self.reads: list[tuple[float, float]] = []
        for name in ("update", "pump", "evict", "_add"):
            setattr(stream, name, self._wrap(name, getattr(stream, name)))
        read = stream._read

        def timed_read(t: int, d: int):
            t0 = clock.nsecsElapsed() / 1e9
            try:
                return read(t, d)
            finally:
                self.reads.append((t0, clock.nsecsElapsed() / 1e9))

        stream._read = timed_read  # submitted as self._read: the pool runs this

    def _wrap(self, name: str, fn):
        def call(*a, **k):
            t0, c0 = self.clock.nsecsElapsed() / 1e9, time.thread_time()
            out = fn(*a, **k)
            t1 = self.clock.nsecsElapsed() / 1e9
            self.rows.append((name, t0, t1, time.thread_time() - c0))
            if name == "_add":
                self.adds += 1
            elif name == "evict":
                self.evicted += out
                self.most_evicted = max(self.most_evicted, out)
            return out

        return call

    def longest(self, name: str) -> float:
        return max((b - a for n, a, b, _ in self.rows if n == name), default=0.0)

    def longest_cpu(self, name: str) -> float:
        return max((c for n, _, _, c in self.rows if n == name), default=0.0)

    def reading(self, a: float, b: float) -> bool:
        """Whether a worker was reading a tile at some time in (a, b)."""
        return any(r1 > a and r0 < b for r0, r1 in self.reads)

    def inside(self, a: float, b: float) -> list[str]:
        """The calls that overlap the span (a, b), longest first (nested: an add
        or an evict lies inside its pump)."""
        hits = [(t1 - t0, n) for n, t0, t1, _ in self.rows if t1 > a and t0 < b]
        return [f"{n} {d * 1e3:.0f} ms" for d, n in sorted(hits, reverse=True)[:4]]


class WindowPaints:
    """Wall spans of the main window's repaints (its UpdateRequest: every dirty
    widget painted, the VTK widget's frame among them, then composed and
    flushed). The filter delivers the event itself to time it (bench-only);
    ``on_start``/``on_end`` let the trace watchdog sleep through a paint."""

    def __init__(self, window, clock, on_start, on_end) -> None:
        from PySide6.QtCore import QEvent, QObject

        spans: list[tuple[float, float]] = []
        state = {"inside": False}

        class Filter(QObject):
            def eventFilter(self, obj, ev) -> bool:
                if obj is not window or ev.type() != QEvent.Type.UpdateRequest \
                        or state["inside"]:
                    return False
                state["inside"] = True
                on_start()
                t0 = clock.nsecsElapsed() / 1e9
                try:
                    window.event(ev)
                finally:
                    spans.append((t0, clock.nsecsElapsed() / 1e9))
                    state["inside"] = False
                    on_end()
                return True

        self.spans, self._state, self._window = spans, state, window
        self._filter = Filter()
        window.installEventFilter(self._filter)

    @property
    def inside(self) -> bool:
        return self._state["inside"]

    def stop(self) -> None:
        self._window.removeEventFilter(self._filter)


def old_eviction(stream) -> None:
    """The eviction the stream used before: every tile over the ceiling at once
    (no deadline), each through pyvista's ``remove_actor``."""
    plotter = stream.view.plotter
    stream._drop_actor = lambda _key, actor: plotter.remove_actor(actor, render=False)
    evict = stream.evict
    stream.evict = lambda deadline=None: evict()


def measure(args, gpkg: Path, variant: str, png: Path | None, trace: Path | None) -> dict:
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    import importers
    from app import main_window as mw
    _app = QApplication.instance() or QApplication([])  # kept alive for the run
    # "switch1": the GIL handed over every 1 ms instead of 5 (a GUI thread that
    # wants it back from a reading thread waits up to one interval per ask)
    sys.setswitchinterval(0.001 if variant == "switch1" else SWITCH_S)
    tmp = Path(tempfile.mkdtemp(prefix="ct-stream-stall-"))
    path, extent = scene_file(gpkg, tmp)
    settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
    t0 = time.perf_counter()
    window = mw.MainWindow(importers.open_scene(path), scene_path=path, settings=settings)
    open_s = time.perf_counter() - t0
    w, h = (int(v) for v in args.size.split("x"))
    window.resize(w, h)
    window.show()
    (stream,) = window.view.streams
    if args.memory_mb:
        stream.memory_bytes = int(args.memory_mb * 2**20)
    budget_ms = 25.0 if variant in ("old", "b25") else args.budget_ms
    if budget_ms:  # the window's stream timer calls view.pump_streams(budget)
        pump_streams = window.view.pump_streams
        window.view.pump_streams = lambda *_: pump_streams(budget_ms / 1000)
    if variant == "old":
        old_eviction(stream)
    at = pan_path(extent)

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    if args.from_overview:  # every tile resident as far blocks: leaving drops them
        from bench_city_stream import overview_camera

        overview_camera(window.plotter, extent)
    else:
        set_street_camera(window.plotter, *at(0.0))
    window.request_render()
    deadline = time.perf_counter() + 120
    wait(500)
    while (stream._pending or not stream.resident) and time.perf_counter() < deadline:
        wait(100)
    wait(500)
    if variant == "frozen":  # the control: no more choosing, so no more loading
        stream.update = lambda: len(stream._pending)
    if variant in ("w1", "w2"):  # one or two reading threads (the window: one on 2 cores)
        from concurrent.futures import ThreadPoolExecutor

        stream._pool.shutdown(wait=True)
        stream._pool = ThreadPoolExecutor(max_workers=int(variant[1]), thread_name_prefix="tile")

    clock = QElapsedTimer()
    beats: list[float] = []
    cpu: list[float] = []
    frames: list[list[float]] = []  # [wall start, wall end, cpu start, cpu end]
    ren_win = window.plotter.ren_win

    def frame_start(*_) -> None:
        frames.append([clock.nsecsElapsed() / 1e9, -1.0, time.thread_time(), -1.0])

    def frame_end(*_) -> None:
        if frames and frames[-1][1] < 0:
            frames[-1][1], frames[-1][3] = clock.nsecsElapsed() / 1e9, time.thread_time()

    tags = [ren_win.AddObserver("StartEvent", frame_start),
            ren_win.AddObserver("EndEvent", frame_end)]
    trace_fh = open(trace, "w") if trace else None  # noqa: SIM115

    def arm() -> None:
        if trace_fh is not None:
            faulthandler.dump_traceback_later(args.trace_ms / 1000, file=trace_fh)

    def disarm() -> None:
        if trace_fh is not None:
            faulthandler.cancel_dump_traceback_later()

    paints = WindowPaints(window, clock, disarm, arm)

    def beat() -> None:
        beats.append(clock.nsecsElapsed() / 1e9)
        cpu.append(time.thread_time())
        if not paints.inside:
            arm()

    speed = args.step_m / (args.step_ms / 1000)  # m/s, as a steady drag
    shot: dict[str, str] = {}

    def step() -> None:
        now = clock.nsecsElapsed() / 1e9
        set_street_camera(window.plotter, *at(speed * now))
        window.request_render()

    spans = Spans(stream, clock)
    resident0 = len(stream.resident)
    heart, pan = QTimer(), QTimer()
    heart.setInterval(5)
    heart.timeout.connect(beat)
    pan.setInterval(args.step_ms)
    pan.timeout.connect(step)
    load0 = os.getloadavg()
    clock.start()
    heart.start()
    pan.start()
    wait(int(args.seconds * 1000))
    heart.stop()
    disarm()
    paints.stop()
    if png is not None:  # mid-pan, after the measured time (a grab is no frame)
        wait(300)
        window.grab().save(str(png))
        shot["png"] = str(png)
    pan.stop()
    if trace_fh is not None:
        trace_fh.close()
    for tag in tags:
        ren_win.RemoveObserver(tag)
    load1 = os.getloadavg()
    resident, held_mb = len(stream.resident), stream.bytes / 2**20
    errors = list(stream.errors)
    window.close()

    spans_f = [(f[0], f[1]) for f in frames if f[1] >= f[0]]
    spans_p = [(p0, p1) for p0, p1 in paints.spans if p1 >= p0]
    spans_c = [(f[2], f[3]) for f in frames if f[3] >= f[2]]

    def beyond(a: float, b: float, fs) -> float:
        return b - a - sum(max(0.0, min(b, f1) - max(a, f0)) for f0, f1 in fs)

    pairs = list(itertools.pairwise(range(len(beats))))
    wall = [(beyond(beats[i], beats[j], spans_f), i) for i, j in pairs]
    beyond_paint = sorted(beyond(beats[i], beats[j], spans_p) for i, j in pairs)
    paint_ms = sorted((p1 - p0) * 1e3 for p0, p1 in spans_p)
    # a paint's own work besides the VTK frame (other widgets, composing the
    # window), split by whether a worker was reading a tile meanwhile (the GIL
    # and the two cores are shared with the reads)
    extra: dict[bool, list[float]] = {True: [], False: []}
    for p0, p1 in spans_p:
        extra[spans.reading(p0, p1)].append(beyond(p0, p1, spans_f) * 1e3)
    cpu_b = sorted(beyond(cpu[i], cpu[j], spans_c) for i, j in pairs)
    gaps = sorted(beats[j] - beats[i] for i, j in pairs)
    frame_ms = sorted((f1 - f0) * 1e3 for f0, f1 in spans_f)
    worst = sorted(wall, reverse=True)[:5]
    return {
        "n": args.n,
        "variant": variant,
        "load_start_end": [round(load0[0], 2), round(load1[0], 2)],
        "open_s": round(open_s, 2),
        "from_overview": args.from_overview,
        "budget_ms": budget_ms,
        "resident_start": resident0,
        "seconds": args.seconds,
        "pan_m": round(speed * args.seconds),
        "frames": len(frame_ms),
        "frame_ms_median_max": [round(statistics.median(frame_ms), 1), round(frame_ms[-1], 1)]
        if frame_ms else None,
        "window_paints": len(paint_ms),
        "paint_ms_median_max": [round(statistics.median(paint_ms), 1), round(paint_ms[-1], 1)]
        if paint_ms else None,
        "max_beyond_paint_ms": round(beyond_paint[-1] * 1e3, 1),
        "beyond_paint_over_30ms": sum(g > 0.030 for g in beyond_paint),
        "paint_beyond_frame_ms_median_max_reading": _med_max(extra[True]),
        "paint_beyond_frame_ms_median_max_idle": _med_max(extra[False]),
        "paints_reading_idle": [len(extra[True]), len(extra[False])],
        "reads": len(spans.reads),
        "tiles_added": spans.adds,
        "tiles_evicted": spans.evicted,
        "most_evicted_at_once": spans.most_evicted,
        "resident_end": resident,
        "resident_mb_end": round(held_mb, 1),
        "max_gap_ms": round(gaps[-1] * 1e3, 1),
        "max_beyond_frame_ms": round(worst[0][0] * 1e3, 1),
        "max_cpu_beyond_frame_ms": round(cpu_b[-1] * 1e3, 1),
        "beyond_frame_over_30ms": sum(g > 0.030 for g, _ in wall),
        "cpu_beyond_frame_over_30ms": sum(g > 0.030 for g in cpu_b),
        "p99_beyond_frame_ms": round(float(np.percentile([g for g, _ in wall], 99)) * 1e3, 1),
        "longest_ms": {n: round(spans.longest(n) * 1e3, 1)
                       for n in ("update", "pump", "evict", "_add")},
        "longest_cpu_ms": {n: round(spans.longest_cpu(n) * 1e3, 1)
                           for n in ("update", "pump", "evict", "_add")},
        "worst_gaps": [
            {"at_s": round(beats[i], 2), "beyond_ms": round(g * 1e3, 1),
             "gap_ms": round((beats[i + 1] - beats[i]) * 1e3, 1),
             "calls": spans.inside(beats[i], beats[i + 1])}
            for g, i in worst
        ],
        "errors": errors[:3],
        "png": shot.get("png"),
    }


def _med_max(xs: list[float]) -> list[float] | None:
    return [round(statistics.median(xs), 1), round(max(xs), 1)] if xs else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=60_000, choices=[60_000, 1_000_000])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--memory-mb", type=float, default=64.0,
                    help="the stream's memory ceiling (small: tiles are evicted on the way)")
    ap.add_argument("--step-m", type=float, default=30.0, help="camera move per step")
    ap.add_argument("--step-ms", type=int, default=100, help="time between steps")
    ap.add_argument("--size", default="1280x800", help="window size")
    ap.add_argument("--variants", nargs="+", default=["new"],
                    choices=["new", "old", "switch1", "b25", "frozen", "w1", "w2"])
    ap.add_argument("--budget-ms", type=float,
                    help="the window's pump budget (default: the window's own, 15 ms)")
    ap.add_argument("--from-overview", action="store_true",
                    help="settle at the overview first: the pan starts with a burst of evictions")
    ap.add_argument("--png", type=Path, help="grab the window mid-pan to this PNG")
    ap.add_argument("--trace", type=Path, help="dump every thread's stack on a late beat")
    ap.add_argument("--trace-ms", type=float, default=40.0)
    args = ap.parse_args()
    faulthandler.enable()  # a crash names its stack on stderr
    from bench_city_stream import ensure_city

    gpkg = CACHE / f"city_{args.n}.gpkg"
    gpkg.parent.mkdir(parents=True, exist_ok=True)
    ensure_city(gpkg, args.n)
    modes = args.variants
    rows = []
    for rep in range(args.repeat):
        for mode in modes:
            png = args.png if args.png and rep == 0 and mode == modes[-1] else None
            trace = args.trace.with_suffix(f".{mode}.{rep}.txt") if args.trace else None
            rows.append(measure(args, gpkg, mode, png, trace))
            print(json.dumps(rows[-1]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
