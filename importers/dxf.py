"""DXF drawings (detailed plans in VN-2000) through ezdxf.

A planning department's drawing keeps one kind of thing per CAD layer: lots and
zones as closed polylines or hatches, red lines and road centre lines as lines
and open polylines, trees, lamps and boundary markers as block references, lot
codes and indicators as TEXT/MTEXT placed inside the lot. They become:

- closed polylines, circles, closed splines/ellipses and hatches -> polygons
  (flat ``areas`` by default; ``kind = "buildings"`` extrudes them, by the
  entity's CAD thickness where it has one);
- lines, arcs and open polylines -> lines (thin ribbons above the polygons);
- block references (INSERT) -> points named by the block, with their
  attribute values (ATTRIB) as columns;
- every feature carries its CAD layer (``cad_layer``, also its class, so a
  plan is coloured by layer) and the DXF handle as its id;
- each TEXT/MTEXT is attached to the smallest polygon that holds its insertion
  point (``label``; several texts in one lot are joined with "; ").

Arcs and bulges are flattened by ezdxf's paths (:data:`FLATTEN_M`). A DXF
declares no CRS: the scene file gives it (``options = { crs = "EPSG:9208" }``),
else the scene's CRS is assumed with a warning. Everything after the read
(reprojection, repair of invalid polygons, meshes, the three layers) is the
vector importer's (:func:`importers.vector.read_layer`), so a DXF lot and a
GeoPackage lot behave alike.

The drawing is read in a child process (:mod:`importers.sandbox`) by ezdxf's
loader plus an audit, or, where the loader refuses the file, by
``ezdxf.recover``: a damaged file is salvaged or becomes one line naming it,
and a pathological one cannot hang or exhaust the app.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from importers.errors import ImportCancelled, ImportFailed

#: Largest distance (drawing units, metres) between an arc and its chords.
FLATTEN_M = 0.05
#: Defaults for drawings: thin lines drawn just above the flat polygons.
LINE_WIDTH_M = 0.6
LINE_ABOVE_M = 0.1
#: Flat polygons nested in others (a lot in a zone, a pond in a park) are lifted
#: by this much per level, so coincident faces never fight for the same pixels.
NEST_STEP_M = 0.1
FLAT_TOP_M = 0.2
POLYGON, LINE, POINT = "polygon", "line", "point"
#: Columns every feature gets (ATTRIB tags of blocks come after).
BASE_COLUMNS = ("id", "class", "cad_layer", "dxf_type", "name", "label", "block", "width",
                "height", "color")


def read(
    path: Path,
    scene: Any,
    options: dict[str, Any],
    progress=None,
    cancel: threading.Event | None = None,
) -> list[Any]:
    """Import a DXF's model space as up to three layers (polygons, lines, points).

    Options
    -------
    crs : the drawing's CRS (default: the scene's, with a warning).
    kind : ``areas`` (default, flat) or ``buildings`` (extruded) for polygons.
    flatten : chord tolerance of arcs and bulges in metres (default 0.05).
    Other options go to the vector importer (``default_height``, ``z``,
    ``default_width``, ``marker_radius`` ...).
    """
    from importers import sandbox, vector

    path = Path(path)
    found = sandbox.call(
        path, "importers.dxf:parse", str(path), float(options.get("flatten", FLATTEN_M)),
        cancel=cancel,
    )
    if "error" in found:
        raise ImportFailed(path, found["error"])
    if cancel is not None and cancel.is_set():
        raise ImportCancelled(str(path))
    geoms = shapely.from_wkb(found["wkb"])
    columns: dict[str, np.ndarray] = found["columns"]
    family = _family(geoms)
    notes = list(found["notes"])
    labels, unplaced = attach_texts(geoms, family == POLYGON, found["text_xy"], found["texts"])
    columns["label"] = labels
    columns["name"] = np.where(family == POLYGON, labels, columns["name"])
    text_notes = []
    if unplaced:
        sample = "; ".join(found["texts"][i] for i in unplaced[:3])
        text_notes.append(f"{len(unplaced)} texts lie in no polygon and label nothing "
                          f"(e.g. {sample})")
    crs = options.get("crs")
    if crs is None:
        from twin.geo import crs_label

        notes.append(f"a DXF declares no CRS; assumed the scene CRS {crs_label(scene.crs)} "
                     "(set options.crs in the scene file)")
    info = {"crs": str(crs or scene.crs), "driver": "DXF"}
    flat = options.get("kind", "areas") == "areas"
    depth = nesting_depth(geoms, family == POLYGON) if flat else np.zeros(len(geoms), np.intp)
    line_z = FLAT_TOP_M + NEST_STEP_M * int(depth.max(initial=0)) + LINE_ABOVE_M
    out: list[Any] = []
    for fam, defaults in (
        (POLYGON, {"kind": "areas", "default_height": FLAT_TOP_M}),
        (LINE, {"kind": "roads", "default_width": LINE_WIDTH_M, "z": line_z}),
        (POINT, {"kind": "points"}),
    ):
        rows = np.flatnonzero(family == fam)
        if rows.size == 0:
            continue
        opts = {**defaults, **{k: v for k, v in options.items() if k not in ("crs", "flatten")}}
        if fam != POLYGON:
            opts["kind"] = defaults["kind"]
        sub = {k: v[rows] for k, v in columns.items()}
        data = {
            "info": info,
            "wkb": found["wkb"][rows],
            "fields": list(sub),
            "field_data": list(sub.values()),
            "notes": [],
        }
        for layer in vector.read_layer(path, f"{path.stem} ({_NAMES[fam]})", data, scene, opts):
            if fam == POLYGON and flat:
                _lift(layer, NEST_STEP_M * depth[rows])
            own = text_notes if fam == POLYGON else []
            layer.warnings = notes + own + layer.warnings
            layer.info = {"format": f"DXF {found['version']}", "units": found["units"],
                          "entities": int(rows.size)}
            out.append(layer)
        if progress is not None:
            progress(len(out), 3)
    if not out:
        raise ImportFailed(path, "has no drawable entities (polylines, lines, hatches, blocks)")
    return out


_NAMES = {POLYGON: "polygons", LINE: "lines", POINT: "points"}


def _family(geoms: np.ndarray) -> np.ndarray:
    dims = shapely.get_dimensions(geoms)
    return np.select([dims == 2, dims == 1, dims == 0], [POLYGON, LINE, POINT], "").astype(object)


def nesting_depth(geoms: np.ndarray, is_polygon: np.ndarray) -> np.ndarray:
    """(n,) how many other polygons hold each polygon (0 for lines and points): a
    zone 0, a lot in it 1, a hatch in the lot 2. One STRtree query of every
    polygon's representative point against all polygons."""
    depth = np.zeros(len(geoms), dtype=np.intp)
    rows = np.flatnonzero(is_polygon)
    if rows.size < 2:
        return depth
    polys = geoms[rows]
    inner, outer = shapely.STRtree(polys).query(
        shapely.point_on_surface(polys), predicate="within"
    )
    area = shapely.area(polys)
    # a holder is another polygon, larger (two equal outlines: the later one on top)
    larger = (area[outer] > area[inner]) | ((area[outer] == area[inner]) & (outer < inner))
    depth[rows] = np.bincount(inner[larger & (inner != outer)], minlength=rows.size)
    return depth


