"""Placements as 4x4 matrices in metres, composed the way the kernel does.

IfcOpenShell builds an ``IfcAxis2Placement3D`` from its Z axis and the part of
its reference direction orthogonal to Z (Gram-Schmidt), and chains
``IfcLocalPlacement`` by ``PlacementRelTo``. Anything else (grid or linear
placements, degenerate or tilted axes without a reference direction, cycles)
raises :class:`Unsupported`, so the element goes to the kernel instead of
being placed differently. Small vectors are plain floats: numpy's per-call
cost would dominate (this runs for every element).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class Unsupported(Exception):
    """A construct the fast path leaves to the kernel."""


# Attribute positions, the same in IFC2X3, IFC4 and IFC4X3 (index access
# skips the name lookup of ``entity.Name``).
LOCATION, AXIS, REFDIR = 0, 1, 2
REL_TO, RELATIVE = 0, 1


def _unit(v: Any, default: tuple[float, ...]) -> tuple[float, ...]:
    if v is None:
        return default
    a = tuple(float(c) for c in v[0])
    n = math.sqrt(sum(c * c for c in a))
    if not math.isfinite(n) or n < 1e-12:
        raise Unsupported("degenerate direction")
    return tuple(c / n for c in a)


def axis2(ax: Any, unit: float) -> np.ndarray:
    """``IfcAxis2Placement3D`` / ``2D`` -> 4x4 (translation in metres)."""
    if ax is None:
        return np.eye(4)
    kind = ax.is_a()
    loc = [float(c) * unit for c in ax[LOCATION][0]]
    if kind == "IfcAxis2Placement3D":
        zx, zy, zz = _unit(ax[AXIS], (0.0, 0.0, 1.0))
        ref = ax[REFDIR]
        if ref is None and zz < 1.0 - 1e-12:
            # the kernel then picks X by its own rule, not the schema's
            raise Unsupported("tilted axis without a reference direction")
        xx, xy, xz = _unit(ref, (1.0, 0.0, 0.0))
        d = xx * zx + xy * zy + xz * zz
        xx, xy, xz = xx - d * zx, xy - d * zy, xz - d * zz
        n = math.sqrt(xx * xx + xy * xy + xz * xz)
        if n < 1e-9:
            raise Unsupported("reference direction parallel to the axis")
        xx, xy, xz = xx / n, xy / n, xz / n
        yx, yy, yz = zy * xz - zz * xy, zz * xx - zx * xz, zx * xy - zy * xx
        tx, ty, tz = (*loc, 0.0, 0.0)[:3]
        rows = ((xx, yx, zx, tx), (xy, yy, zy, ty), (xz, yz, zz, tz), (0.0, 0.0, 0.0, 1.0))
    elif kind == "IfcAxis2Placement2D":
        ref = ax[1]
        x0, x1 = _unit(ref, (1.0, 0.0))[:2]
        tx, ty = loc[:2]  # a point of fewer coordinates raises, as before
        rows = ((x0, -x1, 0.0, tx), (x1, x0, 0.0, ty), (0.0, 0.0, 1.0, 0.0), (0.0, 0.0, 0.0, 1.0))
    else:
        raise Unsupported(f"placement {kind}")
    return np.array(rows)  # one numpy call: this runs for every placement


class Placements:
    """Object placements of one file, each chain link computed once."""

    def __init__(self, unit: float) -> None:
        self.unit = unit
        self.cache: dict[int, np.ndarray] = {}
        self.axes: dict[int, np.ndarray] = {}
        #: Placements computed in bulk (:mod:`.resolved`): id -> row of ``table``.
        self.rows: dict[int, int] = {}
        self.table = np.zeros((0, 4, 4))

    def axis(self, ax: Any) -> np.ndarray:
        if ax is None:
            return IDENTITY
        key = ax.id()
        m = self.axes.get(key)
        if m is None:
            m = self.axes[key] = axis2(ax, self.unit)
        return m

    def of(self, placement: Any, depth: int = 0) -> np.ndarray:
        if placement is None:
            return IDENTITY
        key = placement.id()
        m = self.cache.get(key)
        if m is not None:
            return m
        row = self.rows.get(key)
        if row is not None:
            return self.table[row]
        if depth > 256:
            raise Unsupported("placement chain too deep or cyclic")
        if placement.is_a() != "IfcLocalPlacement":
            raise Unsupported(placement.is_a())
        relative = placement[RELATIVE]
        if relative is None:  # required: a dangling reference, the kernel's to report
            raise Unsupported("placement without its axes")
        rel = self.axis(relative)
        parent = placement[REL_TO]
        m = rel if parent is None else self.of(parent, depth + 1) @ rel
        if not np.all(np.isfinite(m)):
            raise Unsupported("placement not finite")
        self.cache[key] = m
        return m


IDENTITY = np.eye(4)
IDENTITY.flags.writeable = False


def operator(op: Any, unit: float) -> np.ndarray:
    """``IfcCartesianTransformationOperator3D`` with default axes and a uniform
    scale (the common mapped-item target) -> 4x4; other operators raise."""
    if op is None:
        return IDENTITY
    if op.is_a() != "IfcCartesianTransformationOperator3D":
        raise Unsupported(op.is_a())
    for name in ("Axis1", "Axis2", "Axis3"):
        if getattr(op, name) is not None:
            raise Unsupported("transformation operator with explicit axes")
    s = 1.0 if op.Scale is None else float(op.Scale)
    if not math.isfinite(s) or s <= 0:
        raise Unsupported("bad operator scale")
    m = np.eye(4)
    m[:3, :3] *= s
    loc = [float(c) * unit for c in op.LocalOrigin.Coordinates]
    m[:3, 3] = (*loc, 0.0, 0.0)[:3]
    return m
