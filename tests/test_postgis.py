"""PostGIS as a layer source, against a real private server (tests/pg_cluster.py).

The district's buildings go into the server with ``citytwin db load``; a scene
that reads them from PostGIS must give the same features as the scene that reads
the GeoPackage. Every bad input (refused connection, silent server, wrong
password, missing table, unexpected or unknown SRID) is one line naming the source.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import pg_cluster
import pytest
import shapely
from conftest import ROOT, run_cli

GPKG = ROOT / "assets" / "viet_tri" / "viet_tri_district.gpkg"
CRS, ORIGIN = "EPSG:9208", [568300.0, 2357700.0, 0.0]
#: a block of the district (scene CRS) that cuts through some buildings
BBOX = (568150.0, 2357600.0, 568400.0, 2357800.0)


@pytest.fixture(scope="session")
def pg():
    """One private cluster for the test session, stopped and deleted at its end."""
    reason = pg_cluster.missing()
    if reason:
        pytest.skip(reason)
    cluster = pg_cluster.PgCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def buildings(pg) -> str:
    """The district's buildings loaded by the real command; the table name."""
    done = run_cli("db", "load", str(GPKG), "--to", pg.url(), "--table", "buildings",
                   "--layer", "buildings")
    assert done.returncode == 0, done.stderr
    assert "loaded 2400 features" in done.stdout
    return "buildings"


