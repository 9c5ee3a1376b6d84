"""Tile reads of a large GeoPackage layer: by bounding box, through its R-tree.

:mod:`twin.tiles` cuts a layer into quadtree tiles; this module gives it the
features' boxes (from the GeoPackage's own R-tree table, no geometry decoded,
~1 s for a million rows) and reads one tile at a time with pyogrio's ``bbox=``
(which uses the same spatial index), keeping only the features the tile owns.
A full-detail tile goes through the vector importer's own path
(:func:`importers.vector.read_layer`: reprojection, repair, heights, ids,
attributes); a low-detail tile goes through the same path with each footprint
replaced by its bounding box, so far tiles cost 10 triangles a building and
still pick to the right feature.

Tile reads run in-process (worker threads), not in the sandboxed GDAL child
the whole-file import uses: a child round trip per tile would cost more than
the read. The file was opened and indexed first, so a damaged file fails there.
"""

from __future__ import annotations

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
from twin.tiles import BLOCKS, FULL, TiledSource, Tiles, block_boxes, build_quadtree


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

    def boxes(self) -> tuple[np.ndarray, np.ndarray]:
        """(fids, (n, 4) boxes) of every feature, from the layer's R-tree table."""
        table = f"rtree_{self.layer}_{self.geometry_column}"
        try:
            with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as conn:
                rows = conn.execute(f'SELECT id, minx, miny, maxx, maxy FROM "{table}"').fetchall()
        except sqlite3.Error:
            import pyogrio

            fids, bounds = pyogrio.read_bounds(str(self.path), layer=self.layer)
            return np.asarray(fids, np.int64), np.asarray(bounds, np.float64).T
        arr = np.array(rows, dtype=np.float64).reshape(-1, 5)
        return arr[:, 0].astype(np.int64), arr[:, 1:]

    def index(self, max_features: int = 2000) -> Tiles:
        """The quadtree of the layer (source CRS)."""
        fids, boxes = self.boxes()
        if len(fids) == 0:
            raise ImportFailed(self.path, f"layer {self.layer!r} has no features")
        return build_quadtree(fids, boxes, max_features)

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

    def read(self, tiles: Tiles, t: int, detail: int) -> Layer:
        """Tile ``t`` at ``detail`` (:data:`twin.tiles.FULL`, ``LOD``, ``BLOCKS``)."""
        layer = self.read_features(tiles.reach[t], tiles.fids[t], detail, f"tile {t}")
        layer.info.update({"tile": int(t), "detail": int(detail)})
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
    """Index and read a PostGIS table or query as tiles: the index is one query of
    every row's box (``Box2D``, no geometry sent), a tile is a bbox read through
    the spatial index (:func:`importers.postgis.fetch`) that keeps the rows whose
    box centre lies in the tile (rows have no file id to match)."""

    def __init__(self, source: str, scene: Scene, options: dict[str, Any]) -> None:
        from psycopg import sql

        from importers import postgis

        self.source, self.scene, self.options = source, scene, dict(options)
        self.label = postgis.describe(source, self.options)
        with postgis.connect(source, self.options) as conn:
            try:
                rel = postgis.relation(conn, self.options, self.label)
                self.crs = postgis.source_crs(conn, rel, self.options, self.label)[0]
                g = sql.Identifier("t", rel.geometry)
                rows = conn.execute(
                    sql.SQL(
                        "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM "
                        "(SELECT Box2D({g}) AS b FROM {t} AS t WHERE {g} IS NOT NULL) AS q"
                    ).format(g=g, t=rel.target)
                ).fetchall()
            except Exception as exc:
                if isinstance(exc, ImportFailed):
                    raise
                raise ImportFailed(self.label, postgis.pg_message(exc)) from None
        self._boxes = np.array(rows, dtype=np.float64).reshape(-1, 4)
        self._tiles: Tiles | None = None

    def index(self, max_features: int = 2000) -> Tiles:
        if len(self._boxes) == 0:
            raise ImportFailed(self.label, "no features")
        self._tiles = build_quadtree(np.arange(len(self._boxes)), self._boxes, max_features)
        return self._tiles

    local_boxes = GpkgTileReader.local_boxes

    def read(self, tiles: Tiles, t: int, detail: int) -> Layer:
        from importers import postgis

        reach = tiles.reach[t]
        from twin.geo import parse_crs, transformer

        if parse_crs(self.crs) != parse_crs(self.scene.crs):
            reach = transformer(self.crs, self.scene.crs).transform_bounds(*reach, densify_pts=5)
        pad = 1e-3  # the box test is inclusive; a row on the edge is filtered below
        bbox = [reach[0] - pad, reach[1] - pad, reach[2] + pad, reach[3] + pad]
        found = postgis.fetch(self.source, self.scene, {**self.options, "bbox": bbox})
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
