"""Tours: scripted fly-throughs of a scene, declared in the scene file.

A tour is a list of keyframes. Each keyframe is a camera (a bookmark name or an
explicit position, focal point, view-up and view angle, in scene-CRS world
metres like bookmarks), how long the camera stays there (``hold``) and how long
it takes to glide on to the next keyframe (``duration``), the easing of that
glide, and optionally a caption, a scene time and layer visibility changes.

Timeline. Keyframe ``i`` is reached at ``arrive[i]``; the camera holds still
until ``depart[i] = arrive[i] + hold[i]`` and then glides for ``duration[i]``
seconds to keyframe ``i + 1``. The last keyframe's ``duration`` is how long the
final view stays on screen. So a presenter reads a keyframe as "be here, then
take this long to get to the next one".

Camera path. The focal point and the camera's offset from it (heading, pitch,
log distance), the view-up and the view angle each follow a cubic Hermite
spline in *time* with three-point finite-difference tangents (weighted by the
segment durations, exact for quadratic motion). So positions and focal points
pass through every keyframe and move C1: no kinks in space, and no jumps in
velocity where two gliding segments meet. Splining the offset rather than the
raw position makes two views of one place orbit around it (as Google Earth
does) instead of cutting across and looking straight down half way. Heights,
pitch, distance and heading use monotone (Fritsch-Carlson) tangents, so they
never overshoot between keyframes: a glide from a roof view to street level
does not dive under the ground first. Easing warps time inside a segment;
``"auto"`` starts from rest at the first keyframe and after a hold, comes to
rest at the last keyframe and before a hold, and glides through every other
keyframe at the spline's velocity, which keeps the motion C1 in time.
``constant_speed = true`` redistributes the gliding time over the segments by
their apparent length (how far the position and the focal point move) and
moves along each segment at a uniform rate, so the camera neither races over
long legs nor crawls over short ones.

Captions are shown from the moment the camera reaches their keyframe until it
reaches the next one, fading in and out. A ``scene_time`` (ISO 8601 with a UTC
offset, Vietnam is +07:00) is reached when the camera reaches its keyframe and
moves linearly between keyframes that set one; the simulation clock (sensor
playback, planned projects) consumes it from :class:`TourState`. Layer
visibility changes apply when the camera reaches their keyframe.

Nothing here touches VTK or Qt: :mod:`twin.render.tourstate` and the app apply a sampled
:class:`TourState` to a view.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np

from twin.scene import Bookmark, Scene
from twin.scenefile import SceneFileError, _Reader, _toml_type

#: Easing names accepted in scene files, with their (start, end) slopes: 0 = at
#: rest, 1 = moving at the spline's own velocity. "auto" is resolved per segment.
EASINGS: dict[str, tuple[int, int] | None] = {
    "auto": None,
    "linear": (1, 1),
    "ease-in": (0, 1),
    "ease-out": (1, 0),
    "ease-in-out": (0, 0),
}
#: Seconds a caption takes to fade in or out (shortened for brief captions).
CAPTION_FADE_S = 0.5
#: Samples per segment for arc-length tables (apparent length, constant speed).
ARC_SAMPLES = 128
VIETNAM_TZ_HINT = "e.g. 2025-06-01T08:00:00+07:00 (Vietnam time)"


@dataclass(frozen=True)
class CameraPose:
    """A camera in scene-CRS world coordinates (metres), like a bookmark."""

    position: tuple[float, float, float]
    focal_point: tuple[float, float, float]
    view_up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    view_angle: float = 30.0

    @classmethod
    def from_bookmark(cls, bookmark: Bookmark) -> CameraPose:
        return cls(
            tuple(float(v) for v in bookmark.position),  # type: ignore[arg-type]
            tuple(float(v) for v in bookmark.focal_point),  # type: ignore[arg-type]
            tuple(float(v) for v in bookmark.view_up),  # type: ignore[arg-type]
            float(bookmark.view_angle),
        )

    def to_bookmark(self, name: str) -> Bookmark:
        return Bookmark(name, self.position, self.focal_point, self.view_up, self.view_angle)


@dataclass(frozen=True)
class Keyframe:
    """One stop of a tour; see the module docstring for the timeline.

    ``bookmark`` is the name the camera came from (kept so a recorded or
    rewritten tour still says "overview" instead of raw numbers).
    """

    camera: CameraPose
    duration: float
    hold: float = 0.0
    easing: str = "auto"
    caption: str | None = None
    scene_time: datetime | None = None
    show: tuple[str, ...] = ()
    hide: tuple[str, ...] = ()
    bookmark: str | None = None


@dataclass(frozen=True)
class TourState:
    """Everything a view needs to draw one moment of a tour.

    time : seconds since the tour started, clamped to the tour.
    camera : the camera, world coordinates.
    caption, caption_opacity : text to show (None for none) and its fade, 0..1.
    scene_time : the simulation time (timezone-aware), or None when the tour
        sets none; the simulation clock follows it.
    visibility : layer name -> visible, for the layers the tour has changed by
        now; other layers keep what they had before the tour.
    keyframe : index of the last keyframe reached.
    layers : every layer name the tour shows or hides somewhere; a view leaves
        all other layers alone (the simulation clock may be switching them).
    """

    time: float
    camera: CameraPose
    caption: str | None
    caption_opacity: float
    scene_time: datetime | None
    visibility: dict[str, bool]
    keyframe: int
    layers: tuple[str, ...] = ()


@dataclass
class Tour:
    """A named list of keyframes; :meth:`sample` gives the state at a time."""

    name: str
    keyframes: list[Keyframe] = field(default_factory=list)
    description: str = ""
    constant_speed: bool = False

    def __post_init__(self) -> None:
        self._path: TourPath | None = None
        self._path_key: tuple | None = None

    @property
    def path(self) -> TourPath:
        """The sampled path, rebuilt when the keyframes change (e.g. recording)."""
        key = (tuple(self.keyframes), self.constant_speed)
        if self._path is None or key != self._path_key:
            self._path = TourPath(self.keyframes, self.constant_speed)
            self._path_key = key
        return self._path

    @property
    def duration(self) -> float:
        return self.path.duration

    def sample(self, t: float) -> TourState:
        return self.path.sample(t)

    def frame_times(self, fps: float) -> np.ndarray:
        """Times (s) of the frames of a video at ``fps``: ``round(duration * fps)``
        frames (at least one), so the video lasts as long as the tour."""
        n = max(1, round(self.duration * fps))
        return np.arange(n, dtype=np.float64) / fps

    def add_keyframe(self, keyframe: Keyframe) -> None:
        self.keyframes.append(keyframe)


# -- easing ---------------------------------------------------------------------------
def ease(slopes: tuple[int, int], tau: np.ndarray | float) -> np.ndarray:
    """Warp ``tau`` in [0, 1] to [0, 1] with start/end slopes 0 or 1.

    The cubics are monotone on [0, 1] and have exactly the slopes asked for, so a
    segment that ends moving at slope 1 joins a segment that starts at slope 1
    without a change of velocity, and "at rest" means a velocity of zero.
    """
    x = np.clip(np.asarray(tau, dtype=np.float64), 0.0, 1.0)
    start, end = slopes
    if (start, end) == (1, 1):
        return x
    if (start, end) == (0, 0):
        return x * x * (3.0 - 2.0 * x)
    if (start, end) == (0, 1):
        return x * x * (2.0 - x)
    s = 1.0 - x
    return 1.0 - s * s * (2.0 - s)


def ease_derivative(slopes: tuple[int, int], tau: np.ndarray | float) -> np.ndarray:
    """d ease / d tau, for tests and speed profiles."""
    x = np.clip(np.asarray(tau, dtype=np.float64), 0.0, 1.0)
    start, end = slopes
    if (start, end) == (1, 1):
        return np.ones_like(x)
    if (start, end) == (0, 0):
        return 6.0 * x * (1.0 - x)
    if (start, end) == (0, 1):
        return x * (4.0 - 3.0 * x)
    s = 1.0 - x
    return s * (4.0 - 3.0 * s)


# -- spline ---------------------------------------------------------------------------
def hermite_tangents(
    values: np.ndarray, durations: np.ndarray, monotone: Sequence[int] = ()
) -> np.ndarray:
    """Per-keyframe velocities (units per second) for a C1 Hermite spline in time.

    Parameters
    ----------
    values : (n, d) float64, one row per keyframe.
    durations : (n - 1,) float64 seconds of each segment, all > 0.
    monotone : columns (e.g. height) given Fritsch-Carlson tangents: zero at a
        local extremum and limited to 3x the neighbouring secants, so that column
        never overshoots between keyframes.

    Interior tangents are the duration-weighted three-point difference; the end
    tangents make the second derivative zero there (a "natural" end) so the path
    does not swing out at its ends.
    """
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    m = np.zeros_like(v)
    if n < 2:
        return m
    h = np.asarray(durations, dtype=np.float64)[:, None]
    secant = np.diff(v, axis=0) / h
    if n == 2:
        m[:] = secant[0]
    else:
        ha, hb = h[:-1], h[1:]
        m[1:-1] = (hb * secant[:-1] + ha * secant[1:]) / (ha + hb)
        m[0] = (3.0 * secant[0] - m[1]) / 2.0
        m[-1] = (3.0 * secant[-1] - m[-2]) / 2.0
    for c in monotone:
        s = secant[:, c]
        mc = m[:, c]
        if n > 2:
            flat = (s[:-1] * s[1:]) <= 0.0
            mc[1:-1][flat] = 0.0
        for i, si in ((0, s[0]), (n - 1, s[-1])):
            if mc[i] * si <= 0.0:
                mc[i] = 0.0
        # limit |m| <= 3 |secant| on both sides (sufficient for monotonicity)
        left = np.concatenate([[np.inf], np.abs(s)])
        right = np.concatenate([np.abs(s), [np.inf]])
        limit = 3.0 * np.minimum(left, right)
        m[:, c] = np.clip(mc, -limit, limit)
    return m


def hermite(
    p0: np.ndarray, p1: np.ndarray, m0: np.ndarray, m1: np.ndarray, h: float, tau: np.ndarray
) -> np.ndarray:
    """Cubic Hermite between p0 and p1 (velocities m0, m1 per second, segment of
    ``h`` seconds) at local parameters ``tau`` (k,) -> (k, d)."""
    t = np.asarray(tau, dtype=np.float64)[:, None]
    t2, t3 = t * t, t * t * t
    h00 = 2 * t3 - 3 * t2 + 1
    h10 = t3 - 2 * t2 + t
    h01 = -2 * t3 + 3 * t2
    h11 = t3 - t2
    return h00 * p0 + h10 * (h * m0) + h01 * p1 + h11 * (h * m1)


class TourPath:
    """The sampled form of a keyframe list: timeline, splines, captions, clock.

    The camera is splined as ten scalar channels per keyframe: the focal point
    (x, y, z), the camera's offset from it as heading, pitch and log distance,
    the view-up vector and the view angle. Positions are rebuilt from the focal
    point and the offset, so they pass through every keyframe; splining the
    offset instead of the raw position makes two views of the same spot orbit
    around it, instead of cutting across and looking straight down half way.

    Built once per keyframe list (cheap: a few numpy arrays), then
    :meth:`sample` is a lookup plus one cubic evaluation.
    """

    #: channels: focal x, y, z | heading, pitch, log distance | up x, y, z | view angle
    MONOTONE = (2, 3, 4, 5, 9)

    def __init__(self, keyframes: Sequence[Keyframe], constant_speed: bool = False) -> None:
        if not keyframes:
            raise ValueError("a tour needs at least one keyframe")
        self.keyframes = list(keyframes)
        self.constant_speed = constant_speed
        kf = self.keyframes
        n = len(kf)
        self.n = n
        cams = [k.camera for k in kf]
        # Work relative to the first focal point: keeps spline arithmetic small
        # at UTM magnitudes (float64 would cope, but differences read better).
        self.ref = np.asarray(cams[0].focal_point, dtype=np.float64)
        self.channels = _channels(cams, self.ref)
        self.slopes = self._resolve_easings()
        seg = np.array([k.duration for k in kf[:-1]], dtype=np.float64)
        self.lengths = np.zeros(max(n - 1, 0))
        self._arc: list[tuple[np.ndarray, np.ndarray]] = []
        self.seg_fit = seg
        self.tangents = np.zeros_like(self.channels)
        if n > 1:
            self._fit(seg)
            if constant_speed:
                for _ in range(4):  # tangents depend on durations: a few fixed-point rounds
                    seg = self._durations_by_length(seg)
                    self._fit(seg)
        self.segment_durations = seg
        hold = np.array([k.hold for k in kf], dtype=np.float64)
        self.arrive = np.zeros(n)
        for i in range(1, n):
            self.arrive[i] = self.arrive[i - 1] + hold[i - 1] + seg[i - 1]
        self.depart = self.arrive + hold
        self.duration = float(self.depart[-1] + kf[-1].duration)
        self._caption_spans = self._captions()
        self._clock = [
            (float(self.arrive[i]), k.scene_time) for i, k in enumerate(kf) if k.scene_time
        ]
        self.layers = tuple(dict.fromkeys(n for k in kf for n in (*k.show, *k.hide)))

    # -- construction ---------------------------------------------------------------------
    def _resolve_easings(self) -> list[tuple[int, int]]:
        """(start, end) slopes per segment; "auto" follows its neighbours."""
        kf, n = self.keyframes, self.n
        explicit = [EASINGS[k.easing] for k in kf[:-1]]
        out = []
        for i in range(n - 1):
            if explicit[i] is not None:
                out.append(explicit[i])
                continue
            start_rest = (
                i == 0
                or kf[i].hold > 0
                or (explicit[i - 1] is not None and explicit[i - 1][1] == 0)
            )
            end_rest = (
                i + 1 == n - 1
                or kf[i + 1].hold > 0
                or (explicit[i + 1] is not None and explicit[i + 1][0] == 0)
            )
            out.append((0 if start_rest else 1, 0 if end_rest else 1))
        return out

    def _fit(self, seg: np.ndarray) -> None:
        self.seg_fit = seg
        self.tangents = hermite_tangents(self.channels, seg, monotone=self.MONOTONE)
        u = np.linspace(0.0, 1.0, ARC_SAMPLES + 1)
        self._arc = []
        for i in range(self.n - 1):
            p, f = _points(self._segment(i, u))
            step = (
                np.linalg.norm(np.diff(p, axis=0), axis=1)
                + np.linalg.norm(np.diff(f, axis=0), axis=1)
            ) / 2.0
            cum = np.concatenate([[0.0], np.cumsum(step)])
            self._arc.append((u, cum))
            self.lengths[i] = cum[-1]

    def _durations_by_length(self, seg: np.ndarray) -> np.ndarray:
        """Share the gliding time of the moving segments by apparent length.

        Segments along which nothing moves (same camera twice: a pause) keep
        their duration; the total tour time does not change.
        """
        moving = self.lengths > 1e-9
        if moving.sum() < 1:
            return seg
        new = seg.copy()
        new[moving] = seg[moving].sum() * self.lengths[moving] / self.lengths[moving].sum()
        return np.maximum(new, 1e-6)

    def _segment(self, i: int, tau) -> np.ndarray:
        c, m = self.channels, self.tangents
        return hermite(c[i], c[i + 1], m[i], m[i + 1], self.seg_fit[i], tau)

    def _captions(self) -> list[tuple[float, float, str]]:
        """Merged (start, end, text) spans: a caption repeated on consecutive
        keyframes stays up instead of blinking."""
        spans: list[tuple[float, float, str]] = []
        ends = [*list(self.arrive[1:]), self.duration]
        for i, k in enumerate(self.keyframes):
            if not k.caption:
                continue
            start, end = float(self.arrive[i]), float(ends[i])
            if spans and spans[-1][2] == k.caption and abs(spans[-1][1] - start) < 1e-9:
                spans[-1] = (spans[-1][0], end, k.caption)
            else:
                spans.append((start, end, k.caption))
        return spans

    # -- sampling -----------------------------------------------------------------------
    def locate(self, t: float) -> tuple[int, float | None]:
        """(keyframe i, None) while holding at keyframe i, or (segment i, tau)
        while gliding from keyframe i to i + 1, tau in (0, 1] being the fraction
        of the segment's time gone (before easing)."""
        t = min(max(float(t), 0.0), self.duration)
        i = max(0, bisect.bisect_right(self.arrive.tolist(), t) - 1)
        if i >= self.n - 1 or t <= self.depart[i]:
            return i, None
        h = self.segment_durations[i]
        return i, float((t - self.depart[i]) / h)

    def segment_param(self, i: int, tau_time: float) -> float:
        """Spline parameter in segment ``i`` for a fraction of its time: eased,
        then (constant speed) mapped through the arc-length table."""
        e = float(ease(self.slopes[i], tau_time))
        if not self.constant_speed or self.lengths[i] <= 1e-9:
            return e
        u, cum = self._arc[i]
        return float(np.interp(e * cum[-1], cum, u))

    def channels_at(self, t: float) -> np.ndarray:
        """The ten spline channels at ``t`` (see the class docstring)."""
        i, tau = self.locate(t)
        if tau is None:
            return self.channels[i].copy()
        return self._segment(i, np.array([self.segment_param(i, tau)]))[0]

    def camera_at(self, t: float) -> CameraPose:
        ch = self.channels_at(t)
        p, f = _points(ch[None, :])
        p, f = p[0], f[0]
        i = self.locate(t)[0]
        fallback = self.channels[i, 6:9]
        up = _orthonormal_up(ch[6:9], f - p, fallback)
        return CameraPose(
            tuple(float(v) for v in p + self.ref),  # type: ignore[arg-type]
            tuple(float(v) for v in f + self.ref),  # type: ignore[arg-type]
            tuple(float(v) for v in up),  # type: ignore[arg-type]
            float(np.clip(ch[9], 1.0, 170.0)),
        )

    def caption_at(self, t: float) -> tuple[str | None, float]:
        for start, end, text in self._caption_spans:
            if start <= t < end or (t >= end and end >= self.duration and t >= start):
                fade = min(CAPTION_FADE_S, (end - start) / 4.0)
                alpha = 1.0
                if start > 0 and fade > 0:
                    alpha = min(alpha, (t - start) / fade)
                if end < self.duration and fade > 0:
                    alpha = min(alpha, (end - t) / fade)
                return text, float(np.clip(alpha, 0.0, 1.0))
        return None, 0.0

    def scene_time_at(self, t: float) -> datetime | None:
        knots = self._clock
        if not knots:
            return None
        if t <= knots[0][0]:
            return knots[0][1]
        for (ta, va), (tb, vb) in itertools.pairwise(knots):
            if t <= tb:
                if tb <= ta:
                    return vb
                frac = (t - ta) / (tb - ta)
                return va + (vb - va) * frac  # type: ignore[operator]
        return knots[-1][1]

    def visibility_at(self, t: float) -> dict[str, bool]:
        out: dict[str, bool] = {}
        for i, k in enumerate(self.keyframes):
            if self.arrive[i] > t + 1e-12:
                break
            out.update({name: True for name in k.show})
            out.update({name: False for name in k.hide})
        return out

    def sample(self, t: float) -> TourState:
        """The tour at ``t`` seconds (clamped to ``[0, duration]``)."""
        t = min(max(float(t), 0.0), self.duration)
        text, alpha = self.caption_at(t)
        return TourState(
            time=t,
            camera=self.camera_at(t),
            caption=text,
            caption_opacity=alpha,
            scene_time=self.scene_time_at(t),
            visibility=self.visibility_at(t),
            keyframe=self.locate(t)[0],
            layers=self.layers,
        )


