"""``citytwin db load FILE --to URL --table NAME``: a GIS file into a PostGIS table.

The demo districts and the tests put their data in PostGIS with this command,
so a scene layer ``source = "postgresql://..."`` has something to read. The
file is read by GDAL in a sandboxed child (a damaged file cannot crash the
command, as in the vector importer); the rows go in with one ``COPY`` (one
round trip per buffer instead of one per row), then a GiST index on the
geometry, then ``ANALYZE`` so the planner uses that index for bounding-box reads.
All of it is one transaction: a failed load leaves no half table behind.

Credentials as for layers: libpq's environment, ``~/.pgpass`` or the keyring,
never a password in the URL (it would land in the shell history and ``ps``).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

from app.loading import UserError

EXIT_OK = 0
#: pyogrio field dtype -> PostgreSQL column type (anything else: text)
PG_TYPES = {
    "int16": "smallint", "int32": "integer", "int64": "bigint", "bool": "boolean",
    "float32": "real", "float64": "double precision",
}
#: OGR geometry type names PostGIS accepts as a column type modifier
GEOMETRY_TYPES = (
    "Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon",
)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``db`` (with its ``load`` sub-command) on the ``citytwin`` parsers."""
    p = subparsers.add_parser(
        "db",
        help="work with a PostGIS database (load a GIS file into a table)",
        description="PostGIS tables as CityTwin layer sources. Passwords come from "
        "PGPASSWORD, ~/.pgpass or `citytwin secrets set --postgres URL` (OS keyring or "
        "private file), never the URL.",
    )
    sub = p.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    load = sub.add_parser(
        "load",
        help="load a GeoPackage/GeoJSON/... layer into a PostGIS table with a GiST index",
        description="Load one layer of a GIS file (through GDAL) into a new PostGIS table "
        "with a primary key, the file's attributes, a geometry column and a GiST index.",
    )
    load.add_argument("file", type=Path, metavar="FILE", help="GeoPackage, GeoJSON, ...")
    load.add_argument("--to", required=True, metavar="URL",
                      help="postgresql://[user@]host[:port]/database")
    load.add_argument("--table", required=True, metavar="NAME", help="table (schema.table)")
    load.add_argument("--layer", help="layer of the file (default: its first layer)")
    load.add_argument("--srid", type=int, help="SRID of the table; the file is reprojected "
                      "into it (default: the file's EPSG code)")
    load.add_argument("--geometry-column", default="geom", help="geometry column (geom)")
    load.add_argument("--if-exists", choices=("fail", "replace", "append"), default="fail",
                      help="when the table exists: stop (default), drop it, or add rows")
    return p


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    found = read_file(args.file, args.layer)
    n, srid = load(found, args.to, args.table, args.srid, args.geometry_column, args.if_exists)
    took = time.perf_counter() - started
    print(f"loaded {n} features from {args.file} into {args.table} (SRID {srid}), "
          f"GiST index on {args.geometry_column}, in {took:.1f} s")
    sys.stdout.flush()
    return EXIT_OK


def read_file(path: Path, layer: str | None) -> dict:
    """One layer of a GIS file as :func:`importers.gdal_read.read` gives it, read
    in a sandboxed child; bad input is a :class:`UserError`."""
    from importers import gdal_read, sandbox

    if not path.is_file():
        raise UserError(f"{path}: no such file")
    found = sandbox.call(
        path, "importers.gdal_read:read", str(path), layer or gdal_read.FIRST_LAYER, False
    )
    if "error" in found:
        raise UserError(f"{path}: {found['error']}")
    if not found["layers"]:
        names = ", ".join(found["names"]) or "none"
        raise UserError(f"{path}: has no layer {layer!r}; layers: {names}")
    data = next(iter(found["layers"].values()))
    data["path"] = path
    return data


def _geometries(data: dict, srid: int | None) -> tuple[list, int, str]:
    """WKB hex per feature (None for no geometry) in the target SRID, that SRID
    and the column type modifier.

    Without reprojection GDAL's WKB goes through as it is (hex is one C call per
    row); parsing and re-encoding 100,000 footprints with shapely took 5 s."""
    import numpy as np
    import shapely
    from pyproj import CRS

    from twin.geo import WGS84, transform_xy

    path, info = data["path"], data["info"]
    crs = info.get("crs") or (WGS84 if info.get("driver") == "GeoJSON" else None)
    file_srid = CRS.from_user_input(crs).to_epsg() if crs else None
    target = srid or file_srid
    if target is None:
        what = "declares no CRS" if crs is None else f"has a CRS without an EPSG code ({crs})"
        raise UserError(f"{path}: {what}; pass --srid")
    wkb = data["wkb"] if data["wkb"] is not None else np.empty(0, dtype=object)
    if crs is not None and file_srid != target:
        src, dst = crs, f"EPSG:{target}"

        def reproject(xy: np.ndarray) -> np.ndarray:
            out = xy.copy()
            out[:, 0], out[:, 1] = transform_xy(xy[:, 0], xy[:, 1], src, dst)
            return out

        geoms = shapely.transform(shapely.from_wkb(wkb, on_invalid="ignore"), reproject,
                                  include_z=None)
        wkb = shapely.to_wkb(geoms)
    hexes = [None if w is None else bytes(w).hex() for w in wkb.tolist()]
    words = str(info.get("geometry_type") or "").replace("3D ", "Z ").split()
    kind = next((w for w in words if w in GEOMETRY_TYPES), "Geometry")
    if kind != "Geometry" and "Z" in words:
        kind += "Z"
    return hexes, target, kind


