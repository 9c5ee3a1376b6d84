"""The fast path's prisms (importers.ifc.fastpath.mesh): closed, outward, of
the profile's volume; quads whose fixed split would lie are left to the kernel."""

from __future__ import annotations

import numpy as np
import pytest

from importers.ifc.fastpath import mesh
from importers.ifc.fastpath.placement import Unsupported
from importers.ifc.fastpath.profiles import oriented, signed_area


def _signed_volume(verts: np.ndarray, faces: np.ndarray) -> float:
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def _closed(verts: np.ndarray, faces: np.ndarray) -> bool:
    """Every edge (by position: caps and sides have their own vertices) is
    used once in each direction."""
    key = np.round(verts, 9)
    _, ids = np.unique(key, axis=0, return_inverse=True)
    f = ids.reshape(-1)[faces]
    edges = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    forward = {tuple(e) for e in edges.tolist()}
    return len(forward) == len(edges) and all((b, a) in forward for a, b in forward)


def _polygon(rng: np.random.Generator) -> np.ndarray:
    n = int(rng.integers(3, 9))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    return np.stack([np.cos(angles), np.sin(angles)], axis=1) * rng.uniform(0.2, 5.0)


@pytest.mark.parametrize("seed", range(40))
def test_a_prism_is_closed_outward_and_of_the_profile_volume(seed):
    rng = np.random.default_rng(seed)
    loops = oriented([_polygon(rng)])
    if seed % 4 == 0:  # a rectangle with a rectangular hole
        loops = oriented([np.array([[0, 0], [4, 0], [4, 3], [0, 3.0]]),
                          np.array([[1, 1], [2, 1], [2, 2], [1, 2.0]])])
    direction = np.array([*rng.uniform(-0.4, 0.4, 2), rng.choice([-1.0, 1.0])])
    direction /= np.linalg.norm(direction)
    depth = float(rng.uniform(0.1, 10))
    verts, faces = mesh.extrude(loops, direction, depth)
    area = sum(signed_area(lp) for lp in loops)
    expected = area * depth * abs(direction[2])
    assert _signed_volume(verts, faces) == pytest.approx(expected, rel=1e-9)
    assert _closed(verts, faces)


@pytest.mark.parametrize(
    ("quad", "meshed"),
    [
        ([[0, 0], [2, 0], [2, 1], [0, 1]], True),  # rectangle
        ([[0, 0], [2, 0], [1, 0.2], [1, 2]], True),  # reflex at 2: the 0-2 split is inside
        ([[0, 0], [2, 0], [2, 2], [1.9, 0.1]], False),  # reflex at 3: the 0-2 split is outside
        ([[0, 0], [2, 2], [2, 0], [0, 2]], False),  # a bow tie
    ],
)
def test_a_quad_is_meshed_only_where_its_split_covers_it(quad, meshed):
    loop = np.array(quad, dtype=float)
    if signed_area(loop) < 0:
        loop = loop[::-1].copy()
    if not meshed:
        with pytest.raises(Unsupported):
            mesh.extrude([loop], np.array([0, 0, 1.0]), 1.0)
        return
    verts, faces = mesh.extrude([loop], np.array([0, 0, 1.0]), 1.0)
    assert _signed_volume(verts, faces) == pytest.approx(signed_area(loop), rel=1e-12)
    assert _closed(verts, faces)


def test_shared_templates_are_not_changed_by_a_caller():
    loop = np.array([[0, 0], [1, 0], [1, 1], [0, 1.0]])
    verts, faces = mesh.extrude([loop], np.array([0, 0, 1.0]), 2.0)
    faces += 100  # the caller's copy
    again = mesh.extrude([loop], np.array([0, 0, 1.0]), 2.0)[1]
    assert again.min() == 0 and again.max() == len(verts) - 1
