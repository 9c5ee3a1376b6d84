"""An imported IFC model renders with its IFC colours, where it should be."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Transformer
from test_ifc_factory import Box, Model, make_model

import importers
from twin.scene import Bookmark, Scene


@pytest.mark.render
def test_styled_model_renders_in_its_colours(tmp_path, monkeypatch, output_dir):
    from twin.render import render_image, save_png

    monkeypatch.setenv("CITYTWIN_CACHE_DIR", str(tmp_path / "cache"))
    lon, lat = 105.4012, 21.3227
    e, n = Transformer.from_crs("EPSG:4326", "EPSG:9208", always_xy=True).transform(lon, lat)
    path = make_model(
        tmp_path / "colours.ifc",
        Model(
            boxes=[
                Box(at=(0, 0, 0), size=(6, 6, 6), color=(0.9, 0.1, 0.1)),
                Box(at=(10, 0, 0), size=(6, 6, 3), color=(0.1, 0.2, 0.9)),
            ],
            crs={"name": "EPSG:9208", "map_unit": "METRE"},
            map_conversion={"E": e, "N": n, "H": 0.0},
        ),
    )
    scene = Scene(crs="EPSG:9208", origin=np.array([round(e, -2), round(n, -2), 0.0]))
    for layer in importers.open(path, scene):
        scene.add_layer(layer)
    centre = np.array([e + 8, n + 3, 3.0])
    scene.add_bookmark(Bookmark("view", tuple(centre + np.array([25, -35, 25])), tuple(centre)))
    image = render_image(scene, (320, 240), "view")
    px = image.reshape(-1, 3).astype(int)
    red = (px[:, 0] > 150) & (px[:, 1] < 90) & (px[:, 2] < 90)
    blue = (px[:, 2] > 150) & (px[:, 0] < 90)
    cols = np.arange(px.shape[0]) % image.shape[1]
    ok = red.sum() > 500 and blue.sum() > 300
    # the red box is left of the blue one in this south-east view
    ok = ok and cols[red].mean() < cols[blue].mean()
    if not ok:
        save_png(image, output_dir / "ifc_colours.png")
    assert ok, f"red {red.sum()} px, blue {blue.sum()} px; see {output_dir / 'ifc_colours.png'}"