@pytest.fixture(autouse=True)
def no_password_env(monkeypatch, tmp_path):
    """Each test chooses its own credentials: none from the machine."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no.pgpass"))


def scene_file(tmp_path: Path, layer: str, extra: str = "") -> Path:
    path = tmp_path / "scene.toml"
    path.write_text(
        f'[scene]\ncrs = "{CRS}"\norigin = {ORIGIN}\n{extra}\n[[layers]]\nname = "b"\n{layer}\n',
        encoding="utf-8",
    )
    return path


def pg_layer(url: str, **keys) -> str:
    """``[[layers]]`` keys of a database layer (JSON strings and lists are TOML)."""
    return "\n".join(f"{k} = {json.dumps(v)}" for k, v in {"source": url, **keys}.items())


@pytest.fixture(scope="module")
def gpkg_layer(tmp_path_factory):
    import importers

    folder = tmp_path_factory.mktemp("gpkg")
    path = scene_file(folder, f'path = "{GPKG}"\noptions = {{ layer = "buildings" }}')
    return importers.open_scene(path).layers[0]


def read(url: str, **options):
    import importers
    from twin.scene import Scene

    return importers.open(url, Scene(crs=CRS, origin=ORIGIN), options)


def failure(url: str, **options) -> str:
    from importers.errors import ImportFailed

    with pytest.raises(ImportFailed) as caught:
        read(url, **options)
    text = str(caught.value)
    assert "\n" not in text
    return text


# -- the same buildings as the GeoPackage --------------------------------------------------
def test_postgis_scene_has_the_geopackage_scenes_buildings(pg, buildings, gpkg_layer, tmp_path):
    import importers

    scene = importers.open_scene(scene_file(tmp_path, pg_layer(pg.url(), table=buildings)))
    layer = scene.layers[0]
    assert layer.name == "b" and layer.kind == "buildings"
    assert len(layer.features) == len(gpkg_layer.features) == 2400
    ours = dict(zip(layer.features.ids, layer.features.bounds, strict=True))
    theirs = dict(zip(gpkg_layer.features.ids, gpkg_layer.features.bounds, strict=True))
    assert ours.keys() == theirs.keys()
    diff = np.abs(np.array([ours[k] - theirs[k] for k in theirs]))
    assert diff.max() < 1e-3
    assert layer.mesh.n_cells == gpkg_layer.mesh.n_cells
    assert layer.source is None and layer.info["source"] == pg.url()


def test_a_table_in_another_crs_is_reprojected_into_the_scene(pg, gpkg_layer):
    done = run_cli("db", "load", str(GPKG), "--to", pg.url(), "--table", "buildings_wgs84",
                   "--layer", "buildings", "--srid", "4326")
    assert done.returncode == 0, done.stderr
    srid = pg.execute("SELECT ST_SRID(geom), ST_X(ST_Centroid(geom)) FROM buildings_wgs84 "
                      "LIMIT 1")[0]
    assert srid[0] == 4326 and 105.0 < srid[1] < 105.5  # stored as longitudes
    layer = read(pg.url(), table="buildings_wgs84")[0]
    order = {k: i for i, k in enumerate(gpkg_layer.features.ids)}
    rows = [order[k] for k in layer.features.ids]
    assert np.abs(layer.features.bounds - gpkg_layer.features.bounds[rows]).max() < 1e-3


def test_bbox_read_returns_only_the_features_that_intersect_it(pg, buildings, gpkg_layer):
    import pyogrio

    layer = read(pg.url(), table=buildings, bbox=list(BBOX))[0]
    _, _, wkb, fields = pyogrio.raw.read(GPKG, layer="buildings", columns=["id"])[:4]
    box = shapely.box(*BBOX)
    inside = shapely.intersects(shapely.from_wkb(wkb), box)
    expected = set(fields[0][inside])
    assert 0 < len(expected) < 2400 / 4
    assert set(layer.features.ids) == expected
    assert layer.info["bbox"] == list(BBOX)


def test_the_scene_extent_limits_what_a_database_layer_reads(pg, buildings, tmp_path):
    import importers

    extent = f"extent = {list(BBOX)}"
    path = scene_file(tmp_path, pg_layer(pg.url(), table=buildings), extra=extent)
    (tmp_path / "whole").mkdir()
    whole = scene_file(tmp_path / "whole", pg_layer(pg.url(), table=buildings))
    part = importers.open_scene(path).layers[0]
    assert len(part.features) < len(importers.open_scene(whole).layers[0].features)
    lo = part.features.bounds  # xmin, xmax, ymin, ymax, zmin, zmax; scene-local
    assert (lo[:, 1] >= BBOX[0] - ORIGIN[0]).all() and (lo[:, 0] <= BBOX[2] - ORIGIN[0]).all()


def test_height_and_levels_columns_are_named_in_the_scene(pg, buildings, gpkg_layer, tmp_path):
    import importers

    pg.execute('CREATE TABLE renamed AS SELECT id, height AS cao, "building:levels" AS '
               "so_tang, min_height, geom FROM buildings")
    layer = importers.open_scene(scene_file(tmp_path, pg_layer(
        pg.url(), table="renamed", height="cao", levels="so_tang", id="id")
    )).layers[0]
    order = {k: i for i, k in enumerate(gpkg_layer.features.ids)}
    rows = [order[k] for k in layer.features.ids]
    assert np.abs(layer.features.bounds - gpkg_layer.features.bounds[rows]).max() < 1e-3


def test_a_query_is_read_only(pg, buildings):
    layer = read(pg.url(), query="SELECT * FROM buildings WHERE class = 'apartment';")[0]
    expected = pg.execute("SELECT count(*) FROM buildings WHERE class = 'apartment'")[0][0]
    assert len(layer.features) == expected > 0
    like = read(pg.url(), query="SELECT * FROM buildings WHERE class LIKE 'apart%'",
                bbox=[0.0, 0.0, 1e7, 1e7])[0]  # a % and a bbox in one read
    assert sorted(like.features.ids) == sorted(layer.features.ids)
    text = failure(pg.url(), query="WITH gone AS (DELETE FROM buildings RETURNING *) "
                   "SELECT * FROM gone")
    assert "(query)" in text
    assert pg.execute("SELECT count(*) FROM buildings")[0][0] == 2400


def test_progress_ends_at_the_row_count_and_cancel_stops_a_slow_query(pg, buildings):
    import importers
    from importers.errors import ImportCancelled
    from twin.scene import Scene

    seen = []
    importers.open(pg.url(), Scene(crs=CRS, origin=ORIGIN), {"table": buildings},
                   lambda done, total: seen.append((done, total)))
    assert seen[-1] == (2400, 2400)
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(ImportCancelled):
        importers.open(pg.url(), Scene(crs=CRS, origin=ORIGIN),
                       {"query": "SELECT b.* FROM buildings b, pg_sleep(60)"}, None, cancel)
    assert time.monotonic() - started < 10


# -- credentials ------------------------------------------------------------------------
def test_a_password_in_a_scene_url_is_refused(tmp_path):
    from twin.scenefile import SceneFileError, load_scene_spec

    for url in ("postgresql://planner:secret@db.example/city",
                "postgresql://planner@db.example/city?password=secret"):
        path = scene_file(tmp_path, pg_layer(url, table="buildings"))
        with pytest.raises(SceneFileError, match=r"layers\[0\]\.source: holds a password"):
            load_scene_spec(path)
    done = run_cli("db", "load", str(GPKG), "--to", "postgresql://u:pw@localhost/x",
                   "--table", "t")
    assert done.returncode == 2 and "holds a password" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_wrong_password_is_one_line(pg, buildings, monkeypatch):
    url = pg.url(user=pg_cluster.PASSWORD_ROLE)
    assert "the server asks a password for user 'planner'" in failure(url, table=buildings)
    monkeypatch.setenv("PGPASSWORD", "sai-mật-khẩu")
    text = failure(url, table=buildings)
    assert text.startswith(f"{url} (table buildings): cannot connect:")
    assert 'password authentication failed for user "planner"' in text


def test_the_password_comes_from_pgpass_or_the_keyring(pg, buildings, monkeypatch, tmp_path):
    import keyring
    from keyring.backend import KeyringBackend

    url = pg.url(user=pg_cluster.PASSWORD_ROLE)
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"*:*:*:planner:{pg_cluster.PASSWORD}\n", encoding="utf-8")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    assert len(read(url, table=buildings)[0].features) == 2400
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))

    class MemoryKeyring(KeyringBackend):
        priority = 1
        store: ClassVar[dict] = {("citytwin-postgres", "planner"): pg_cluster.PASSWORD}

        def get_password(self, service, username):
            return self.store.get((service, username))

        def set_password(self, service, username, password):
            self.store[service, username] = password

        def delete_password(self, service, username):
            self.store.pop((service, username), None)

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        assert len(read(url, table=buildings)[0].features) == 2400
    finally:
        keyring.set_keyring(previous)


def test_the_password_comes_from_citytwin_secrets(pg, buildings, monkeypatch, tmp_path):
    """``citytwin secrets set --postgres URL`` (password on stdin) is where a PostGIS
    layer finds it: here the private secrets file, as on a server without a keyring."""
    url = pg.url(user=pg_cluster.PASSWORD_ROLE)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    monkeypatch.setenv("CITYTWIN_SECRETS", "file")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "app.cli", "secrets", "set", "--postgres", url],
                          input=pg_cluster.PASSWORD + "\n", capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"postgresql://planner@{pg.socket_dir}:{pg.port}/" in done.stdout
    assert (tmp_path / "config" / "citytwin" / "secrets").stat().st_mode & 0o077 == 0
    assert len(read(url, table=buildings)[0].features) == 2400
    refused = subprocess.run([sys.executable, "-m", "app.cli", "secrets", "set", "--postgres",
                              url.replace("planner@", "planner:pw@")], input="x\n",
                             capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert refused.returncode == 2 and "without its password" in refused.stderr


# -- unreachable servers ---------------------------------------------------------------------
def test_a_refused_connection_is_one_line_from_the_command_line(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://citytwin@127.0.0.1:{port}/city"
    scene = scene_file(tmp_path, pg_layer(url, table="buildings"))
    done = run_cli("info", str(scene))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{url} (table buildings): cannot connect" in lines[0]
    assert "refused" in lines[0].lower()


def test_a_server_that_never_answers_times_out(tmp_path):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)  # accepts the TCP connection, never speaks
        url = f"postgresql://citytwin@127.0.0.1:{silent.getsockname()[1]}/city"
        started = time.monotonic()
        text = failure(url, table="buildings", connect_timeout=2)
    assert time.monotonic() - started < 8
    assert text.startswith(f"{url} (table buildings): cannot connect:")
    assert "timeout" in text.lower()


# -- the table and its geometry -------------------------------------------------------------
def test_a_missing_table_or_column_is_one_line(pg, buildings):
    assert failure(pg.url(), table="nha_o").endswith("table 'nha_o' does not exist")
    text = failure(pg.url(), query="SELECT * FROM nha_o")
    assert 'relation "nha_o" does not exist' in text
    text = failure(pg.url(), table=buildings, geometry="the_geom")
    assert text.endswith("has no column 'the_geom' (geometry columns: geom)")
    text = failure(pg.url(), table=buildings, height_field="chieu_cao")
    assert text.endswith("height column 'chieu_cao' does not exist")


def test_a_geometry_column_in_another_crs_than_declared_is_refused(pg, buildings):
    pg.execute("CREATE TABLE IF NOT EXISTS in_4326 AS SELECT id, "
               "ST_Transform(ST_SetSRID(geom, 3405), 4326)::geometry(MultiPolygon, 4326) "
               "AS geom FROM buildings LIMIT 10")
    text = failure(pg.url(), table="in_4326", srid=9208)
    assert text.endswith("geometry column 'geom' is in SRID 4326, but the layer declares "
                         "srid = 9208")


def test_a_geometry_column_with_an_unknown_srid_is_refused(pg, buildings):
    pg.execute("CREATE TABLE no_srid AS SELECT id, ST_SetSRID(geom, 0)::geometry AS geom "
               "FROM buildings LIMIT 10")
    pg.execute("CREATE TABLE odd_srid AS SELECT id, ST_SetSRID(geom, 990001)::"
               "geometry(MultiPolygon, 990001) AS geom FROM buildings LIMIT 10")
    assert failure(pg.url(), table="no_srid").endswith(
        "geometry column 'geom' has no SRID (0); declare the layer's srid")
    assert len(read(pg.url(), table="no_srid", srid=9208)[0].features) == 10
    assert failure(pg.url(), table="odd_srid").endswith(
        "SRID 990001 is unknown (not in spatial_ref_sys, nor an EPSG code)")
    pg.execute("CREATE TABLE mixed AS SELECT id, geom::geometry AS geom FROM buildings "
               "WHERE fid <= 5 UNION ALL SELECT id, ST_Transform(ST_SetSRID(geom, 3405), 4326) "
               "FROM buildings WHERE fid > 2395")
    assert failure(pg.url(), table="mixed", srid=9208).endswith(
        "geometry column 'geom' mixes SRIDs 4326, 9208")


def test_an_srid_postgis_lacks_is_read_as_its_epsg_code(pg, buildings):
    pg.execute("CREATE TABLE tm3 AS SELECT id, ST_SetSRID(geom, 9209)::"
               "geometry(MultiPolygon, 9209) AS geom FROM buildings LIMIT 3")
    assert not pg.execute("SELECT 1 FROM spatial_ref_sys WHERE srid = 9209")
    layer = read(pg.url(), table="tm3")[0]
    assert layer.crs == "EPSG:9209"
    assert layer.warnings[0] == (
        "SRID 9209 is not in the database's spatial_ref_sys; read as EPSG:9209")
    # db load registers the file's CRS, so other tools (ST_Transform, QGIS) know it
    assert pg.execute("SELECT auth_name, auth_srid FROM spatial_ref_sys WHERE srid = 9208") == [
        ("EPSG", 9208)]


def test_db_load_bad_input_is_one_line(pg, buildings, tmp_path):
    cases = [
        (tmp_path / "none.gpkg", ["--table", "t"], "no such file"),
        (GPKG, ["--table", "t", "--layer", "nha"], "has no layer 'nha'"),
        (GPKG, ["--table", buildings, "--layer", "buildings"], "the table exists"),
    ]
    for path, extra, message in cases:
        done = run_cli("db", "load", str(path), "--to", pg.url(), *extra)
        assert done.returncode == 2, done.stderr
        assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_database_layer_names_a_table_or_a_query_and_no_path(tmp_path):
    from twin.scenefile import SceneFileError, load_scene_spec

    url = "postgresql://planner@db.example/city"
    cases = {
        pg_layer(url): "layers[0].table: a database layer needs a table or a query",
        pg_layer(url, table="a", query="SELECT 1"): "needs a table or a query (one of them)",
        pg_layer(url, table="a", path="x.gpkg"): "layers[0].path: a layer has either a path",
        pg_layer(url, table="a", bbox=[3, 0, 1, 1]): "layers[0].bbox: expected [xmin, ymin",
        pg_layer("mysql://db.example/city", table="a"): "expected a postgresql:// URL",
    }
    for layer, message in cases.items():
        with pytest.raises(SceneFileError) as caught:
            load_scene_spec(scene_file(tmp_path, layer))
        assert message in str(caught.value)
    spec = load_scene_spec(scene_file(tmp_path, pg_layer(
        url, table="nha", height="cao", levels="so_tang", srid=9208, bbox=[0, 0, 10, 10])))
    layer = spec.layers[0]
    assert layer.source == url and layer.name == "b"
    assert layer.options == {"table": "nha", "height_field": "cao", "levels_field": "so_tang",
                             "srid": 9208, "bbox": (0.0, 0.0, 10.0, 10.0)}
