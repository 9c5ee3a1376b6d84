"""Optional looks that make the twin read as a real place: ambient occlusion,
building edges, eye-dome lighting for point clouds and appearance textures.

Each look is an option (:class:`LookOptions`) applied to a
:class:`~twin.render.view.SceneView` by :func:`apply_looks` and undone by
:func:`remove_looks`; the picture without looks is unchanged. The sun light
and sky are :mod:`twin.render.lighting`'s, not here.

:func:`default_looks` decides from the GL renderer string which looks are on
by default: all on a hardware GPU, on software GL only those that cost at most
1.3x the plain frame (``bench/bench_looks.py``, numbers below).
:func:`default_sun` decides the same for the sun light.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

import numpy as np
import pyvista as pv

if TYPE_CHECKING:
    from twin.layer import Layer
    from twin.render.view import SceneView

#: The same rule as ``app.render_quality.SOFTWARE_RENDERERS`` (twin must not import app).
SOFTWARE_RENDERERS = re.compile(r"llvmpipe|softpipe|swrast|software rasterizer", re.IGNORECASE)

#: Layer kinds whose polygons are buildings (edges are drawn on these).
BUILDING_KINDS = frozenset({"buildings", "citymodel", "bim", "bim-spaces"})
#: Layer kinds that are point clouds (eye-dome lighting is for these).
POINT_KINDS = frozenset({"pointcloud", "points"})

#: Dihedral angle above which an edge is drawn: walls meeting walls or roofs,
#: never the diagonals of a triangulated flat face.
FEATURE_ANGLE = 30.0
EDGE_RGB = (52, 52, 60)
EDGE_WIDTH = 1.0
EDGE_OVERLAY = "looks:edges:"

# Measured with ``bench/bench_looks.py`` (pilot district, 1280x720, "overview",
# median of 15 orbiting frames each, interleaved in one run), ratio to the plain
# frame on llvmpipe (LLVM 15.0.6, 2 cores), two quiet runs (plain 136.6 / 159.2 ms):
#
#   ambient_occlusion 1.66 / 1.57   edges 0.97 / 0.98   eye_dome 1.09 / 1.26
#   all 1.42 / 2.09
#
# (The plain frame is drawn with the window's 8x MSAA; a frame with a render
# pass (SSAO, EDL) draws into the pass's framebuffer without MSAA, which is why
# EDL costs so little on software GL. Not measured on a hardware GPU: the
# rule there is "all on", as the issue asks.)
# So on software GL eye-dome lighting is on (<= 1.3x; it only acts where a
# point cloud is shown) and ambient occlusion is off. Edges cost nothing
# measurable but stay off by default there: drawn 1 px wide at every distance,
# the pilot's small houses turn into dark clusters in an overview below ~720 px
# (looked at in 480x270 and 640x360 renders); they are one click away (View →
# Looks) until they fade with distance. Textures (one atlas per layer,
# :mod:`twin.textures`) stay on: bench/bench_textures.py measures the textured
# frame against the plain one (bench/RESULTS.md "Textures look").
SOFTWARE_DEFAULTS = {"ambient_occlusion": False, "edges": False, "eye_dome": True,
                     "textures": True}
MAX_SOFTWARE_RATIO = 1.3


@dataclass(frozen=True)
class LookOptions:
    """Which looks to draw. All off is the plain picture."""

    ambient_occlusion: bool = False
    edges: bool = False
    eye_dome: bool = False
    textures: bool = False

    @classmethod
    def all(cls) -> LookOptions:
        return cls(True, True, True, True)

    @classmethod
    def parse(cls, text: str) -> LookOptions:
        """From a CLI value: ``all``, ``none`` or names joined by commas
        (``ao,edges``; ``ao`` = ``ambient_occlusion``, ``edl`` = ``eye_dome``)."""
        text = text.strip().lower()
        if text in ("all", "on"):
            return cls.all()
        if text in ("", "none", "off", "plain"):
            return cls()
        alias = {"ao": "ambient_occlusion", "ssao": "ambient_occlusion", "edl": "eye_dome"}
        names = {f.name for f in fields(cls)}
        chosen: dict[str, bool] = {}
        for part in text.split(","):
            name = alias.get(part.strip(), part.strip().replace("-", "_"))
            if name not in names:
                raise ValueError(f"unknown look {part!r}: use {', '.join(sorted(names))}")
            chosen[name] = True
        return cls(**chosen)

    def names(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name)]


def default_looks(renderer_string: str) -> LookOptions:
    """The looks on by default for a GL renderer ("llvmpipe (LLVM 15...)",
    "NVIDIA H200/PCIe/SSE2"): software GL gets only the cheap ones."""
    if SOFTWARE_RENDERERS.search(renderer_string or ""):
        return LookOptions(**SOFTWARE_DEFAULTS)
    return LookOptions.all()


# The sun light and its sky (:class:`twin.render.lighting.SunLight`), measured with
# ``bench/bench_shadows.py`` (pilot district, 1280x720, llvmpipe, 2 cores): the final
# sun (five directional lights) 1.16x the plain frame at most over four runs
# (bench/RESULTS.md "Sun light on by default"), so it is on by default on software GL
# too, in the window, the screenshot export, ``citytwin render``/``check`` and tour
# videos alike. Shadows (2.1-3.6x there) stay off by default on every GL: they are a
# study tool, not part of the look.
SUN_SOFTWARE_RATIO = 1.16


def default_sun(renderer_string: str) -> bool:
    """Is the sun light on by default for this GL renderer? The one place that
    decides it for every output: a GPU always, software GL while the measured
    cost stays within :data:`MAX_SOFTWARE_RATIO`. (A scene with no place on
    Earth keeps the light kit anyway: :func:`twin.render.lighting.sun_available`.)"""
    if SOFTWARE_RENDERERS.search(renderer_string or ""):
        return SUN_SOFTWARE_RATIO <= MAX_SOFTWARE_RATIO
    return True


# -- state per view ------------------------------------------------------------------


@dataclass
class _Applied:
    options: LookOptions
    edge_layers: dict[Layer, str]
    textured: dict[Layer, bool]
    eye_dome: bool
    observer: int | None
    hooks: list = field(default_factory=list)


_APPLIED: weakref.WeakKeyDictionary[SceneView, _Applied] = weakref.WeakKeyDictionary()
#: feature edges per layer: (mesh id, the points' MTime they were built from, edges)
_EDGE_CACHE: weakref.WeakKeyDictionary[Layer, tuple[int, int, pv.PolyData]] = (
    weakref.WeakKeyDictionary()
)


def applied_looks(view: SceneView) -> LookOptions:
    """The looks in force on ``view`` (all off when none were applied)."""
    state = _APPLIED.get(view)
    return state.options if state is not None else LookOptions()


def apply_looks(view: SceneView, options: LookOptions) -> None:
    """Draw ``options`` on ``view`` (replacing the looks applied before).

    Does not render: the caller asks for its frame (``view.request_frame()``).
    """
    remove_looks(view)
    state = _Applied(options, {}, {}, False, None)
    _APPLIED[view] = state
    if options.ambient_occlusion:
        _enable_ssao(view)
    if options.edges:
        for layer in list(view.actors):
            if _is_building(layer):
                edges = building_edges(layer)
                if edges is not None and edges.n_cells:
                    name = f"{EDGE_OVERLAY}{id(layer)}"
                    actor = view.add_overlay_actor(
                        name,
                        edges,
                        color=EDGE_RGB,
                        line_width=EDGE_WIDTH,
                        lighting=False,
                        render=False,
                    )
                    _lines_in_front(actor)
                    state.edge_layers[layer] = name
    if options.eye_dome and any(_is_point_cloud(la) for la in view.actors):
        # EDL is a pass of the whole renderer: buildings get its depth-edge
        # shading too (a faint dark rim), which reads well next to the points.
        # Only a scene with a point cloud pays for it.
        _set_eye_dome(view, True)
        state.eye_dome = True
    if options.textures:
        for layer in list(view.actors):
            _sync_texture(view, state, layer)
        # layers opened, restyled or re-meshed later get (or lose) theirs too;
        # the view's own handlers were connected first, so its actor is ready
        events = view.scene.events
        state.hooks = [
            (events.layer_added, lambda layer: _sync_texture(view, state, layer)),
            (events.layer_changed, lambda layer, what: _sync_texture(view, state, layer)
             if what in ("style", "mesh") else None),
        ]
        for signal, hook in state.hooks:
            signal.connect(hook)
    if state.edge_layers:
        state.observer = view.plotter.renderer.AddObserver("StartEvent", _syncer(view))


def remove_looks(view: SceneView) -> None:
    """Back to the plain picture (does not render)."""
    state = _APPLIED.pop(view, None)
    if state is None:
        return
    renderer = view.plotter.renderer
    if state.observer is not None:
        renderer.RemoveObserver(state.observer)
    for name in state.edge_layers.values():
        view.remove_overlay_actor(name)
    if state.options.ambient_occlusion:
        renderer.disable_ssao()
    if state.eye_dome:
        _set_eye_dome(view, False)
    for signal, hook in state.hooks:
        signal.disconnect(hook)
    for layer in list(state.textured):
        _texture_off(view, state, layer)


# -- ambient occlusion ---------------------------------------------------------------


def ssao_parameters(view: SceneView) -> tuple[float, float, int]:
    """(radius m, bias m, kernel size) for the scene's size.

    The occlusion radius is world units: a street canyon or a wall foot wants
    a few metres, a table-top model centimetres. 0.4 % of the content's
    diagonal, within 0.5-6 m, darkens wall feet and courtyards without
    haloing whole blocks; the bias (10 % of the radius) keeps flat ground and
    roofs from self-shadowing into noise. 32 samples, blurred, hide the noise at a quarter of
    pyvista's default 256 (which is 4x the cost on software GL).
    """
    bounds = view.scene.local_bounds(visible_only=True)
    diag = 100.0
    if bounds is not None:
        b = np.asarray(bounds, dtype=float)
        diag = float(np.linalg.norm(b[1::2] - b[0::2])) or diag
    radius = float(np.clip(diag * 0.004, 0.5, 6.0))
    return radius, radius * 0.1, 32


def _enable_ssao(view: SceneView) -> None:
    radius, bias, kernel = ssao_parameters(view)
    view.plotter.renderer.enable_ssao(radius=radius, bias=bias, kernel_size=kernel, blur=True)


# -- edges ---------------------------------------------------------------------------


def _is_building(layer: Layer) -> bool:
    return layer.kind in BUILDING_KINDS and layer.mesh.GetNumberOfPolys() > 0


def _is_point_cloud(layer: Layer) -> bool:
    mesh = layer.mesh
    only_verts = mesh.n_cells > 0 and mesh.n_verts == mesh.n_cells
    return layer.visible and (
        layer.kind == "pointcloud" or (layer.kind in POINT_KINDS and only_verts)
    )


def building_edges(layer: Layer) -> pv.PolyData | None:
    """Feature edges (>= 30 degrees) and open borders of a building layer, cached
    per layer until its mesh is replaced or its points move (an origin shift)."""
    mesh = layer.mesh
    if not isinstance(mesh, pv.PolyData):
        return None
    points = mesh.GetPoints()
    stamp = points.GetMTime() if points is not None else 0
    hit = _EDGE_CACHE.get(layer)
    if hit is not None and hit[:2] == (id(mesh), stamp):
        return hit[2]
    surface = pv.PolyData()
    surface.SetPoints(mesh.GetPoints())
    surface.SetPolys(mesh.GetPolys())
    edges = surface.extract_feature_edges(
        feature_angle=FEATURE_ANGLE,
        boundary_edges=True,
        non_manifold_edges=True,
        feature_edges=True,
        manifold_edges=False,
    )
    edges.clear_data()
    _EDGE_CACHE[layer] = (id(mesh), stamp, edges)
    return edges


def _lines_in_front(actor: object) -> None:
    """Pull the lines towards the camera so the faces they lie on do not hide
    half of them (z-fighting)."""
    mapper = actor.GetMapper()
    mapper.SetResolveCoincidentTopologyToPolygonOffset()
    mapper.SetRelativeCoincidentTopologyLineOffsetParameters(-1.0, -4.0)


def _syncer(view: SceneView):
    """A StartEvent observer: each edge overlay shows only while its layer's
    actor does, and is cut by the same section planes."""

    def sync(*_: object) -> None:
        state = _APPLIED.get(view)
        if state is None:
            return
        for layer, name in state.edge_layers.items():
            edge_actor = view.overlay_actors.get(name)
            if edge_actor is None:
                continue
            actor = view.actors.get(layer)
            visible = actor is not None and bool(actor.GetVisibility()) and layer.visible
            if bool(edge_actor.GetVisibility()) != visible:
                edge_actor.SetVisibility(visible)
            if actor is not None:
                planes = actor.GetMapper().GetClippingPlanes()
                mapper = edge_actor.GetMapper()
                if mapper.GetClippingPlanes() is not planes:
                    mapper.SetClippingPlanes(planes)

    return sync


# -- eye-dome lighting ---------------------------------------------------------------


def _set_eye_dome(view: SceneView, on: bool) -> None:
    renderer = view.plotter.renderer
    if on:
        renderer.enable_eye_dome_lighting()
    else:
        renderer.disable_eye_dome_lighting()


# -- textures ------------------------------------------------------------------------


#: the texture of each layer's atlas: (mesh id, texture), built once per mesh
_TEXTURE_CACHE: weakref.WeakKeyDictionary[Layer, tuple[int, pv.Texture]] = (
    weakref.WeakKeyDictionary()
)


def _texture_for(layer: Layer) -> pv.Texture | None:
    """The appearance texture of a ``native`` layer, when its mesh carries one
    (an atlas and texture coordinates: :mod:`twin.textures`, made by the
    CityJSON importer). Styled layers (colour by attribute, solid) show their
    style, not the images."""
    from twin.textures import atlas_of

    mesh = layer.mesh
    if layer.style.mode != "native" or mesh.active_texture_coordinates is None:
        return None
    hit = _TEXTURE_CACHE.get(layer)
    if hit is not None and hit[0] == id(mesh):
        return hit[1]
    atlas = atlas_of(mesh)
    if atlas is None:
        return None
    texture = pv.Texture(atlas)  # first row at the top, as the atlas is packed
    texture.interpolate = True
    texture.mipmap = True  # far roofs average their texels instead of shimmering
    texture.repeat = False
    _TEXTURE_CACHE[layer] = (id(mesh), texture)
    return texture


def _sync_texture(view: SceneView, state: _Applied, layer: Layer) -> None:
    """Put the layer's texture on its actor, or take it off (none, or styled)."""
    from twin.textures import textured_cells

    actor = view.actors.get(layer)
    texture = _texture_for(layer) if actor is not None else None
    cells = textured_cells(layer.mesh) if texture is not None else None
    if texture is None or cells is None:
        _texture_off(view, state, layer)
        return
    actor.texture = texture
    view.set_textured_cells(layer, cells)
    state.textured[layer] = True


def _texture_off(view: SceneView, state: _Applied, layer: Layer) -> None:
    if state.textured.pop(layer, None) is None:
        return
    actor = view.actors.get(layer)
    if actor is not None and actor.texture is not None:
        actor.texture = None
        # VTK 9.7 keeps the textured shader, which then draws nothing (the layer
        # vanished); releasing the mapper's GL resources rebuilds it
        ren_win = view.plotter.render_window
        if ren_win is not None:
            actor.GetMapper().ReleaseGraphicsResources(ren_win)
    view.set_textured_cells(layer, None)
