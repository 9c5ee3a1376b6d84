"""Screenshots of one state of the pilot twin on the three paths: the window, its
screenshot export, and a headless ``citytwin render`` (README, "One view").

    xvfb-run -a .venv/bin/python docs/one_view_shots.py docs/

State: the Ga Việt Trì (TOD) bookmark at 2025-06-02 14:00 (+07:00, the flood
crest and an air-quality episode), the station selected, legends on.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PILOT = ROOT / "scenes" / "viet_tri.toml"
BOOKMARK = "Ga Việt Trì (TOD)"
WHEN = "2025-06-02T14:00+07:00"


def main(out: Path) -> None:
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    import importers
    from app import i18n
    from app import main_window as mw
    from twin.render import save_png

    app = QApplication.instance() or QApplication([])
    i18n.install("vi")
    settings = QSettings(str(out / ".shots.ini"), QSettings.Format.IniFormat)
    window = mw.MainWindow(importers.open_scene(PILOT), scene_path=PILOT, settings=settings)
    window.resize(1400, 860)
    window.show()
    wait = QEventLoop()
    QTimer.singleShot(2500, wait.quit)
    wait.exec()
    window.go_to_bookmark(BOOKMARK)
    window.sim.clock.set_time(datetime.fromisoformat(WHEN))
    layer = window.scene.layer("Công trình (buildings)")
    row = int(next(i for i, c in enumerate(layer.features.classes) if c == "station"))
    window.select_feature(layer, row)
    window.legend_action.setChecked(True)
    for _ in range(5):
        app.processEvents()
    window.plotter.render()
    window.grab().save(str(out / "one_view_window.png"))
    width, height = window.plotter.window_size
    save_png(window.render_view((1280, 720)), out / "one_view_export.png")
    window.close()
    subprocess.run(
        [sys.executable, "-m", "app.cli", "render", str(PILOT), "-o",
         str(out / "one_view_headless.png"), "--bookmark", BOOKMARK, "--time", WHEN,
         "--legend", "--lang", "vi", "--size", "1280x720"],
        check=True, cwd=ROOT,
    )
    print(f"window viewport {width}x{height}; wrote 3 PNGs to {out}")


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
    target.mkdir(parents=True, exist_ok=True)
    main(target)
