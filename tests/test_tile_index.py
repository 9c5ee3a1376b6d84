"""The streamed layers' index without reading every row: R-tree pages, cell
aggregates on the server, far blocks from aggregates (issue 15, first frame)."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
import shapely
from conftest import STREAM_CITY_N as N_CITY  # the shared city_gpkg fixture's size

from twin.tiles import (
    BLOCKS,
    FULL,
    block_depth,
    build_quadtree,
    build_quadtree_split,
    centre_keys,
    morton,
    quadtree_from_cells,
    snapped_root,
)


@pytest.fixture(scope="module")
def pg_url(city_gpkg):
    """The same city in a private PostGIS, loaded by the real `citytwin db load`."""
    import pg_cluster

    yield from pg_cluster.city_cluster(city_gpkg)


def _scene(path):
    import pyogrio

    from twin.scene import Scene

    b = pyogrio.read_info(str(path), layer="buildings", force_total_bounds=True)["total_bounds"]
    return Scene(crs="EPSG:9208", origin=np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, 0.0]))


def _partition(tiles) -> list[tuple[int, ...]]:
    return sorted(tuple(sorted(f.tolist())) for f in tiles.fids)


def _random_boxes(n=20_000, seed=0):
    rng = np.random.default_rng(seed)
    centre = rng.uniform(0, 5000, (n, 2))
    centre[: n // 4] = rng.normal(2500, 100, (n // 4, 2))  # a dense core: deep tiles
    half = rng.uniform(3, 15, (n, 2))
    return np.arange(n) + 1, np.hstack([centre - half, centre + half])


def test_sorted_key_quadtree_owns_what_the_recursive_split_owns():
    fids, boxes = _random_boxes()
    for max_features in (300, 2000):
        new = build_quadtree(fids, boxes, max_features)
        old = build_quadtree_split(fids, boxes, max_features)
        assert _partition(new) == _partition(old)
        assert np.allclose(np.sort(new.cell, axis=0), np.sort(old.cell, axis=0))
        assert np.array_equal(np.sort(new.reach, axis=0), np.sort(old.reach, axis=0))
    assert new.depth.max() > new.depth.min()


def test_cell_counts_give_the_same_tiles_as_rows_including_refined_cells():
    """What a server returns (counts and boxes per coarse cell, then finer cells
    where one is too full) builds the tree the rows build."""
    fids, boxes = _random_boxes()
    root = snapped_root((*boxes[:, :2].min(axis=0), *boxes[:, 2:].max(axis=0)))
    rows = build_quadtree(fids, boxes, 300, root=root)

    def cells(depth, subset=None):
        keys = centre_keys(boxes, root, depth)
        code = morton(keys[:, 0], keys[:, 1])
        if subset is not None:
            keys_sub, sub_depth = subset
            coarse = centre_keys(boxes, root, sub_depth)
            inside = np.isin(morton(coarse[:, 0], coarse[:, 1]),
                             morton(keys_sub[:, 0], keys_sub[:, 1]))
            keys, code, b = keys[inside], code[inside], boxes[inside]
        else:
            b = boxes
        u, inv, counts = np.unique(code, return_inverse=True, return_counts=True)
        reach = np.empty((len(u), 4))
        reach[:, :2], reach[:, 2:] = np.inf, -np.inf
        np.minimum.at(reach[:, 0], inv, b[:, 0])
        np.minimum.at(reach[:, 1], inv, b[:, 1])
        np.maximum.at(reach[:, 2], inv, b[:, 2])
        np.maximum.at(reach[:, 3], inv, b[:, 3])
        first = np.unique(inv, return_index=True)[1]
        return keys[first], counts, reach

    keys, counts, reach = cells(3)  # 8 x 8 cells: the core's cells must split deeper
    tiles, dense = quadtree_from_cells(keys, 3, counts, reach, root, 300)
    assert len(dense) > 0
    fine = cells(12, (dense, 3))
    refined = np.isin(morton(keys[:, 0], keys[:, 1]), morton(dense[:, 0], dense[:, 1]))
    keys = np.vstack([keys[~refined] << 9, fine[0]])
    tiles, dense = quadtree_from_cells(keys, 12, np.concatenate([counts[~refined], fine[1]]),
                                       np.vstack([reach[~refined], fine[2]]), root, 300)
    assert len(dense) == 0
    assert np.array_equal(tiles.cell, rows.cell) and np.array_equal(tiles.count, rows.count)
    assert np.array_equal(tiles.reach, rows.reach) and np.array_equal(tiles.key, rows.key)
    # every row's key at the tile's depth is the tile's key
    t = tiles.tile_of(centre_keys(boxes, root, 12), 12)
    assert (t >= 0).all() and np.array_equal(np.bincount(t, minlength=len(tiles)), tiles.count)


def test_rtree_pages_decode_to_the_rtree_rows(city_gpkg):
    from importers.tile_reader import GpkgTileReader, rtree_leaf_boxes

    reader = GpkgTileReader(city_gpkg, "buildings", _scene(city_gpkg))
    with sqlite3.connect(f"file:{city_gpkg}?mode=ro", uri=True) as conn:
        fids, boxes = rtree_leaf_boxes(conn, "rtree_buildings_geom")
    sql_fids, sql_boxes = reader.boxes_sql()
    assert len(fids) == N_CITY
    a, b = np.argsort(fids), np.argsort(sql_fids)
    assert np.array_equal(fids[a], sql_fids[b]) and np.array_equal(boxes[a], sql_boxes[b])
    tiles = reader.index(max_features=150)
    root = tiles.root
    assert _partition(tiles) == _partition(build_quadtree(sql_fids, sql_boxes, 150, root=root))


def test_a_geopackage_without_rtree_indexes_from_its_bounds(city_gpkg, tmp_path):
    import shutil

    from importers.tile_reader import GpkgTileReader

    bare = tmp_path / "bare.gpkg"
    shutil.copy(city_gpkg, bare)
    with sqlite3.connect(bare) as conn:
        conn.execute("DROP TABLE rtree_buildings_geom")
    scene = _scene(city_gpkg)
    tiles = GpkgTileReader(bare, "buildings", scene).index(max_features=150)
    good = GpkgTileReader(city_gpkg, "buildings", scene).index(max_features=150)
    assert tiles.count.sum() == N_CITY and len(tiles) == len(good)


def test_postgis_aggregate_index_equals_the_per_row_index(pg_url, city_gpkg):
    """The server's GROUP BY (coarse cells, then deeper where too full) gives the
    tiles that every row's box gives, on the root of the table's estimated extent;
    and a tile read keeps exactly the rows the index counted for it."""
    from importers.tile_reader import GpkgTileReader, PostgisTileReader

    scene = _scene(city_gpkg)
    reader = PostgisTileReader(pg_url, scene, {"table": "city"})
    counted, cells = [], reader._cells
    reader._cells = lambda *a, **k: counted.append(len(a) > 2) or cells(*a, **k)
    tiles = reader.index(max_features=150, cell=2000.0)  # coarse first: forces refinement
    assert counted[0] is False and any(counted[1:]), "no cell was counted again by the index"
    boxes = reader.row_boxes()
    rows = build_quadtree(np.arange(len(boxes)), boxes, 150, root=tiles.root)
    assert len(tiles) > 8 and tiles.depth.max() > 1
    assert np.array_equal(tiles.cell, rows.cell) and np.array_equal(tiles.count, rows.count)
    assert np.array_equal(tiles.reach, rows.reach)
    gpkg = GpkgTileReader(city_gpkg, "buildings", scene).index(max_features=150)
    assert gpkg.root == tiles.root and np.array_equal(gpkg.cell, tiles.cell)
    ids = []
    for t in range(len(tiles)):
        layer = reader.read(tiles, t, FULL)
        assert len(layer.features.ids) == tiles.count[t]
        ids.extend(layer.features.ids.tolist())
    assert len(ids) == len(set(ids)) == N_CITY


def _features(path):
    """(fids, building tops) of every building, read whole."""
    import pyogrio.raw

    from importers import vector

    meta, fids, _, data = pyogrio.raw.read(str(path), layer="buildings", read_geometry=False,
                                           return_fids=True)[:4]
    cols = dict(zip([str(f) for f in meta["fields"]], data, strict=True))
    return np.asarray(fids, np.int64), vector.building_heights(cols, len(fids), np.nan, {})[1]


def test_blocks_from_aggregates_match_the_buildings(city_gpkg, pg_url):
    """Far blocks need no feature read: per block cell the count, box, built area
    and (geometric) mean height are what the buildings give, the same from both stores, and
    every tile's blocks stand for all of its buildings."""
    from importers.tile_reader import GpkgTileReader, PostgisTileReader

    scene = _scene(city_gpkg)
    gpkg = GpkgTileReader(city_gpkg, "buildings", scene)
    tiles = gpkg.index(max_features=150)
    depth = block_depth(tiles)
    table = gpkg.blocks._table(tiles, depth)
    per_tile = np.zeros(len(tiles), np.int64)
    np.add.at(per_tile, table.tile, table.count)
    assert np.array_equal(per_tile, tiles.count)

    feature_fids, top = _features(city_gpkg)
    fids, boxes = gpkg.boxes()
    boxes = boxes[np.argsort(fids)][np.searchsorted(np.sort(fids), feature_fids)]
    keys = centre_keys(boxes, tiles.root, depth)
    code = morton(keys[:, 0], keys[:, 1])
    t0 = int(np.argmax(tiles.count))
    rows = table.of(t0)
    owner = tiles.tile_of(keys, depth)
    got = {}
    for c in np.unique(code[owner == t0]):
        sel = code == c
        got[int(c)] = (int(sel.sum()), float(np.exp(np.nanmean(np.log(top[sel])))))
    assert sorted(v[0] for v in got.values()) == sorted(table.count[rows].tolist())
    assert np.allclose(sorted(v[1] for v in got.values()), np.sort(table.height[rows]), atol=1e-6)
    # one tile's blocks by its own small GROUP BY are the whole layer's for that tile
    one = gpkg.blocks._table(tiles, depth, tiles.reach[t0])
    mine = one.of(t0)
    assert np.array_equal(one.count[mine], table.count[rows])
    assert np.allclose(one.boxes[mine], table.boxes[rows])
    assert np.allclose(one.height[mine], table.height[rows])

    pg = PostgisTileReader(pg_url, scene, {"table": "city"})
    pg_tiles = pg.index(max_features=150)
    pg_table = pg.blocks._table(pg_tiles, block_depth(pg_tiles))
    assert len(pg_table.tile) == len(table.tile)
    # the stores round boxes to float32 each their own way: a row on a cell edge
    # may fall on either side, nothing more
    assert np.mean(pg_table.count == table.count) > 0.97
    assert np.allclose(pg_table.boxes, table.boxes, atol=8.0)
    assert np.nanmax(np.abs(pg_table.height - table.height)) < 3.0


