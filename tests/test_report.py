"""``citytwin report``: a printable map page, written by Qt's PDF writer and
read back with poppler (``pdftotext`` for the text layer, ``pdftoppm`` for
the pixels)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import SCENES

ROOT = SCENES.parent
POPPLER = shutil.which("pdftotext") and shutil.which("pdftoppm")
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils missing (.ci/setup.sh)")


def _report(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", LANG="C.UTF-8")
    env.pop("DISPLAY", None)  # no display needed
    return subprocess.run([sys.executable, "-m", "app.cli", "report", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


def _png(path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


@pytest.mark.render
@needs_poppler
def test_report_pdf_has_title_crs_time_sources_and_the_map(tmp_path, output_dir):
    out = tmp_path / "map.pdf"
    title = "Bản đồ khu Cầu Giấy — thử nghiệm"
    run = _report(str(SCENES / "hanoi_vnu.toml"), "--bookmark", "overview", "--title", title,
                  "--lang", "vi", "--paper", "A4", "--dpi", "60", "-o", str(out))
    assert run.returncode == 0, run.stderr
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True,
                          text=True, check=True).stdout
    flat = " ".join(text.split())
    assert title in flat
    assert "VN-2000 / UTM zone 48N (EPSG:3405)" in flat
    assert "© OpenStreetMap contributors, ODbL 1.0" in flat
    assert "Chú giải" in flat and "Hệ tọa độ" in flat  # Vietnamese page words
    # A4 landscape: 297 x 210 mm -> at 50 dpi 585 x 413 px
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-singlefile", str(out),
                    str(tmp_path / "page")], check=True)
    page = _png(tmp_path / "page.png")
    shutil.copy(tmp_path / "page.png", output_dir / "report_page.png")
    assert abs(page.shape[1] - 585) <= 2 and abs(page.shape[0] - 413) <= 2
    # the map frame holds a picture (many colours), the margins are white
    mx0, my0 = round(10 / 25.4 * 50) + 3, round(26 / 25.4 * 50) + 3
    map_px = page[my0:my0 + 150, mx0:mx0 + 250].reshape(-1, 3)
    assert len(np.unique(map_px // 16, axis=0)) > 20
    assert (page[:4] > 250).all()


@pytest.mark.render
@needs_poppler
def test_report_english_a3_png_and_bad_input(tmp_path):
    out = tmp_path / "map.png"
    run = _report(str(SCENES / "hanoi_vnu.toml"), "--lang", "en", "--paper", "A3",
                  "--dpi", "40", "--time", "2025-06-02T15:00+07:00", "-o", str(out))
    assert run.returncode == 0, run.stderr
    page = _png(out)
    assert page.shape[1] > page.shape[0]  # landscape
    assert abs(page.shape[1] - round(420 / 25.4 * 40)) <= 2
    bad = _report(str(SCENES / "hanoi_vnu.toml"), "--bookmark", "nowhere", "-o",
                  str(tmp_path / "x.pdf"))
    assert bad.returncode == 2 and "nowhere" in bad.stderr and "Traceback" not in bad.stderr
    bad = _report(str(SCENES / "hanoi_vnu.toml"), "-o", str(tmp_path / "x.docx"))
    assert bad.returncode == 2 and ".pdf or .png" in bad.stderr


def test_help_loads_no_qt():
    code = ("import sys, app.cli as c\n"
            "try:\n    c.main(['report', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(any(m.startswith(('PySide6', 'vtk')) for m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert run.stdout.strip().endswith("False"), run.stdout + run.stderr
