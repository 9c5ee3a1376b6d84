"""Sun light: a directional light where the sun is, and a sky that follows the time.

VTK's default light kit lights a model the same at noon and at midnight. A
:class:`SunLight` replaces it (only while it is on; :meth:`SunLight.remove`
puts back the lights and background that were there). It is on by default in
every output (:func:`twin.render.looks.default_sun`) wherever the scene has a
place on Earth (:func:`sun_available`). It is made of:

- the **sun**: one directional scene light from :func:`twin.sun.scene_sun`'s
  direction, white at day, warm and weaker near the horizon, off below it;
- a **sky fill** from the side of the sky opposite the sun, 35° up (blue by
  day, pink at dusk, moonlight at night), and two weaker ones low from either
  side of it, so that walls turned from the sun (or side-on to it), roofs and
  ground are never black;
- a weak **camera fill** (a headlight) so façades in the sun's shadow and the
  whole city at night stay readable;
- a **gradient background** (the sky) whose colours follow the sun's elevation.

Everything is a smooth function of the sun's apparent elevation, keyed at night
(< -6°), civil twilight, dusk/dawn (0-8°) and day. The work happens in
:meth:`SunLight.apply` and only when the minute shown changes: no per-frame cost.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from twin.sun import SunPosition, scene_location, scene_sun, sun_direction_local

RGB = tuple[float, float, float]

#: How far (m) the sun and the fill are put along their directions: beyond any
#: scene (a district is a few km), near enough for float32 shader precision.
LIGHT_DISTANCE = 1.0e5
#: Elevation (°) of the sky fill opposite the sun, and of the two side fills.
FILL_ELEVATION = 35.0
SIDE_ELEVATION = 10.0
#: The side fills' intensity as a share of the opposite fill's.
SIDE_SHARE = 0.8
#: The shadow map's side in texels: sharp enough for a district at rest.
SHADOW_MAP_SIZE = 2048
#: A cheaper map while the camera moves (see bench/RESULTS.md "Shadows").
SHADOW_MAP_SIZE_MOVING = 1024


@dataclass(frozen=True)
class SkyLook:
    """The light and sky at one sun elevation."""

    sun_color: RGB
    sun_intensity: float
    fill_color: RGB
    fill_intensity: float
    head_intensity: float
    sky_bottom: RGB
    sky_top: RGB


def _hex(code: str) -> RGB:
    code = code.lstrip("#")
    return tuple(int(code[i : i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]


#: (apparent sun elevation °, look): interpolated linearly in between.
KEYS: tuple[tuple[float, SkyLook], ...] = (
    # Night: no sun; a dim blue "moonlight", readable not bright.
    (-12.0, SkyLook(_hex("#ffffff"), 0.0, _hex("#8ea2d8"), 0.30, 0.19,
                    _hex("#1b2644"), _hex("#03060f"))),
    (-6.0, SkyLook(_hex("#ff9a5c"), 0.0, _hex("#a3a8d8"), 0.32, 0.21,
                   _hex("#4a3a5e"), _hex("#0b1330"))),
    # Sun on the horizon: warm, weak, orange-pink horizon.
    (0.0, SkyLook(_hex("#ff8a4a"), 0.40, _hex("#e0a8b4"), 0.35, 0.22,
                  _hex("#f59a6e"), _hex("#34497e"))),
    (4.0, SkyLook(_hex("#ffae70"), 0.54, _hex("#e6c4c4"), 0.35, 0.22,
                  _hex("#f8b58a"), _hex("#4f73ad"))),
    # Day: white-ish sun, blue sky gradient (the app's own sky at full day).
    (8.0, SkyLook(_hex("#fff0dc"), 0.63, _hex("#cddcf2"), 0.30, 0.20,
                  _hex("#e9eef2"), _hex("#7fb0df"))),
    (25.0, SkyLook(_hex("#fffaf0"), 0.68, _hex("#d6e4f7"), 0.30, 0.20,
                   _hex("#eef3f7"), _hex("#6fa6dc"))),
)


def look_at_elevation(elevation_deg: float) -> SkyLook:
    """The keyed look for a sun elevation (clamped at the ends)."""
    e = float(elevation_deg)
    if e <= KEYS[0][0]:
        return KEYS[0][1]
    if e >= KEYS[-1][0]:
        return KEYS[-1][1]
    for (e0, a), (e1, b) in itertools.pairwise(KEYS):
        if e0 <= e <= e1:
            t = (e - e0) / (e1 - e0)
            return _mix(a, b, t)
    return KEYS[-1][1]


def _mix(a: SkyLook, b: SkyLook, t: float) -> SkyLook:
    def lerp(x, y):
        if isinstance(x, tuple):
            return tuple(float(u + (v - u) * t) for u, v in zip(x, y, strict=True))
        return float(x + (y - x) * t)

    return SkyLook(*(lerp(getattr(a, f), getattr(b, f)) for f in SkyLook.__dataclass_fields__))


def sun_available(scene) -> bool:
    """Can the sun be placed over ``scene``? Only where its origin has a place on
    Earth: a scene in :data:`twin.geo.LOCAL_CRS` (an un-georeferenced model opened
    on its own) keeps VTK's light kit instead of a sun at a guessed latitude."""
    try:
        lat, lon, _h = scene_location(scene)
    except (ValueError, RuntimeError):  # CRSResolutionError is a ValueError; PROJ errors
        return False
    return bool(np.isfinite(lat) and np.isfinite(lon))


