"""README picture of CityGML appearances: a small street written as CityGML 2.0
with ParameterizedTexture façades and roofs (citygml4j's testtown images,
Apache-2.0, from ../shared/data) and an X3DMaterial roof, drawn headless
without and with the Textures look.

    .venv/bin/python docs/citygml_textures_shot.py docs/

The model and its images are written to a temporary folder (the importer reads
images only from the GML file's own folder).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
IMAGES = ROOT.parent / "shared" / "data" / "citygml" / "citygml4j" / "appearances"
SIZE = (640, 400)

#: (image, u0, v0, u1, v1): a part of a testtown atlas (v up).
SHOP = ("testtown-003.jpg", 0.728, 0.395, 0.995, 0.548)
BRICK = ("testtown-003.jpg", 0.642, 0.145, 0.748, 0.37)
PLASTER = ("testtown-004.jpg", 0.0, 0.0, 1.0, 1.0)
DOORS = ("testtown-001.jpg", 0.0, 0.5, 1.0, 1.0)
SLATE = ("testtown-008.jpg", 0.0, 0.0, 1.0, 1.0)

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<core:CityModel '
    'xmlns:core="http://www.opengis.net/citygml/2.0" '
    'xmlns:bldg="http://www.opengis.net/citygml/building/2.0" '
    'xmlns:app="http://www.opengis.net/citygml/appearance/2.0" '
    'xmlns:gml="http://www.opengis.net/gml">'
)


def _surface(kind: str, sid: str, pts: np.ndarray) -> str:
    pos = " ".join(f"{v:g}" for v in np.vstack([pts, pts[:1]]).ravel())
    return (
        f"<bldg:boundedBy><bldg:{kind}><bldg:lod2MultiSurface><gml:MultiSurface "
        f'gml:id="{sid}_MS"><gml:surfaceMember><gml:Polygon gml:id="{sid}"><gml:exterior>'
        f'<gml:LinearRing gml:id="{sid}_R"><gml:posList srsDimension="3">{pos}</gml:posList>'
        "</gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember></gml:MultiSurface>"
        f"</bldg:lod2MultiSurface></bldg:{kind}></bldg:boundedBy>"
    )


def _texture(sid: str, part: tuple) -> str:
    image, u0, v0, u1, v1 = part
    uv = f"{u0} {v0} {u1} {v0} {u1} {v1} {u0} {v1} {u0} {v0}"
    return (
        f"<app:surfaceDataMember><app:ParameterizedTexture><app:imageURI>{image}"
        f'</app:imageURI><app:target uri="#{sid}"><app:TexCoordList><app:textureCoordinates '
        f'ring="#{sid}_R">{uv}</app:textureCoordinates></app:TexCoordList></app:target>'
        "</app:ParameterizedTexture></app:surfaceDataMember>"
    )


def building(
    k: int, x0: float, w: float, d: float, h: float, front: tuple, roof, y0: float = 0.0
) -> str:
    """A box: walls (front faces -y) counter-clockwise from outside, a flat roof;
    the roof is a texture part or an RGB triple (an X3DMaterial). Also the
    city of bench/bench_citygml_appearance.py."""
    x1, y1 = x0 + w, y0 + d
    c = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)
    faces, data = [], []
    for i in range(4):
        a, b = c[i], c[(i + 1) % 4]
        pts = np.array([[*a, 0], [*b, 0], [*b, h], [*a, h]])
        sid = f"B{k}_W{i}"
        faces.append(_surface("WallSurface", sid, pts))
        data.append(_texture(sid, front if i == 0 else PLASTER))
    sid = f"B{k}_R"
    faces.append(_surface("RoofSurface", sid, np.c_[c, np.full(4, h)]))
    if isinstance(roof[0], str):
        data.append(_texture(sid, roof))
    else:
        rgb = " ".join(f"{v:g}" for v in roof)
        data.append(
            f"<app:surfaceDataMember><app:X3DMaterial><app:diffuseColor>{rgb}"
            f"</app:diffuseColor><app:target>#{sid}_MS</app:target></app:X3DMaterial>"
            "</app:surfaceDataMember>"
        )
    appearance = (
        "<app:appearance><app:Appearance><app:theme>rgbTexture</app:theme>"
        + "".join(data)
        + "</app:Appearance></app:appearance>"
    )
    return (
        f'<core:cityObjectMember><bldg:Building gml:id="B{k}">{appearance}{"".join(faces)}'
        "</bldg:Building></core:cityObjectMember>"
    )


def copy_images(folder: Path) -> None:
    for name in {p[0] for p in (SHOP, BRICK, PLASTER, DOORS, SLATE)}:
        shutil.copy(IMAGES / name, folder / name)


def write_street(folder: Path) -> Path:
    copy_images(folder)
    body = (
        building(0, 0.0, 16.0, 10.0, 6.0, SHOP, SLATE)
        + building(1, 17.0, 8.0, 10.0, 14.0, BRICK, (0.55, 0.2, 0.15))
        + building(2, 26.0, 12.0, 10.0, 6.0, DOORS, SLATE)
    )
    path = folder / "street.gml"
    path.write_text(HEAD + body + "</core:CityModel>", encoding="utf-8")
    return path


def main(out: Path) -> None:
    import importers
    from twin.render import OffscreenRenderer, save_png, use_offscreen_gl
    from twin.render.looks import LookOptions

    use_offscreen_gl()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_street(Path(tmp))
        scene = importers.scene_for(path)
        [layer] = importers.open(path, scene, {})
        scene.add_layer(layer)
        print(layer.info.get("textures"), layer.warnings)
        shots = []
        for on in (False, True):
            with OffscreenRenderer(
                scene, SIZE, simulation=None, looks=LookOptions(textures=on)
            ) as r:
                b = np.asarray(layer.mesh.bounds)
                centre = np.array([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, 5.0])
                cam = r.plotter.camera
                cam.focal_point = tuple(centre)
                cam.position = tuple(centre + np.array([-16.0, -46.0, 13.0]))
                cam.up = (0.0, 0.0, 1.0)
                r.plotter.reset_camera_clipping_range()
                cam.view_angle = 30.0
                shots.append(r.frame())
    save_png(np.concatenate(shots, axis=1), out / "textures_citygml_before_after.png")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