def _channels(cams: Sequence[CameraPose], ref: np.ndarray) -> np.ndarray:
    """(n, 10) spline channels of keyframe cameras (see :class:`TourPath`)."""
    out = np.zeros((len(cams), 10))
    for i, c in enumerate(cams):
        f = np.asarray(c.focal_point, dtype=np.float64) - ref
        d = np.asarray(c.focal_point, dtype=np.float64) - np.asarray(c.position, dtype=np.float64)
        dist = float(np.linalg.norm(d))
        d /= dist
        up = np.asarray(c.view_up, dtype=np.float64)
        up /= np.linalg.norm(up)
        horizontal = np.hypot(d[0], d[1])
        if horizontal > 1e-3:
            heading = math.atan2(d[1], d[0])
        else:
            # looking straight down (or up): the heading is where the top of the
            # picture points, i.e. the view-up
            heading = math.atan2(up[1], up[0]) if np.hypot(up[0], up[1]) > 1e-9 else 0.0
        pitch = math.asin(float(np.clip(d[2], -1.0, 1.0)))
        out[i] = (*f, heading, pitch, math.log(dist), *up, c.view_angle)
    # turn the short way round: consecutive headings differ by at most half a turn
    out[:, 3] = np.unwrap(out[:, 3])
    return out


def _points(ch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions and focal points (k, 3) from channel rows (k, 10)."""
    f = ch[:, 0:3]
    heading, pitch, dist = ch[:, 3], ch[:, 4], np.exp(ch[:, 5])
    d = np.column_stack(
        [np.cos(pitch) * np.cos(heading), np.cos(pitch) * np.sin(heading), np.sin(pitch)]
    )
    return f - dist[:, None] * d, f


def _orthonormal_up(up: np.ndarray, direction: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """View-up made perpendicular to the view direction (what VTK would do),
    falling back to the keyframe's own up if the two became parallel."""
    d = direction / (np.linalg.norm(direction) or 1.0)
    for candidate in (up, fallback, np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0])):
        u = candidate - np.dot(candidate, d) * d
        norm = np.linalg.norm(u)
        if norm > 1e-6:
            return u / norm
    return np.array([0.0, 0.0, 1.0])


