"""PostGIS tables and read-only queries as layer sources.

A scene layer ``source = "postgresql://host/db"`` with a ``table`` (or a
``query``) is read here, by bounding box through the table's spatial index
(``geom && ST_MakeEnvelope(...)``): the layer's ``bbox``, else the scene's
``extent``, else the whole table. The rows then take the GeoPackage path
(:func:`importers.vector.read_layer`): the same skip-and-repair rules, the same
pyproj reprojection into the scene CRS with its CRS record, the same extrusion,
so a building is the same mesh whichever store held it.

Credentials never come from the scene: libpq reads ``PGPASSWORD``/``PGHOST``...,
``~/.pgpass`` (``PGPASSFILE``), and when the server still asks for a password,
the OS keyring is asked (service :data:`KEYRING_SERVICE`, user = the URL's).

Every failure is one :class:`ImportFailed` line naming the source: a refused
connection, a wrong password, a missing table, a geometry column in another or
an unknown CRS. Connecting is bounded by ``connect_timeout``, and a read can be
cancelled: a watcher thread asks the server to cancel the running query, so a
slow query never outlives the user's Cancel.

``query`` runs inside a ``READ ONLY`` transaction as a sub-select, so a scene
file can filter and join but never write.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from importers.errors import ImportCancelled, ImportFailed

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

    from twin.layer import Layer
    from twin.scene import Scene

#: the OS keyring service that holds database passwords (user = the URL's user)
KEYRING_SERVICE = "citytwin-postgres"
#: seconds libpq may spend connecting before the source counts as unreachable
CONNECT_TIMEOUT_S = 10
#: rows per fetch from the server-side cursor: progress and cancel granularity
BATCH_ROWS = 25_000
DEFAULT_GEOMETRY = "geom"
_NUMBER_TYPES = frozenset({"int2", "int4", "int8", "float4", "float8", "numeric", "oid"})
_TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "name", "citext"})
#: columns not carried as attributes: other geometries and binary blobs
_SKIPPED_TYPES = frozenset({"geometry", "geography", "raster", "bytea", "box2d", "box3d"})


def describe(source: str, options: dict[str, Any]) -> str:
    """How errors name a source: the URL (never holding a password) and the table."""
    if "table" in options:
        return f"{source} (table {options['table']})"
    return f"{source} (query)"


# -- connecting ------------------------------------------------------------------
def connect(source: str, options: dict[str, Any] | None = None, *, read_only: bool = True):
    """A psycopg connection to ``source`` with credentials from libpq or the keyring.

    ``options["connect_timeout"]`` (seconds) bounds the attempt; a URL or
    ``PGCONNECT_TIMEOUT`` that sets one wins over the default.
    """
    import psycopg

    from twin.scenefile import database_url_problem

    options = options or {}
    label = describe(source, options) if options else source
    problem = database_url_problem(source)
    if problem is not None:
        raise ImportFailed(label, problem)
    kwargs: dict[str, Any] = {"application_name": "citytwin"}
    query = parse_qs(urlsplit(source).query)
    if "connect_timeout" in options:
        timeout = options["connect_timeout"]
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            raise ImportFailed(label, f"connect_timeout: expected seconds, got {timeout!r}")
        kwargs["connect_timeout"] = max(1, round(timeout))
    elif "connect_timeout" not in query and "PGCONNECT_TIMEOUT" not in os.environ:
        kwargs["connect_timeout"] = CONNECT_TIMEOUT_S
    try:
        try:
            conn = psycopg.connect(source, **kwargs)
        except psycopg.OperationalError as exc:
            if "no password supplied" not in str(exc):
                raise
            password = keyring_password(source)
            if password is None:
                user = _user(source)
                raise ImportFailed(
                    label,
                    f"the server asks a password for user {user!r} and none was found "
                    "(PGPASSWORD, ~/.pgpass, or `citytwin secrets set --postgres URL`)",
                ) from None
            conn = psycopg.connect(source, password=password, **kwargs)
    except psycopg.Error as exc:
        raise ImportFailed(label, f"cannot connect: {pg_message(exc)}") from None
    conn.read_only = read_only
    return conn


def _user(source: str) -> str:
    import getpass

    parts = urlsplit(source)
    query_user = parse_qs(parts.query).get("user")
    return parts.username or (query_user[0] if query_user else None) or os.environ.get(
        "PGUSER"
    ) or getpass.getuser()


def keyring_password(source: str) -> str | None:
    """The stored password for ``source``'s user, or None: first where ``citytwin
    secrets set --postgres URL`` puts it (the keyring's ``citytwin`` service, else
    the private secrets file, as for the feeds), then the keyring service
    :data:`KEYRING_SERVICE` under the user name (``keyring set citytwin-postgres USER``)."""
    from twin.sim import secrets

    try:
        stored = secrets.lookup(secrets.database_secret_key(source, _user(source)))
    except (secrets.SecretError, ValueError):
        stored = None
    if stored is not None:
        return stored
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, _user(source))
    except (KeyringError, RuntimeError, OSError):
        return None


def pg_message(exc: BaseException) -> str:
    """libpq's message in one line, without its "connection failed:" wrapper."""
    from twin.errors import first_line

    text = first_line(exc, limit=300)
    for prefix in ("connection failed: ", "FATAL: "):
        text = text.removeprefix(prefix)
    return text.replace("FATAL:  ", "").replace("FATAL: ", "")


