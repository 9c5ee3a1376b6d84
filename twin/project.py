"""Project files: a scene file plus what the planner did to it, saved atomically.

A project is JSON (stdlib only, nothing in it executes): the scene file it
starts from, the camera, layers added on top (path + importer options), the
bookmarks, and per-layer style and visibility. Saves go through
:func:`atomic_write_text` (temp file in the same folder, flush + fsync,
``os.replace``, fsync of the folder), so a crash or ``kill -9`` during a save
leaves either the old file or the new one, never a torn one (RELIABILITY F1/F2).
Autosaves go to a sibling recovery file; :func:`recovery_candidate` offers it
on the next start only when it validates and is newer than the project (F3).
Loading is forgiving (F4): a NaN camera, an unknown version or a missing layer
file become warnings, not crashes. A save killed mid-write leaves its temp file;
the next save, autosave or start (:func:`recovery_candidate`) removes such
leftovers (:func:`clean_stale_temps`), never the recovery file itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin.measure import from_record, record
from twin.scene import Bookmark, Scene
from twin.style import Style

FORMAT = "citytwin-project"
VERSION = 1
SUFFIX = ".ctproj"


class ProjectError(ValueError):
    """A project file that cannot be used at all (not JSON, not a project)."""


@dataclass
class AddedLayer:
    """A file the user opened on top of the scene file, re-imported on load."""

    path: str
    options: dict[str, Any] = field(default_factory=dict)
    importer: str | None = None


@dataclass
class Project:
    """Everything needed to put the window back as it was (paths absolute in memory)."""

    scene_path: str | None = None
    camera: Bookmark | None = None
    added_layers: list[AddedLayer] = field(default_factory=list)
    bookmarks: list[Bookmark] = field(default_factory=list)
    styles: dict[str, Style] = field(default_factory=dict)
    visibility: dict[str, bool] = field(default_factory=dict)
    #: layer -> feature rows hidden with ``Scene.set_feature_visibility`` (IFC storeys)
    hidden_features: dict[str, list[int]] = field(default_factory=dict)
    #: the timeline's time, epoch milliseconds (twin.sim clock), if the scene has one
    time_ms: int | None = None
    #: measurements the user kept (twin.measure.record dicts: distance, area, height)
    measurements: list[dict[str, Any]] = field(default_factory=list)
    #: feed name -> seconds without data before the window calls it stale (twin.sim.health)
    feed_stale_after_s: dict[str, float] = field(default_factory=dict)
    #: feeds connected from the window: ``[[feeds]]`` tables (twin.sim.feeds.make_feed),
    #: file paths absolute in memory; never a secret (see :data:`SECRET_KEYS`)
    feeds: list[dict[str, Any]] = field(default_factory=list)
    version: int = VERSION


# -- building from a scene -------------------------------------------------------------
def capture(
    scene: Scene,
    scene_path: Path | str | None,
    camera: Bookmark | None = None,
    added_layers: list[AddedLayer] | None = None,
    time_ms: int | None = None,
) -> Project:
    """A project snapshot of ``scene`` as it is now (styles are copied)."""
    hidden = {la.name: scene.hidden_features(la) for la in scene.layers}
    styles = {la.name: dataclasses.replace(la.style) for la in scene.layers}
    visibility = {la.name: la.visible for la in scene.layers}
    for source in scene.streams:  # a streamed layer keeps its look and visibility too
        if source.style is not None:
            styles[source.name] = dataclasses.replace(source.style)
        visibility[source.name] = bool(source.visible)
    return Project(
        scene_path=str(scene_path) if scene_path else None,
        camera=camera,
        added_layers=list(added_layers or []),
        bookmarks=[dataclasses.replace(b) for b in scene.bookmarks],
        styles=styles,
        visibility=visibility,
        hidden_features={k: [int(r) for r in v.nonzero()[0]] for k, v in hidden.items() if v.any()},
        time_ms=time_ms,
    )


def apply(project: Project, scene: Scene) -> list[str]:
    """Put bookmarks, styles and visibility onto a scene already holding the layers.

    Returns warnings for layers the project names that the scene lacks.
    """
    warnings = []
    names = {la.name: la for la in scene.layers}
    # streamed layers: set on their sources, which a view's streams start from
    # (a window already streaming re-reads them: MainWindow.apply_project)
    sources = {s.name: s for s in scene.streams if s.name not in names}
    for name, style in project.styles.items():
        layer = names.get(name)
        if layer is None and name in sources:
            sources[name].style = dataclasses.replace(style)
            continue
        if layer is None:
            warnings.append(f"layer {name!r} in the project is not in the scene")
            continue
        layer.style = dataclasses.replace(style)
        scene.events.layer_changed.emit(layer, "style")
    for name, visible in project.visibility.items():
        if name in names:
            scene.set_visible(names[name], visible)
        elif name in sources:
            sources[name].visible = bool(visible)
    for name, rows in project.hidden_features.items():
        layer = names.get(name)
        n = len(layer.features) if layer is not None else 0
        valid = [r for r in rows if 0 <= r < n]
        if valid:
            scene.set_feature_visibility(layer, valid, False)
    if project.bookmarks:
        scene.bookmarks = [dataclasses.replace(b) for b in project.bookmarks]
        scene.events.bookmarks_changed.emit()
    return warnings


# -- (de)serialisation -----------------------------------------------------------------
def _rel(path: str | None, base: Path) -> str | None:
    if not path:
        return None
    try:
        return os.path.relpath(path, base)
    except ValueError:  # other drive on Windows
        return str(path)


def _abs(path: str | None, base: Path) -> str | None:
    if not path:
        return None
    p = Path(path)
    return str(p if p.is_absolute() else (base / p).resolve())


def _bookmark_dict(b: Bookmark) -> dict[str, Any]:
    return {
        "name": b.name,
        "position": list(b.position),
        "focal_point": list(b.focal_point),
        "view_up": list(b.view_up),
        "view_angle": b.view_angle,
    }


def _style_dict(s: Style) -> dict[str, Any]:
    d = dataclasses.asdict(s)
    d["class_colors"] = {k: list(v) for k, v in s.class_colors.items()}
    return d


def to_json(project: Project, path: Path | str) -> str:
    """The project as JSON text, with paths relative to the project file's folder."""
    base = Path(path).resolve().parent
    doc = {
        "format": FORMAT,
        "version": project.version,
        "scene": _rel(project.scene_path, base),
        "camera": _bookmark_dict(project.camera) if project.camera else None,
        "added_layers": [
            {"path": _rel(a.path, base), "options": a.options, "importer": a.importer}
            for a in project.added_layers
        ],
        "bookmarks": [_bookmark_dict(b) for b in project.bookmarks],
        "styles": {k: _style_dict(v) for k, v in project.styles.items()},
        "visibility": project.visibility,
        "hidden_features": project.hidden_features,
        "time_ms": project.time_ms,
        "measurements": project.measurements,
        "feed_stale_after_s": project.feed_stale_after_s,
        "feeds": [_feed_dict(f, base, _rel) for f in project.feeds],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def _finite(values: Any, n: int) -> tuple[float, ...] | None:
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        return None
    if len(out) != n or not all(math.isfinite(v) for v in out):
        return None
    return out


def _parse_bookmark(d: Any, where: str, warnings: list[str]) -> Bookmark | None:
    if not isinstance(d, dict):
        warnings.append(f"{where}: not a table, ignored")
        return None
    pos = _finite(d.get("position"), 3)
    focal = _finite(d.get("focal_point"), 3)
    up = _finite(d.get("view_up", (0, 0, 1)), 3)
    try:
        angle = float(d.get("view_angle", 30.0))
    except (TypeError, ValueError):
        angle = math.nan
    if pos is None or focal is None or up is None or not (0 < angle < 180) or pos == focal:
        warnings.append(f"{where}: camera is not finite or degenerate, ignored")
        return None
    return Bookmark(str(d.get("name", "view")), pos, focal, up, angle)


def _parse_style(d: Any, where: str, warnings: list[str]) -> Style | None:
    if not isinstance(d, dict):
        warnings.append(f"{where}: not a table, ignored")
        return None
    known = {f.name for f in dataclasses.fields(Style)}
    kwargs = {k: v for k, v in d.items() if k in known}
    try:
        for key in ("color", "missing_color"):
            if key in kwargs:
                kwargs[key] = tuple(int(c) for c in kwargs[key])
        if kwargs.get("clim") is not None:
            kwargs["clim"] = tuple(float(c) for c in kwargs["clim"])
        if "class_colors" in kwargs:
            kwargs["class_colors"] = {
                str(k): tuple(int(c) for c in v) for k, v in kwargs["class_colors"].items()
            }
        style = Style(**kwargs)
    except (TypeError, ValueError, AttributeError):
        warnings.append(f"{where}: unreadable style, importer default kept")
        return None
    if style.mode not in ("class", "attribute", "solid", "native"):
        warnings.append(f"{where}: unknown style mode {style.mode!r}, ignored")
        return None
    if not (isinstance(style.opacity, (int, float)) and 0 <= style.opacity <= 1):
        style.opacity = 1.0
        warnings.append(f"{where}: opacity out of range, set to 1")
    return style


def parse_project(text: str, path: Path | str) -> tuple[Project, list[str]]:
    """Read project JSON; raise :class:`ProjectError` only if it is unusable.

    Returns the project (paths made absolute) and warnings for what was dropped.
    """
    base = Path(path).resolve().parent
    try:
        doc = json.loads(text, parse_constant=lambda c: math.nan)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: not a CityTwin project ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ProjectError(f"{path}: not a CityTwin project (no 'format': '{FORMAT}')")
    warnings: list[str] = []
    version = doc.get("version")
    if version != VERSION:
        warnings.append(f"project version {version!r} is not {VERSION}; read as version {VERSION}")
    project = Project(scene_path=_abs(doc.get("scene"), base))
    if project.scene_path and not Path(project.scene_path).exists():
        warnings.append(f"scene file {project.scene_path} is missing")
    if doc.get("camera") is not None:
        project.camera = _parse_bookmark(doc["camera"], "camera", warnings)
    for i, entry in enumerate(doc.get("added_layers") or []):
        if not isinstance(entry, dict) or not entry.get("path"):
            warnings.append(f"added layer {i + 1}: no path, ignored")
            continue
        layer_path = _abs(entry["path"], base)
        if not Path(layer_path).exists():
            warnings.append(f"layer file {layer_path} is missing, skipped")
            continue
        options = entry.get("options") if isinstance(entry.get("options"), dict) else {}
        project.added_layers.append(AddedLayer(layer_path, options, entry.get("importer")))
    for i, entry in enumerate(doc.get("bookmarks") or []):
        bm = _parse_bookmark(entry, f"bookmark {i + 1}", warnings)
        if bm is not None:
            project.bookmarks.append(bm)
    for name, entry in (doc.get("styles") or {}).items():
        style = _parse_style(entry, f"style of {name!r}", warnings)
        if style is not None:
            project.styles[str(name)] = style
    project.visibility = {
        str(k): bool(v) for k, v in (doc.get("visibility") or {}).items() if isinstance(v, bool)
    }
    hidden = doc.get("hidden_features") or {}
    if isinstance(hidden, dict):
        project.hidden_features = {
            str(k): [int(r) for r in v if isinstance(r, int) and not isinstance(r, bool)]
            for k, v in hidden.items()
            if isinstance(v, list)
        }
    t = doc.get("time_ms")
    if t is not None:
        if isinstance(t, int) and not isinstance(t, bool):
            project.time_ms = t
        else:
            warnings.append(f"time_ms {t!r} is not an integer, ignored")
    for i, entry in enumerate(doc.get("measurements") or []):
        try:
            project.measurements.append(record(from_record(entry)))
        except ValueError as exc:
            warnings.append(f"measurement {i + 1}: {exc}, ignored")
    stale = doc.get("feed_stale_after_s") or {}
    for name, seconds in (stale.items() if isinstance(stale, dict) else ()):
        if isinstance(seconds, int | float) and not isinstance(seconds, bool) \
                and math.isfinite(seconds) and seconds > 0:
            project.feed_stale_after_s[str(name)] = float(seconds)
        else:
            warnings.append(f"stale threshold of feed {name!r}: {seconds!r} is not a positive "
                            "number of seconds, ignored")
    for i, entry in enumerate(doc.get("feeds") or []):
        if isinstance(entry, dict) and isinstance(entry.get("type"), str):
            project.feeds.append(_feed_dict(entry, base, _abs))
        else:
            warnings.append(f"feed {i + 1}: not a feed table, ignored")
    return project, warnings


#: keys a feed table may never carry into a file (twin.sim.secrets holds them)
SECRET_KEYS = frozenset({"password", "auth_value", "token", "secret"})
#: feed keys that are paths (relative to the project file on disk)
_FEED_PATHS = ("ca_file", "cert_file", "key_file", "path")


def _feed_dict(table: dict[str, Any], base: Path, convert) -> dict[str, Any]:
    """A feed table with its paths converted, secrets dropped (defence in depth:
    the window never puts one there)."""
    out = {str(k): v for k, v in table.items() if str(k).lower() not in SECRET_KEYS}
    for key in _FEED_PATHS:
        if isinstance(out.get(key), str) and out[key]:
            out[key] = convert(out[key], base)
    return out


def load_project(path: Path | str) -> tuple[Project, list[str]]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProjectError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ProjectError(f"{path}: not a CityTwin project (not UTF-8 text)") from None
    return parse_project(text, path)


# -- atomic writes ---------------------------------------------------------------------
def atomic_write_text(path: Path | str, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file only.

    Temp file in the same folder (same filesystem, so ``os.replace`` is atomic),
    flushed and fsynced before the rename, and the folder fsynced after it so the
    rename itself survives a power cut. On any error the temp file is removed and
    the original is untouched (disk full raises ``OSError`` here).
    """
    path = Path(path)
    data = text.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        _hold(fd)  # marks the temp file as in use for clean_stale_temps
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


#: A temp file younger than this may be a save that has not locked it yet.
STALE_TEMP_GRACE_S = 2.0


def _hold(fd: int) -> None:
    """Lock a temp file while it is written: a lock dies with its process, so
    an unlocked temp file belongs to a save that was killed (POSIX; elsewhere an
    open file cannot be deleted, which protects it the same way)."""
    with contextlib.suppress(ImportError, OSError):
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _temp_pattern(target: Path) -> re.Pattern[str]:
    """Names :func:`atomic_write_text` gives its temp files for ``target``
    (``tempfile.mkstemp``: 8 random characters)."""
    return re.compile(rf"\.{re.escape(target.name)}\.[a-z0-9_]{{8}}\.tmp")


def clean_stale_temps(project_path: Path | str) -> list[Path]:
    """Remove the temp files that killed saves of this project (and of its
    autosave) left beside it; the removed paths.

    Each killed save leaves one (RELIABILITY F1 keeps the project whole, not the
    folder clean: 63 files, 55.6 MB after 700 kills). Only names that
    :func:`atomic_write_text` makes for this project match, never the recovery
    file or the project; a temp file still locked by a live save, or younger
    than :data:`STALE_TEMP_GRACE_S`, is kept.
    """
    project_path = Path(project_path)
    patterns = [_temp_pattern(project_path), _temp_pattern(recovery_path(project_path))]
    try:
        entries = list(os.scandir(project_path.parent))
    except OSError:
        return []
    now = time.time()
    removed: list[Path] = []
    for entry in entries:
        if not any(p.fullmatch(entry.name) for p in patterns):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if now - entry.stat(follow_symlinks=False).st_mtime < STALE_TEMP_GRACE_S:
                continue
            if _remove_unlocked(Path(entry.path)):
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _remove_unlocked(path: Path) -> bool:
    """Delete ``path`` unless a live process holds its lock (see :func:`_hold`)."""
    try:
        import fcntl
    except ImportError:  # Windows: deleting a file a save has open fails
        path.unlink()
        return True
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a save in progress
        path.unlink()
        return True
    finally:
        os.close(fd)


def save_project(project: Project, path: Path | str) -> None:
    """Save atomically, then remove temp files that killed saves left."""
    atomic_write_text(path, to_json(project, path))
    clean_stale_temps(path)


# -- autosave and recovery ---------------------------------------------------------------
def recovery_path(project_path: Path | str) -> Path:
    """The autosave file beside a project: ``.name.ctproj.autosave``."""
    p = Path(project_path)
    return p.with_name(f".{p.name}.autosave")


def autosave(project: Project, project_path: Path | str) -> Path:
    """Write the recovery file (atomically); the project itself is never touched."""
    target = recovery_path(project_path)
    atomic_write_text(target, to_json(project, project_path))
    clean_stale_temps(project_path)
    return target


def discard_recovery(project_path: Path | str) -> None:
    with contextlib.suppress(FileNotFoundError):
        recovery_path(project_path).unlink()


def recovery_candidate(project_path: Path | str) -> Path | None:
    """The recovery file to offer: present, valid, and newer than the project
    (or the project is missing or does not validate)."""
    project_path = Path(project_path)
    clean_stale_temps(project_path)  # on start: leftovers of saves killed last time
    rec = recovery_path(project_path)
    if not rec.exists():
        return None
    try:
        parse_project(rec.read_text(encoding="utf-8"), project_path)
    except (ProjectError, OSError, UnicodeDecodeError):
        return None
    if not project_path.exists():
        return rec
    try:
        load_project(project_path)
    except ProjectError:
        return rec
    return rec if rec.stat().st_mtime > project_path.stat().st_mtime else None
