"""The GDAL side of the vector importer, run in a child process.

:mod:`importers.sandbox` calls :func:`read` in a worker, so a GDAL crash on a
damaged file ends the child, not the app. pyogrio is imported inside the
functions, so the app process can import this module for its constants without
loading GDAL; workers start from a server that preloads pyogrio.
"""

from __future__ import annotations

import warnings
from typing import Any

#: ``layer`` value for :func:`read`: only the file's first layer.
FIRST_LAYER = ""


def read(path: str, layer: str | None, geometry_only: bool = False) -> dict[str, Any]:
    """Everything this importer needs from GDAL for a file, in one call: the
    layer names and, for ``layer`` (None: every layer), its info, geometries
    (WKB), attribute arrays and GDAL's notes. Plain data only: it runs in a
    child process (see the module docstring), so a GDAL crash ends the child."""
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    try:
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
    except (DataSourceError, DataLayerError) as exc:
        return {"error": gdal_message(exc)}


def gdal_message(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:300] if text else type(exc).__name__
