"""IFC on screen while it loads (issue 20): time to the first elements, time to
the whole model, GUI-thread stalls, and how the import scales from 1 to 2 cores.

``gui`` (default; needs a display, ``xvfb-run -a``): the real window on a scene
fitted to the file (as ``citytwin open FILE`` makes it), cache off, a 5 ms
heartbeat timer on the GUI thread. Reports, from ``start_import``:

- ``parsed_s``: the worker's meta record arrived (parsing and selection done);
- ``first_on_screen_s``: the first batch's actor is in the view and a frame is
  asked for; ``first_frame_s``: the first heartbeat after it (the frame drawn);
- ``complete_s``: the final layer is in the scene (``job.done``);
- ``layer_added_s``: the final layer is in the scene (``job.succeeded``);
- ``batches``: draws of batches; ``add_ms_max``: the GUI thread's longest
  time adding batches (frame not included); ``loading_max_gap_ms`` /
  ``p99_gap_ms`` / ``gaps_over_30ms``: heartbeat gaps while the model loads
  (frames included), ``final_layer_gap_ms``: the gap that adds the final layer
  (panels, table, tree; the same as before issue 20);
- ``swap_max_beyond_frame_ms`` / ``swap_beyond_frame_over_30ms``: from the
  final layer's arrival until the bench stops (1 s after ``done``), the
  longest heartbeat gap less the VTK frames inside it (what the GUI thread
  did besides drawing), and how many such gaps exceed 30 ms;
  ``swap_first_frame_ms``: the first frame that draws the final layer;
  ``swap_atomic``: whether any frame showed both the preview and the final
  layer, or neither (``app.import_preview.SwapWatch``);
- ``*_cpu_beyond_frame*_ms``: the same gaps counted in the GUI thread's own
  CPU time (``time.thread_time``) less its CPU inside frames: the work the
  GUI thread did, apart from the time it waited for a core on a loaded machine.

``overhead``: headless cold imports with and without the preview sink,
interleaved (the preview's cost to the import thread).

``scaling``: headless cold imports (``importers.open``, cache off) with 1 and 2
kernel threads, and with the whole process tree pinned to one core
(``sched_setaffinity`` before the worker server starts) against both cores,
interleaved, each in a fresh interpreter.

    .venv/bin/python bench/ifc_towers.py --size-mb 20        # the 20 MB tower
    xvfb-run -a .venv/bin/python bench/bench_ifc_progressive.py gui --repeat 3
    .venv/bin/python bench/bench_ifc_progressive.py overhead --repeat 3
    .venv/bin/python bench/bench_ifc_progressive.py scaling --repeat 2
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def default_tower() -> Path:
    from ifc_towers import bench_dir

    found = sorted(bench_dir().glob("tower_20mb*.ifc"))
    if not found:
        raise SystemExit("no 20 MB tower: run .venv/bin/python bench/ifc_towers.py --size-mb 20")
    return found[0]


def _load() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


# -- gui ----------------------------------------------------------------------------------
def measure_gui(path: Path, trace: Path | None = None, trace_ms: float = 100.0) -> dict:
    """One import in the window (module docstring); ``trace``: every thread's
    stack is dumped there when a beat is ``trace_ms`` late (as bench_gui_stall)."""
    import faulthandler

    from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    import importers
    from app import main_window as mw

    try:
        from app.import_preview import SwapWatch
    except ImportError:  # a tree before the watch (the bench's "before" runs)
        SwapWatch = None
    from importers.ifc import runner

    _app = QApplication.instance() or QApplication([])  # kept alive for the run
    settings = QSettings(
        str(Path(tempfile.gettempdir()) / "progressive.ini"), QSettings.Format.IniFormat
    )
    window = mw.MainWindow(importers.scene_for(path), settings=settings)
    window.resize(1280, 800)
    window.show()
    settle = QEventLoop()
    QTimer.singleShot(2000, settle.quit)
    settle.exec()

    clock = QElapsedTimer()
    beats: list[float] = []
    cpu: list[float] = []  # the GUI thread's own CPU seconds at each beat
    frame_cpu: list[tuple[float, float, float]] = []  # (wall end, its CPU start, end)
    marks: dict[str, float] = {}
    tell = runner.Supervisor._tell

    def spy(self, tag, data):  # when the worker's records arrive (bench-only)
        marks.setdefault(tag, clock.nsecsElapsed() / 1e9)
        tell(self, tag, data)

    runner.Supervisor._tell = spy
    timer = QTimer()
    timer.setInterval(5)
    trace_fh = open(trace, "w") if trace else None  # noqa: SIM115

    def beat() -> None:
        beats.append(clock.nsecsElapsed() / 1e9)
        cpu.append(time.thread_time())
        if trace_fh is not None:
            faulthandler.dump_traceback_later(trace_ms / 1000, file=trace_fh)

    timer.timeout.connect(beat)
    loop = QEventLoop()
    done: dict[str, float] = {}

    def finished(_job) -> None:
        done["t"] = clock.nsecsElapsed() / 1e9
        QTimer.singleShot(1000, loop.quit)  # the final layer's first frames count too

    # frames: the render window's own start/end (bench-only hook), so a gap can
    # be split into the frame and the rest ("beyond the frame being drawn")
    frames: list[list[float]] = []
    ren_win = window.plotter.ren_win
    ren_win.AddObserver("StartEvent", lambda *_: frames.append([clock.nsecsElapsed() / 1e9, -1]))
    ren_win.AddObserver("StartEvent", lambda *_: frame_cpu.append((0.0, time.thread_time(), -1)))
    ren_win.AddObserver(
        "EndEvent",
        lambda *_: frame_cpu.__setitem__(
            -1, (clock.nsecsElapsed() / 1e9, frame_cpu[-1][1], time.thread_time())
        ),
    )
    ren_win.AddObserver(
        "EndEvent", lambda *_: frames[-1].__setitem__(1, clock.nsecsElapsed() / 1e9)
    )
    clock.start()
    timer.start()
    job = window.start_import(path, {"cache": False})
    atomic = SwapWatch(window.view, job.preview, path) if SwapWatch else None
    job.done.connect(finished)
    job.succeeded.connect(lambda _l: done.setdefault("ok", clock.nsecsElapsed() / 1e9))
    first: dict[str, float] = {}
    job.batch.connect(lambda _b: first.setdefault("t", clock.nsecsElapsed() / 1e9))
    QTimer.singleShot(600_000, loop.quit)
    loop.exec()
    timer.stop()
    if trace_fh is not None:
        faulthandler.cancel_dump_traceback_later()
        trace_fh.close()
    runner.Supervisor._tell = tell
    if "t" not in done:
        raise SystemExit("import did not finish in 600 s")
    preview = job.preview
    layer = window.scene.layers[-1]
    shown = preview.first_shown_s
    after = [b for b in beats if shown is not None and b > shown]
    pairs = list(itertools.pairwise(beats))
    ok = done.get("ok", done["t"])
    gaps = sorted(b - a for a, b in pairs if b <= ok)  # while loading
    spans = [(f0, f1) for f0, f1 in frames if f1 >= f0]

    def beyond(a: float, b: float) -> float:
        return b - a - sum(max(0.0, min(b, f1) - max(a, f0)) for f0, f1 in spans)

    rest = sorted(beyond(a, b) for a, b in pairs if b <= ok)
    frame_ms = sorted((f1 - f0) * 1000 for f0, f1 in spans if f1 <= ok)
    final = max((b - a for a, b in pairs if a <= ok + 0.05 and b >= ok), default=0.0)
    # the swap: the gap in which the final layer replaced the preview, and every
    # gap from then until the bench stops (1 s after done), less their frames
    swap = [(a, b) for a, b in pairs if b >= ok]
    swap_rest = sorted(beyond(a, b) for a, b in swap)
    swap_frames = [(f1 - f0) * 1000 for f0, f1 in spans if f0 >= ok - 0.05]
    # the same gaps in the GUI thread's own CPU time, less its CPU inside frames:
    # what it computed besides drawing, whatever the machine's load made it wait
    fc = [(c0, c1) for _, c0, c1 in frame_cpu if c1 >= c0]

    def cpu_beyond(i: int) -> float:
        a, b = cpu[i], cpu[i + 1]
        return b - a - sum(max(0.0, min(b, c1) - max(a, c0)) for c0, c1 in fc)

    idx = range(len(beats) - 1)
    cpu_loading = sorted(cpu_beyond(i) for i in idx if beats[i + 1] <= ok)
    cpu_swap = sorted(cpu_beyond(i) for i in idx if beats[i + 1] >= ok)
    if atomic is not None:
        atomic.stop()
    window.close()
    return {
        "file": path.name,
        "elements": int(layer.info.get("elements_with_geometry", 0)),
        "load": _load(),
        "parsed_s": round(marks.get("meta", float("nan")), 2),
        "table_s": round(marks.get("semantics", float("nan")), 2),
        "first_on_screen_s": round(shown, 2) if shown is not None else None,
        "first_frame_s": round(after[0], 2) if after else None,
        "layer_added_s": round(ok, 2),
        "complete_s": round(done["t"], 2),
        "batches": len(preview.add_ms),
        "add_ms_max": round(max(preview.add_ms), 1) if preview.add_ms else None,
        "add_ms_median": round(statistics.median(preview.add_ms), 1) if preview.add_ms else None,
        "loading_max_gap_ms": round(gaps[-1] * 1000, 1) if gaps else None,
        "loading_top5_ms": [round(g * 1000) for g in gaps[-5:]],
        "p99_gap_ms": round(gaps[int(0.99 * (len(gaps) - 1))] * 1000, 1) if gaps else None,
        "gaps_over_30ms": sum(g > 0.030 for g in gaps),
        "loading_max_beyond_frames_ms": round(rest[-1] * 1000, 1) if rest else None,
        "loading_beyond_frames_over_30ms": sum(g > 0.030 for g in rest),
        "frames_while_loading": len(frame_ms),
        "frame_ms_median_max": [round(statistics.median(frame_ms)), round(frame_ms[-1])]
        if frame_ms
        else None,
        "final_layer_gap_ms": round(final * 1000, 1),
        "swap_max_beyond_frame_ms": round(swap_rest[-1] * 1000, 1) if swap_rest else None,
        "swap_beyond_frame_over_30ms": sum(g > 0.030 for g in swap_rest),
        "swap_first_frame_ms": round(swap_frames[0]) if swap_frames else None,
        "loading_max_cpu_beyond_frames_ms": round(cpu_loading[-1] * 1000, 1)
        if cpu_loading
        else None,
        "swap_max_cpu_beyond_frame_ms": round(cpu_swap[-1] * 1000, 1) if cpu_swap else None,
        "swap_atomic": atomic.verdict() if atomic is not None else None,
        "timings_s": layer.info.get("timings_s"),
    }


# -- headless ------------------------------------------------------------------------------
def one_import(path: Path, threads: int | None, preview: bool) -> dict:
    """One cold import in this process (``--one``)."""
    import importers
    from importers import ifc

    scene = importers.scene_for(path)
    opts: dict = {"cache": False}
    if threads:
        opts["threads"] = threads
    count = [0]
    t0 = time.perf_counter()
    if preview:
        layers = ifc.read(path, scene, opts, preview=lambda _b: count.__setitem__(0, count[0] + 1))
    else:
        layers = importers.open(path, scene, opts)
    dt = time.perf_counter() - t0
    info = layers[0].info
    return {
        "wall_s": round(dt, 2),
        "worker_cpu_s": info.get("worker_cpu_s"),
        "batches": count[0],
        "threads": info.get("threads"),
        "cpus": len(os.sched_getaffinity(0)),
        "fastpath": info.get("fastpath"),
    }


def fresh(path: Path, threads: int | None, preview: bool, cores: set[int] | None) -> dict:
    """:func:`one_import` in a fresh interpreter (own worker server), optionally
    pinned to ``cores`` before anything starts."""
    cmd = [sys.executable, __file__, "one", str(path), "--preview" if preview else "--plain"]
    if threads:
        cmd += ["--threads", str(threads)]

    def pin() -> None:
        if cores is not None:
            os.sched_setaffinity(0, cores)

    env = {**os.environ, "CITYTWIN_CACHE_DIR": tempfile.mkdtemp(prefix="ct-bench-cache-")}
    out = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=pin, env=env, check=True)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row["load"] = _load()
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", nargs="?", default="gui", choices=["gui", "overhead", "scaling", "one"])
    ap.add_argument("file", nargs="?", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--preview", action="store_true")
    ap.add_argument("--plain", action="store_true")
    ap.add_argument("--trace", type=Path, help="gui: dump every thread's stack on a late beat")
    ap.add_argument("--trace-ms", type=float, default=100.0)
    args = ap.parse_args()
    path = args.file or default_tower()
    if args.mode == "one":
        print(json.dumps(one_import(path, args.threads, args.preview)))
        return 0
    rows = []
    if args.mode == "gui":
        for _ in range(args.repeat):
            rows.append(measure_gui(path, args.trace, args.trace_ms))
            print(json.dumps(rows[-1]), flush=True)
    elif args.mode == "overhead":
        for _ in range(args.repeat):
            for preview in (False, True):
                row = {"preview": preview, **fresh(path, None, preview, None)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    else:
        both = set(sorted(os.sched_getaffinity(0))[:2])
        one = {min(both)}
        configs = [("1 core, 1 thread", 1, one), ("2 cores, 1 thread", 1, both),
                   ("2 cores, 2 threads", 2, both)]  # fmt: skip
        for _ in range(args.repeat):
            for label, threads, cores in configs:
                row = {"config": label, **fresh(path, threads, False, cores)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