def _lift(layer: Any, dz: np.ndarray) -> None:
    """Raise each feature's points by ``dz[row]`` (flat polygons own their points)."""
    if not dz.any():
        return
    mesh = layer.mesh
    faces = np.asarray(mesh.regular_faces)
    point_row = np.zeros(mesh.n_points, dtype=np.intp)
    point_row[faces.ravel()] = np.repeat(np.asarray(layer.cell_features), faces.shape[1])
    pts = np.asarray(mesh.points, dtype=np.float64)
    pts[:, 2] += dz[point_row]
    mesh.points = pts.astype(np.float32)
    layer.features.bounds[:, 4:6] += dz[:, None]


def attach_texts(
    geoms: np.ndarray, is_polygon: np.ndarray, text_xy: np.ndarray, texts: list[str]
) -> tuple[np.ndarray, list[int]]:
    """Each text to the smallest polygon holding its insertion point.

    Returns the ``label`` column (texts joined with "; " in drawing order, ""
    where none) and the indices of texts that lie in no polygon. One STRtree
    query for all texts; the smallest holder is a sort, not a loop."""
    labels = np.full(len(geoms), "", dtype=object)
    if len(texts) == 0 or not is_polygon.any():
        return labels, list(range(len(texts)))
    poly_rows = np.flatnonzero(is_polygon)
    tree = shapely.STRtree(geoms[poly_rows])
    points = shapely.points(np.asarray(text_xy, dtype=np.float64).reshape(-1, 2))
    text_i, hit = tree.query(points, predicate="within")
    area = shapely.area(geoms[poly_rows])[hit]
    order = np.lexsort((area, text_i))  # by text, smallest polygon first
    first = np.unique(text_i[order], return_index=True)[1]
    chosen_text = text_i[order][first]
    chosen_row = poly_rows[hit[order][first]]
    by_row: dict[int, list[str]] = {}
    for t, row in sorted(zip(chosen_text.tolist(), chosen_row.tolist(), strict=True)):
        by_row.setdefault(row, []).append(texts[t])
    for row, parts in by_row.items():
        labels[row] = "; ".join(parts)
    unplaced = sorted(set(range(len(texts))) - set(chosen_text.tolist()))
    return labels, unplaced


