"""Tile reads of a large GeoPackage or PostGIS layer: by bounding box, through its index.

:mod:`twin.tiles` cuts a layer into quadtree tiles; this module gives it the
features' boxes without reading a feature: a GeoPackage's from its R-tree's own
node pages (decoded with numpy, ~0.3 s for a million rows, where a ``SELECT`` of
the R-tree's virtual table takes 2-4 s), a PostGIS table's as feature counts per
quadtree cell from one ``GROUP BY`` on the server (2,200 rows back instead
of a million; cells too full for a tile are counted again through the GiST
index, not by another scan). A tile is read with pyogrio's ``bbox=`` (or a PostGIS bbox read),
both through the spatial index, keeping only the features the tile owns.
A full-detail tile goes through the vector importer's own path
(:func:`importers.vector.read_layer`: reprojection, repair, heights, ids,
attributes); a box-per-building tile goes through the same path with each
footprint replaced by its bounding box, so far tiles cost 10 triangles a
building and still pick to the right feature. The far blocks read no feature:
they come from per-cell aggregates (:class:`_Blocks`).

Tile reads run in-process (worker threads), not in the sandboxed GDAL child
the whole-file import uses: a child round trip per tile would cost more than
the read. The file was opened and indexed first, so a damaged file fails there.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from importers import vector
from importers.errors import ImportFailed
from twin.layer import Layer
from twin.scene import Scene
from twin.tiles import (
    BLOCKS,
    FULL,
    MAX_DEPTH,
    BlockTable,
    TiledSource,
    Tiles,
    block_boxes,
    block_depth,
    blocks_from_cells,
    build_quadtree,
    build_quadtree_split,
    centre_keys,
    morton,
    quadtree_from_cells,
    snapped_root,
)

#: BLOCKS reads of single tiles before the whole layer's blocks are aggregated at
#: once (an overview asks for hundreds; a street view for a few)
BATCH_BLOCKS_AFTER = 24
#: rows sampled for a layer's footprint-to-box area ratio (how far blocks shrink)
FILL_SAMPLE = 4000
#: bump when a cached PostGIS index's meaning changes
INDEX_VERSION = "tiles-1"


class GpkgTileReader:
    """Index and read one polygon layer of a GeoPackage as tiles."""

    def __init__(
        self, path: Path | str, layer: str, scene: Scene, options: dict[str, Any] | None = None
    ) -> None:
        import pyogrio

        self.path, self.layer, self.scene = Path(path), layer, scene
        self.options = dict(options or {})
        try:
            info = pyogrio.read_info(str(self.path), layer=layer)
        except Exception as exc:  # pyogrio raises several types for a bad file
            raise ImportFailed(self.path, f"cannot open layer {layer!r}: {exc}") from None
        self.crs = info.get("crs") or scene.crs
        self.geometry_column = info.get("geometry_name") or "geom"
        self.fields = [str(f) for f in info["fields"]]
        self._lock = threading.Lock()
        self._rows: tuple[np.ndarray, np.ndarray] | None = None
        self.blocks = _Blocks(self._block_cells, self.fill)

    @property
    def _rtree(self) -> str:
        return f"rtree_{self.layer}_{self.geometry_column}"

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)

    def boxes(self) -> tuple[np.ndarray, np.ndarray]:
        """(fids, (n, 4) boxes) of every feature, decoded from the R-tree's node
        pages; the slower ``SELECT`` (:meth:`boxes_sql`) when they do not parse."""
        try:
            with contextlib.closing(self._connect()) as conn:
                self._rows = rtree_leaf_boxes(conn, self._rtree)
        except (sqlite3.Error, ValueError):
            self._rows = self.boxes_sql()
        return self._rows

    def boxes_sql(self) -> tuple[np.ndarray, np.ndarray]:
        """(fids, (n, 4) boxes) through the R-tree's virtual table (the first
        index's read; the fallback, e.g. for a GeoPackage without R-tree)."""
        try:
            with contextlib.closing(self._connect()) as conn:
                rows = conn.execute(
                    f'SELECT id, minx, miny, maxx, maxy FROM "{self._rtree}"'
                ).fetchall()
        except sqlite3.Error:
            import pyogrio

            fids, bounds = pyogrio.read_bounds(str(self.path), layer=self.layer)
            return np.asarray(fids, np.int64), np.asarray(bounds, np.float64).T
        arr = np.array(rows, dtype=np.float64).reshape(-1, 5)
        return arr[:, 0].astype(np.int64), arr[:, 1:]

    def index(self, max_features: int = 2000) -> Tiles:
        """The quadtree of the layer (source CRS), on the snapped root of its extent."""
        fids, boxes = self.boxes()
        if len(fids) == 0:
            raise ImportFailed(self.path, f"layer {self.layer!r} has no features")
        extent = (*boxes[:, :2].min(axis=0), *boxes[:, 2:].max(axis=0))
        return build_quadtree(fids, boxes, max_features, root=snapped_root(extent))

    def index_split(self, max_features: int = 2000) -> Tiles:
        """The first index (R-tree ``SELECT`` + recursive splits), for the benchmark."""
        fids, boxes = self.boxes_sql()
        if len(fids) == 0:
            raise ImportFailed(self.path, f"layer {self.layer!r} has no features")
        return build_quadtree_split(fids, boxes, max_features)

    def _block_cells(self, tiles: Tiles, depth: int, reach=None) -> dict[str, np.ndarray]:
        """Per block cell at ``depth``: count, box, summed box area, sum of log
        heights and their count. One tile (``reach``): SQLite over the R-tree
        joined to the features. The whole layer: numpy over the index's boxes
        and one read of the height columns (a ``GROUP BY`` over the R-tree's
        virtual table takes 5x longer)."""
        if reach is None:
            return self._all_block_cells(tiles, depth)
        import pyogrio.raw

        x0, y0, _ = tiles.root
        scale, top = tiles.scale(depth), 2**depth - 1
        key = "MIN(MAX(CAST(((r.min{a} + r.max{a}) / 2 - {o!r}) * {s!r} AS INTEGER), 0), {t})"
        where = ""
        if reach is not None:
            reach = [float(v) for v in reach]
            where = (f"WHERE r.minx <= {reach[2]!r} AND r.maxx >= {reach[0]!r} "
                     f"AND r.miny <= {reach[3]!r} AND r.maxy >= {reach[1]!r}")
        fid = _fid_column(self.path, self.layer)
        height = _height_sql(self.fields, self.options, '"{}"')
        query = (
            f"SELECT {key.format(a='x', o=x0, s=scale, t=top)} AS kx, "
            f"{key.format(a='y', o=y0, s=scale, t=top)} AS ky, COUNT(*) AS n, "
            "MIN(r.minx) AS x0, MIN(r.miny) AS y0, MAX(r.maxx) AS x1, MAX(r.maxy) AS y1, "
            "SUM((r.maxx - r.minx) * (r.maxy - r.miny)) AS area, "
            f"SUM(ln({height})) AS hs, "
            f'COUNT({height}) AS hn FROM "{self._rtree}" AS r JOIN "{self.layer}" AS f '
            f'ON f."{fid}" = r.id {where} GROUP BY kx, ky'
        )
        meta, _, _, data = pyogrio.raw.read(str(self.path), sql=query, read_geometry=False)[:4]
        return dict(zip([str(f) for f in meta["fields"]], data, strict=True))

    def local_boxes(self, tiles: Tiles, z_top: float) -> np.ndarray:
        """(T, 6) scene-local boxes of the tiles' reach, from z 0 to ``z_top``."""
        reach = tiles.reach
        from twin.geo import parse_crs, transformer

        if parse_crs(self.crs) != parse_crs(self.scene.crs):
            t = transformer(self.crs, self.scene.crs)
            reach = np.array([t.transform_bounds(*r, densify_pts=5) for r in reach])
        ox, oy, oz = self.scene.origin
        out = np.empty((len(reach), 6))
        out[:, [0, 3]] = reach[:, [0, 2]] - ox
        out[:, [1, 4]] = reach[:, [1, 3]] - oy
        out[:, 2], out[:, 5] = -oz, z_top - oz
        return out

    def _all_block_cells(self, tiles: Tiles, depth: int) -> dict[str, np.ndarray]:
        fids, boxes = self._rows if self._rows is not None else self.boxes()
        height = _height_sql(self.fields, self.options, '"{}"')
        fid = _fid_column(self.path, self.layer)
        with contextlib.closing(self._connect()) as conn:
            rows = conn.execute(f'SELECT "{fid}", {height} FROM "{self.layer}"').fetchall()
        got = np.array(rows, dtype=np.float64).reshape(-1, 2)
        order = np.argsort(got[:, 0])
        at = np.searchsorted(got[order, 0], fids)
        h = got[order, 1][np.clip(at, 0, len(got) - 1)]
        return aggregate_cells(centre_keys(boxes, tiles.root, depth), boxes, h)

    def fill(self) -> float:
        """Footprint area over box area, from a sample of the first rows (GDAL's
        ``ST_Area``): blocks shrink by it without decoding every footprint."""
        import pyogrio.raw

        g = f'"{self.geometry_column}"'
        query = (f"SELECT ST_Area({g}) AS a, ST_MinX({g}) AS x0, ST_MinY({g}) AS y0, "
                 f'ST_MaxX({g}) AS x1, ST_MaxY({g}) AS y1 FROM "{self.layer}" LIMIT {FILL_SAMPLE}')
        a, x0, y0, x1, y1 = pyogrio.raw.read(str(self.path), sql=query, read_geometry=False)[3]
        return _fill(a, x0, y0, x1, y1)

    def read(self, tiles: Tiles, t: int, detail: int) -> Layer:
        """Tile ``t`` at ``detail`` (:data:`twin.tiles.FULL`, ``LOD``, ``BLOCKS``)."""
        if detail == BLOCKS:
            layer = self.blocks.layer(tiles, t, f"{self.layer} tile {t}", self.crs, self.scene,
                                      self.options, self.path)
        else:
            layer = self.read_features(tiles.reach[t], tiles.fids[t], detail, f"tile {t}")
        layer.info.update({"tile": int(t), "detail": int(detail)})
        return layer

    def read_geometry_blocks(self, tiles: Tiles, t: int) -> Layer:
        """Tile ``t``'s blocks built from its features' geometry (the first way,
        kept for the benchmark and the tests' comparison)."""
        layer = self.read_features(tiles.reach[t], tiles.fids[t], BLOCKS, f"tile {t}")
        layer.info.update({"tile": int(t), "detail": BLOCKS})
        return layer

    def read_features(
        self, reach: np.ndarray, fids: np.ndarray, detail: int, label: str
    ) -> Layer:
        """The features ``fids`` (all inside the box ``reach``, source CRS) at
        ``detail``, through the vector importer's path, as one layer."""
        import pyogrio.raw

        lod = detail != FULL
        wanted = [f for f in self.fields if not lod or f in _LOD_FIELDS]
        meta, got, wkb, field_data = pyogrio.raw.read(
            str(self.path),
            layer=self.layer,
            bbox=tuple(float(v) for v in reach),
            columns=wanted,
            return_fids=True,
        )[:4]
        keep = np.isin(got, fids)
        fields = [str(f) for f in meta["fields"]]
        columns = [np.asarray(col)[keep] for col in field_data]
        found = {"info": {"crs": self.crs, "driver": "GPKG"}, "fields": fields,
                 "field_data": columns, "wkb": wkb[keep], "notes": []}
        name = f"{self.layer} {label}"
        return tile_layer(self.path, name, found, detail, self.scene, self.options)