# -- scene file ---------------------------------------------------------------------
def parse_tours(
    raw: Any,
    path: Path | str,
    bookmarks: Iterable[Bookmark] = (),
    layer_names: Iterable[str] = (),
) -> list[Tour]:
    """Validate the raw ``[[tours]]`` data of a scene file.

    Raises :class:`~twin.scenefile.SceneFileError` naming the key, e.g.
    ``tours[0].keyframes[2].duration``, and the tour by name, on one line.
    """
    path = Path(path)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise SceneFileError(
            path, "tours", f"expected [[tours]] entries (a list of tables), got {_toml_type(raw)}"
        )
    marks = {bm.name: bm for bm in bookmarks}
    layers = set(layer_names)
    tours: list[Tour] = []
    for i, table in enumerate(raw):
        if not isinstance(table, dict):
            raise SceneFileError(path, f"tours[{i}]", f"expected a table, got {_toml_type(table)}")
        tour = _parse_tour(path, table, f"tours[{i}]", marks, layers)
        if any(t.name == tour.name for t in tours):
            raise SceneFileError(path, f"tours[{i}].name", f"duplicate tour name {tour.name!r}")
        tours.append(tour)
    return tours


def _parse_tour(
    path: Path, table: dict[str, Any], prefix: str, marks: dict[str, Bookmark], layers: set[str]
) -> Tour:
    r = _Reader(path, table, prefix)
    name = r.get("name", str)
    if not name.strip():
        raise r.fail("name", "must not be empty")
    try:
        tour = Tour(
            name=name,
            description=r.get("description", str, ""),
            constant_speed=r.get("constant_speed", bool, False),
        )
        items = r.get("keyframes", list)
        if not items:
            raise r.fail("keyframes", "needs at least one keyframe ([[tours.keyframes]])")
        for j, item in enumerate(items):
            key = f"{prefix}.keyframes[{j}]"
            if not isinstance(item, dict):
                raise SceneFileError(path, key, f"expected a table, got {_toml_type(item)}")
            last = j == len(items) - 1
            tour.keyframes.append(_parse_keyframe(path, item, key, marks, layers, last))
        r.check_unknown()
    except SceneFileError as exc:
        raise SceneFileError(exc.path, exc.key, f"{exc.message} (tour {name!r})") from None
    return tour