def phase(elevation_deg: float) -> str:
    """``"day"``, ``"dusk"`` (sun 0-8°, or civil twilight down to -6°) or ``"night"``."""
    if elevation_deg >= 8.0:
        return "day"
    if elevation_deg >= -6.0:
        return "dusk"
    return "night"


def _far_fill():
    """A sky fill: a directional scene light, which can turn into a *positional*
    one far away with a 180° cone while shadows are on (:meth:`SunLight.fills_cast_no_shadow`).
    That shades the same, and VTK's shadow map pass skips it
    (vtkShadowMapBakerPass::LightCreatesShadow: directional or spot lights only),
    so only the sun casts shadows. It stays directional otherwise because one
    positional light switches VTK's shader to per-fragment light vectors for
    every light: with three positional fills the sun cost 1.62x the plain frame
    on llvmpipe, all directional 1.01x (bench/RESULTS.md "Shadows")."""
    import vtk

    light = vtk.vtkLight()
    light.SetLightTypeToSceneLight()
    light.SetPositional(False)
    light.SetConeAngle(180.0)
    light.SetAttenuationValues(1.0, 0.0, 0.0)
    return light


#: renderer id -> the SunLight installed on it (for :func:`set_shadows`)
_INSTALLED: dict[int, SunLight] = {}