def tile_layer(
    where: Path | str, name: str, found: dict[str, Any], detail: int, scene: Scene,
    options: dict[str, Any],
) -> Layer:
    """Rows as :func:`importers.gdal_read.read` gives them -> one layer at ``detail``
    through the vector importer; low details replace footprints by boxes first."""
    fields, columns, wkb = found["fields"], found["field_data"], found["wkb"]
    if detail != FULL:
        geoms = shapely.from_wkb(wkb)
        b = shapely.bounds(geoms)
        if detail == BLOCKS:
            heights = vector.building_heights(
                dict(zip(fields, columns, strict=True)), len(b), np.nan, options
            )[1]
            b, med, counts = block_boxes(b, heights, areas=shapely.area(geoms))
            fields = ["id", "class", "height", "buildings"]
            columns = [
                np.array([f"{name} block {k}" for k in range(len(b))], dtype=object),
                np.full(len(b), "residential", dtype=object),  # the commonest look
                med,
                counts.astype(np.float64),
            ]
        wkb = shapely.to_wkb(shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]))
    data = {**found, "fields": fields, "field_data": columns, "wkb": wkb}
    label = f"{name}{'' if detail == FULL else f' detail {detail}'}"
    return vector.read_layer(where, label, data, scene, options)[0]  # type: ignore[arg-type]


