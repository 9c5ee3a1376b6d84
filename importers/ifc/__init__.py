"""IFC (IFC2X3, IFC4, IFC4X3_ADD2; ``.ifc`` and ``.ifczip``) -> BIM layers.

``read`` gives one layer per file: one merged mesh with a row per element
(GlobalId, class, predefined type, name, storey, type, material, IFC colour),
the spatial tree, and lazily read property/quantity sets; plus a hidden layer of
spaces when the model has any. The work is split so that each part can be
understood and tested alone:

- :mod:`~importers.ifc.header`: schema policy and ifcZIP checks (no native code)
- :mod:`~importers.ifc.worker` / :mod:`~importers.ifc.runner`: parse and
  geometry in a watched child process that may crash or hang without harm
- :mod:`~importers.ifc.geometry`: iterator shapes -> instanced arrays -> one mesh
- :mod:`~importers.ifc.semantics`: table columns, spatial tree, property sets
- :mod:`~importers.ifc.georef`: where the model is in the world
- :mod:`~importers.ifc.cache`: reopening an unchanged file without the worker
- :mod:`~importers.ifc.layers`: all of it placed into a scene as layers

Nothing heavy is imported at package import: the worker process imports this
package too, and must start fast.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from importers.errors import ImportCancelled, ImportFailed, PartialImport

__all__ = ["extent", "read", "warm_up"]


def warm_up() -> None:
    """Start the worker server ahead of the first import (optional)."""
    from importers.ifc.runner import warm_up as _warm

    _warm()


def _options(path: Path, options: dict[str, Any] | None):
    from importers.ifc.options import IfcOptions, OptionError

    try:
        return IfcOptions.from_mapping(options)
    except OptionError as exc:
        raise ImportFailed(path, str(exc)) from None


def _precheck(path: Path) -> None:
    """Refuse what needs no worker to refuse: missing, empty, not STEP, legacy schema."""
    from importers.ifc.header import is_zip, read_header

    try:
        if path.stat().st_size == 0:
            raise ImportFailed(path, "is empty")
        if not is_zip(path):
            read_header(path)
    except OSError as exc:
        raise ImportFailed(path, f"cannot be read ({exc.strerror or exc})") from None


def read(
    path: Path | str,
    scene,
    options: dict[str, Any] | None = None,
    progress=None,
    cancel: threading.Event | None = None,
    preview=None,
) -> list:
    """Import one IFC file into ``scene``'s CRS (layers are returned, not added).

    Options (scene file ``[layers.options]`` or CLI): ``at``, ``override_georef``,
    ``threads``, ``kernel``, ``spaces``, ``element_timeout``, ``time_budget``,
    ``memory_limit_mb``, ``max_restarts``, ``cache`` (see
    :class:`importers.ifc.options.IfcOptions`).

    ``preview``: called (on this thread) with each
    :class:`~importers.ifc.progressive.PreviewBatch` while the model is meshed;
    with it, a cancelled import raises :class:`~importers.errors.PartialImport`
    carrying the layers of what had arrived (marked partial, never cached).
    """
    from importers.ifc import cache, layers, progressive, runner

    path = Path(path)
    opts = _options(path, options)
    t0 = time.perf_counter()
    _precheck(path)
    payload = None
    k = None
    cache_note = "disabled"
    if opts.cache:
        try:
            k = cache.key(cache.file_digest(path), opts)
            payload = cache.load(k)
            cache_note = "hit" if payload is not None else "miss"
        except OSError as exc:
            cache_note = f"unavailable ({exc.strerror or exc})"
    t_worker = 0.0
    if payload is None:
        t1 = time.perf_counter()
        listener = None if preview is None else progressive.Preview(path, scene, opts, preview)
        keep = listener is not None
        payload = runner.run(path, opts, progress, cancel, listener, keep_partial=keep)
        t_worker = time.perf_counter() - t1
        if payload.meta.get("partial"):
            cache_note = "not stored: the import was cancelled"
        elif k is not None and cache.cacheable(payload):
            cache.store(k, payload)
            cache_note = "miss (stored)"
        elif k is not None:
            cache_note = "miss (not stored: the run was not clean)"
    elif progress is not None:
        n = len(payload.meta.get("targets") or [])
        progress(n, n)
    partial = payload.meta.get("partial")
    if cancel is not None and cancel.is_set() and not partial:
        raise ImportCancelled(str(path))
    fresh = t_worker > 0  # worker facts describe this run, not the one cached
    facts = {
        "cache": cache_note,
        "kernel": payload.meta.get("kernel"),
        "threads": opts.threads,
        "worker_restarts": payload.meta.get("restarts", 0) if fresh else 0,
        "worker_peak_rss_mb": payload.meta.get("worker_peak_rss_mb") if fresh else None,
        "import_peak_rss_mb": payload.meta.get("import_peak_rss_mb") if fresh else None,
        "worker_cpu_s": payload.meta.get("worker_cpu_s") if fresh else None,
        "table_reader": payload.meta.get("table_reader") if fresh else None,
        "fastpath": payload.meta.get("fastpath") if fresh else None,
    }
    t2 = time.perf_counter()
    try:
        out = layers.build(path, payload, scene, opts, facts)
    except (ImportFailed, ImportCancelled):
        raise
    except Exception as exc:  # a bug here must not reach the user as a traceback
        raise ImportFailed(
            path, f"internal error while building layers: {type(exc).__name__}: {exc}"
        ) from exc
    t3 = time.perf_counter()
    for layer in out:
        layer.info["timings_s"] = {
            "total": round(t3 - t0, 4),
            "worker": round(t_worker, 4),
            "build": round(t3 - t2, 4),
        }
    if partial:
        progressive.mark_partial(out, partial)
        raise PartialImport(path, out)
    return out


_EXTENTS: dict[tuple, tuple] = {}


def extent(path: Path | str) -> tuple[str | None, tuple[float, float, float, float]]:
    """CRS and a (point) extent from the georeferencing records only.

    A lazy parse in a worker, no geometry. Map conversions give their CRS and
    the map position of the model origin; a model with only a site latitude/
    longitude gives the UTM zone there; an ungeoreferenced one ``(None, ...)``.
    A CRS in feet or degrees is returned as WGS 84 longitude/latitude, since
    scenes are metric.
    """
    import os

    import numpy as np

    from importers.ifc import georef, runner
    from importers.ifc.options import IfcOptions
    from twin.geo import parse_crs, transform_xy, utm_zone

    path = Path(path)
    _precheck(path)
    st = os.stat(path)
    memo = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if memo in _EXTENTS:
        return _EXTENTS[memo]
    raw = runner.read_extent(path, IfcOptions(cache=False))
    geo = raw.get("georef") or {}
    site = geo.get("site") or {}
    anchors = np.asarray(raw.get("anchors") or [], dtype=np.float64).reshape(-1, 3)
    if len(anchors):
        anchor = np.median(anchors, axis=0)
        bbox = np.stack([anchors.min(axis=0), anchors.max(axis=0)])
    else:
        anchor = np.zeros(3)
        if site.get("matrix") is not None:
            anchor = np.asarray(site["matrix"], dtype=np.float64)[:3, 3]
        bbox = np.stack([anchor, anchor])
    placement = georef.resolve(geo, bbox, georef.WGS84, np.zeros(3))
    result: tuple[str | None, tuple[float, float, float, float]]
    if placement.crs is None:
        result = (None, (0.0, 0.0, 0.0, 0.0))
    else:
        pt = placement.affine[:3, :3] @ anchor + placement.affine[:3, 3]
        crs = parse_crs(placement.crs)
        metric = crs.is_projected and georef._unit_of(placement.crs) == 1.0
        if metric and placement.declared is None:
            x, y = float(pt[0]), float(pt[1])
            result = (placement.crs, (x, y, x, y))
        else:
            lon, lat = transform_xy(
                np.array([pt[0]]), np.array([pt[1]]), placement.crs, georef.WGS84
            )
            fit = utm_zone(float(lon[0]), float(lat[0]))
            if fit is None:
                result = (georef.WGS84, (float(lon[0]), float(lat[0])) * 2)
            else:
                utm, x, y = fit
                result = (utm, (x, y, x, y))
    _EXTENTS[memo] = result
    return result