def load(
    data: dict, url: str, table: str, srid: int | None, geometry: str, if_exists: str
) -> tuple[int, int]:
    """COPY one read layer into ``table``; (rows, SRID).

    Rows go to a temporary staging table first (plain WKB, no SRID), then one
    ``INSERT ... SELECT ST_SetSRID(...)`` moves them into the typed column:
    the server stamps the SRID, and ``ST_Multi`` lets a MultiPolygon layer hold
    the odd single Polygon GDAL hands over."""
    import psycopg
    from psycopg import sql

    from importers import postgis

    hexes, srid, kind = _geometries(data, srid)
    fields, columns = data["fields"], data["field_data"]
    dtypes = list(data["info"].get("dtypes", [])) or [str(c.dtype) for c in columns]
    if geometry in fields:
        raise UserError(f"{data['path']}: has an attribute named {geometry!r}; "
                        "pass another --geometry-column")
    key = next(k for k in ("fid", "ogc_fid", "citytwin_fid") if k not in fields)
    label = f"{url} (table {table})"
    name = sql.Identifier(*table.split(".", 1))
    pg_types = [PG_TYPES.get(str(t), "text") for t in dtypes]
    values = [_values(col, t) for col, t in zip(columns, pg_types, strict=True)]
    attrs = [sql.SQL("{} {}").format(sql.Identifier(f), sql.SQL(t))
             for f, t in zip(fields, pg_types, strict=True)]
    geom = sql.Identifier(geometry)
    with postgis.connect(url, read_only=False) as conn:
        try:
            register_srid(conn, srid)
            exists = conn.execute("SELECT to_regclass(%s)", [name.as_string(conn)]).fetchone()[0]
            if exists is not None and if_exists == "fail":
                raise UserError(f"{label}: the table exists; pass --if-exists replace or append")
            if exists is not None and if_exists == "replace":
                conn.execute(sql.SQL("DROP TABLE {}").format(name))
            create = exists is None or if_exists == "replace"
            if create:
                defs = [sql.SQL("{} bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY").format(
                    sql.Identifier(key)), *attrs,
                    sql.SQL("{} geometry({}, {})").format(geom, sql.SQL(kind), sql.Literal(srid))]
                conn.execute(sql.SQL("CREATE TABLE {} ({})").format(name, sql.SQL(", ").join(defs)))
            staging = sql.Identifier("citytwin_db_load")
            conn.execute(sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
                staging, sql.SQL(", ").join([*attrs, sql.SQL("{} geometry").format(geom)])))
            targets = sql.SQL(", ").join(sql.Identifier(c) for c in [*fields, geometry])
            with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
                    staging, targets)) as copy:
                for row in zip(*values, hexes, strict=True):
                    copy.write_row(row)
            multi = sql.SQL("ST_Multi({})" if kind.startswith("Multi") else "{}").format(geom)
            pick = sql.SQL(", ").join(sql.Identifier(c) for c in fields)
            conn.execute(sql.SQL("INSERT INTO {t} ({cols}) SELECT {pick}ST_SetSRID({g}, {s}) "
                                 "FROM {st}").format(
                t=name, cols=targets, pick=pick + sql.SQL(", ") if fields else sql.SQL(""),
                g=multi, s=sql.Literal(srid), st=staging))
            if create:
                conn.execute(sql.SQL("CREATE INDEX {} ON {} USING GIST ({})").format(
                    sql.Identifier(f"{name_part(table)}_{geometry}_gist"), name, geom))
            conn.execute(sql.SQL("ANALYZE {}").format(name))
        except psycopg.Error as exc:
            raise UserError(f"{label}: {postgis.pg_message(exc)}") from None
    return len(hexes), srid


def register_srid(conn, srid: int) -> bool:
    """Add EPSG:``srid`` to ``spatial_ref_sys`` when the database lacks it (PostGIS
    3.3 has no VN-2000 TM-3 codes), so ST_Transform and desktop GIS read the
    table; False when it was there or the role may not add it."""
    import psycopg
    from pyproj import CRS

    if conn.execute("SELECT 1 FROM spatial_ref_sys WHERE srid = %s", [srid]).fetchone():
        return False
    crs = CRS.from_epsg(srid)
    with warnings.catch_warnings():  # PROJ strings lose detail; srtext is the real one
        warnings.simplefilter("ignore", UserWarning)
        proj4 = crs.to_proj4()
    try:
        with conn.transaction():
            conn.execute(
                "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
                "VALUES (%s, 'EPSG', %s, %s, %s)",
                [srid, srid, crs.to_wkt("WKT1_GDAL"), proj4],
            )
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


def name_part(table: str) -> str:
    """The table's name without its schema (index names are per schema)."""
    return table.split(".", 1)[-1]


def _values(column, pg_type: str) -> list:
    """A column as Python values COPY can write: NaN in a whole-number or text
    column is NULL (GDAL gives NULL integers as NaN floats)."""
    import numpy as np

    arr = np.asarray(column)
    if pg_type in ("smallint", "integer", "bigint"):
        f = arr.astype(np.float64)
        return [None if not np.isfinite(v) else int(v) for v in f.tolist()]
    if pg_type in ("real", "double precision"):
        return arr.astype(np.float64).tolist()
    if pg_type == "boolean":
        return [None if v is None else bool(v) for v in arr.tolist()]
    return [None if v is None or (isinstance(v, float) and v != v) else str(v)
            for v in arr.tolist()]