class SunLight:
    """The sun, the sky fill and the sky background on one renderer.

    ``apply(renderer, scene, when)`` turns it on (or moves it); ``remove()``
    restores the renderer's previous lights and background. ``renderer`` is a
    ``vtkRenderer`` or anything with a ``.renderer`` (a pyvista plotter).
    """

    def __init__(self) -> None:
        import vtk

        self.sun = vtk.vtkLight()
        self.sun.SetLightTypeToSceneLight()
        self.sun.SetPositional(False)
        self.fill = _far_fill()  # opposite the sun (never casts a shadow: _far_fill)
        # two weaker fills from the sky at right angles to the sun, low: walls
        # that face neither the sun nor away from it (south walls under a morning
        # sun) would otherwise get only the headlight and read black
        self.sides = (_far_fill(), _far_fill())
        self.head = vtk.vtkLight()
        self.head.SetLightTypeToHeadlight()
        self.renderer = None
        self._saved: dict | None = None
        self._key: tuple | None = None
        self.position: SunPosition | None = None
        self.look: SkyLook | None = None

    @property
    def lights(self) -> tuple:
        """Every light it puts on the renderer: sun, sky fills, headlight."""
        return (self.sun, self.fill, *self.sides, self.head)

    def fills_cast_no_shadow(self, shadows: bool) -> None:
        """Far positional fills while shadows are on (the shadow pass skips
        them), cheap directional ones otherwise (see :func:`_far_fill`)."""
        for light in (self.fill, *self.sides):
            if bool(light.GetPositional()) != shadows:
                light.SetPositional(shadows)

    @property
    def on(self) -> bool:
        return self.renderer is not None

    def apply(self, renderer, scene, when: datetime) -> SunPosition:
        """Light ``renderer`` as the sun over ``scene`` at ``when`` (aware).

        Cheap when nothing changed: the sun is recomputed only when the minute
        shown or the scene's origin changes."""
        ren = getattr(renderer, "renderer", renderer)
        if self.renderer is not None and ren is not self.renderer:
            self.remove()
        if self.renderer is None:
            self._install(ren)
        key = (int(when.timestamp() // 60), tuple(np.round(scene.origin, 3)), scene.crs)
        if key == self._key and self.position is not None:
            return self.position
        self._key = key
        self.position = scene_sun(scene, when)
        self._set(self.position)
        return self.position

    def _install(self, ren) -> None:
        lights = ren.GetLights()
        lights.InitTraversal()
        saved = [lights.GetNextItem() for _ in range(lights.GetNumberOfItems())]
        self._saved = {
            "lights": saved,
            "auto": ren.GetAutomaticLightCreation(),
            "bg": ren.GetBackground(),
            "bg2": ren.GetBackground2(),
            "gradient": ren.GetGradientBackground(),
        }
        ren.RemoveAllLights()
        ren.SetAutomaticLightCreation(False)
        for light in self.lights:
            ren.AddLight(light)
        self.renderer = ren
        _INSTALLED[id(ren)] = self

    def _set(self, pos: SunPosition) -> None:
        look = look_at_elevation(pos.apparent_elevation_deg)
        self.look = look
        # Light from the sun's direction (a directional light shines from its
        # position towards its focal point); never from below the ground.
        # The position is far along the sun's direction: the shadow map pass
        # builds the sun's depth camera from it (a directional scene light).
        elevation = max(float(pos.apparent_elevation_deg), 0.5)
        d = sun_direction_local(pos.azimuth_deg, elevation)
        self.sun.SetFocalPoint(0.0, 0.0, 0.0)
        self.sun.SetPosition(*(float(v) * LIGHT_DISTANCE for v in d))
        self.sun.SetColor(*look.sun_color)
        self.sun.SetIntensity(look.sun_intensity)
        self.sun.SetSwitch(look.sun_intensity > 0.0)
        self.fill.SetFocalPoint(0.0, 0.0, 0.0)
        fill_dir = sun_direction_local((pos.azimuth_deg + 180.0) % 360.0, FILL_ELEVATION)
        self.fill.SetPosition(*(float(v) * LIGHT_DISTANCE for v in fill_dir))
        self.fill.SetColor(*look.fill_color)
        self.fill.SetIntensity(look.fill_intensity)
        for side, turn in zip(self.sides, (90.0, 270.0), strict=True):
            side_dir = sun_direction_local((pos.azimuth_deg + turn) % 360.0, SIDE_ELEVATION)
            side.SetFocalPoint(0.0, 0.0, 0.0)
            side.SetPosition(*(float(v) * LIGHT_DISTANCE for v in side_dir))
            side.SetColor(*look.fill_color)
            side.SetIntensity(look.fill_intensity * SIDE_SHARE)
        self.head.SetColor(*look.fill_color)
        self.head.SetIntensity(look.head_intensity)
        ren = self.renderer
        ren.SetBackground(*look.sky_bottom)
        ren.SetBackground2(*look.sky_top)
        ren.GradientBackgroundOn()
        ren.Modified()

    def remove(self) -> None:
        """Back to the lights and background the renderer had before.

        Also turns shadows off: with the sun gone, the light kit's lights would
        cast them (five shadows from nowhere)."""
        ren, saved = self.renderer, self._saved
        if ren is None or saved is None:
            return
        if hasattr(ren, "disable_shadows"):  # a pyvista renderer
            ren.disable_shadows()
        _aspect_fix(ren, False)
        ren.RemoveAllLights()
        for light in saved["lights"]:
            ren.AddLight(light)
        ren.SetAutomaticLightCreation(saved["auto"])
        ren.SetBackground(*saved["bg"])
        ren.SetBackground2(*saved["bg2"])
        ren.SetGradientBackground(saved["gradient"])
        ren.Modified()
        self.fills_cast_no_shadow(False)
        _INSTALLED.pop(id(ren), None)
        self.renderer = None
        self._saved = None
        self._key = None


def set_shadows(plotter, on: bool, size: int = SHADOW_MAP_SIZE) -> None:
    """Turn VTK's shadow map pass on (``size`` x ``size`` texels) or off.

    Shadows are cast only by the :class:`SunLight`'s sun (the fill, headlights
    and pyvista's light kit cast none), and none at night since the sun is
    switched off there. Off restores the plain pipeline (no render pass). Call
    again with another ``size`` to change the map's resolution, e.g.
    :data:`SHADOW_MAP_SIZE_MOVING` while the mouse drags.
    """
    renderer = getattr(plotter, "renderer", plotter)
    sun = _INSTALLED.get(id(renderer))
    if sun is not None and sun.renderer is renderer:
        sun.fills_cast_no_shadow(on)
    if not on:
        plotter.disable_shadows()
        _aspect_fix(plotter, False)
        return
    plotter.enable_shadows()
    _aspect_fix(plotter, True)
    smp = shadow_pass(plotter)
    if smp is not None:
        baker = smp.GetShadowMapBakerPass()
        if baker.GetResolution() != int(size):
            baker.SetResolution(int(size))
            baker.Modified()  # the maps are reallocated at the next bake


def shadow_pass(plotter):
    """The plotter's ``vtkShadowMapPass``, or ``None`` when shadows are off.

    pyvista keeps it in a private attribute; its public API has no getter."""
    renderer = getattr(plotter, "renderer", plotter)
    passes = getattr(renderer, "_render_passes", None)
    return getattr(passes, "_shadow_map_pass", None)


def shadow_map_size(plotter) -> int | None:
    """The shadow map's resolution, or ``None`` when shadows are off."""
    smp = shadow_pass(plotter)
    return None if smp is None else int(smp.GetShadowMapBakerPass().GetResolution())


def enable_shadows(plotter, size: int = SHADOW_MAP_SIZE) -> None:
    """Shadow maps from the sun (see :func:`set_shadows`).

    Costly in software GL: see bench/RESULTS.md "Shadows"."""
    set_shadows(plotter, True, size)


def disable_shadows(plotter) -> None:
    """Back to the plain pipeline (see :func:`set_shadows`)."""
    set_shadows(plotter, False)


# -- the shadow map's aspect ratio ---------------------------------------------------
#
# VTK 9.7's vtkShadowMapBakerPass renders the map (square, ``size`` x ``size``)
# through the light's camera with the *viewport's* aspect ratio, so light-space
# x is divided by width / height there; vtkShadowMapPass looks the map up with
# the same camera's projection at aspect 1. In any non-square view every
# receiver then reads the depth of a point shifted along light-space x: on
# ground sloping away from the sun the stored depth grows faster than its own
# (slope x aspect), and the exponential shadow test turns that difference into
# a shadow that deepens towards the sun (the "sun-side greying"). Seen as
# exactly the window's aspect (1.33 at 200x150; none at 150x150). The fix
# rescales the looked-up x by the same aspect in every receiver's shader.

#: The line of VTK's shadow lookup (vtkShadowMapPass fragment code) that the
#: correction follows.
_LOOKUP = "vec2 projected = shadowCoord.xy/shadowCoord.w;"
_CORRECTED = (
    "vec2 projected = shadowCoord.xy/shadowCoord.w;\n"
    "    projected.x = (projected.x - 0.5) / ctShadowAspect + 0.5;"
)
_ASPECT_UNIFORM = "ctShadowAspect"
#: renderer -> observer tag of the per-frame correction
_ASPECT_OBSERVERS: dict[int, tuple[object, int]] = {}


def _aspect_fix(plotter, on: bool) -> None:
    """Correct the shadow lookup of every actor by the viewport's aspect ratio
    before each frame (see above); off removes the correction."""
    ren = getattr(plotter, "renderer", plotter)
    key = id(ren)
    if on:
        if key not in _ASPECT_OBSERVERS:
            tag = ren.AddObserver("StartEvent", _correct_aspect)
            _ASPECT_OBSERVERS[key] = (ren, tag)
        return
    entry = _ASPECT_OBSERVERS.pop(key, None)
    if entry is None:
        return
    ren.RemoveObserver(entry[1])
    actors = ren.GetActors()
    actors.InitTraversal()
    for _ in range(actors.GetNumberOfItems()):
        actor = actors.GetNextActor()
        prop = actor.GetShaderProperty()
        if _uniform(prop.GetFragmentCustomUniforms()) is not None:
            prop.ClearFragmentShaderReplacement(_LOOKUP, False)
            prop.GetFragmentCustomUniforms().RemoveUniform(_ASPECT_UNIFORM)


def _correct_aspect(ren, _event=None) -> None:
    """StartEvent observer: every actor's shadow lookup uses the viewport's
    current aspect ratio (the one the map is baked with this frame)."""
    aspect = float(ren.GetTiledAspectRatio()) or 1.0
    actors = ren.GetActors()
    actors.InitTraversal()
    for _ in range(actors.GetNumberOfItems()):
        actor = actors.GetNextActor()
        prop = actor.GetShaderProperty()
        uniforms = prop.GetFragmentCustomUniforms()
        value = _uniform(uniforms)
        if value is None:
            prop.AddFragmentShaderReplacement(_LOOKUP, False, _CORRECTED, False)
        if value != aspect:
            uniforms.SetUniformf(_ASPECT_UNIFORM, aspect)


def _uniform(uniforms) -> float | None:
    """The aspect uniform's value on an actor, or None when it has none."""
    from vtkmodules.vtkCommonCore import reference

    value = reference(0.0)
    return float(value) if uniforms.GetUniformf(_ASPECT_UNIFORM, value) else None
