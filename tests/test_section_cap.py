"""Section caps: a cut closed solid shows its cut face, in one filter pass."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from twin.features import FeatureTable
from twin.layer import Layer
from twin.meshing import extrude_polygons
from twin.render.section_cap import CAP_RGB, cap_polydata
from twin.scene import Bookmark, Scene
from twin.style import Style


def _boxes(n: int = 3) -> Layer:
    xs = np.arange(n) * 30.0
    geoms = np.array([shapely.box(x, 0, x + 20, 10) for x in xs], dtype=object)
    # a courtyard building: its cap must keep the hole
    geoms[0] = shapely.box(0, 0, 20, 10).difference(shapely.box(5, 3, 15, 7))
    tm = extrude_polygons(geoms, np.zeros(n), np.full(n, 12.0))
    b = np.array([[x, x + 20, 0, 10, 0, 12] for x in xs])
    table = FeatureTable(np.arange(n).astype(str), np.full(n, "office", object),
                         np.full(n, "", object), b)
    return Layer("boxes", tm.to_polydata(), table, kind="buildings",
                 style=Style(mode="solid", color=(230, 230, 230)))


def test_cap_fills_every_cut_loop_with_holes():
    layer = _boxes(3)
    cap = cap_polydata(layer.mesh, (0, 0, 6.0), (0, 0, 1))
    import pyvista as pv

    cap = pv.wrap(cap)
    # 20x10 minus the 10x4 courtyard, plus two 20x10 blocks
    assert cap.area == pytest.approx(160 + 200 + 200)
    assert np.allclose(cap.points[:, 2], 6.0)
    # cap + the kept half of each block is a closed surface: no boundary edges
    kept = pv.wrap(layer.mesh).clip(normal=(0, 0, 1), origin=(0, 0, 6.0), invert=True)
    closed = kept.extract_surface(algorithm=None).merge(cap).clean().triangulate()
    edges = closed.extract_feature_edges(boundary_edges=True, feature_edges=False,
                                         manifold_edges=False, non_manifold_edges=False)
    assert edges.n_cells == 0


def test_a_plane_missing_the_solids_makes_no_cap():
    layer = _boxes(2)
    assert cap_polydata(layer.mesh, (0, 0, 50.0), (0, 0, 1)).GetNumberOfCells() == 0


@pytest.mark.render
def test_section_render_shows_the_cap_colour(output_dir):
    from twin.render import OffscreenRenderer, save_png, use_offscreen_gl
    from twin.viewstate import ViewState

    use_offscreen_gl()
    scene = Scene(crs="EPSG:9208")
    scene.add_layer(_boxes(3))
    cam = Bookmark("above", (40.0, -60.0, 90.0), (40.0, 5.0, 0.0), (0.0, 0.0, 1.0), 40.0)
    with OffscreenRenderer(scene, (320, 240), simulation=None, looks=None) as ren:
        cut = ren.draw(ViewState(camera=cam, section=((0.0, 0.0, 6.0), (0.0, 0.0, 1.0))))
        assert ren.view.section is not None
        whole = ren.draw(ViewState(camera=cam))
        assert ren.view.section is None
    save_png(cut, output_dir / "section_cap.png")
    cap = np.array(CAP_RGB) * 255
    near_cap = (np.abs(cut.astype(float) - cap).max(axis=2) < 40).sum()
    assert near_cap > 2000  # three cut faces seen from above
    assert (np.abs(whole.astype(float) - cap).max(axis=2) < 40).sum() < 50