class PostgisTileReader:
    """Index and read a PostGIS table or query as tiles.

    The index is counts per quadtree cell, aggregated on the server by one
    ``GROUP BY`` over each row's cached box centre (``postgis_getbbox``: the box
    stored with the geometry, no geometry decoded), on a root snapped from the
    table's estimated extent (statistics, no scan), at a depth from its row
    estimate (:func:`first_depth`); cells still too full are counted again,
    four levels deeper, from their rows alone (through the spatial index). A
    tile is a bbox read through the GiST index whose ``WHERE`` keeps the rows
    whose key is the tile's (the same expression, so server and index agree on
    every row)."""

    def __init__(self, source: str, scene: Scene, options: dict[str, Any]) -> None:
        from importers import postgis

        self.source, self.scene, self.options = source, scene, dict(options)
        self.label = postgis.describe(source, self.options)
        with postgis.connect(source, self.options) as conn:
            try:
                self.rel = postgis.relation(conn, self.options, self.label)
                self.crs = postgis.source_crs(conn, self.rel, self.options, self.label)[0]
            except Exception as exc:
                if isinstance(exc, ImportFailed):
                    raise
                raise ImportFailed(self.label, postgis.pg_message(exc)) from None
        self.blocks = _Blocks(self._block_cells, self.fill)
        self._tiles: Tiles | None = None

    # -- SQL pieces ------------------------------------------------------------------
    def _box(self):
        from psycopg import sql

        return sql.SQL("postgis_getbbox({})").format(sql.Identifier("t", self.rel.geometry))

    def _key(self, root: tuple[float, float, float], depth: int, axis: str):
        """The row's cell key at ``depth`` on ``axis`` (x or y), as
        :func:`twin.tiles.centre_keys` computes it."""
        from psycopg import sql

        a = axis.upper()
        return sql.SQL(
            "LEAST(GREATEST(floor(((ST_{a}Min({b}) + ST_{a}Max({b})) / 2 - {o}) * {s}), 0), "
            "{t})::int8"
        ).format(a=sql.SQL(a), b=self._box(), o=sql.Literal(root[0 if axis == "x" else 1]),
                 s=sql.Literal(2.0**depth / root[2]), t=sql.Literal(2**depth - 1))

    def _run(self, query) -> list[tuple]:
        import psycopg

        from importers import postgis

        with postgis.connect(self.source, self.options) as conn:
            try:
                conn.execute("SET LOCAL jit = off")  # compiling costs more than it saves here
                conn.execute("SET LOCAL work_mem = '64MB'")  # hash the groups, no sort
                return conn.execute(query).fetchall()
            except psycopg.Error as exc:
                raise ImportFailed(self.label, postgis.pg_message(exc)) from None

    def extent(self) -> tuple[float, float, float, float]:
        """The layer's extent: the planner's estimate for a table (no scan),
        else (a query, or a table never analysed) the boxes' exact union."""
        from psycopg import sql

        g = sql.Identifier("t", self.rel.geometry)
        rows: list[tuple] = []
        if "table" in self.options:
            rows = self._run(sql.SQL(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                "ST_EstimatedExtent(n.nspname, c.relname, {col}) AS e FROM pg_class c JOIN "
                "pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass({t})) q"
            ).format(col=sql.Literal(self.rel.geometry), t=sql.Literal(str(self.options["table"]))))
        if not rows or rows[0][0] is None:
            b = self._box()
            rows = self._run(sql.SQL(
                "SELECT min(ST_XMin({b})), min(ST_YMin({b})), max(ST_XMax({b})), "
                "max(ST_YMax({b})) FROM {t} AS t WHERE {g} IS NOT NULL"
            ).format(b=b, g=g, t=self.rel.target))
        if not rows or rows[0][0] is None:
            raise ImportFailed(self.label, "no features")
        return tuple(float(v) for v in rows[0])  # type: ignore[return-value]

    def _envelope(self, box) -> Any:
        """``ST_MakeEnvelope`` of a source-CRS (xmin, ymin, xmax, ymax)."""
        from psycopg import sql

        return sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, {})").format(
            *(sql.Literal(float(v)) for v in box), sql.Literal(self.rel.srid))

    def _cells(self, root, depth: int, within: np.ndarray | None = None, within_depth: int = 0,
               within_reach: np.ndarray | None = None):
        """(keys, counts, reach) per non-empty cell at ``depth``; ``within`` limits
        it to the (k, 2) cells at ``within_depth`` that must split further, each
        read through the spatial index by its ``within_reach`` box (a join per
        cell: the rows of a few dense cells, not a second scan of the table)."""
        from psycopg import sql

        b, g = self._box(), sql.Identifier("t", self.rel.geometry)
        source = sql.SQL("{} AS t").format(self.rel.target)
        where = sql.SQL("{} IS NOT NULL").format(g)
        if within is not None:
            reach = np.asarray(within_reach, np.float64).reshape(-1, 4)
            rows = sql.SQL(", ").join(
                sql.SQL("({}, {}, {})").format(sql.Literal(int(x)), sql.Literal(int(y)),
                                               self._envelope(box))
                for (x, y), box in zip(within, reach, strict=True)
            )
            source = sql.SQL("(VALUES {}) AS c(kx, ky, env) JOIN {} ON {} && c.env").format(
                rows, source, g)
            where += sql.SQL(" AND {} = c.kx AND {} = c.ky").format(
                self._key(root, within_depth, "x"), self._key(root, within_depth, "y"))
        rows = self._run(sql.SQL(
            "SELECT {kx} AS kx, {ky} AS ky, count(*), min(ST_XMin({b})), min(ST_YMin({b})), "
            "max(ST_XMax({b})), max(ST_YMax({b})) FROM {s} WHERE {w} GROUP BY 1, 2"
        ).format(kx=self._key(root, depth, "x"), ky=self._key(root, depth, "y"), b=b,
                 s=source, w=where))
        arr = np.array(rows, dtype=np.float64).reshape(-1, 7)
        return arr[:, :2].astype(np.int64), arr[:, 2].astype(np.int64), arr[:, 3:]

    def _row_estimate(self) -> float:
        """The planner's row count of a table (statistics, no scan); 0: unknown."""
        from psycopg import sql

        if "table" not in self.options:
            return 0.0
        rows = self._run(sql.SQL("SELECT reltuples FROM pg_class WHERE oid = to_regclass({})")
                         .format(sql.Literal(str(self.options["table"]))))
        return max(float(rows[0][0]), 0.0) if rows and rows[0][0] is not None else 0.0

    # -- index -------------------------------------------------------------------------
    def _stamp(self) -> str | None:
        """What changes when a table's rows do (its file node, row-change counters,
        live rows), or None (a query: never cached). The counters reach other
        sessions when the writing one commits and goes idle or closes."""
        from psycopg import sql

        if "table" not in self.options:
            return None
        rows = self._run(sql.SQL(
            "SELECT c.relfilenode, s.n_tup_ins, s.n_tup_upd, s.n_tup_del, s.n_live_tup "
            "FROM pg_class c LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid "
            "WHERE c.oid = to_regclass({})"
        ).format(sql.Literal(str(self.options["table"]))))
        return repr(rows[0]) if rows else None

    def index(self, max_features: int = 2000, cell: float = 200.0, cache: bool = True) -> Tiles:
        """The quadtree from cell counts (kept in the user cache per table and
        its change stamp: a reopen skips the scan; the first open never needs it)."""
        import hashlib

        stamp = self._stamp() if cache else None
        path = None
        if stamp is not None:
            text = "|".join([INDEX_VERSION, self.source, str(self.options["table"]),
                             self.rel.geometry, str(max_features), repr(cell), stamp])
            path = index_cache_dir() / f"{hashlib.sha256(text.encode()).hexdigest()}.npz"
            tiles = load_tiles(path)
            if tiles is not None:
                self._tiles = tiles
                return tiles
        tiles = self._index(max_features, cell)
        if path is not None:
            save_tiles(path, tiles)
        return tiles

    def _index(self, max_features: int, cell: float) -> Tiles:
        """The quadtree from cell counts: one aggregate at a depth whose cells are
        about ``cell`` units, then deeper only where a cell holds too many."""
        root = snapped_root(self.extent())
        depth = first_depth(root[2], cell, self._row_estimate(), max_features)
        keys, counts, reach = self._cells(root, depth)
        if len(keys) == 0:
            raise ImportFailed(self.label, "no features")
        tiles, dense = quadtree_from_cells(keys, depth, counts, reach, root, max_features)
        while len(dense):
            deeper = min(MAX_DEPTH, depth + 4)
            refined = np.isin(_pair_code(keys), _pair_code(dense))
            fine = self._cells(root, deeper, keys[refined], depth, reach[refined])
            shift = deeper - depth
            keys = np.vstack([keys[~refined] << shift, fine[0]])
            counts = np.concatenate([counts[~refined], fine[1]])
            reach = np.vstack([reach[~refined], fine[2]])
            depth = deeper
            tiles, dense = quadtree_from_cells(keys, depth, counts, reach, root, max_features)
        self._tiles = tiles
        return tiles

    def index_rows(self, max_features: int = 2000) -> Tiles:
        """The first index (every row's ``Box2D`` to Python, recursive splits),
        for the benchmark's before/after."""
        from psycopg import sql

        g = sql.Identifier("t", self.rel.geometry)
        rows = self._run(sql.SQL(
            "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM "
            "(SELECT Box2D({g}) AS b FROM {t} AS t WHERE {g} IS NOT NULL) AS q"
        ).format(g=g, t=self.rel.target))
        boxes = np.array(rows, dtype=np.float64).reshape(-1, 4)
        return build_quadtree_split(np.arange(len(boxes)), boxes, max_features)

    def row_boxes(self) -> np.ndarray:
        """Every row's cached box (what the keys are computed from), for tests."""
        from psycopg import sql

        b, g = self._box(), sql.Identifier("t", self.rel.geometry)
        rows = self._run(sql.SQL(
            "SELECT ST_XMin({b}), ST_YMin({b}), ST_XMax({b}), ST_YMax({b}) FROM {t} AS t "
            "WHERE {g} IS NOT NULL"
        ).format(b=b, g=g, t=self.rel.target))
        return np.array(rows, dtype=np.float64).reshape(-1, 4)

    local_boxes = GpkgTileReader.local_boxes

    # -- reads -------------------------------------------------------------------------
    def _bbox(self, reach) -> list[float]:
        """A source-CRS box as the scene-CRS ``bbox`` option the fetch takes."""
        from twin.geo import parse_crs, transformer

        if parse_crs(self.crs) != parse_crs(self.scene.crs):
            reach = transformer(self.crs, self.scene.crs).transform_bounds(*reach, densify_pts=5)
        pad = 1e-3  # the box test is inclusive; ownership is the key test
        return [reach[0] - pad, reach[1] - pad, reach[2] + pad, reach[3] + pad]

    def read(self, tiles: Tiles, t: int, detail: int) -> Layer:
        from psycopg import sql

        from importers import postgis

        name = f"{self.rel.name} tile {t}"
        if detail == BLOCKS:
            layer = self.blocks.layer(tiles, t, name, self.crs, self.scene, self.options, None)
        else:
            d = int(tiles.depth[t])
            own = sql.SQL("{} = {} AND {} = {}").format(
                self._key(tiles.root, d, "x"), sql.Literal(int(tiles.key[t, 0])),
                self._key(tiles.root, d, "y"), sql.Literal(int(tiles.key[t, 1])),
            )
            found = postgis.fetch(self.source, self.scene,
                                  {**self.options, "bbox": self._bbox(tiles.reach[t])}, where=own)
            layer = tile_layer(self.label, name, found, detail, self.scene, self.options)
        layer.source = None
        layer.info.update({"tile": int(t), "detail": int(detail), "source": self.source})
        return layer

    def read_rows(self, tiles: Tiles, t: int, detail: int) -> Layer:
        """The first read, for :meth:`index_rows` tiles (the benchmark's before):
        rows kept by their geometry's box centre in the tile's cell, blocks
        built from the geometry."""
        from importers import postgis

        found = postgis.fetch(self.source, self.scene,
                              {**self.options, "bbox": self._bbox(tiles.reach[t])})
        b = shapely.bounds(shapely.from_wkb(found["wkb"]))
        cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
        x0, y0, x1, y1 = tiles.cell[t]
        keep = (cx >= x0) & (cx < x1) & (cy >= y0) & (cy < y1)
        found = {**found, "wkb": found["wkb"][keep],
                 "field_data": [np.asarray(c)[keep] for c in found["field_data"]]}
        layer = tile_layer(self.label, f"{found['name']} tile {t}", found, detail,
                           self.scene, self.options)
        layer.source = None
        layer.info.update({"tile": int(t), "detail": int(detail), "source": self.source})
        return layer

    def fill(self) -> float:
        """Footprint area over box area, from a sample of rows (``ST_Area``)."""
        return _pg_fill(self)

    def _block_cells(self, tiles: Tiles, depth: int, reach=None) -> dict[str, np.ndarray]:
        """Per block cell at ``depth``: count, cached box, summed box area, sum
        of log heights and their count (no geometry decoded); ``reach`` limits
        it to one tile."""
        from psycopg import sql

        b, g = self._box(), sql.Identifier("t", self.rel.geometry)
        where = sql.SQL("{} IS NOT NULL").format(g)
        if reach is not None:
            where += sql.SQL(" AND {} && {}").format(g, self._envelope(reach))
        height = sql.SQL(_height_sql([n for n, _ in self.rel.columns], self.options,
                                     't."{}"', self.options.get("levels_field")))
        rows = self._run(sql.SQL(
            "SELECT {kx}, {ky}, count(*), min(ST_XMin({b})), min(ST_YMin({b})), "
            "max(ST_XMax({b})), max(ST_YMax({b})), "
            "sum((ST_XMax({b}) - ST_XMin({b})) * (ST_YMax({b}) - ST_YMin({b}))), "
            "sum(ln({h})), count({h}) "
            "FROM {t} AS t WHERE {w} GROUP BY 1, 2"
        ).format(kx=self._key(tiles.root, depth, "x"), ky=self._key(tiles.root, depth, "y"),
                 b=b, g=g, h=height, t=self.rel.target, w=where))
        arr = np.array(rows, dtype=np.float64).reshape(-1, 10)
        names = ("kx", "ky", "n", "x0", "y0", "x1", "y1", "area", "hs", "hn")
        return {k: arr[:, i] for i, k in enumerate(names)}


