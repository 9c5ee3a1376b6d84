"""Frame rate of a mouse drag in the real window against scripted renders of the same view.

Opens the main window on the pilot scene (1400x860), then in one process:

* **drag**: a left-button drag across the 3D view, one synthetic mouse step at a
  time, each followed by the event loop's paint; frames/s = steps / wall time,
  and VTK renders per step (counted on the renderer's EndEvent);
* **scripted**: the same number of camera azimuth steps, each rendered once
  through ``ren_win.Render()`` (no paint, no blit into the widget);
* **painted**: the same steps, each asked of the widget (``update()``) and
  painted by the event loop: one render plus the blit and Qt's composition,
  the ceiling a drag in the window can reach.

``--plain`` leaves out ``_one_render_per_paint`` (the window as it was before
"One view": VTK's interactor renders at once on each step and the paint that
follows renders again). Run both, interleaved, with::

    xvfb-run -a .venv/bin/python bench/bench_drag.py --pairs 3

which starts one fresh window process per measurement, alternating
plain/fixed, and prints the paired table (this machine's speed drifts by tens
of percent over minutes, so only interleaved pairs are compared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PILOT = ROOT / "scenes" / "viet_tri.toml"


def measure(plain: bool, steps: int) -> dict:
    from PySide6.QtCore import QEvent, QEventLoop, QPointF, QSettings, Qt, QTimer
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    import importers
    from app import main_window as mw

    app = QApplication.instance() or QApplication([])
    if plain:
        mw._one_render_per_paint = lambda _plotter: None
    settings = QSettings(str(Path(os.environ.get("TMPDIR", "/tmp")) / "drag.ini"),
                         QSettings.Format.IniFormat)
    window = mw.MainWindow(importers.open_scene(PILOT), scene_path=PILOT, settings=settings)
    window.resize(1400, 860)
    window.show()
    settle = QEventLoop()
    QTimer.singleShot(2500, settle.quit)
    settle.exec()
    window.go_to_bookmark("overview")
    app.processEvents()
    widget = window.plotter.interactor
    renderer = window.plotter.renderer
    renders: list[float] = []
    tag = renderer.AddObserver("EndEvent", lambda *_: renders.append(time.perf_counter()))
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    x0, y = widget.width() // 4, widget.height() // 2

    def send(kind, x, button, buttons):
        pos = QPointF(x, y)
        QApplication.sendEvent(widget, QMouseEvent(kind, pos, widget.mapToGlobal(pos), button,
                                                   buttons, Qt.KeyboardModifier.NoModifier))
        app.processEvents()

    send(QEvent.Type.MouseButtonPress, x0, left, left)
    renders.clear()
    t0 = time.perf_counter()
    for k in range(1, steps + 1):
        send(QEvent.Type.MouseMove, x0 + 3 * k, none, left)
    drag_s = time.perf_counter() - t0
    drag_renders = len(renders)
    send(QEvent.Type.MouseButtonRelease, x0 + 3 * steps, left, none)

    ren_win = window.plotter.ren_win
    cam = renderer.GetActiveCamera()
    t0 = time.perf_counter()
    for _ in range(steps):
        cam.Azimuth(0.5)
        ren_win.Render()
    scripted_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        cam.Azimuth(0.5)
        widget.update()
        app.processEvents()
    painted_s = time.perf_counter() - t0
    renderer.RemoveObserver(tag)
    gl = window.render_quality
    window.close()
    return {
        "plain": plain,
        "steps": steps,
        "drag_fps": steps / drag_s,
        "renders_per_step": drag_renders / steps,
        "scripted_fps": steps / scripted_s,
        "painted_fps": steps / painted_s,
        "viewport": list(widget.size().toTuple()),
        "anti_aliasing": gl,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--pairs", type=int, default=3, help="plain/fixed pairs, interleaved")
    p.add_argument("--one", choices=("plain", "fixed"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one == "plain", args.steps)))
        return 0
    rows = []
    for _ in range(args.pairs):
        for mode in ("plain", "fixed"):
            out = subprocess.run(
                [sys.executable, __file__, "--one", mode, "--steps", str(args.steps)],
                capture_output=True, text=True, check=True,
            )
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'mode':6s} {'drag fps':>9s} {'renders/step':>13s} {'scripted fps':>13s} "
          f"{'painted fps':>12s} {'drag/scripted':>14s} {'drag/painted':>13s}")
    for r in rows:
        mode = "plain" if r["plain"] else "fixed"
        print(f"{mode:6s} {r['drag_fps']:9.2f} {r['renders_per_step']:13.2f} "
              f"{r['scripted_fps']:13.2f} {r['painted_fps']:12.2f} "
              f"{r['drag_fps'] / r['scripted_fps']:14.2f} {r['drag_fps'] / r['painted_fps']:13.2f}")
    for mode in (True, False):
        ratios = [r["drag_fps"] / r["scripted_fps"] for r in rows if r["plain"] is mode]
        print(f"median drag/scripted, {'plain' if mode else 'fixed'}: "
              f"{statistics.median(ratios):.2f}")
    print(f"viewport {rows[-1]['viewport']}, anti-aliasing {rows[-1]['anti_aliasing']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
