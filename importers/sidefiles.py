"""The one rule for side files (textures, ``.bin``, ``.mtl``) a model names.

A model may only reach files in its own folder: a name that is a URL (``http:``,
``data:``, ``file:``), absolute (``/``, ``C:``, ``\\\\server``) or leads out
through ``..`` (also percent-encoded, or through a symlink) is refused, never
read. Every importer asks here so that no format is laxer than another.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

_DRIVE = re.compile(r"^[A-Za-z]:")


def side_file(base_dir: Path, name: object) -> tuple[Path | None, bool]:
    """``(path, refused)``: the existing file ``name`` under ``base_dir``, or None;
    ``refused`` is True when the name points outside the folder (as opposed to a
    file that is merely missing), so callers can warn about each kind apart."""
    if not isinstance(name, str) or not name.strip():
        return None, False
    name = name.strip()
    if (
        "://" in name
        or name.lower().startswith(("data:", "file:"))
        or name.startswith(("\\\\", "//", "/", "\\"))
        or _DRIVE.match(name)
    ):
        return None, True
    root = Path(base_dir).resolve()
    for candidate_name in dict.fromkeys((name, unquote(name))):
        candidate = (root / candidate_name.replace("\\", "/")).resolve()
        if not candidate.is_relative_to(root):
            return None, True
        if candidate.is_file():
            return candidate, False
    return None, False


def confine(base_dir: Path, name: object) -> Path | None:
    """The existing file ``name`` inside ``base_dir``, or None when it is missing
    or would escape the folder (see :func:`side_file`)."""
    return side_file(base_dir, name)[0]