def first_depth(side: float, cell: float, rows: float, max_features: int) -> int:
    """The depth of a server's first count per cell: cells of about ``cell``
    units, or coarser where the table's row estimate says a cell would hold far
    fewer than a tile (``max_features / 8`` on average over the whole root).
    Every level finer costs the server more groups (1M rows: 34,000 cells of
    216 m 1.5 s, 133,000 of 108 m 1.9 s, 2,200 of 864 m 1.3 s); a cell still too
    full is counted again through the spatial index, at the price of its rows."""
    fine = np.ceil(np.log2(max(side / cell, 1.0)))
    if rows > 0:
        fine = min(fine, np.ceil(np.log(max(rows / (max_features / 8), 1.0)) / np.log(4)))
    return int(np.clip(fine, 1, MAX_DEPTH))


def _pg_fill(reader: PostgisTileReader) -> float:
    from psycopg import sql

    g = sql.Identifier("t", reader.rel.geometry)
    rows = reader._run(sql.SQL(
        "SELECT ST_Area(g), ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g) FROM "
        "(SELECT {g} AS g FROM {t} AS t WHERE {g} IS NOT NULL LIMIT {n}) AS q"
    ).format(g=g, t=reader.rel.target, n=sql.Literal(FILL_SAMPLE)))
    arr = np.array(rows, dtype=np.float64).reshape(-1, 5)
    return _fill(*arr.T)


