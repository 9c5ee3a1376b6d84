"""CityGML appearances: X3DMaterial colours reach the faces, ParameterizedTexture
images are drawn through the layer's atlas (as CityJSON's), and images are read
only from the GML file's folder.

Real data: ``Berlin_Moabit_1Bldg_v2.gml`` (TUM, MIT) has three themes; its first,
"Eignung Solarthermie", colours the roof MultiSurface with an X3DMaterial
(0.839 0.306 0.212) and textures four walls with images the sample does not ship.
The textured wall written by these tests uses a 128 px copy of citygml4j's
``testtown-001.jpg`` (Apache-2.0), see tests/data/PROVENANCE.md.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import importers
from twin import textures as tx

DATA = Path(__file__).resolve().parent / "data" / "citygml"
MOABIT = DATA / "Berlin_Moabit_1Bldg_v2.gml"
IMAGE = DATA / "appearance" / "testtown-001_128.jpg"
ROOF_RGB = (214, 78, 54)  # round(255 * (0.83921569, 0.30588235, 0.21176471))
SIZE = (320, 240)

NS2 = (
    'xmlns:core="http://www.opengis.net/citygml/2.0" '
    'xmlns:bldg="http://www.opengis.net/citygml/building/2.0" '
    'xmlns:app="http://www.opengis.net/citygml/appearance/2.0" '
    'xmlns:gml="http://www.opengis.net/gml" xmlns:xlink="http://www.w3.org/1999/xlink"'
)
NS3 = (
    'xmlns:core="http://www.opengis.net/citygml/3.0" '
    'xmlns:con="http://www.opengis.net/citygml/construction/3.0" '
    'xmlns:bldg="http://www.opengis.net/citygml/building/3.0" '
    'xmlns:app="http://www.opengis.net/citygml/appearance/3.0" '
    'xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:xlink="http://www.w3.org/1999/xlink"'
)
#: The image's corners on the wall's ring (x, z): (0, 0) -> (0, 0), (10, 10) -> (1, 1).
UNIT_UV = "0 0 1 0 1 1 0 1 0 0"


def _wall(k: int, x0: float = 0.0, v3: bool = False) -> str:
    """A 10 m x 10 m wall in the x-z plane at y = 0, facing -y."""
    x1 = x0 + 10
    pos = f"{x0} 0 0 {x1} 0 0 {x1} 0 10 {x0} 0 10 {x0} 0 0"
    poly = (
        f'<gml:MultiSurface gml:id="MS{k}"><gml:surfaceMember><gml:Polygon gml:id="W{k}">'
        f'<gml:exterior><gml:LinearRing gml:id="W{k}_R"><gml:posList srsDimension="3">{pos}'
        "</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember>"
        "</gml:MultiSurface>"
    )
    if v3:
        return (
            f'<core:boundary><con:WallSurface gml:id="WS{k}"><core:lod2MultiSurface>{poly}'
            "</core:lod2MultiSurface></con:WallSurface></core:boundary>"
        )
    return (
        f'<bldg:boundedBy><bldg:WallSurface gml:id="WS{k}"><bldg:lod2MultiSurface>{poly}'
        "</bldg:lod2MultiSurface></bldg:WallSurface></bldg:boundedBy>"
    )


def _texture(k: int, uri: str, uv: str = UNIT_UV, v3: bool = False) -> str:
    if v3:
        target = (
            f"<app:textureParameterization><app:TextureAssociation>"
            f"<app:target>#W{k}</app:target><app:textureParameterization><app:TexCoordList>"
            f"<app:textureCoordinates>{uv}</app:textureCoordinates><app:ring>#W{k}_R</app:ring>"
            "</app:TexCoordList></app:textureParameterization></app:TextureAssociation>"
            "</app:textureParameterization>"
        )
    else:
        target = (
            f'<app:target uri="#W{k}"><app:TexCoordList><app:textureCoordinates '
            f'ring="#W{k}_R">{uv}</app:textureCoordinates></app:TexCoordList></app:target>'
        )
    member = "surfaceData" if v3 else "surfaceDataMember"
    return (
        f"<app:{member}><app:ParameterizedTexture><app:imageURI>{uri}</app:imageURI>"
        f"<app:mimeType>image/jpeg</app:mimeType>{target}</app:ParameterizedTexture>"
        f"</app:{member}>"
    )


def _material(target: str, rgb: str = "0.2 0.4 0.6", transparency: float = 0.0) -> str:
    return (
        f"<app:surfaceDataMember><app:X3DMaterial><app:diffuseColor>{rgb}</app:diffuseColor>"
        f"<app:transparency>{transparency}</app:transparency><app:target>#{target}</app:target>"
        "</app:X3DMaterial></app:surfaceDataMember>"
    )


def _write(
    folder: Path,
    walls: int,
    data: str,
    v3: bool = False,
    global_app: bool = False,
    theme: str = "rgbTexture",
) -> Path:
    """One building with ``walls`` walls side by side (12 m apart) and one
    appearance holding ``data`` (local to the building, or global after it)."""
    appearance = f"<app:Appearance><app:theme>{theme}</app:theme>{data}</app:Appearance>"
    prefix = "core" if v3 else "app"  # 3.0 moved the properties to the core module
    local = "" if global_app else f"<{prefix}:appearance>{appearance}</{prefix}:appearance>"
    member = f"{prefix}:appearanceMember"
    tail = f"<{member}>{appearance}</{member}>" if global_app else ""
    geometry = "".join(_wall(k, 12.0 * k, v3) for k in range(walls))
    doc = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<core:CityModel {NS3 if v3 else NS2}>'
        f'<core:cityObjectMember><bldg:Building gml:id="B1">{local}{geometry}'
        f"</bldg:Building></core:cityObjectMember>{tail}</core:CityModel>"
    )
    path = folder / "walls.gml"
    path.write_text(doc, encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A model folder with the test image in ``appearance/``."""
    model = tmp_path / "model"
    (model / "appearance").mkdir(parents=True)
    shutil.copy(IMAGE, model / "appearance" / IMAGE.name)
    return model