def _parse_keyframe(
    path: Path,
    table: dict[str, Any],
    prefix: str,
    marks: dict[str, Bookmark],
    layers: set[str],
    last: bool,
) -> Keyframe:
    r = _Reader(path, table, prefix)
    bookmark = r.get("bookmark", str, None)
    explicit = [k for k in ("position", "focal_point", "view_up", "view_angle") if k in table]
    if bookmark is not None:
        if explicit:
            raise r.fail(explicit[0], "give either bookmark or an explicit camera, not both")
        if bookmark not in marks:
            have = ", ".join(marks) or "none"
            raise r.fail("bookmark", f"no bookmark named {bookmark!r}; have {have}")
        camera = CameraPose.from_bookmark(marks[bookmark])
    else:
        if "position" not in table and "focal_point" not in table:
            raise r.fail("position", 'is required (or give bookmark = "name")')
        camera = CameraPose(
            r.vector("position", 3),
            r.vector("focal_point", 3),
            r.vector("view_up", 3, (0.0, 0.0, 1.0)),
            r.get("view_angle", float, 30.0),
        )
        if not 1.0 <= camera.view_angle <= 170.0:
            raise r.fail(
                "view_angle", f"must be between 1 and 170 degrees, got {camera.view_angle}"
            )
        direction = np.subtract(camera.focal_point, camera.position)
        if np.linalg.norm(direction) < 1e-6:
            raise r.fail("position", "equals focal_point; the camera would have no direction")
        up = np.asarray(camera.view_up)
        if np.linalg.norm(up) < 1e-9:
            raise r.fail("view_up", "must not be the zero vector")
        if np.linalg.norm(np.cross(up, direction)) < 1e-6 * np.linalg.norm(up) * np.linalg.norm(
            direction
        ):
            raise r.fail("view_up", "is parallel to the view direction")
    duration = r.get("duration", float)
    if last and duration < 0:
        raise r.fail("duration", f"must be 0 or more seconds, got {duration}")
    if not last and duration <= 0:
        raise r.fail(
            "duration",
            f"must be more than 0 seconds (time to reach the next keyframe), got {duration}",
        )
    hold = r.get("hold", float, 0.0)
    if hold < 0:
        raise r.fail("hold", f"must be 0 or more seconds, got {hold}")
    easing = r.get("easing", str, "auto")
    if easing not in EASINGS:
        raise r.fail("easing", f"expected one of {', '.join(EASINGS)}, got {easing!r}")
    caption = r.get("caption", str, None)
    scene_time = _parse_time(r, "scene_time")
    show = _names(r, "show", layers)
    hide = _names(r, "hide", layers)
    both = sorted(set(show) & set(hide))
    if both:
        raise r.fail("hide", f"layer {both[0]!r} is also in show")
    r.check_unknown()
    return Keyframe(
        camera=camera,
        duration=duration,
        hold=hold,
        easing=easing,
        caption=caption or None,
        scene_time=scene_time,
        show=show,
        hide=hide,
        bookmark=bookmark,
    )


