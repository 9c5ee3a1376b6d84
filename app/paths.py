"""Where the bundled scenes live (the repository root, for an editable install)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENES = ROOT / "scenes"
DEFAULT_SCENE = SCENES / "viet_tri.toml"
