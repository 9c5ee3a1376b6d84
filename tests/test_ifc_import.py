"""IFC importer: the layer contract, semantics, colours, instancing, spaces, cache."""

from __future__ import annotations

import threading
import time

import ifcopenshell
import numpy as np
import pytest
from conftest import DATA
from test_ifc_factory import Box, Model, make_model

import importers
from importers.errors import ImportCancelled, ImportFailed
from importers.ifc import cache
from twin.scene import Scene

IFC_DATA = DATA / "ifc"


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYTWIN_CACHE_DIR", str(tmp_path / "cache"))


def scene() -> Scene:
    return Scene(crs="EPSG:3857")


def direct_count(path) -> int:
    """IfcProducts with a representation, minus openings and spaces (issue 3)."""
    f = ifcopenshell.open(str(path))
    return sum(
        1
        for p in f.by_type("IfcProduct")
        if p.Representation is not None
        and not p.is_a("IfcOpeningElement")
        and not p.is_a("IfcSpace")
    )


def test_layer_contract_on_a_real_file():
    path = IFC_DATA / "Sample_entities.ifc"
    layers = importers.open(path, scene())
    assert len(layers) == 1
    layer = layers[0]
    assert layer.name == "Sample_entities" and layer.kind == "bim" and layer.visible
    assert layer.source == path
    mesh = layer.mesh
    assert mesh.points.dtype == np.float32
    assert layer.cell_features.dtype == np.int32
    assert mesh.cell_data["rgb_default"].shape == (mesh.n_cells, 3)
    assert mesh.is_all_triangles
    table = layer.features
    assert len(table) == direct_count(path) == 2
    assert table.bounds.shape == (2, 6) and np.all(np.isfinite(table.bounds))
    for col in ("predefined_type", "storey", "type", "material", "ifc_color", "ifc_transparency"):
        assert col in table.attributes
    row = table.row(0)
    assert row["id"] == "2Tn1dk1x19EPvQ7g89sJ6V"
    assert row["class"] == "IfcElectricDistributionPoint"
    assert row["storey"] == "Erdgeschoss"
    assert row["type"].startswith("_E_tin_Verteiler_Kombi2")
    assert "tin_Aluminium" in row["material"]
    info = layer.info
    assert info["schema"] == "IFC2X3"
    assert info["georeferencing"] == "IfcSite reference latitude/longitude"
    assert info["elements"] == 2 and info["triangles"] == mesh.n_cells
    assert info["has_ifc_colors"] is True
    # both elements map one representation: triangulated once, placed twice
    assert info["unique_geometries"] == 1
    assert mesh.n_cells % 2 == 0
    # cell -> feature mapping covers both rows with equal triangle counts
    counts = np.bincount(layer.cell_features, minlength=2)
    assert counts[0] == counts[1] > 0


def test_spatial_tree():
    layer = importers.open(IFC_DATA / "Sample_entities.ifc", scene())[0]
    tree = layer.tree
    assert tree.kind == "IfcProject"
    site = tree.children[0]
    assert site.kind == "IfcSite"
    storeys = site.children[0].children
    assert [s.kind for s in storeys] == ["IfcBuildingStorey", "IfcBuildingStorey"]
    assert sorted(tree.all_rows()) == [0, 1]


def test_colours_transparency_and_palette(tmp_path):
    path = make_model(
        tmp_path / "c.ifc",
        Model(
            boxes=[
                Box(at=(0, 0, 0), color=(1.0, 0.0, 0.0)),
                Box(at=(2, 0, 0), color=(0.0, 0.0, 1.0), transparency=0.5),
                Box(at=(4, 0, 0), cls="IfcSlab"),
            ]
        ),
    )
    layer = importers.open(path, scene())[0]
    colors = layer.features.attributes["ifc_color"]
    assert list(colors[:2]) == ["#ff0000", "#0000ff"]
    assert colors[2] != "#ff0000"  # unstyled: the class palette
    assert layer.features.attributes["ifc_transparency"][1] == pytest.approx(0.5)
    assert layer.info["has_transparency"] is True
    cells = layer.mesh.cell_data["rgb_default"]
    red = cells[layer.cell_features == 0]
    assert np.all(red == [255, 0, 0])
    assert layer.style.mode == "native"


def test_mapped_items_are_triangulated_once(tmp_path):
    path = make_model(tmp_path / "i.ifc", Model(boxes=[], mapped_instances=40))
    layer = importers.open(path, scene())[0]
    assert len(layer.features) == 40
    assert layer.info["unique_geometries"] == 1
    assert layer.n_triangles == 40 * 12
    # every instance placed by its own transform (1 m grid, 4 rows of 10)
    centres = (
        np.column_stack(
            [
                layer.features.bounds[:, 0] + layer.features.bounds[:, 1],
                layer.features.bounds[:, 2] + layer.features.bounds[:, 3],
            ]
        )
        / 2
    )
    assert len(np.unique(np.round(centres, 3), axis=0)) == 40