def _parse_time(r: _Reader, name: str) -> datetime | None:
    r.used.add(name)
    if name not in r.table:
        return None
    value = r.table[name]
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise r.fail(name, f"not an ISO 8601 date-time: {value!r}; {VIETNAM_TZ_HINT}") from None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise r.fail(name, f"needs a UTC offset, {VIETNAM_TZ_HINT}")
        return value
    if isinstance(value, date | time):
        raise r.fail(name, f"needs a full date-time with a UTC offset, {VIETNAM_TZ_HINT}")
    raise r.fail(name, f"expected a date-time, got {_toml_type(value)}")


def _names(r: _Reader, name: str, layers: set[str]) -> tuple[str, ...]:
    values = r.get(name, list, [])
    for v in values:
        if not isinstance(v, str):
            raise r.fail(name, f"expected a list of layer names, got {v!r}")
        if layers and v not in layers:
            raise r.fail(name, f"no layer named {v!r}; have {', '.join(sorted(layers))}")
    return tuple(values)


def scene_tours(scene: Scene) -> list[Tour]:
    """Tours of a scene opened from a scene file (``scene.spec``), validated
    against its current bookmarks and its layers; ``[]`` for a scene without."""
    spec = scene.spec
    if spec is None:
        return []
    names = {ls.name for ls in spec.layers} | {la.name for la in scene.layers}
    return parse_tours(spec.extra.get("tours"), spec.path, scene.bookmarks, names)


