"""The GDAL side of the vector importer, run in a child process.

:mod:`importers.sandbox` calls :func:`read` in a worker, so a GDAL crash on a
damaged file ends the child, not the app. pyogrio is imported inside the
functions, so the app process can import this module for its constants without
loading GDAL; workers start from a server that preloads pyogrio.
"""

from __future__ import annotations

import json
import math
import tempfile
import warnings
from pathlib import Path
from typing import Any

#: ``layer`` value for :func:`read`: only the file's first layer.
FIRST_LAYER = ""


def read(path: str, layer: str | None, geometry_only: bool = False) -> dict[str, Any]:
    """Everything this importer needs from GDAL for a file, in one call: the
    layer names and, for ``layer`` (None: every layer), its info, geometries
    (WKB), attribute arrays and GDAL's notes. Plain data only: it runs in a
    child process (see the module docstring), so a GDAL crash ends the child."""
    from pyogrio.errors import DataLayerError, DataSourceError

    try:
        return _read(path, layer, geometry_only)
    except DataSourceError as exc:
        with tempfile.TemporaryDirectory(prefix="citytwin-json-") as tmp:
            copy, repairs = _finite_copy(path, Path(tmp))
            if copy is None:
                return {"error": gdal_message(exc)}
            try:
                out = _read(str(copy), layer, geometry_only)
            except (DataSourceError, DataLayerError):
                return {"error": gdal_message(exc)}
        for found in out["layers"].values():
            found["repairs"] = repairs
        return out
    except DataLayerError as exc:
        return {"error": gdal_message(exc)}


def _read(path: str, layer: str | None, geometry_only: bool) -> dict[str, Any]:
    import pyogrio

    names = [str(name) for name, _ in pyogrio.list_layers(path)]
    wanted = names if layer is None else names[:1] if layer == FIRST_LAYER else [layer]
    out: dict[str, Any] = {"names": names, "layers": {}}
    for name in wanted:
        if name not in names:
            continue
        info = pyogrio.read_info(path, layer=name, force_total_bounds=True)
        with warnings.catch_warnings(record=True) as gdal_notes:
            warnings.simplefilter("always", RuntimeWarning)
            kw: dict[str, Any] = {"columns": []} if geometry_only else {}
            meta, _, wkb, field_data = pyogrio.raw.read(path, layer=name, **kw)[:4]
        out["layers"][name] = {
            "info": info,
            "fields": [str(f) for f in meta["fields"]],
            "wkb": wkb,
            "field_data": list(field_data),
            "notes": [str(w.message) for w in gdal_notes],
        }
    return out


def _finite_copy(path: str, folder: Path) -> tuple[Path | None, list[str]]:
    """A copy of a JSON file that GDAL can parse, when the only fault is numbers
    beyond the float range (``1e400``): GDAL refuses the whole file for one of
    them, while RELIABILITY case B8 wants only the feature that holds it
    skipped. Python's json reads such numbers as ±inf; written back as
    ``Infinity`` (which GDAL accepts), the importer's finite check skips and
    counts that feature. None when the file is not JSON or has no such number."""
    overflow = 0

    def number(text: str) -> float:
        nonlocal overflow
        value = float(text)
        if not math.isfinite(value):
            overflow += 1
        return value

    def integer(text: str) -> int | float:
        if len(text) <= 20 and -(2**63) <= int(text) < 2**63:
            return int(text)
        return number(text)

    try:
        with open(path, "rb") as fh:
            if not fh.read(256).lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"[")):
                return None, []  # not JSON: do not load a large binary file
            fh.seek(0)
            doc = json.load(fh, parse_float=number, parse_int=integer)
    except (OSError, ValueError, RecursionError):
        return None, []
    if not overflow:
        return None, []
    copy = folder / Path(path).name
    with open(copy, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, allow_nan=True)
    return copy, [f"{overflow} numbers beyond the float range (such as 1e400) read as infinite"]


def gdal_message(exc: Exception) -> str:
    from twin.errors import first_line

    return first_line(exc, limit=300)