def test_block_tiles_draw_like_the_geometry_blocks(city_gpkg):
    """A BLOCKS tile from aggregates stands for the same buildings, over the same
    ground and at a like height, as one built from the tile's geometry."""
    from importers.tile_reader import BATCH_BLOCKS_AFTER, GpkgTileReader

    gpkg = GpkgTileReader(city_gpkg, "buildings", _scene(city_gpkg))
    tiles = gpkg.index(max_features=400)
    for t in range(len(tiles)):
        new = gpkg.read(tiles, t, BLOCKS)
        old = gpkg.read_geometry_blocks(tiles, t)
        assert new.features.attributes["buildings"].sum() == tiles.count[t]
        assert old.features.attributes["buildings"].sum() == tiles.count[t]
        area = lambda la: shapely.area(shapely.box(*la.features.bounds[:, [0, 2, 1, 3]].T))  # noqa: E731
        assert 0.6 < area(new).sum() / area(old).sum() < 1.6
        b_new, b_old = new.features.bounds, old.features.bounds
        lo_new, lo_old = b_new[:, [0, 2]].min(axis=0), b_old[:, [0, 2]].min(axis=0)
        hi_new, hi_old = b_new[:, [1, 3]].max(axis=0), b_old[:, [1, 3]].max(axis=0)
        assert np.abs(lo_new - lo_old).max() < 60 and np.abs(hi_new - hi_old).max() < 60
        mean_h = lambda la: np.average(la.features.bounds[:, 5],  # noqa: E731
                                       weights=la.features.attributes["buildings"])
        assert abs(mean_h(new) - mean_h(old)) < 0.25 * mean_h(old)
    assert len(tiles) < BATCH_BLOCKS_AFTER or gpkg.blocks.table is not None


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYTWIN_CACHE_DIR", str(tmp_path / "cache"))