# -- what is read ------------------------------------------------------------------
@dataclass
class Relation:
    """The table or query a layer reads, checked against the server."""

    #: ``FROM`` target: a qualified table name or the parenthesised query
    target: sql.Composable
    geometry: str
    #: attribute columns (name, type name), in the table's order
    columns: list[tuple[str, str]]
    #: the geometry column's SRID (0: none declared)
    srid: int
    #: True when every row's SRID is guaranteed (a typed column), else checked per row
    srid_declared: bool
    name: str


def relation(conn: psycopg.Connection, options: dict[str, Any], label: str) -> Relation:
    """Resolve ``table``/``query`` and its geometry column, with clear errors."""
    from psycopg import sql

    geometry = str(options.get("geometry", DEFAULT_GEOMETRY))
    declared_srid = None
    if "table" in options:
        row = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
            [str(options["table"])],
        ).fetchone()
        if row is None:
            raise ImportFailed(label, f"table {options['table']!r} does not exist")
        target: sql.Composable = sql.Identifier(row[0], row[1])
        name = row[1]
        found = conn.execute(
            "SELECT srid FROM geometry_columns WHERE f_table_schema = %s "
            "AND f_table_name = %s AND f_geometry_column = %s",
            [row[0], row[1], geometry],
        ).fetchone()
        declared_srid = None if found is None else int(found[0])
    else:
        text = str(options["query"]).strip().rstrip(";").strip()
        if not text:
            raise ImportFailed(label, "query is empty")
        target, name = sql.SQL("({})").format(sql.SQL(text)), "query"  # type: ignore[arg-type]
    cur = conn.execute(sql.SQL("SELECT * FROM {} AS t LIMIT 0").format(target))
    oids = [col.type_code for col in cur.description or []]
    names = dict(conn.execute("SELECT oid, typname FROM pg_type WHERE oid = ANY(%s)", [oids]))
    columns = [(col.name, names.get(col.type_code, "?")) for col in cur.description or []]
    types = dict(columns)
    if geometry not in types:
        geoms = [n for n, t in columns if t == "geometry"]
        have = f"geometry columns: {', '.join(geoms)}" if geoms else "it has no geometry column"
        raise ImportFailed(label, f"has no column {geometry!r} ({have})")
    if types[geometry] != "geometry":
        raise ImportFailed(
            label, f"column {geometry!r} is {types[geometry]}, not a PostGIS geometry"
        )
    attrs = [(n, t) for n, t in columns if n != geometry and t not in _SKIPPED_TYPES]
    if declared_srid:
        return Relation(target, geometry, attrs, declared_srid, True, name)
    sample = conn.execute(
        sql.SQL("SELECT ST_SRID({g}) FROM {t} AS t WHERE {g} IS NOT NULL LIMIT 1").format(
            g=sql.Identifier("t", geometry), t=target
        )
    ).fetchone()
    if sample is None:
        raise ImportFailed(label, f"no features (no row has a {geometry!r} geometry)")
    return Relation(target, geometry, attrs, int(sample[0]), False, name)


def source_crs(conn: psycopg.Connection, rel: Relation, options: dict[str, Any], label: str):
    """The CRS the rows are in, as a pyproj-readable string, checked against the
    layer's ``srid`` when it declares one. Returns ``(crs, envelope_srid, notes)``.

    An SRID missing from ``spatial_ref_sys`` is read as that EPSG code when PROJ
    knows it (with a note): PostGIS 3.3 ships without the VN-2000 TM-3 codes
    (EPSG:9205-9218) that Vietnamese provinces use, yet accepts them as SRIDs."""
    from twin.geo import CRSResolutionError, parse_crs

    expected = options.get("srid")
    column = f"geometry column {rel.geometry!r}"
    if rel.srid and expected is not None and int(expected) != rel.srid:
        raise ImportFailed(
            label, f"{column} is in SRID {rel.srid}, but the layer declares srid = {expected}"
        )
    srid = rel.srid or (int(expected) if expected is not None else 0)
    if srid == 0:
        raise ImportFailed(label, f"{column} has no SRID (0); declare the layer's srid")
    row = conn.execute(
        "SELECT auth_name, auth_srid, srtext FROM spatial_ref_sys WHERE srid = %s", [srid]
    ).fetchone()
    notes = []
    if row is None:
        row = ("EPSG", srid, "")
        notes.append(f"SRID {srid} is not in the database's spatial_ref_sys; read as EPSG:{srid}")
    auth, code, wkt = row
    for crs in (f"{auth}:{code}" if auth and code else "", wkt):
        try:
            parse_crs(crs)
            return crs, rel.srid, notes
        except CRSResolutionError:
            continue
    raise ImportFailed(
        label, f"{column}: SRID {srid} is unknown (not in spatial_ref_sys, nor an EPSG code)"
    )