def _fill(area, x0, y0, x1, y1) -> float:
    box = (np.asarray(x1) - x0) * (np.asarray(y1) - y0)
    total = float(np.nansum(box))
    return float(np.clip(np.nansum(area) / total, 0.05, 1.0)) if total > 0 else 1.0


def aggregate_cells(keys: np.ndarray, boxes: np.ndarray, height: np.ndarray) -> dict:
    """What the SQL block aggregates return, from per-row (n, 2) cell ``keys``,
    (n, 4) ``boxes`` and raw ``height`` (NaN: unknown), in numpy."""
    code = morton(keys[:, 0], keys[:, 1])
    order = np.argsort(code)
    code, boxes, height = code[order], boxes[order], height[order]
    starts = np.flatnonzero(np.concatenate([[True], code[1:] != code[:-1]]))
    ok = np.isfinite(height) & (height > 0)
    logs = np.where(ok, np.log(np.where(ok, height, 1.0)), 0.0)
    first = keys[order][starts]
    box_area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return {
        "kx": first[:, 0], "ky": first[:, 1],
        "n": np.diff(np.append(starts, len(code))),
        "x0": np.minimum.reduceat(boxes[:, 0], starts),
        "y0": np.minimum.reduceat(boxes[:, 1], starts),
        "x1": np.maximum.reduceat(boxes[:, 2], starts),
        "y1": np.maximum.reduceat(boxes[:, 3], starts),
        "area": np.add.reduceat(box_area, starts),
        "hs": np.add.reduceat(logs, starts),
        "hn": np.add.reduceat(ok.astype(np.int64), starts),
    }