def _open(path: Path, **options):
    scene = importers.scene_for(path)
    [layer] = importers.open(path, scene, options)
    scene.add_layer(layer)
    return scene, layer


def _missing_warnings(layer) -> list[str]:
    return [w for w in layer.warnings if "texture images not used" in w]


# -- the real sample: materials, and one warning for its missing images ---------------------


def test_moabit_roof_material_colours_the_faces_and_one_warning_for_missing_images() -> None:
    _, layer = _open(MOABIT)
    rgb = np.asarray(layer.mesh.cell_data["rgb_default"])
    surface = np.asarray(layer.mesh.cell_data["surface"])
    roof = surface == 1  # RoofSurface: the material's target MultiSurface
    assert roof.sum() == 2
    assert (rgb[roof] == ROOF_RGB).all()
    assert not (rgb[~roof] == ROOF_RGB).all(axis=1).any()  # walls and ground keep theirs
    assert layer.info["appearance_theme"] == "Eignung Solarthermie"
    assert layer.info["appearance_themes"] == [
        "Eignung Solarthermie",
        "Eignung Photovoltaik",
        "rgbTexture",
    ]
    assert layer.info["textures"] == "0 of 4 images drawn"
    [missing] = _missing_warnings(layer)
    assert missing.startswith("4 texture images not used")
    assert "appearance/tex5284715.jpg" in missing and "refused" not in missing
    assert tx.atlas_of(layer.mesh) is None and tx.textured_cells(layer.mesh) is None


def test_moabit_theme_option_and_materials_off() -> None:
    _, plain = _open(MOABIT, materials=False)
    _, rgb_theme = _open(MOABIT, theme="rgbTexture")
    for layer in (plain, rgb_theme):  # no material: the roof keeps its semantic colour
        rgb = np.asarray(layer.mesh.cell_data["rgb_default"])
        assert not (rgb == ROOF_RGB).all(axis=1).any()
    assert rgb_theme.info["appearance_theme"] == "rgbTexture"
    [missing] = _missing_warnings(rgb_theme)
    assert missing.startswith("5 texture images not used")  # the roof's too, by xlink
    _, unknown = _open(MOABIT, theme="no such theme")
    assert unknown.info["appearance_theme"] == "Eignung Solarthermie"
    assert any("'no such theme' is not in the file" in w for w in unknown.warnings)


# -- a written wall with a real image -------------------------------------------------------


def _wall_uv(layer) -> tuple[np.ndarray, np.ndarray]:
    """Points and atlas coordinates of the textured cells."""
    cells = tx.textured_cells(layer.mesh)
    assert cells is not None and cells.any()
    ids = np.unique(layer.mesh.regular_faces[cells].ravel())
    uv = np.asarray(layer.mesh.active_texture_coordinates)[ids]
    return np.asarray(layer.mesh.points)[ids], uv


def test_textured_wall_carries_the_image_and_its_corners(folder: Path) -> None:
    path = _write(folder, 1, _texture(0, f"appearance/{IMAGE.name}"))
    _, layer = _open(path)
    assert layer.info["textures"] == "1 of 1 images drawn"
    assert not _missing_warnings(layer)
    assert tx.textured_cells(layer.mesh).all()
    pts, uv = _wall_uv(layer)
    # the wall's far top corner takes the image's top-right corner: largest u and v
    x, z = pts[:, 0], pts[:, 2]
    top_right = np.argmax(x + z)
    assert uv[top_right, 0] == uv[:, 0].max() and uv[top_right, 1] == uv[:, 1].max()
    atlas = tx.atlas_of(layer.mesh)
    with Image.open(IMAGE) as im:
        src = np.asarray(im.convert("RGB"))
    assert atlas is not None and atlas.shape[0] >= src.shape[0]


