"""Sensors declared in a scene file's ``[[sensors]]`` tables, resolved in a scene.

A table declares one sensor, or one per feature of a class with ``each``::

    [[sensors]]
    id = "AQ-{id}"                      # {id}: the feature's id, {n}: 1, 2, ...
    kind = "air_quality"
    each = { layer = "Điểm IoT (sensor sites)", class = "air_quality_station" }
    thresholds = { warning = 100, alarm = 150 }

    [[sensors]]
    id = "WM-B-00012"
    kind = "water_meter"
    feature = { layer = "Công trình (buildings)", id = "VT-B-00012" }

    [[sensors]]
    id = "WL-river"
    kind = "water_level"
    location = [567500.0, 2357000.0]    # scene CRS metres
    attach = "Công trình (buildings)"   # attach to the nearest feature of that layer

Thresholds with ``alarm < warning`` mean *lower is worse* (pressure, level of a
tank). Parsing is strict and every error is one :class:`SceneFileError` line naming
the key, e.g. ``sensors[3].thresholds.alarm``. The resolved set is columnar
(:class:`SensorSet`) so overlays gather values without Python loops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twin.scene import Scene
from twin.scenefile import SceneFileError, _Reader
from twin.sim.kinds import UNITS

#: kind -> default unit (the catalogue with names and alert texts: twin.sim.kinds).
KINDS: dict[str, str] = UNITS


@dataclass
class SensorSpec:
    """One ``[[sensors]]`` table after validation (before it meets a scene)."""

    key: str
    id: str
    kind: str
    unit: str
    name: str = ""
    location: tuple[float, ...] | None = None
    feature: tuple[str, str] | None = None
    each: tuple[str, str] | None = None
    attach: str | None = None
    warning: float = np.nan
    alarm: float = np.nan
    #: dead band: a level clears only past its threshold less this (see levels_hysteresis)
    hysteresis: float = 0.0
    #: ... and only after this many samples in a row past it
    clear_after: int = 1
    params: dict[str, float] = field(default_factory=dict)


def _pair(r: _Reader, name: str, keys: tuple[str, str]) -> tuple[str, str] | None:
    table = r.get(name, dict, None)
    if table is None:
        return None
    sub = _Reader(r.path, table, r.key(name))
    out = (sub.get(keys[0], str), sub.get(keys[1], str))
    sub.check_unknown()
    return out


def parse_sensor(path: Path, table: dict[str, Any], prefix: str) -> SensorSpec:
    """Validate one ``[[sensors]]`` table; raises :class:`SceneFileError`."""
    r = _Reader(path, table, prefix)
    kind = r.get("kind", str)
    if kind not in KINDS:
        raise r.fail("kind", f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    spec = SensorSpec(
        key=prefix,
        id=r.get("id", str),
        kind=kind,
        unit=r.get("unit", str, KINDS[kind]),
        name=r.get("name", str, ""),
    )
    if not spec.id.strip():
        raise r.fail("id", "must not be empty")
    location = r.get("location", list, None)
    if location is not None:
        spec.location = r.vector("location", 3 if len(location) == 3 else 2)
    spec.feature = _pair(r, "feature", ("layer", "id"))
    spec.each = _pair(r, "each", ("layer", "class"))
    placed = [k for k in ("location", "feature", "each") if k in table]
    if len(placed) != 1:
        raise r.fail(
            "location", "give exactly one of location, feature or each"
            + (f" (got {', '.join(placed)})" if placed else "")
        )
    if spec.each is None and "{" in spec.id:
        raise r.fail("id", "a template id ({id}, {n}) needs 'each'")
    spec.attach = r.get("attach", str, None)
    thresholds = r.get("thresholds", dict, None)
    if thresholds is not None:
        t = _Reader(path, thresholds, r.key("thresholds"))
        spec.warning = t.get("warning", float, np.nan)
        spec.alarm = t.get("alarm", float, np.nan)
        _hysteresis(t, spec)
        t.check_unknown()
        if spec.warning == spec.alarm:
            raise t.fail("alarm", f"equals warning ({spec.alarm}); they must differ")
    params = r.get("params", dict, {})
    p = _Reader(path, params, r.key("params"))
    spec.params = {k: p.get(k, float) for k in params}
    r.check_unknown()
    return spec


def _hysteresis(t: _Reader, spec: SensorSpec) -> None:
    """``hysteresis`` (a band in the sensor's unit) or ``clear`` (the level at
    which a warning clears; an alarm clears the same distance below its own
    threshold), and ``clear_after`` (samples in a row past the clear level)."""
    band = t.get("hysteresis", float, None)
    clear = t.get("clear", float, None)
    if band is not None and clear is not None:
        raise t.fail("clear", "give hysteresis or clear, not both")
    if clear is not None:
        ref = spec.warning if np.isfinite(spec.warning) else spec.alarm
        if not np.isfinite(ref):
            raise t.fail("clear", "needs a warning or an alarm threshold")
        lower = spec.alarm < spec.warning
        band = (clear - ref) if lower else (ref - clear)
        if band <= 0:
            side = "above" if lower else "below"
            raise t.fail("clear", f"must be {side} the threshold {ref:g} it clears")
    if band is not None and not (np.isfinite(band) and band >= 0):
        raise t.fail("hysteresis", f"must be a positive number, got {band}")
    spec.hysteresis = float(band or 0.0)
    spec.clear_after = t.get("clear_after", int, 1)
    if spec.clear_after < 1:
        raise t.fail("clear_after", f"must be 1 or more samples, got {spec.clear_after}")


def parse_sensors(path: Path | str, items: Any) -> list[SensorSpec]:
    """All ``[[sensors]]`` tables of a scene file (``SceneSpec.extra['sensors']``)."""
    path = Path(path)
    if items is None:
        return []
    if not isinstance(items, list):
        raise SceneFileError(path, "sensors", "expected a list of tables ([[sensors]])")
    out = []
    for i, table in enumerate(items):
        if not isinstance(table, dict):
            raise SceneFileError(path, f"sensors[{i}]", "expected a table")
        out.append(parse_sensor(path, table, f"sensors[{i}]"))
    return out


@dataclass
class SensorSet:
    """Resolved sensors, columnar.

    Attributes
    ----------
    ids, kinds, units, names : (n,) object
    positions : (n, 3) float64, scene-local metres (top of the feature they sit on)
    layer : (n,) object, name of the layer of the attached feature, or None
    row : (n,) int64, attached feature row in that layer, -1 when unattached
    warning, alarm : (n,) float64, NaN where not set
    hysteresis : (n,) float64 dead band (0: none); clear_after : (n,) int64 samples
    params : per-sensor parameter dicts (synthetic generator, flood)
    """

    ids: np.ndarray
    kinds: np.ndarray
    units: np.ndarray
    names: np.ndarray
    positions: np.ndarray
    layer: np.ndarray
    row: np.ndarray
    warning: np.ndarray
    alarm: np.ndarray
    params: list[dict[str, float]]
    hysteresis: np.ndarray | None = None
    clear_after: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.ids)
        if self.hysteresis is None:
            self.hysteresis = np.zeros(n)
        if self.clear_after is None:
            self.clear_after = np.ones(n, dtype=np.int64)
        self._index = {sid: i for i, sid in enumerate(self.ids.tolist())}
        if len(self._index) != len(self.ids):
            seen: set[str] = set()
            dup = next(s for s in self.ids.tolist() if s in seen or seen.add(s))
            raise ValueError(f"duplicate sensor id {dup!r}")

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, sensor_id: str) -> int:
        """Row of a sensor by id (KeyError names the id)."""
        try:
            return self._index[sensor_id]
        except KeyError:
            raise KeyError(f"no sensor {sensor_id!r}") from None

    def indices(self, sensor_ids) -> np.ndarray:
        """Rows of many ids; unknown ids give -1 (feeds count them, never crash)."""
        get = self._index.get
        return np.fromiter((get(s, -1) for s in sensor_ids), dtype=np.int64)

    def of_kind(self, kind: str) -> np.ndarray:
        return np.flatnonzero(self.kinds == kind)

    @classmethod
    def empty(cls) -> SensorSet:
        e = np.empty(0, dtype=object)
        return cls(
            e, e.copy(), e.copy(), e.copy(), np.empty((0, 3)), e.copy(),
            np.empty(0, np.int64), np.empty(0), np.empty(0), [],
        )


def _feature_top(scene: Scene, layer_name: str, row: int) -> np.ndarray:
    b = scene.layer(layer_name).features.bounds[row]
    return np.array([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, max(b[5], 0.0)])


def _nearest_rows(scene: Scene, layer_name: str, xy: np.ndarray) -> np.ndarray:
    """Nearest feature (by bounds centre) of a layer for each (m, 2) point; the
    brute-force distance matrix is fine for thousands of features."""
    b = scene.layer(layer_name).features.bounds
    centres = np.column_stack([(b[:, 0] + b[:, 1]) / 2, (b[:, 2] + b[:, 3]) / 2])
    centres = np.nan_to_num(centres, nan=np.inf)
    out = np.empty(len(xy), dtype=np.int64)
    for s in range(0, len(xy), 512):
        d = ((xy[s : s + 512, None, :] - centres[None, :, :]) ** 2).sum(-1)
        out[s : s + 512] = d.argmin(1)
    return out


def resolve_sensors(specs: list[SensorSpec], scene: Scene, path: Path | str = "") -> SensorSet:
    """Place sensors in ``scene``: expand ``each``, find features, attach."""
    path = Path(path)
    rows: list[dict[str, Any]] = []
    for spec in specs:

        def fail(key: str, msg: str, spec: SensorSpec = spec) -> SceneFileError:
            return SceneFileError(path, f"{spec.key}.{key}", msg)

        base = {
            "kind": spec.kind, "unit": spec.unit, "name": spec.name,
            "warning": spec.warning, "alarm": spec.alarm, "params": spec.params,
            "hysteresis": spec.hysteresis, "clear_after": spec.clear_after,
        }
        placed: list[tuple[str, np.ndarray, str | None, int]] = []
        try:
            if spec.location is not None:
                xyz = np.zeros(3)
                xyz[: len(spec.location)] = spec.location
                placed.append((spec.id, scene.to_local(xyz), None, -1))
            elif spec.feature is not None:
                layer_name, fid = spec.feature
                try:
                    row = scene.layer(layer_name).features.find(fid)
                except KeyError as exc:
                    raise fail("feature", str(exc).strip("'\"")) from None
                placed.append((spec.id, _feature_top(scene, layer_name, row), layer_name, row))
            else:
                layer_name, cls = spec.each  # type: ignore[misc]
                table = scene.layer(layer_name).features
                hits = np.flatnonzero(table.classes == cls)
                if hits.size == 0:
                    raise fail("each.class", f"no feature of class {cls!r} in {layer_name!r}")
                for n, row in enumerate(hits, start=1):
                    sid = spec.id.format(id=table.ids[row], n=n)
                    top = _feature_top(scene, layer_name, int(row))
                    placed.append((sid, top, layer_name, int(row)))
        except KeyError as exc:
            key = "feature.layer" if spec.feature else "each.layer"
            raise fail(key, str(exc).strip("'\"")) from None
        if spec.attach is not None and placed:
            try:
                near = _nearest_rows(scene, spec.attach, np.array([p[1][:2] for p in placed]))
            except KeyError as exc:
                raise fail("attach", str(exc).strip("'\"")) from None
            placed = [(p[0], p[1], spec.attach, int(r)) for p, r in zip(placed, near, strict=True)]
        rows.extend({**base, "id": sid, "pos": pos, "layer": la, "row": rw}
                    for sid, pos, la, rw in placed)
    if not rows:
        return SensorSet.empty()
    ids = [r["id"] for r in rows]
    dupes = sorted({s for s in ids if ids.count(s) > 1}) if len(set(ids)) != len(ids) else []
    if dupes:
        raise SceneFileError(path, "sensors", f"duplicate sensor id {dupes[0]!r}")

    def col(name: str, dtype=object) -> np.ndarray:
        return np.array([r[name] for r in rows], dtype=dtype)

    return SensorSet(
        ids=col("id"), kinds=col("kind"), units=col("unit"), names=col("name"),
        positions=np.array([r["pos"] for r in rows], dtype=np.float64).reshape(-1, 3),
        layer=col("layer"), row=col("row", np.int64),
        warning=col("warning", np.float64), alarm=col("alarm", np.float64),
        params=[r["params"] for r in rows],
        hysteresis=col("hysteresis", np.float64), clear_after=col("clear_after", np.int64),
    )


def levels(values: np.ndarray, warning: np.ndarray, alarm: np.ndarray) -> np.ndarray:
    """(n,) int8 alert level per sensor: 0 normal, 1 warning, 2 alarm, -1 no data.

    ``alarm < warning`` flips the comparison (lower is worse). NaN thresholds
    never trigger.
    """
    v = np.asarray(values, dtype=np.float64)
    lower = alarm < warning
    sign = np.where(lower, -1.0, 1.0)
    with np.errstate(invalid="ignore"):
        warn = (sign * v >= sign * warning) & np.isfinite(warning)
        alrm = (sign * v >= sign * alarm) & np.isfinite(alarm)
    out = np.where(alrm, 2, np.where(warn, 1, 0)).astype(np.int8)
    out[~np.isfinite(v)] = -1
    return out


def levels_hysteresis(values: np.ndarray, warning: np.ndarray, alarm: np.ndarray,
                      band: np.ndarray, clear_after: np.ndarray, previous: np.ndarray,
                      count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One sample step of alert levels with hysteresis, for all sensors at once.

    A level rises as soon as the value reaches its threshold (as :func:`levels`)
    but falls only once the value has stayed past the threshold less ``band``
    (the clear level; above it for lower-is-worse) for ``clear_after`` samples
    in a row, so a noisy value hovering at a threshold does not flap. Falling
    from alarm lands on the highest level whose clear test still fails.

    Parameters
    ----------
    previous : (n,) int8 levels of the last step (-1: no data, no memory).
    count : (n,) int64 samples in a row each sensor has spent clear of its level.

    Returns the new levels and counts (fresh arrays).
    """
    v = np.asarray(values, dtype=np.float64)
    raw = levels(v, warning, alarm)
    band = np.where(np.isfinite(band), band, 0.0)
    sign = np.where(alarm < warning, -1.0, 1.0)
    with np.errstate(invalid="ignore"):
        # still "held" at a level: past the threshold less the band
        held_alarm = (sign * v > sign * alarm - band) & np.isfinite(alarm)
        held_warn = (sign * v > sign * warning - band) & np.isfinite(warning)
    held = np.where(held_alarm, 2, np.where(held_warn, 1, 0)).astype(np.int8)
    prev = np.asarray(previous, dtype=np.int8)
    falling = (prev > raw) & (raw >= 0)
    # samples in a row below the level held now: counts only while falling
    target = np.maximum(raw, np.minimum(held, prev))
    clear_now = falling & (target < prev)
    count = np.where(clear_now, np.asarray(count) + 1, 0)
    release = clear_now & (count >= np.asarray(clear_after))
    out = np.where(falling & ~release, prev, np.where(falling, target, raw)).astype(np.int8)
    count = np.where(release, 0, count)
    return out, count.astype(np.int64)
