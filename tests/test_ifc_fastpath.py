"""The IFC fast path gives what the kernel gives: per element, the same class,
volume and bounding box (1e-6 relative) and the same placement.

Every element the fast path takes, in every IFC file under ``../shared/data/ifc``
and in small generated towers (walls with through openings, polygon and
indexed-curve profiles, inner loops, mapped furniture, face sets), is meshed
by both the fast path and the IfcOpenShell kernel (the importer's settings)
and compared in model metres.
"""

from __future__ import annotations

import sys
from pathlib import Path

import ifcopenshell
import ifcopenshell.geom
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from ifc_towers import write_tower  # noqa: E402

from importers.ifc import georef, selection  # noqa: E402
from importers.ifc.fastpath import FastPath, bulk  # noqa: E402
from importers.ifc.geometry import Collector  # noqa: E402
from importers.ifc.header import prepare_source  # noqa: E402
from importers.ifc.options import DEFAULT_KERNEL  # noqa: E402
from importers.ifc.worker import geometry_settings  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "ifc"
REL = 1e-6


def _shared_files() -> list[Path]:
    if not SHARED.is_dir():
        return []
    skip = {"malformed", "legacy"}
    return sorted(p for p in SHARED.rglob("*.ifc") if not skip & set(p.relative_to(SHARED).parts))