@pytest.mark.parametrize("variant", ["v3", "global", "featureMember", "reversed"])
def test_3_0_global_and_reversed_texture_the_same_corners(folder: Path, variant: str) -> None:
    """CityGML 3.0's TextureAssociation with parallel ``app:ring``, a global
    ``appearanceMember`` after the building (or a plain ``gml:featureMember``, as
    1.0 writers did), and a reversed ``OrientableSurface``
    (the reader turns the ring round, the coordinates turn with it) all put
    each image corner on the same wall corner."""
    ref_path = _write(folder, 1, _texture(0, f"appearance/{IMAGE.name}"))
    _, ref = _open(ref_path)
    want = dict(
        zip(map(tuple, _wall_uv(ref)[0].round(6)), map(tuple, _wall_uv(ref)[1]), strict=True)
    )
    if variant == "reversed":
        path = _write(folder, 1, _texture(0, f"appearance/{IMAGE.name}"))
        text = (
            path.read_text()
            .replace(
                '<gml:Polygon gml:id="W0">',
                '<gml:OrientableSurface orientation="-"><gml:baseSurface><gml:Polygon gml:id="W0">',
            )
            .replace("</gml:Polygon>", "</gml:Polygon></gml:baseSurface></gml:OrientableSurface>")
        )
        path.write_text(text)
    else:
        path = _write(
            folder,
            1,
            _texture(0, f"appearance/{IMAGE.name}", v3=variant == "v3"),
            v3=variant == "v3",
            global_app=variant in ("global", "featureMember"),
        )
        if variant == "featureMember":
            path.write_text(path.read_text().replace("app:appearanceMember", "gml:featureMember"))
    _, layer = _open(path)
    assert layer.info.get("version") == ("3.0" if variant == "v3" else "2.0")
    assert list(layer.features.ids) == ["B1"]  # an appearance is no city object
    pts, uv = _wall_uv(layer)
    got = dict(zip(map(tuple, pts.round(6)), map(tuple, uv), strict=True))
    assert got.keys() == want.keys()
    for key, value in want.items():
        np.testing.assert_allclose(got[key], value, atol=1e-6)


def _front_view(scene, layer, textures: bool, mpp: float = 0.05):
    """A parallel view of the wall from -y, 1 px = ``mpp`` m, unlit (pixel = texel)."""
    from twin.render import OffscreenRenderer
    from twin.render.looks import LookOptions

    r = OffscreenRenderer(scene, SIZE, simulation=None, looks=LookOptions(textures=textures))
    pts = np.asarray(layer.mesh.points)
    centre = (pts.min(axis=0) + pts.max(axis=0)) / 2
    cam = r.plotter.camera
    cam.ParallelProjectionOn()
    cam.focal_point = tuple(centre)
    cam.position = (centre[0], centre[1] - 100.0, centre[2])
    cam.up = (0.0, 0.0, 1.0)
    cam.parallel_scale = SIZE[1] / 2 * mpp
    r.plotter.reset_camera_clipping_range()
    r.view.actors[layer].GetProperty().LightingOff()
    return r


def _luma(img: np.ndarray) -> np.ndarray:
    return img.astype(float) @ np.array([0.2126, 0.7152, 0.0722])


def test_textured_wall_renders_the_image(folder: Path, output_dir: Path) -> None:
    from twin.render import save_png

    path = _write(folder, 1, _texture(0, f"appearance/{IMAGE.name}"))
    scene, layer = _open(path)
    shots = {}
    for on in (False, True):
        r = _front_view(scene, layer, textures=on)
        try:
            shots[on] = r.frame()
        finally:
            r.close()
    save_png(np.concatenate([shots[False], shots[True]], 1), output_dir / "citygml_wall.png")
    # The wall is 10 m = 200 px square in the frame's middle; keep 8 px off its edges.
    side = round(10 / 0.05)
    c0, r0 = (SIZE[0] - side) // 2 + 8, (SIZE[1] - side) // 2 + 8
    box = (slice(r0, r0 + side - 16), slice(c0, c0 + side - 16))
    plain, textured = shots[False][box].astype(float), shots[True][box].astype(float)
    assert _luma(plain).std() < 2.0  # one flat wall colour
    assert _luma(textured).std() > 40.0  # the doors' dark glass and white frames
    with Image.open(IMAGE) as im:  # the image as it should lie on the wall's pixels
        size = (side, side)
        pattern = np.asarray(im.convert("RGB").resize(size, Image.Resampling.BILINEAR))
    inner = pattern[8 : side - 8, 8 : side - 8].astype(float)
    got = textured.reshape(-1, 3).mean(axis=0)
    expected = inner.reshape(-1, 3).mean(axis=0)
    assert np.abs(got - expected).max() <= 10, (got, expected)
    assert np.abs(got - plain.reshape(-1, 3).mean(axis=0)).max() > 40  # clearly not the plain
    # Pixel by pixel, upright and not mirrored.
    want = _luma(inner)
    corr = float(np.corrcoef(_luma(textured).ravel(), want.ravel())[0, 1])
    assert corr > 0.9, corr
    mirrored = float(np.corrcoef(_luma(textured).ravel(), want[:, ::-1].ravel())[0, 1])
    assert mirrored < 0.5 * corr