def index_cache_dir() -> Path:
    root = os.environ.get("CITYTWIN_CACHE_DIR") or str(Path.home() / ".cache" / "citytwin")
    return Path(root) / "tiles"


def save_tiles(path: Path, tiles: Tiles) -> None:
    """Write an aggregate index (no fids) atomically; a failure only costs the cache."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, cell=tiles.cell, reach=tiles.reach, count=tiles.count,
                     depth=tiles.depth, key=tiles.key, root=np.array(tiles.root))
        os.replace(tmp, path)
    except OSError:
        pass


def load_tiles(path: Path) -> Tiles | None:
    """A saved index, or None when absent or unreadable."""
    try:
        with np.load(path) as z:
            return Tiles(z["cell"], z["reach"], z["count"], z["depth"], (), z["key"],
                         tuple(float(v) for v in z["root"]))  # type: ignore[arg-type]
    except (OSError, KeyError, ValueError):
        return None


def _pair_code(keys: np.ndarray) -> np.ndarray:
    keys = np.asarray(keys, np.int64).reshape(-1, 2)
    return (keys[:, 0] << 32) | keys[:, 1]


def _height_sql(
    fields: list[str], options: dict[str, Any], quote: str, levels_field: str | None = None
) -> str:
    """SQL for a building's height as the extrusion reads it (``height``, else
    ``building:levels`` x 3.2 m; NULL when neither: left out of the mean)."""
    height = options.get("height_field", "height")
    levels = "building:levels" if "building:levels" in fields else levels_field
    cases = []
    if height in fields:
        h = quote.format(str(height).replace('"', '""'))
        cases.append(f"WHEN {h} > 0 THEN CAST({h} AS DOUBLE PRECISION)")
    if levels and levels in fields:
        lv = quote.format(str(levels).replace('"', '""'))
        cases.append(f"WHEN {lv} > 0 THEN CAST({lv} AS DOUBLE PRECISION) * {vector.LEVEL_HEIGHT!r}")
    return f"(CASE {' '.join(cases)} END)" if cases else "NULL"


def _fid_column(path: Path, layer: str) -> str:
    """The GeoPackage table's integer primary key (the fid the R-tree ids name)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        cols = conn.execute(f'PRAGMA table_info("{layer}")').fetchall()
    return next((str(c[1]) for c in cols if c[5] == 1), "fid")


