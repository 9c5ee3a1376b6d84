"""GUI-thread stalls while the app imports the largest shared IFC file.

Opens the real main window on the pilot scene, starts a 5 ms heartbeat timer on
the GUI thread, imports the largest IFC in ``../shared/data/ifc`` (cache off)
through ``MainWindow.start_import`` (worker thread, progress dialog), and keeps
beating until one second after the layer is on screen. A gap between beats is
time the GUI thread could not answer the user. Reports the longest gap, the
99th percentile and how many gaps exceed 100 ms (the target: none).

``--trace FILE`` arms :mod:`faulthandler` on every beat: a C watchdog that dumps
every thread's Python stack to FILE when a beat is more than ``--trace-ms``
late, even while a thread holds the GIL in native code. That is how a stall's
culprit is found.

Needs a display: ``xvfb-run -a .venv/bin/python bench/bench_gui_stall.py``.
"""

from __future__ import annotations

import argparse
import faulthandler
import itertools
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED_IFC = ROOT.parent / "shared" / "data" / "ifc"
PILOT = ROOT / "scenes" / "viet_tri.toml"


def largest_ifc() -> Path:
    files = [p for p in SHARED_IFC.rglob("*.ifc") if not {"malformed", "legacy"} & set(p.parts)]
    return max(files, key=lambda p: p.stat().st_size)


def measure(path: Path, trace: Path | None, trace_ms: float) -> dict:
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    import importers
    from app import main_window as mw

    _app = QApplication.instance() or QApplication([])  # kept alive for the run
    settings = QSettings(
        str(Path(os.environ.get("TMPDIR", "/tmp")) / "stall.ini"), QSettings.Format.IniFormat
    )
    window = mw.MainWindow(importers.open_scene(PILOT), scene_path=PILOT, settings=settings)
    window.show()
    settle = QEventLoop()
    QTimer.singleShot(3000, settle.quit)
    settle.exec()
    trace_fh = open(trace, "w") if trace else None  # noqa: SIM115
    beats: list[float] = []
    clock = QElapsedTimer()
    clock.start()

    def beat() -> None:
        beats.append(clock.nsecsElapsed() / 1e6)
        if trace_fh is not None:
            faulthandler.dump_traceback_later(trace_ms / 1000, file=trace_fh)

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(beat)
    timer.start()
    state = {"done": None}
    loop = QEventLoop()

    def finished(_job) -> None:
        state["done"] = time.monotonic()
        QTimer.singleShot(1000, loop.quit)  # the new layer's first frames count too

    job = window.start_import(path, {"cache": False})
    job.done.connect(finished)
    QTimer.singleShot(300_000, loop.quit)
    t0 = time.monotonic()
    loop.exec()
    timer.stop()
    if state["done"] is None:
        raise SystemExit("import did not finish in 300 s")
    if trace_fh is not None:
        faulthandler.cancel_dump_traceback_later()
        trace_fh.close()
    imported = len(window.scene.layers) > 0 and any(
        path.stem in la.name for la in window.scene.layers
    )
    quality = window.render_quality
    window.close()
    gaps = [b - a for a, b in itertools.pairwise(beats)]
    gaps.sort()
    return {
        "file": str(path.relative_to(ROOT.parent))
        if path.is_relative_to(ROOT.parent)
        else str(path),
        "imported": imported,
        "anti_aliasing": quality,
        "import_s": round(state["done"] - t0, 2),
        "beats": len(beats),
        "max_gap_ms": round(gaps[-1], 1),
        "p99_gap_ms": round(gaps[int(0.99 * (len(gaps) - 1))], 1),
        "median_gap_ms": round(statistics.median(gaps), 1),
        "gaps_over_100ms": sum(g > 100 for g in gaps),
        "top5_ms": [round(g, 1) for g in gaps[-5:]],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file", nargs="?", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--trace", type=Path, help="dump every thread's stack on a late beat")
    ap.add_argument("--trace-ms", type=float, default=60.0)
    args = ap.parse_args()
    path = args.file or largest_ifc()
    runs = [
        measure(path, args.trace and args.trace.with_suffix(f".{i}.txt"), args.trace_ms)
        for i in range(args.repeat)
    ]
    print(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