def _volume(verts: np.ndarray, faces: np.ndarray) -> float:
    v = verts - verts.mean(axis=0)
    a, b, c = v[faces[:, 0]], v[faces[:, 1]], v[faces[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def _world(verts: np.ndarray, m: np.ndarray) -> np.ndarray:
    return verts @ m[:3, :3].T + m[:3, 3]


def fast_meshes(f, source: Path | None = None) -> tuple[dict[int, tuple], list]:
    """Element -> (world vertices, triangles, placement) from the fast path,
    with the numbers read in bulk from ``source`` as the worker does, or
    every entity read through IfcOpenShell (no ``source``)."""
    targets = selection.select(f).of_kind("body")
    tables = bulk.scan(source)[1] if source is not None else None
    fp = FastPath(f, georef.project_unit(f)[0], bulk=tables)
    kernel = fp.split(list(targets))
    chunks: list[dict] = []
    col = Collector(chunks.append, lambda i: True)
    late = fp.run(col, lambda: None)
    col.flush()
    assert not late, fp.failed
    out = {}
    for ch in chunks:
        vs = np.cumsum(ch["g_nv"]) - ch["g_nv"]
        fs = np.cumsum(ch["g_nf"]) - ch["g_nf"]
        for step, g, m in zip(ch["e_step"], ch["e_geom"], ch["e_matrix"], strict=True):
            g = int(g) - ch["g_first"]
            verts = ch["g_verts"][vs[g] : vs[g] + ch["g_nv"][g]]
            faces = ch["g_faces"][fs[g] : fs[g] + ch["g_nf"][g]]
            out[int(step)] = (_world(verts, m), faces, m)
    return out, kernel


def kernel_meshes(f, steps: list[int]) -> dict[int, tuple]:
    it = ifcopenshell.geom.iterator(
        geometry_settings(), f, 2, include=[f.by_id(s) for s in steps],
        geometry_library=DEFAULT_KERNEL,
    )  # fmt: skip
    out = {}
    if steps and it.initialize():
        while True:
            sh = it.get()
            g = sh.geometry
            verts = np.frombuffer(g.verts_buffer, dtype=np.float64).reshape(-1, 3)
            faces = np.frombuffer(g.faces_buffer, dtype=np.int32).reshape(-1, 3)
            m = np.frombuffer(sh.transformation_buffer, dtype=np.float64).reshape(4, 4).T
            out[int(sh.id)] = (_world(verts, m), faces.astype(np.int64), m.copy())
            if not it.next():
                break
    return out


def _open(path: Path, workdir: Path):
    """As the importer's worker opens it (schema aliases, zips, repairs)."""
    source, _ = prepare_source(path, workdir)
    try:
        return ifcopenshell.open(str(source)), source
    except Exception as exc:
        pytest.skip(f"{path.name}: IfcOpenShell cannot open it ({exc})")


def same_with_and_without_bulk(f, source: Path) -> dict[int, tuple]:
    """The fast path's meshes with the bulk-read numbers, checked equal to
    those read entity by entity (same elements, same vertices and triangles)."""
    fast, kernel = fast_meshes(f, source)
    plain, plain_kernel = fast_meshes(f)
    assert fast.keys() == plain.keys(), source.name
    assert {p.id() for p in kernel} == {p.id() for p in plain_kernel}
    for step, (verts, faces, m) in fast.items():
        pv, pf, pm = plain[step]
        scale = max(1.0, float(np.abs(pv).max(initial=0.0)))
        assert np.array_equal(faces, pf), f"{source.name} #{step}"
        np.testing.assert_allclose(verts, pv, rtol=0, atol=1e-12 * scale, err_msg=f"#{step}")
        np.testing.assert_allclose(m, pm, rtol=0, atol=1e-12 * scale, err_msg=f"#{step}")
    return fast


def compare(path: Path, workdir: Path) -> int:
    """Assert agreement on every fast-path element of ``path``; how many."""
    f, source = _open(path, workdir)
    fast = same_with_and_without_bulk(f, source)
    kern = kernel_meshes(f, sorted(fast))
    bad = []
    for step, (fv, ff, fm) in fast.items():
        cls = f.by_id(step).is_a()
        if step not in kern:
            bad.append(f"#{step} {cls}: the kernel gives no shape")
            continue
        kv, kf, km = kern[step]
        scale = max(float(np.linalg.norm(kv.max(0) - kv.min(0))), 1e-9)
        lo, hi = np.abs(fv.min(0) - kv.min(0)).max(), np.abs(fv.max(0) - kv.max(0)).max()
        if max(lo, hi) > REL * scale:
            bad.append(f"#{step} {cls}: bounds differ by {max(lo, hi):.3g} m (size {scale:.3g})")
        va, vb = _volume(fv, ff), _volume(kv, kf)
        if abs(va - vb) > REL * max(abs(vb), scale**3 * 1e-6):
            bad.append(f"#{step} {cls}: volume {va:.9g} vs kernel {vb:.9g}")
        mapped = f.by_id(step).Representation.Representations[0].RepresentationType
        if "Mapped" not in str(mapped) and not np.allclose(fm, km, rtol=0, atol=REL * scale):
            bad.append(f"#{step} {cls}: placement differs")
    assert not bad, f"{path.name}: {len(bad)} of {len(fast)} differ:\n" + "\n".join(bad[:20])
    return len(fast)


@pytest.fixture(scope="module")
def tower(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tower") / "tower.ifc"
    write_tower(path, 0.2, seed=7, bays=3)
    return path


def test_small_tower_matches_the_kernel(tower):
    f = ifcopenshell.open(str(tower))
    fast, kernel = fast_meshes(f)
    # everything but the swept-disk pipes is the fast path's
    assert {p.is_a() for p in kernel} == {"IfcBuildingElementProxy"}
    classes = {f.by_id(s).is_a() for s in fast}
    assert {"IfcWall", "IfcWindow", "IfcSlab", "IfcColumn", "IfcFurniture"} <= classes
    assert compare(tower, tower.parent) == len(fast)


def test_openings_are_cut(tower):
    """A wall with an opening loses exactly the opening's box."""
    f = ifcopenshell.open(str(tower))
    fast, _ = fast_meshes(f)
    voided = [r.RelatingBuildingElement.id() for r in f.by_type("IfcRelVoidsElement")]
    assert voided
    for step in voided[:5]:
        verts, faces, _ = fast[step]
        wall = f.by_id(step).Representation.Representations[0].Items[0]
        full = wall.SweptArea.XDim * wall.SweptArea.YDim * wall.Depth * 1e-9
        assert _volume(verts, faces) < full * 0.95


_ABSENT = pytest.param(None, marks=pytest.mark.skip(reason=f"no IFC files under {SHARED}"))


@pytest.mark.parametrize(
    "path", _shared_files() or [_ABSENT], ids=lambda p: p.name if p else "absent"
)
def test_shared_models_match_the_kernel(path, tmp_path):
    compare(path, tmp_path)


# -- through the importer: worker, chunks, cache ----------------------------------------


def _load(path: Path, **options):
    import importers
    from twin.scene import Scene

    options.setdefault("cache", False)
    return importers.open(path, Scene(crs="EPSG:3857"), options)


def _by_guid(layer) -> dict[str, tuple]:
    t = layer.features
    colors = t.attributes["ifc_color"]
    return {str(g): (t.bounds[i], str(c), str(k)) for i, (g, c, k) in
            enumerate(zip(t.ids, colors, t.classes, strict=True))}  # fmt: skip


@pytest.fixture()
def _cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYTWIN_CACHE_DIR", str(tmp_path / "cache"))


def test_import_with_and_without_the_fast_path_agree(tower, _cache_dir):
    fast = _load(tower)[0]
    kern = _load(tower, fastpath=False)[0]
    a, b = _by_guid(fast), _by_guid(kern)
    assert a.keys() == b.keys() and len(a) > 300
    size = float(np.nanmax(kern.features.bounds[:, 1::2]) - np.nanmin(kern.features.bounds[:, ::2]))
    for guid, (bounds, colour, cls) in a.items():
        kb, kc, kcls = b[guid]
        assert cls == kcls
        assert colour == kc, (guid, cls, colour, kc)
        assert np.allclose(bounds, kb, rtol=0, atol=REL * size, equal_nan=True), (guid, cls)
    assert [w for w in fast.warnings if "geometry failed" in w] == [
        w for w in kern.warnings if "geometry failed" in w
    ]


def test_an_error_in_the_fast_path_hands_the_element_to_the_kernel(tower, _cache_dir):
    f = ifcopenshell.open(str(tower))
    walls = [str(w.GlobalId) for w in f.by_type("IfcWall")[:3]]
    layer = _load(tower, test_fastpath_error=walls)[0]
    assert not [w for w in layer.warnings if "geometry failed" in w]
    rows = {str(g): i for i, g in enumerate(layer.features.ids)}
    for g in walls:
        assert np.all(np.isfinite(layer.features.bounds[rows[g]]))


def test_cache_key_has_the_fast_path_version(monkeypatch):
    from importers.ifc import cache, fastpath
    from importers.ifc.options import IfcOptions

    opts = IfcOptions()
    before = cache.key("0" * 64, opts)
    assert cache.key("0" * 64, IfcOptions(fastpath=False)) != before
    monkeypatch.setattr(fastpath, "VERSION", fastpath.VERSION + 1)
    assert cache.key("0" * 64, opts) != before


def test_the_fast_path_reports_what_it_took(tower, _cache_dir):
    info = _load(tower)[0].info
    fp = info["fastpath"]
    assert fp["elements"] > 300 and fp["kernel"] >= 1 and fp["late"] == 0
    assert not _load(tower, fastpath=False)[0].info["fastpath"]


@pytest.mark.render
def test_images_compare_equal(tower, _cache_dir, output_dir):
    """The tower drawn from the fast path and from the kernel alone."""
    import importers
    from twin.imagecompare import compare
    from twin.render import render_image, save_png
    from twin.scene import Bookmark, Scene

    images = []
    for fastpath in (True, False):
        scene = Scene(crs="EPSG:3857")
        for layer in importers.open(tower, scene, {"cache": False, "fastpath": fastpath}):
            scene.add_layer(layer)
        b = scene.layers[0].features.bounds
        lo, hi = np.nanmin(b[:, ::2], axis=0), np.nanmax(b[:, 1::2], axis=0)
        centre = scene.origin + (lo + hi) / 2  # bookmarks are in CRS coordinates
        eye = centre + np.array([1.0, -1.6, 0.8]) * float(np.max(hi - lo))
        scene.add_bookmark(Bookmark("view", tuple(eye), tuple(centre)))
        images.append(render_image(scene, (320, 240), "view"))
    result = compare(images[0], images[1])
    if not result.passed:
        save_png(images[0], output_dir / "ifc_fastpath.png")
        save_png(images[1], output_dir / "ifc_kernel.png")
        save_png(result.diff, output_dir / "ifc_fastpath_diff.png")
    assert result.passed, f"score {result.score:.4f}, mean {result.mean_abs:.2f}; see {output_dir}"
    assert images[0].reshape(-1, 3).std(axis=0).max() > 10  # something was drawn


# -- the fast path on every core (importers.ifc.fastpath.spread) ----------------------


@pytest.fixture(scope="module")
def tall_tower(tmp_path_factory) -> Path:
    """~4,000 elements: after the worker's first batches (up to 1,792 elements,
    while the kernel's share is judged) two more batches to deal out."""
    path = tmp_path_factory.mktemp("tall") / "tall.ifc"
    write_tower(path, 3.0, seed=11, bays=3)
    return path


def _per_element(layer) -> dict[str, tuple]:
    """GlobalId -> (bounds, colour, class, triangles) of every element."""
    triangles = np.bincount(layer.cell_features, minlength=len(layer.features.ids))
    return {g: (*v, int(triangles[i])) for i, (g, v) in enumerate(_by_guid(layer).items())}


def test_helpers_mesh_the_same_model_as_one_process(tall_tower, _cache_dir):
    """Two processes (the worker and a forked helper) give every element the
    triangles, box, colour and class one process gives it."""
    one = _load(tall_tower, processes=1)[0]
    two = _load(tall_tower, processes=2)[0]
    assert one.info["fastpath"]["processes"] == 1 and two.info["fastpath"]["processes"] == 2
    assert two.info["fastpath"]["elements"] == one.info["fastpath"]["elements"] > 3000
    a, b = _per_element(one), _per_element(two)
    assert a.keys() == b.keys()
    for guid, (bounds, colour, cls, tris) in a.items():
        bb, bc, bcls, btris = b[guid]
        assert (cls, colour, tris) == (bcls, bc, btris), guid
        assert np.array_equal(bounds, bb, equal_nan=True), guid
    assert one.mesh.n_cells == two.mesh.n_cells


def test_a_helper_that_dies_leaves_its_batches_to_the_kernel(tall_tower, _cache_dir):
    """A helper killed at its first batch: every element still arrives (its
    share meshed by the kernel), once, with no failure reported."""
    f = ifcopenshell.open(str(tall_tower))
    walls = [str(w.GlobalId) for w in f.by_type("IfcWall")]
    alone = _load(tall_tower, processes=1)[0]
    whole = _per_element(alone)
    layer = _load(tall_tower, processes=2, test_helper_crash=walls)[0]
    crashed = _per_element(layer)
    ids = layer.features.ids
    assert crashed.keys() == whole.keys() and len(ids) == len(set(ids))
    assert not [w for w in layer.warnings if "geometry failed" in w]
    fp = layer.info["fastpath"]
    # the helper's share (its batch of ~250 elements) went to the kernel
    assert fp["processes"] == 2 and fp["lost"] > 200
    took = sum(alone.info["fastpath"][k] for k in ("elements", "kernel"))
    assert fp["elements"] + fp["kernel"] + fp["lost"] == took
    b = layer.features.bounds
    size = float(np.nanmax(b[:, 1::2]) - np.nanmin(b[:, ::2]))
    for guid, (bounds, _colour, cls, _tris) in crashed.items():
        assert cls == whole[guid][2]
        assert np.allclose(bounds, whole[guid][0], rtol=0, atol=REL * size, equal_nan=True), guid


def test_a_helper_over_the_memory_budget_is_stopped_not_the_import(tall_tower, _cache_dir):
    """A helper that takes the import over its memory budget (a hook makes it
    hold 384 MB) is stopped by the runner's watchdog: its batches go to the
    kernel, every element arrives once, the layer says why, and the run is
    not cached."""
    f = ifcopenshell.open(str(tall_tower))
    walls = [str(w.GlobalId) for w in f.by_type("IfcWall")]
    plain = _load(tall_tower, processes=2)[0]
    peak = plain.info["import_peak_rss_mb"]
    fp = plain.info["fastpath"]
    # the import's memory counts the helper's private part beside the worker's peak
    assert fp["processes"] == 2 and fp["helpers_private_mb"] > 0
    assert peak >= fp["worker_peak_rss_with_helpers_mb"] + fp["helpers_private_mb"] - 0.2
    budget = peak + 200  # room for the import, not for the hook's 384 MB
    layer = _load(
        tall_tower, processes=2, test_helper_bloat=walls, memory_limit_mb=budget, cache=True
    )[0]
    ids = layer.features.ids
    assert set(ids) == set(plain.features.ids) and len(ids) == len(set(ids))
    assert layer.info["fastpath"]["lost"] > 200
    notes = [w for w in layer.warnings if "fast-path process held" in w]
    assert len(notes) == 1 and f"over the {budget:.0f} MB budget" in notes[0], layer.warnings
    assert not layer.info["worker_restarts"]
    assert layer.info["cache"] == "miss (not stored: the run was not clean)"