def rtree_leaf_boxes(conn: sqlite3.Connection, rtree: str) -> tuple[np.ndarray, np.ndarray]:
    """(ids, (n, 4) boxes) of a 2D SQLite R-tree, decoded from its ``_node``
    table with numpy: a node is a 4-byte header (depth on the root, entry
    count) and 24-byte entries (big-endian int64 id, float32 minx, maxx, miny,
    maxy); leaves are the nodes no ``_parent`` row names as a parent. The same
    float32 boxes the virtual table returns, in ~0.3 s instead of 2-4 s for a
    million rows. ValueError when the pages do not read as that format."""
    nodes = conn.execute(f'SELECT nodeno, data FROM "{rtree}_node"').fetchall()
    parents = np.array(conn.execute(f'SELECT parentnode FROM "{rtree}_parent"').fetchall(),
                       np.int64).ravel()
    total = conn.execute(f'SELECT count(*) FROM "{rtree}_rowid"').fetchone()[0]
    if not nodes:
        return np.empty(0, np.int64), np.empty((0, 4))
    size = len(nodes[0][1])
    if any(len(d) != size for _, d in nodes) or (size - 4) % 24:
        raise ValueError("R-tree nodes of unexpected sizes")
    nodeno = np.fromiter((n for n, _ in nodes), np.int64, len(nodes))
    buf = np.frombuffer(b"".join(d for _, d in nodes), np.uint8).reshape(len(nodes), size)
    buf = buf[~np.isin(nodeno, parents)]
    per = (size - 4) // 24
    count = (buf[:, 2].astype(np.int64) << 8) | buf[:, 3]
    if count.max(initial=0) > per or int(count.sum()) != total:
        raise ValueError("R-tree leaf entries do not add up to its rows")
    body = np.ascontiguousarray(buf[:, 4 : 4 + per * 24]).reshape(-1, 24)
    body = body[(np.arange(per)[None, :] < count[:, None]).ravel()]
    ids = body[:, :8].copy().view(">i8").ravel().astype(np.int64)
    box = body[:, 8:].copy().view(">f4").astype(np.float64)  # minx maxx miny maxy
    boxes = box[:, [0, 2, 1, 3]]
    row = conn.execute(f'SELECT id, minx, miny, maxx, maxy FROM "{rtree}" LIMIT 1').fetchone()
    hit = np.flatnonzero(ids == row[0])
    if len(hit) != 1 or not np.array_equal(boxes[hit[0]], row[1:]):
        raise ValueError("R-tree pages disagree with the R-tree")
    return ids, boxes