def extent(path: Path) -> tuple[str | None, tuple[float, float, float, float]]:
    """No CRS (a DXF has none) and the bounds of its entities, in metres."""
    from importers import sandbox

    found = sandbox.call(path, "importers.dxf:parse", str(path), 1.0)
    if "error" in found:
        raise ImportFailed(path, found["error"])
    geoms = shapely.from_wkb(found["wkb"])
    if len(geoms) == 0:
        raise ImportFailed(path, "has no drawable entities (polylines, lines, hatches, blocks)")
    b = shapely.total_bounds(geoms)
    return None, (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


# -- in the child process -------------------------------------------------------------


def parse(path: str, flatten: float) -> dict[str, Any]:
    """The model space as WKB geometries (drawing units scaled to metres), their
    columns, and the texts; or ``{"error": message}``."""
    import ezdxf
    from ezdxf import recover

    try:
        # A well-formed file takes ezdxf's loader and an audit (about 0.7x the
        # time of recover); whatever that loader refuses, recover salvages.
        doc = ezdxf.readfile(path)
        auditor = doc.audit()
    except Exception:  # any refusal: recover reads it or names the damage
        doc = None
    try:
        if doc is None:
            doc, auditor = recover.readfile(path)
    except OSError as exc:
        return {"error": f"cannot be read: {exc.strerror or exc}"}
    except ezdxf.DXFStructureError as exc:
        return {"error": f"is not a readable DXF file ({_one_line(exc)})"}
    except Exception as exc:
        return {"error": f"is not a readable DXF file ({type(exc).__name__}: {_one_line(exc)})"}
    notes: list[str] = []
    if auditor.has_errors:
        notes.append(f"ezdxf.recover found {len(auditor.errors)} errors in the file; "
                     "what it could not repair was left out")
    scale, units = _unit_scale(doc)
    if scale != 1.0:
        notes.append(f"drawing units are {units}; scaled to metres (x{scale:g})")
    rows: list[dict[str, Any]] = []
    wkb: list[bytes] = []
    text_xy: list[tuple[float, float]] = []
    texts: list[str] = []
    skipped: dict[str, int] = {}
    for entity in doc.modelspace():
        kind = entity.dxftype()
        try:
            if kind in ("TEXT", "MTEXT"):
                found = _text(entity)
                if found is not None:
                    text_xy.append((found[0] * scale, found[1] * scale))
                    texts.append(found[2])
                continue
            geom = _geometry(entity, kind, flatten / scale)
        except Exception:
            geom = None
        if geom is None or geom.is_empty:
            skipped[kind] = skipped.get(kind, 0) + 1
            continue
        if scale != 1.0:
            geom = shapely.transform(geom, lambda c: c * scale)
        wkb.append(shapely.to_wkb(geom))
        rows.append(_row(entity, kind, scale))
    for kind, n in sorted(skipped.items()):
        notes.append(f"{n} {kind} entities skipped (not drawable as a plan feature, or broken)")
    return {
        "wkb": np.array(wkb, dtype=object),
        "columns": _columns(rows),
        "text_xy": np.array(text_xy, dtype=np.float64).reshape(-1, 2),
        "texts": texts,
        "notes": notes,
        "units": units,
        "version": doc.dxfversion,
    }


def _one_line(exc: BaseException) -> str:
    return (" ".join(str(exc).split()) or type(exc).__name__)[:200]


def _unit_scale(doc: Any) -> tuple[float, str]:
    """Metres per drawing unit from ``$INSUNITS`` (unitless is taken as metres,
    the convention of VN-2000 survey and planning drawings)."""
    from ezdxf import units

    code = int(doc.header.get("$INSUNITS", 0) or 0)
    if code in (0, 6):
        return 1.0, "m"
    try:
        return float(units.conversion_factor(code, 6)), units.unit_name(code)
    except Exception:
        return 1.0, f"unknown ($INSUNITS={code})"


def _closed(entity: Any, kind: str) -> bool:
    if kind == "LWPOLYLINE":
        return bool(entity.closed)
    if kind == "POLYLINE":
        return bool(entity.is_closed)
    if kind == "CIRCLE":
        return True
    if kind == "ELLIPSE":
        return abs(entity.dxf.end_param - entity.dxf.start_param) >= 2 * np.pi - 1e-9
    if kind == "SPLINE":
        return bool(entity.closed)
    return kind in ("SOLID", "TRACE", "3DFACE")


def _geometry(entity: Any, kind: str, flatten: float) -> Any:
    """A shapely geometry of one entity (WCS x/y), or None when it is not a plan feature."""
    from ezdxf import path as dxfpath

    if kind == "INSERT":
        p = entity.dxf.insert
        return shapely.Point(p.x, p.y)
    if kind == "POINT":
        p = entity.dxf.location
        return shapely.Point(p.x, p.y)
    if kind == "HATCH":
        return _hatch(entity, flatten)
    if kind not in ("LWPOLYLINE", "POLYLINE", "LINE", "ARC", "CIRCLE", "ELLIPSE", "SPLINE",
                    "SOLID", "TRACE", "3DFACE"):
        return None
    xy = _straight(entity, kind)
    if xy is None:
        xy = _flat(dxfpath.make_path(entity), flatten)
    if _closed(entity, kind):
        return shapely.Polygon(xy) if len(xy) >= 3 else None
    return shapely.LineString(xy) if len(xy) >= 2 else None


def _straight(entity: Any, kind: str) -> np.ndarray | None:
    """The vertices of a LINE, or of an LWPOLYLINE with no arcs in the world's
    plane, read directly: most of a plan, at a fraction of a path's cost."""
    dxf = entity.dxf
    if tuple(dxf.get("extrusion", (0.0, 0.0, 1.0))) != (0.0, 0.0, 1.0):
        return None  # in its own coordinate system: ezdxf's path transforms it
    if kind == "LINE":
        s, e = dxf.start, dxf.end
        return np.array([[s.x, s.y], [e.x, e.y]], dtype=np.float64)
    if kind != "LWPOLYLINE":
        return None
    xyb = np.array(entity.get_points("xyb"), dtype=np.float64).reshape(-1, 3)
    if np.any(xyb[:, 2] != 0.0):
        return None
    pts = xyb[:, :2]
    if len(pts) > 1:
        keep = np.ones(len(pts), dtype=bool)
        keep[1:] = np.any(pts[1:] != pts[:-1], axis=1)
        pts = pts[keep]
    return pts


def _flat(p: Any, flatten: float) -> np.ndarray:
    pts = np.array([(v.x, v.y) for v in p.flattening(flatten)], dtype=np.float64).reshape(-1, 2)
    if len(pts) > 1:  # drop repeated vertices (a zero-length segment)
        keep = np.ones(len(pts), dtype=bool)
        keep[1:] = np.any(pts[1:] != pts[:-1], axis=1)
        pts = pts[keep]
    return pts


def _hatch(entity: Any, flatten: float) -> Any:
    """A hatch's boundary paths filled by the even-odd rule (islands are holes)."""
    from ezdxf import path as dxfpath

    rings = [_flat(p, flatten) for p in dxfpath.from_hatch(entity)]
    polys = [shapely.make_valid(shapely.Polygon(r)) for r in rings if len(r) >= 3]
    if not polys:
        return None
    out = polys[0]
    for p in polys[1:]:
        out = shapely.symmetric_difference(out, p)
    return out


def _text(entity: Any) -> tuple[float, float, str] | None:
    if entity.dxftype() == "MTEXT":
        text = entity.plain_text()
    else:
        text = entity.plain_text() if hasattr(entity, "plain_text") else entity.dxf.text
    text = " ".join(str(text).split())
    if not text:
        return None
    p = entity.dxf.insert
    return float(p.x), float(p.y), text


def _row(entity: Any, kind: str, scale: float) -> dict[str, Any]:
    dxf = entity.dxf
    row: dict[str, Any] = {
        "id": str(dxf.handle),
        "class": str(dxf.layer),
        "cad_layer": str(dxf.layer),
        "dxf_type": kind,
        "name": "",
        "block": "",
        "width": np.nan,
        "height": np.nan,
        "color": float(dxf.color) if dxf.hasattr("color") else np.nan,
    }
    if kind == "INSERT":
        row["block"] = row["name"] = str(dxf.name)
        for attrib in getattr(entity, "attribs", []):
            tag = str(attrib.dxf.tag).strip().lower()
            if tag and tag not in BASE_COLUMNS:
                row[tag] = str(attrib.dxf.text)
    if kind == "LWPOLYLINE" and dxf.hasattr("const_width") and dxf.const_width > 0:
        row["width"] = float(dxf.const_width) * scale
    if dxf.hasattr("thickness") and dxf.thickness > 0:
        row["height"] = float(dxf.thickness) * scale
    return row


def _columns(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    keys = list(BASE_COLUMNS)
    for r in rows:
        keys.extend(k for k in r if k not in keys)
    out: dict[str, np.ndarray] = {}
    for k in keys:
        if k == "label":
            continue
        values = [r.get(k) for r in rows]
        numeric = k in ("width", "height", "color")
        out[k] = np.array(values, dtype=np.float64 if numeric else object)
    return out