def test_spaces_are_a_hidden_second_layer(tmp_path):
    path = make_model(tmp_path / "s.ifc", Model(boxes=[Box()], spaces=3))
    layers = importers.open(path, scene())
    assert [la.kind for la in layers] == ["bim", "bim-spaces"]
    main, spaces = layers
    assert len(main.features) == 1 and len(spaces.features) == 3
    assert not spaces.visible and spaces.name.endswith("(spaces)")
    assert set(spaces.features.classes) == {"IfcSpace"}
    assert spaces.n_triangles == 3 * 12
    layers = importers.open(path, scene(), {"spaces": False})
    assert len(layers) == 2 and layers[1].n_triangles == 0


def test_property_sets_are_read_lazily(tmp_path):
    path = make_model(
        tmp_path / "p.ifc",
        Model(
            boxes=[Box(name="wall A"), Box(at=(3, 0, 0))], psets={"Pset_Test": {"Fire": "REI60"}}
        ),
    )
    layer = importers.open(path, scene())[0]
    details = layer.feature_details(0)
    assert details["IFC"]["name"] == "wall A"
    assert details["Pset_Test"]["Fire"] == "REI60"
    assert "Pset_Test" not in layer.feature_details(1)
    # a changed file is reported, not silently misread
    path.write_text(path.read_text() + "\n")
    assert "Error" in layer.feature_details(0)


def test_cache_reopen_is_identical_and_keyed_by_content(tmp_path):
    path = make_model(tmp_path / "k.ifc", Model(boxes=[Box(), Box(at=(2, 0, 0))], spaces=1))
    first = importers.open(path, scene())
    cache.flush()
    assert first[0].info["cache"] == "miss (stored)"
    again = importers.open(path, scene())
    assert again[0].info["cache"] == "hit"
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.mesh.points, b.mesh.points)
        np.testing.assert_array_equal(a.cell_features, b.cell_features)
        assert list(a.features.ids) == list(b.features.ids)
        assert a.warnings == b.warnings
    # other geometry options use another entry
    assert importers.open(path, scene(), {"spaces": False})[0].info["cache"].startswith("miss")
    # changed content: a new key
    make_model(path, Model(boxes=[Box()]))
    changed = importers.open(path, scene())
    assert changed[0].info["cache"].startswith("miss") and len(changed[0].features) == 1


def test_damaged_cache_entry_is_ignored(tmp_path):
    path = make_model(tmp_path / "d.ifc", Model())
    importers.open(path, scene())
    cache.flush()
    entries = list(cache.cache_dir().glob("*" + cache.SUFFIX))
    assert len(entries) == 1
    good = entries[0].read_bytes()
    for damage in (
        b"PK\x03\x04 not a cache entry",
        good[: len(good) // 2],  # truncated
        good[:20] + b"{" + good[21:],  # index damaged
    ):
        entries[0].write_bytes(damage)
        layer = importers.open(path, scene())[0]
        assert layer.info["cache"].startswith("miss") and len(layer.features) == 1
        cache.flush()
    assert importers.open(path, scene())[0].info["cache"] == "hit"


def test_progress_reaches_total_and_cancel_stops(tmp_path):
    path = make_model(tmp_path / "g.ifc", Model(boxes=[], mapped_instances=30))
    seen: list[tuple[int, int]] = []
    importers.open(path, scene(), {"cache": False}, progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (30, 30)
    assert all(d <= t for d, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)

    cancel = threading.Event()
    cancel.set()
    t0 = time.perf_counter()
    with pytest.raises(ImportCancelled):
        importers.open(path, scene(), {"cache": False}, cancel=cancel)
    assert time.perf_counter() - t0 < 5


def test_bad_options_are_one_line_errors():
    with pytest.raises(ImportFailed, match="unknown IFC option"):
        importers.open(IFC_DATA / "railing.ifc", scene(), {"thread": 2})
    with pytest.raises(ImportFailed, match="'at'"):
        importers.open(IFC_DATA / "railing.ifc", scene(), {"at": "1,2,x"})


def test_cached_reopen_is_much_faster(tmp_path):
    path = make_model(tmp_path / "f.ifc", Model(boxes=[], mapped_instances=200, spaces=2))
    t0 = time.perf_counter()
    importers.open(path, scene())
    cold = time.perf_counter() - t0
    cache.flush()
    best = min(
        (lambda t: (importers.open(path, scene()), time.perf_counter() - t)[1])(time.perf_counter())
        for _ in range(3)
    )
    assert best * 3 < cold, (cold, best)
