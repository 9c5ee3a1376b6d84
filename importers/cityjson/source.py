"""Reading a CityJSON file or CityJSONSeq stream: JSON decoding, the header and
its version, the chunks (one document, or one CityJSONFeature per line), and
the vertex encoding (``transform``). Kept apart so the collector never touches bytes.
"""

from __future__ import annotations

import contextlib
import gc
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from importers import surfaces as sf
from importers.errors import ImportFailed

try:  # orjson is 2-4x faster than json on CityJSON; json is the fallback.
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency
    orjson = None  # type: ignore[assignment]


def _loads(data: bytes | str, path: Path) -> Any:
    """orjson first; stdlib json for what orjson refuses (integers beyond 64 bits,
    NaN), so such files reach the checks that explain what is wrong with them."""
    if orjson is not None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ImportFailed(path, f"is not valid JSON: {exc}") from None


class _Source:
    """What a CityJSON file or CityJSONSeq stream declares, plus its chunks
    (the whole document, or one CityJSONFeature each)."""

    def __init__(self, header: dict, kind: str, chunks: Any, total: int = 1) -> None:
        self.header = header
        self.kind = kind
        self.chunks = chunks
        self.total = total  # chunks expected, for progress


def _check_header(doc: Any, path: Path, notes: list[str]) -> str:
    """Validate type and version; return the version text."""
    if not isinstance(doc, dict):
        raise ImportFailed(path, "is not a CityJSON object (top level is not a JSON object)")
    typ = doc.get("type")
    version = doc.get("version")
    vtext = str(version) if version is not None else ""
    m = re.search(r"(\d+)\.(\d+)", vtext)
    if typ is None:
        if "CityObjects" not in doc:
            raise ImportFailed(path, "is not CityJSON: no 'type' and no 'CityObjects'")
        notes.append("top-level 'type' is missing (must be \"CityJSON\"); read as CityJSON")
    elif typ not in ("CityJSON", "CityJSONFeature"):
        if typ == "CityModel" and m and (int(m.group(1)), int(m.group(2))) < (1, 0):
            pass  # pre-1.0 draft: refused below with its version
        else:
            raise ImportFailed(path, f"is not CityJSON: type is {typ!r}")
    if m is None:
        if version is not None:
            raise ImportFailed(path, f"has an unreadable CityJSON version {version!r}")
        notes.append("no 'version'; read as CityJSON 2.0")
        return "2.0"
    major, minor = int(m.group(1)), int(m.group(2))
    if (major, minor) < (1, 0):
        raise ImportFailed(
            path,
            f"is CityJSON version {vtext}, which is not supported: CityTwin reads CityJSON "
            "1.0, 1.1 and 2.0 (upgrade it with cjio: cjio FILE upgrade save OUT.city.json)",
        )
    if major > 2:
        notes.append(f"CityJSON version {vtext} is newer than 2.0; read as 2.0")
    return f"{major}.{minor}"


def _open_source(path: Path, notes: list[str]) -> _Source:
    data = path.read_bytes()
    if path.name.lower().endswith(".jsonl"):
        lines = [ln for ln in data.splitlines() if ln.strip()]
        first: Any = None
        if lines:
            try:
                first = orjson.loads(lines[0]) if orjson is not None else json.loads(lines[0])
            except (ValueError, TypeError):
                first = None
        if first is None:
            # Not JSON Lines (e.g. a pretty-printed CityJSONFeature): one document.
            doc = _loads(data, path)
            if isinstance(doc, dict) and doc.get("type") == "CityJSONFeature":
                notes.append("not one JSON object per line; read as a single CityJSONFeature")
                return _Source({"type": "CityJSON", "version": "2.0"}, "CityJSONSeq", [doc])
            return _Source(doc, "CityJSON", [doc])
        if isinstance(first, dict) and first.get("type") == "CityJSONFeature":
            notes.append("CityJSONSeq without a CityJSON header line; no transform assumed")
            feats = _features(lines, 0, path, notes)
            return _Source({"type": "CityJSON"}, "CityJSONSeq", feats, len(lines))
        return _Source(first, "CityJSONSeq", _features(lines, 1, path, notes), len(lines) - 1)
    doc = _loads(data, path)
    del data
    return _Source(doc, "CityJSON", [doc])


def _features(lines: list[bytes], start: int, path: Path, notes: list[str]):
    """Parse CityJSONFeature lines lazily, skipping (and counting) bad ones."""
    bad: list[int] = []
    for i in range(start, len(lines)):
        try:
            feat = orjson.loads(lines[i]) if orjson is not None else json.loads(lines[i])
        except (ValueError, TypeError):
            try:
                feat = json.loads(lines[i])
            except (ValueError, TypeError):
                bad.append(i + 1)
                continue
        if not isinstance(feat, dict) or feat.get("type") != "CityJSONFeature":
            bad.append(i + 1)
            continue
        yield feat
    if bad:
        notes.append(
            f"{len(bad)} lines skipped: not a valid CityJSONFeature (lines {sf.sample_ids(bad)})"
        )


def _vertex(v: Any) -> list[float]:
    try:
        if len(v) == 3:
            return [float(v[0]), float(v[1]), float(v[2])]
    except (TypeError, ValueError, OverflowError):
        pass
    return [np.nan, np.nan, np.nan]


def _transform(transform: Any, path: Path) -> tuple[np.ndarray, np.ndarray]:
    if transform is None:
        return np.ones(3), np.zeros(3)
    try:
        scale = np.array(transform["scale"], dtype=np.float64).reshape(3)
        translate = np.array(transform["translate"], dtype=np.float64).reshape(3)
    except (TypeError, KeyError, ValueError, OverflowError):
        raise ImportFailed(
            path, "'transform' must hold 3 'scale' and 3 'translate' numbers"
        ) from None
    if not (np.all(np.isfinite(scale)) and np.all(np.isfinite(translate))):
        raise ImportFailed(path, "'transform' has non-finite scale or translate values")
    return scale, translate


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while millions of small lists are made.

    Parsing builds only acyclic containers, yet every allocation burst makes the
    collector rescan the growing heap: on a 4 MB CityJSON that is more than half
    of ``json.load``'s time. Reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