def test_postgis_index_is_cached_per_table_until_its_rows_change(pg_url, city_gpkg, tmp_path):
    """A reopen reads the saved index instead of scanning; a write to the table
    (another session's, committed) makes the next open scan again."""
    import psycopg

    from importers.tile_reader import PostgisTileReader, index_cache_dir

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS city_copy")
        conn.execute("CREATE TABLE city_copy AS SELECT * FROM city")
        conn.execute("ANALYZE city_copy")
    scene = _scene(city_gpkg)
    first = PostgisTileReader(pg_url, scene, {"table": "city_copy"}).index(max_features=150)
    saved = list(index_cache_dir().glob("*.npz"))
    assert len(saved) == 1
    again = PostgisTileReader(pg_url, scene, {"table": "city_copy"}).index(max_features=150)
    assert np.array_equal(again.cell, first.cell) and np.array_equal(again.count, first.count)
    assert again.root == first.root and np.array_equal(again.key, first.key)
    with psycopg.connect(pg_url, autocommit=True) as conn:  # one more building, then close
        conn.execute("INSERT INTO city_copy SELECT * FROM city LIMIT 1")
    changed = PostgisTileReader(pg_url, scene, {"table": "city_copy"}).index(max_features=150)
    assert changed.count.sum() == N_CITY + 1
    assert len(list(index_cache_dir().glob("*.npz"))) == 2
    for entry in index_cache_dir().glob("*.npz"):  # a damaged entry is rebuilt, not an error
        entry.write_bytes(b"not an index")
    rebuilt = PostgisTileReader(pg_url, scene, {"table": "city_copy"}).index(max_features=150)
    assert np.array_equal(rebuilt.count, changed.count)


def test_first_count_is_coarse_where_the_table_is_sparse_for_its_extent():
    """1M rows over 55 km: cells of 864 m (depth 6), not 108 m (depth 9), so the
    server groups 2,200 cells, not 133,000; no estimate keeps the ~200 m cell."""
    from importers.tile_reader import first_depth

    assert first_depth(55296.0, 200.0, 1_000_000, 2000) == 6
    assert first_depth(55296.0, 200.0, 0.0, 2000) == 9
    assert first_depth(1000.0, 200.0, 10**9, 2000) == 3  # never finer than the cell asks
    assert first_depth(10.0, 200.0, 5, 2000) == 1