def envelope(
    scene: Scene, options: dict[str, Any], src_crs: str
) -> tuple[float, float, float, float] | None:
    """The area to read, in the source CRS: the layer's ``bbox``, else the scene
    file's ``extent`` (both in the scene CRS), else None (everything). A box in
    another CRS is the box around the densified reprojected edges, so nothing
    inside the asked area is missed."""
    bbox = options.get("bbox")
    if bbox is None and scene.spec is not None:
        bbox = scene.spec.extent
    if bbox is None:
        return None
    xmin, ymin, xmax, ymax = (float(v) for v in bbox)
    from twin.geo import parse_crs, transformer

    if parse_crs(src_crs) == parse_crs(scene.crs):
        return xmin, ymin, xmax, ymax
    out = transformer(scene.crs, src_crs).transform_bounds(xmin, ymin, xmax, ymax, densify_pts=21)
    return tuple(float(v) for v in out)  # type: ignore[return-value]


def _select(
    rel: Relation, box: tuple[float, ...] | None, srid: int, where: sql.Composable | None = None
) -> sql.Composed:
    """The read, with the box as literals: no placeholders, so a ``%`` in a
    scene's query (``LIKE 'nha%'``) reaches the server as written. ``where``
    (over alias ``t``) narrows it further (a streamed tile keeps the rows it owns)."""
    from psycopg import sql

    geom = sql.Identifier("t", rel.geometry)
    fields = [sql.SQL("ST_AsBinary({})").format(geom)]
    if not rel.srid_declared:
        fields.append(sql.SQL("ST_SRID({})").format(geom))
    fields += [sql.Identifier("t", name) for name, _ in rel.columns]
    query = sql.SQL("SELECT {} FROM {} AS t").format(sql.SQL(", ").join(fields), rel.target)
    if box is not None:
        env = sql.SQL("ST_MakeEnvelope({})").format(
            sql.SQL(", ").join(sql.Literal(v) for v in (*box, srid))
        )
        query += sql.SQL(" WHERE {g} && {e} AND ST_Intersects({g}, {e})").format(g=geom, e=env)
    if where is not None:
        query += sql.SQL(" AND ({})" if box is not None else " WHERE ({})").format(where)
    return query


@contextlib.contextmanager
def _cancel_watch(conn: psycopg.Connection, cancel: threading.Event | None) -> Iterator[None]:
    """While the body runs, a set ``cancel`` asks the server to stop the query."""
    if cancel is None:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            if cancel.is_set():
                with contextlib.suppress(Exception):
                    conn.cancel_safe(timeout=5)
                return

    thread = threading.Thread(target=watch, name="postgis-cancel", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def fetch(
    source: str,
    scene: Scene,
    options: dict[str, Any],
    progress=None,
    cancel: threading.Event | None = None,
    where: sql.Composable | None = None,
) -> dict[str, Any]:
    """The rows of a source inside the read area (and ``where``), in the form
    :func:`importers.gdal_read.read` gives for one layer (``info``, ``wkb``,
    ``fields``, ``field_data``, ``notes``), plus ``name``, ``bbox`` and
    ``source_notes`` (what the layer's warnings should say about the source)."""
    import psycopg

    label = describe(source, options)
    with connect(source, options) as conn, _cancel_watch(conn, cancel):
        try:
            rel = relation(conn, options, label)
            _check_columns(rel, options, label)
            src_crs, srid, notes = source_crs(conn, rel, options, label)
            box = envelope(scene, options, src_crs)
            query = _select(rel, box, srid, where)
            total = _estimate(conn, query)
            rows: list[tuple] = []
            with conn.cursor(name="citytwin_read", binary=True) as cur:
                cur.execute(query)
                while batch := cur.fetchmany(BATCH_ROWS):
                    rows.extend(batch)
                    if cancel is not None and cancel.is_set():
                        raise ImportCancelled(label)
                    if progress is not None:
                        progress(len(rows), max(total, len(rows) + 1))
        except psycopg.errors.QueryCanceled:
            if cancel is not None and cancel.is_set():
                raise ImportCancelled(label) from None
            message = "the server cancelled the query (statement_timeout?)"
            raise ImportFailed(label, message) from None
        except psycopg.Error as exc:
            raise ImportFailed(label, pg_message(exc)) from None
    if progress is not None:
        progress(len(rows), len(rows))
    found = _columns(rows, rel, src_crs, box, options, label)
    found["source_notes"] = notes + found["source_notes"]
    return found


def _check_columns(rel: Relation, options: dict[str, Any], label: str) -> None:
    """The columns a scene names exist, checked before any row is read."""
    have = {name for name, _ in rel.columns}
    for key, option in (("height", "height_field"), ("levels", "levels_field"),
                        ("id", "id_field")):
        column = options.get(option)
        if column is not None and column not in have:
            raise ImportFailed(label, f"{key} column {column!r} does not exist")


def _estimate(conn: psycopg.Connection, query: sql.Composed) -> int:
    """The planner's row estimate (progress total), without running the query."""
    from psycopg import sql

    plan = conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) ") + query).fetchone()
    return max(1, int(plan[0][0]["Plan"]["Plan Rows"]))


