"""Scene files (TOML) -> a plain, validated :class:`SceneSpec`.

The scene file is data only: TOML cannot execute code, and every key is checked
against what we expect, so a typo is reported instead of silently ignored. Every
problem becomes a :class:`SceneFileError` whose text is one line naming the
file, the key and what is wrong. ``twin`` never imports ``importers``: layers are
returned as specs that ``importers.open_scene`` turns into data.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from twin.geo import CRSResolutionError, parse_crs, require_projected
from twin.scene import Bookmark
from twin.style import Style

STYLE_MODES = ("class", "attribute", "solid", "native")


class SceneFileError(ValueError):
    """A scene file problem, formatted ``<file>: <key>: <what is wrong>``."""

    def __init__(self, path: Path | str, key: str, message: str) -> None:
        self.path, self.key, self.message = Path(path), key, message
        super().__init__(f"{path}: {key}: {message}" if key else f"{path}: {message}")


@dataclass
class LayerSpec:
    """One ``[[layers]]`` entry, with its path resolved against the scene file."""

    name: str
    path: Path
    importer: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    style: Style | None = None  # None: keep the importer's default style
    visible: bool = True
    #: the data's source and licence as printed on maps, e.g.
    #: "© OpenStreetMap contributors, ODbL"
    attribution: str | None = None
    #: name of an earlier terrain layer to set this layer on (``drape = "..."``)
    drape: str | None = None
    #: "feature": each feature moves rigidly by the lowest ground under it, keeping
    #: its heights above ground (buildings, markers); "vertex": every vertex follows
    #: the ground (roads, areas)
    drape_mode: str = "feature"
    #: a database URL (``postgresql://host/db``) when the layer is read from PostGIS;
    #: then ``path`` is the scene file itself, and ``options`` hold ``table`` or
    #: ``query``, ``geometry`` and the column names (see :data:`DATABASE_KEYS`)
    source: str | None = None
    #: ``stream = true``: read as quadtree tiles near the camera, not whole (twin.tiles)
    stream: bool = False


#: ``drape_mode`` values (importers.terrain.drape / drape_vertices)
DRAPE_MODES = ("feature", "vertex")


@dataclass
class ComplianceSpec:
    """One ``[[compliance]]`` table: which lots layer holds the planning
    indicators, which building layers are checked against it, and the red lines
    setbacks are measured from (else the lot boundary). Layers are named as in
    ``[[layers]]``; ``columns`` renames indicator columns (``{max_far = "hssdd"}``)."""

    lots: str
    buildings: list[str]
    red_lines: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    #: default for lots without a ``far_below_ground`` value: do basements count in FAR?
    below_ground_counts_far: bool = False


@dataclass
class SceneSpec:
    """Everything a scene file declares, validated, before any data is read."""

    path: Path
    name: str
    crs: str
    origin: tuple[float, float, float]
    default_height: float = 9.0
    #: ``[scene] extent``: (xmin, ymin, xmax, ymax) in the scene CRS, the area that
    #: database layers read (through their spatial index), or None for everything
    extent: tuple[float, float, float, float] | None = None
    #: the view time of renders without ``--time`` (aware datetime), or None
    time: datetime | None = None
    #: ``[scene] timezone``: the zone of "that day" (sunrise, sun-hours), +07:00 by default
    timezone: timezone = field(default_factory=lambda: timezone(timedelta(hours=7)))
    layers: list[LayerSpec] = field(default_factory=list)
    bookmarks: list[Bookmark] = field(default_factory=list)
    #: ``[[compliance]]`` checks (planning indicators per lot), see twin.compliance
    compliance: list[ComplianceSpec] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


class _Reader:
    """Typed access to a TOML table that reports the full key path on error."""

    def __init__(self, path: Path, table: dict[str, Any], prefix: str) -> None:
        self.path, self.table, self.prefix = path, table, prefix
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, message: str) -> SceneFileError:
        return SceneFileError(self.path, self.key(name), message)

    def get(
        self,
        name: str,
        kind: type | tuple[type, ...],
        default: Any = ...,
    ) -> Any:
        self.used.add(name)
        if name not in self.table:
            if default is ...:
                raise self.fail(name, "is required but missing")
            return default
        value = self.table[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and bool not in kinds:
            raise self.fail(name, f"expected {_kind_name(kinds)}, got a boolean")
        if not isinstance(value, kinds):
            raise self.fail(name, f"expected {_kind_name(kinds)}, got {_toml_type(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(name, f"must be a finite number, got {value}")
        return value

    def vector(self, name: str, length: int, default: Any = ...) -> tuple[float, ...] | Any:
        value = self.get(name, list, default)
        if value is default and default is not ...:
            return default
        if len(value) != length or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value
        ):
            raise self.fail(name, f"expected a list of {length} numbers, got {value!r}")
        out = tuple(float(v) for v in value)
        if not all(math.isfinite(v) for v in out):
            raise self.fail(name, f"must be finite numbers, got {value!r}")
        return out

    def check_unknown(self) -> None:
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            raise self.fail(unknown[0], "unknown key (check the spelling)")


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {
        str: "a string",
        float: "a number",
        int: "an integer",
        bool: "true/false",
        list: "a list",
        dict: "a table",
    }
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _toml_type(value: Any) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def parse_style(path: Path, table: dict[str, Any], prefix: str) -> Style:
    r = _Reader(path, table, prefix)
    mode = r.get("by", str, "class")
    if mode not in STYLE_MODES:
        raise r.fail("by", f"expected one of {', '.join(STYLE_MODES)}, got {mode!r}")
    style = Style(mode=mode)
    style.opacity = r.get("opacity", float, 1.0)
    if not 0.0 <= style.opacity <= 1.0:
        raise r.fail("opacity", f"must be between 0 and 1, got {style.opacity}")
    color = r.get("color", (str, list), None)
    if color is not None:
        style.color = _parse_color(r, "color", color)
    style.attribute = r.get("attribute", str, None)
    if mode == "attribute" and not style.attribute:
        raise r.fail("attribute", 'is required when by = "attribute"')
    style.cmap = r.get("cmap", str, "viridis")
    style.label = r.get("label", str, None) or None
    rng = r.vector("range", 2, None)
    if rng is not None:
        if rng[1] <= rng[0]:
            raise r.fail("range", f"must be increasing, got {list(rng)}")
        style.clim = (rng[0], rng[1])
    classes = r.get("classes", dict, {})
    style.class_colors = {str(k): _parse_color(r, f"classes.{k}", v) for k, v in classes.items()}
    r.check_unknown()
    return style


def _parse_color(r: _Reader, key: str, value: Any) -> tuple[int, int, int]:
    if isinstance(value, str):
        text = value.lstrip("#")
        if len(text) == 6:
            try:
                return tuple(int(text[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]
            except ValueError:
                pass
        raise r.fail(key, f'expected a colour like "#a0b0c0" or [r, g, b], got {value!r}')
    if (
        isinstance(value, list)
        and len(value) == 3
        and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in value)
    ):
        return (value[0], value[1], value[2])
    raise r.fail(key, f'expected a colour like "#a0b0c0" or [r, g, b] in 0-255, got {value!r}')


def parse_bookmark(path: Path, table: dict[str, Any], prefix: str) -> Bookmark:
    r = _Reader(path, table, prefix)
    bm = Bookmark(
        name=r.get("name", str),
        position=r.vector("position", 3),
        focal_point=r.vector("focal_point", 3),
        view_up=r.vector("view_up", 3, (0.0, 0.0, 1.0)),
        view_angle=r.get("view_angle", float, 30.0),
    )
    if not 1.0 <= bm.view_angle <= 170.0:
        raise r.fail("view_angle", f"must be between 1 and 170 degrees, got {bm.view_angle}")
    if bm.position == bm.focal_point:
        raise r.fail("position", "equals focal_point; the camera would have no direction")
    r.check_unknown()
    return bm


def parse_layer(path: Path, table: dict[str, Any], prefix: str) -> LayerSpec:
    r = _Reader(path, table, prefix)
    source = r.get("source", str, None)
    db_options = {} if source is None else _database_options(r, source)
    rel = r.get("path", str) if source is None else ""
    spec = LayerSpec(
        name=r.get("name", str, Path(rel).stem or db_options.get("table", "query")),
        path=(path.parent / rel).resolve() if source is None else path,
        source=source,
        importer=r.get("importer", str, None),
        options=dict(r.get("options", dict, {})),
        visible=r.get("visible", bool, True),
        attribution=r.get("attribution", str, None) or None,
        drape=r.get("drape", str, None) or None,
        drape_mode=r.get("drape_mode", str, "feature"),
        stream=r.get("stream", bool, False),
    )
    spec.options.update(db_options)
    if spec.drape_mode not in DRAPE_MODES:
        known = ", ".join(DRAPE_MODES)
        raise r.fail("drape_mode", f"expected one of {known}, got {spec.drape_mode!r}")
    style_table = r.get("style", dict, None)
    if style_table is not None:
        spec.style = parse_style(path, style_table, r.key("style"))
    r.check_unknown()
    return spec


#: ``[[layers]]`` keys of a database layer -> the importer option they set
DATABASE_KEYS = {
    "table": "table", "query": "query", "geometry": "geometry", "height": "height_field",
    "levels": "levels_field", "id": "id_field", "srid": "srid", "bbox": "bbox",
}


def database_url_problem(url: str) -> str | None:
    """What is wrong with a database URL as a layer source, or None.

    Credentials never live in a scene or project file (DESIGN: "Files the user
    writes"): a password there would travel with every copy of the scene. They
    come from libpq's environment (PGPASSWORD), ``~/.pgpass`` or the OS keyring.
    """
    from urllib.parse import parse_qs, urlsplit

    if not url.startswith(("postgresql://", "postgres://")):
        return f"expected a postgresql:// URL, got {url.split('://')[0]!r}"
    try:
        parts = urlsplit(url)
        has_password = parts.password is not None or "password" in parse_qs(parts.query)
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if has_password:
        return ("holds a password; give it through PGPASSWORD, ~/.pgpass or "
                "`citytwin secrets set --postgres URL`, never in the file")
    return None


def _database_options(r: _Reader, source: str) -> dict[str, Any]:
    """The importer options of a ``source = "postgresql://..."`` layer."""
    problem = database_url_problem(source)
    if problem is not None:
        raise r.fail("source", problem)
    if "path" in r.table:
        raise r.fail("path", "a layer has either a path or a source, not both")
    out: dict[str, Any] = {}
    for key, option in DATABASE_KEYS.items():
        if key == "bbox":
            value = r.vector(key, 4, None)
            if value is not None and not (value[0] < value[2] and value[1] < value[3]):
                raise r.fail(key, f"expected [xmin, ymin, xmax, ymax], got {list(value)}")
        else:
            value = r.get(key, int if key == "srid" else str, None)
        if value is not None:
            out[option] = value
    if ("table" in out) == ("query" in out):
        raise r.fail("table", "a database layer needs a table or a query (one of them)")
    return out


#: indicator columns a ``[[compliance]]`` table may rename (twin.compliance.indicators)
COMPLIANCE_COLUMNS = (
    "max_height", "max_floors", "max_density", "max_far", "setback", "land_use",
    "far_below_ground", "levels",
)


def parse_compliance(
    path: Path, table: dict[str, Any], prefix: str, layer_names: list[str]
) -> ComplianceSpec:
    """One ``[[compliance]]`` table; every layer it names must be a ``[[layers]]`` name."""
    r = _Reader(path, table, prefix)

    def layer(name: str, value: Any) -> str:
        if value not in layer_names:
            raise r.fail(name, f"no layer named {value!r} in [[layers]]")
        return value

    buildings = r.get("buildings", (list, str))
    buildings = [buildings] if isinstance(buildings, str) else buildings
    if not buildings or not all(isinstance(b, str) for b in buildings):
        raise r.fail("buildings", "expected a list of layer names")
    spec = ComplianceSpec(
        lots=layer("lots", r.get("lots", str)),
        buildings=[layer("buildings", b) for b in buildings],
        below_ground_counts_far=r.get("below_ground_counts_far", bool, False),
    )
    red = r.get("red_lines", str, None)
    spec.red_lines = None if red is None else layer("red_lines", red)
    columns = r.get("columns", dict, {})
    for key, value in columns.items():
        if key not in COMPLIANCE_COLUMNS:
            known = ", ".join(COMPLIANCE_COLUMNS)
            raise r.fail(f"columns.{key}", f"unknown indicator; one of {known}")
        if not isinstance(value, str) or not value:
            raise r.fail(f"columns.{key}", "expected a column name")
    spec.columns = dict(columns)
    r.check_unknown()
    return spec


def parse_scene(text: str, path: Path | str) -> SceneSpec:
    """Validate a scene file's text. Raises :class:`SceneFileError`."""
    path = Path(path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SceneFileError(path, "", f"not valid TOML: {exc}") from None
    top = _Reader(path, doc, "")
    scene = _Reader(path, top.get("scene", dict), "scene")
    crs = scene.get("crs", str)
    try:
        require_projected(parse_crs(crs))
    except CRSResolutionError as exc:
        raise scene.fail("crs", str(exc)) from None
    spec = SceneSpec(
        path=path,
        name=scene.get("name", str, path.stem),
        crs=crs,
        origin=scene.vector("origin", 3),
        default_height=scene.get("default_height", float, 9.0),
    )
    if spec.default_height <= 0:
        raise scene.fail("default_height", f"must be positive, got {spec.default_height}")
    spec.extent = scene.vector("extent", 4, None)
    if spec.extent is not None and not (
        spec.extent[0] < spec.extent[2] and spec.extent[1] < spec.extent[3]
    ):
        raise scene.fail("extent", f"expected [xmin, ymin, xmax, ymax], got {list(spec.extent)}")
    if "time" in scene.table:
        spec.time = _aware_time(scene, "time")
    if "timezone" in scene.table:
        spec.timezone = _utc_offset(scene, "timezone")
    scene.get("description", str, "")
    scene.check_unknown()
    for i, table in enumerate(_table_list(top, "layers")):
        spec.layers.append(parse_layer(path, table, f"layers[{i}]"))
    names = [la.name for la in spec.layers]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SceneFileError(path, "layers", f"duplicate layer name {dupes[0]!r}")
    for i, la in enumerate(spec.layers):
        if la.drape is not None and la.drape not in names[:i]:
            raise SceneFileError(
                path, f"layers[{i}].drape", f"no earlier layer named {la.drape!r} to drape on"
            )
    for i, table in enumerate(_table_list(top, "bookmarks")):
        spec.bookmarks.append(parse_bookmark(path, table, f"bookmarks[{i}]"))
    for i, table in enumerate(_table_list(top, "compliance")):
        spec.compliance.append(parse_compliance(path, table, f"compliance[{i}]", names))
    # Sections owned by later features (sensors, tours, plans) are kept as data.
    for key in ("sensors", "feeds", "tours", "plans"):
        if key in doc:
            spec.extra[key] = top.get(key, (list, dict))
    top.check_unknown()
    return spec


def _aware_time(r: _Reader, name: str) -> datetime:
    """A date-time with a UTC offset: a TOML offset date-time or an ISO string."""
    value = r.get(name, (datetime, str))
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise r.fail(name, f"not an ISO 8601 date-time: {value!r}") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise r.fail(name, "needs a UTC offset, e.g. 2025-06-02T09:00:00+07:00")
    return value


def _utc_offset(r: _Reader, name: str) -> timezone:
    """A fixed UTC offset such as ``"+07:00"`` (or ``"Z"``/``"UTC"``); Vietnam
    has no daylight saving, so a fixed offset is the whole story."""
    value = r.get(name, str).strip()
    if value.upper() in ("Z", "UTC"):
        return UTC
    m = re.fullmatch(r"(?:UTC)?([+-])(\d{1,2})(?::?(\d{2}))?", value, re.IGNORECASE)
    if m is None or int(m[2]) > 14 or int(m[3] or 0) > 59:
        raise r.fail(name, f"expected a UTC offset such as \"+07:00\", got {value!r}")
    sign = 1 if m[1] == "+" else -1
    return timezone(sign * timedelta(hours=int(m[2]), minutes=int(m[3] or 0)))


def _table_list(r: _Reader, name: str) -> list[dict[str, Any]]:
    items = r.get(name, list, [])
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise SceneFileError(
                r.path, f"{name}[{i}]", f"expected a table, got {_toml_type(item)}"
            )
    return items


def load_scene_spec(path: Path | str) -> SceneSpec:
    """Read and validate a scene file from disk."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SceneFileError(path, "", f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SceneFileError(path, "", f"not UTF-8 text (byte {exc.start})") from None
    return parse_scene(text, path)