def _file_x(layer) -> np.ndarray:
    """Each point's x as the file wrote it (the walls start at x = 0)."""
    x = np.asarray(layer.mesh.points, dtype=np.float64)[:, 0]
    return x - x.min()


# -- side files stay in the model's folder -------------------------------------------------


def test_images_outside_the_folder_are_refused_with_one_warning(folder: Path) -> None:
    """RELIABILITY G3: every way out of the model's folder is refused, not read,
    though the file it names exists; the one image inside is drawn."""
    outside = folder.parent / "x.jpg"
    shutil.copy(IMAGE, outside)  # it exists: refused for where it is, not for missing
    (folder / "appearance" / "link.jpg").symlink_to(outside)
    escapes = [
        "../x.jpg",
        str(outside),
        "..%2Fx.jpg",
        "C:\\Windows\\x.jpg",
        "\\\\server\\share\\x.jpg",
        "http://example.com/x.jpg",
        "appearance/link.jpg",
    ]
    data = "".join(_texture(k, uri) for k, uri in enumerate(escapes))
    data += _texture(len(escapes), f"appearance/{IMAGE.name}")
    path = _write(folder, len(escapes) + 1, data)
    _, layer = _open(path)
    [missing] = _missing_warnings(layer)
    assert missing.startswith("7 texture images not used")
    assert "7 refused: outside the file's folder" in missing and "../x.jpg" in missing
    assert layer.info["textures"] == "1 of 8 images drawn"
    cells = tx.textured_cells(layer.mesh)
    x = _file_x(layer)[layer.mesh.regular_faces[cells].ravel()]
    assert x.min() >= 12.0 * len(escapes) - 1e-3  # only the last wall is textured


def test_a_pixel_bomb_is_not_decoded(folder: Path) -> None:
    """A small PNG that decodes to 70 million pixels is refused by its header."""
    Image.new("1", (10_000, 7_000)).save(folder / "appearance" / "bomb.png")
    assert (folder / "appearance" / "bomb.png").stat().st_size < 200_000
    _, layer = _open(_write(folder, 1, _texture(0, "appearance/bomb.png")))
    [missing] = _missing_warnings(layer)
    assert missing.startswith("1 texture images not used") and "bomb.png" in missing
    assert tx.textured_cells(layer.mesh) is None


# -- materials and damaged appearance data -------------------------------------------------


def test_material_by_polygon_and_by_multisurface_with_transparency(folder: Path) -> None:
    data = _material("W0", "1 0 0") + _material("MS1", "0 0 1", transparency=0.25)
    _, layer = _open(_write(folder, 3, data))
    rgb = np.asarray(layer.mesh.cell_data["rgb_default"])
    x = _file_x(layer)[layer.mesh.regular_faces].mean(axis=1)
    assert (rgb[x < 10] == (255, 0, 0)).all()
    assert (rgb[(x > 12) & (x < 22)] == (0, 0, 255)).all()
    assert not (rgb[x > 24] == (0, 0, 255)).all(axis=1).any()
    opacity = np.asarray(layer.mesh.cell_data["opacity"])
    np.testing.assert_allclose(opacity[(x > 12) & (x < 22)], 0.75)
    assert (opacity[(x < 10) | (x > 24)] == 1.0).all()
    assert layer.info["materials"] == "2 surfaces coloured"


def test_damaged_coordinates_warn_and_keep_the_colour(folder: Path) -> None:
    data = (
        _texture(0, f"appearance/{IMAGE.name}", uv="0 0 1 0 1")  # odd count
        + _texture(1, f"appearance/{IMAGE.name}", uv="0 0 1 0 1 1")  # 3 for 5 points
        + _texture(2, f"appearance/{IMAGE.name}", uv="a b c d")
        + _texture(3, "")
    )
    _, layer = _open(_write(folder, 4, data))
    assert tx.textured_cells(layer.mesh) is None
    text = " | ".join(layer.warnings)
    assert "1 textured surfaces have texture coordinates that do not match" in text
    assert "2 texture coordinate lists unreadable or naming no ring not drawn" in text