def find_tour(tours: Sequence[Tour], name: str) -> Tour:
    for tour in tours:
        if tour.name == name:
            return tour
    have = ", ".join(t.name for t in tours) or "none"
    raise KeyError(f"no tour named {name!r}; have {have}")


def layer_matches(layer_name: str, tour_name: str) -> bool:
    """Does a scene layer answer to a name used in a tour? A scene-file layer
    that imported as several layers is named ``"<name>: <part>"``."""
    return layer_name == tour_name or layer_name.startswith(f"{tour_name}: ")


# -- writing ----------------------------------------------------------------------------
def tour_to_toml(tour: Tour, digits: int = 3) -> str:
    """The tour as a ``[[tours]]`` section to paste into a scene file (recording).

    Keyframes that came from a bookmark refer to it by name; others write the
    camera in world coordinates rounded to ``digits`` decimals (millimetres).
    """

    def s(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)

    def vec(v: Iterable[float]) -> str:
        return "[" + ", ".join(_num(x, digits) for x in v) + "]"

    lines = ["[[tours]]", f"name = {s(tour.name)}"]
    if tour.description:
        lines.append(f"description = {s(tour.description)}")
    if tour.constant_speed:
        lines.append("constant_speed = true")
    for k in tour.keyframes:
        lines += ["", "[[tours.keyframes]]"]
        if k.bookmark is not None:
            lines.append(f"bookmark = {s(k.bookmark)}")
        else:
            cam = k.camera
            lines.append(f"position = {vec(cam.position)}")
            lines.append(f"focal_point = {vec(cam.focal_point)}")
            if tuple(cam.view_up) != (0.0, 0.0, 1.0):
                lines.append(f"view_up = {vec(cam.view_up)}")
            if cam.view_angle != 30.0:
                lines.append(f"view_angle = {_num(cam.view_angle, 2)}")
        lines.append(f"duration = {_num(k.duration, 3)}")
        if k.hold:
            lines.append(f"hold = {_num(k.hold, 3)}")
        if k.easing != "auto":
            lines.append(f"easing = {s(k.easing)}")
        if k.caption:
            lines.append(f"caption = {s(k.caption)}")
        if k.scene_time is not None:
            lines.append(f"scene_time = {k.scene_time.isoformat()}")
        if k.show:
            lines.append("show = [" + ", ".join(s(n) for n in k.show) + "]")
        if k.hide:
            lines.append("hide = [" + ", ".join(s(n) for n in k.hide) + "]")
    return "\n".join(lines) + "\n"


def _num(x: float, digits: int) -> str:
    text = f"{float(x):.{digits}f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def recorded_keyframe(
    bookmark: Bookmark, duration: float = 4.0, caption: str | None = None
) -> Keyframe:
    """A keyframe for "add the current view" (the camera as a bookmark)."""
    return Keyframe(
        camera=CameraPose.from_bookmark(bookmark), duration=float(duration), caption=caption
    )


__all__ = [
    "EASINGS",
    "CameraPose",
    "Keyframe",
    "Tour",
    "TourPath",
    "TourState",
    "ease",
    "ease_derivative",
    "find_tour",
    "hermite_tangents",
    "layer_matches",
    "parse_tours",
    "recorded_keyframe",
    "scene_tours",
    "tour_to_toml",
]