class _Blocks:
    """A layer's far blocks, from aggregates, never from features: per tile by
    one small ``GROUP BY`` over its box while few are asked (a street view's
    horizon), all tiles by one ``GROUP BY`` once more are (an overview), kept."""

    def __init__(self, cells, fill) -> None:
        self._cells, self._fill = cells, fill
        self.fill: float | None = None
        self._lock, self._batch_lock = threading.Lock(), threading.Lock()
        self.table: BlockTable | None = None
        self.asked = 0

    def _table(self, tiles: Tiles, depth: int, reach=None) -> BlockTable:
        if self.fill is None:
            self.fill = self._fill()
        c = self._cells(tiles, depth, reach)
        keys = np.column_stack([c["kx"], c["ky"]]).astype(np.int64)
        boxes = np.column_stack([c["x0"], c["y0"], c["x1"], c["y1"]]).astype(np.float64)
        area = np.asarray(c["area"], np.float64) * self.fill  # built area, from box area
        return blocks_from_cells(tiles, keys, depth, c["n"], boxes, area,
                                 np.nan_to_num(np.asarray(c["hs"], np.float64)), c["hn"])

    def get(self, tiles: Tiles, t: int) -> tuple[BlockTable, slice]:
        depth = block_depth(tiles)
        with self._lock:
            self.asked += 1
            batch = self.table is None and self.asked > BATCH_BLOCKS_AFTER
        if batch:
            with self._batch_lock:
                if self.table is None:
                    self.table = self._table(tiles, depth)
        table = self.table
        if table is None:
            table = self._table(tiles, depth, tiles.reach[t])
        return table, table.of(t)

    def layer(self, tiles, t, name, src_crs, scene, options, source) -> Layer:
        table, rows = self.get(tiles, t)
        return block_layer(table, rows, name, src_crs, scene, options, source)


def block_layer(
    table: BlockTable, rows: slice, name: str, src_crs: str, scene: Scene,
    options: dict[str, Any], source,
) -> Layer:
    """One tile's far blocks as a layer: box footprints reprojected into the
    scene, extruded to their height (the extrusion the vector importer uses,
    without its per-feature cleaning: boxes need none)."""
    from twin import meshing
    from twin.features import FeatureTable, feature_bounds
    from twin.geo import parse_crs, transformer

    b = table.boxes[rows]
    n = len(b)
    geoms = shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3])
    if parse_crs(src_crs) != parse_crs(scene.crs):
        tr = transformer(src_crs, scene.crs)
        geoms = shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0],
                                                                                  xy[:, 1])))
    origin = np.asarray(scene.origin, np.float64)[:2]
    geoms = shapely.transform(geoms, lambda xy: xy - origin)
    height = table.height[rows]
    default = float(options.get("default_height", scene.default_height))
    base, top, _ = vector.building_heights({"height": height}, n, default, options)
    mesh = meshing.extrude_polygons(geoms, base, top)
    bounds = feature_bounds(mesh.points[mesh.triangles.ravel()], np.repeat(mesh.feature, 3), n)
    label = f"{name} detail {BLOCKS}"
    ids = np.array([f"{name} block {k}" for k in range(n)], dtype=object)
    features = FeatureTable(
        ids, np.full(n, "residential", dtype=object), np.full(n, "", dtype=object), bounds,
        {"height": height, "buildings": table.count[rows].astype(np.float64)},
    )
    layer = Layer(name=label, mesh=mesh.to_polydata(), features=features, kind="buildings")
    layer.source, layer.crs = source, str(src_crs)
    return layer


#: the columns a low-detail tile reads: what names, classes and heights it
_LOD_FIELDS = frozenset({"id", "class", "height", "building:levels", "min_height", "levels"})


#: tallest building the tile boxes allow for (m): a box must hold what its tile draws
Z_TOP = 400.0


def open_stream(
    path: Path | str, name: str, scene: Scene, options: dict[str, Any] | None = None
) -> TiledSource:
    """A scene file's ``stream = true`` layer: the GeoPackage layer ``options["layer"]``
    (default ``buildings``) indexed as tiles, read on demand by the view."""
    options = dict(options or {})
    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise ImportFailed(path, "stream = true needs a GeoPackage (it reads by its spatial index)")
    if not path.exists():
        raise ImportFailed(path, "file not found")
    reader = GpkgTileReader(path, options.pop("layer", "buildings"), scene, options)
    tiles = reader.index()
    source = TiledSource(
        name, tiles, reader.local_boxes(tiles, Z_TOP), lambda t, d: reader.read(tiles, t, d)
    )
    source.info.update({"source": str(path), "tiles": len(tiles), "features": source.n_features})
    return source


def open_spec(spec, scene: Scene) -> TiledSource:
    """The :class:`~twin.tiles.TiledSource` of a scene file's ``stream = true``
    layer (a :class:`twin.scenefile.LayerSpec`), with its style and visibility."""
    if spec.source is not None:
        source = open_postgis_stream(spec.source, spec.name, scene, spec.options)
    else:
        source = open_stream(spec.path, spec.name, scene, spec.options)
    source.style, source.visible = spec.style, spec.visible
    return source


def open_postgis_stream(
    url: str, name: str, scene: Scene, options: dict[str, Any]
) -> TiledSource:
    """A ``stream = true`` PostGIS layer (``table`` or ``query``) indexed as tiles.
    The tiles cover the whole table: a ``bbox`` or scene ``extent`` does not apply."""
    options = {k: v for k, v in options.items() if k != "bbox"}
    reader = PostgisTileReader(url, scene, options)
    tiles = reader.index()
    source = TiledSource(
        name, tiles, reader.local_boxes(tiles, Z_TOP), lambda t, d: reader.read(tiles, t, d)
    )
    source.info.update({"source": url, "tiles": len(tiles), "features": source.n_features})
    return source