def _columns(
    rows: list[tuple],
    rel: Relation,
    src_crs: str,
    box: tuple[float, ...] | None,
    options: dict[str, Any],
    label: str,
) -> dict[str, Any]:
    n = len(rows)
    cols = list(zip(*rows, strict=True)) if rows else [()] * (2 + len(rel.columns))
    wkb = np.empty(n, dtype=object)
    wkb[:] = cols[0]
    first = 1
    if not rel.srid_declared:
        srids = {s for s in cols[1] if s is not None}
        if len(srids) > 1:
            found = ", ".join(str(s) for s in sorted(srids))
            raise ImportFailed(label, f"geometry column {rel.geometry!r} mixes SRIDs {found}")
        first = 2
    fields = [name for name, _ in rel.columns]
    data = [_array(cols[first + i], t) for i, (_, t) in enumerate(rel.columns)]
    notes: list[str] = []
    levels = options.get("levels_field")
    if levels is not None and levels != "building:levels":
        if "building:levels" in fields:
            notes.append(f"levels = {levels!r} ignored: the source has building:levels")
        else:  # the name the extrusion reads levels from (importers.vector)
            fields.append("building:levels")
            data.append(data[fields.index(levels)])
    return {
        "name": rel.name,
        "bbox": box,
        "info": {"crs": src_crs, "driver": "PostgreSQL"},
        "wkb": wkb,
        "fields": fields,
        "field_data": data,
        "notes": [],  # GDAL's messages in the file path; none here
        "source_notes": notes,
    }


def _array(values: tuple, type_name: str) -> np.ndarray:
    """One column as the GDAL path gives it: numbers float64 (NULL -> NaN),
    booleans bool, everything else text objects (None for NULL)."""
    if type_name in _NUMBER_TYPES:
        return np.array(values, dtype=np.float64)  # None -> NaN, Decimal -> float
    out = np.empty(len(values), dtype=object)
    if type_name == "bool" and None not in values:
        return np.array(values, dtype=bool)
    if type_name in _TEXT_TYPES or type_name == "bool":
        out[:] = values
    else:
        out[:] = [None if v is None else str(v) for v in values]
    return out


# -- the importer entry point -----------------------------------------------------------
def read(
    source: str,
    scene: Scene,
    options: dict[str, Any],
    progress=None,
    cancel: threading.Event | None = None,
) -> list[Layer]:
    """Layers from a PostGIS table or query (``options``: ``table`` or ``query``,
    ``geometry``, ``height_field``, ``levels_field``, ``id_field``, ``srid``,
    ``bbox`` and the vector importer's options), reprojected into ``scene``."""
    from importers import vector

    label = describe(source, options)
    if ("table" in options) == ("query" in options):
        raise ImportFailed(label, "give a table or a query (one of them)")
    found = fetch(source, scene, options, progress, cancel)
    if len(found["wkb"]) == 0:
        where = "" if found["bbox"] is None else f" inside {list(found['bbox'])}"
        raise ImportFailed(label, f"no features{where}")
    layers = vector.read_layer(label, found["name"], found, scene, options)  # type: ignore[arg-type]
    for layer in layers:
        layer.source = None  # not a file: reload/reveal actions do not apply
        layer.warnings = found["source_notes"] + layer.warnings
        layer.info.update(
            {
                "source": source,
                "table" if "table" in options else "query": options.get(
                    "table", options.get("query")
                ),
                "bbox": None if found["bbox"] is None else list(found["bbox"]),
                "rows": len(found["wkb"]),
            }
        )
    return layers
