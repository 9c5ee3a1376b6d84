"""Overlays: (scene, sensor values at the clock time) -> colours and extra meshes.

Each module computes with numpy and holds no plotter; :mod:`twin.sim.simulation`
hands results to :class:`twin.render.SceneView` (per-feature colours through the
existing per-cell colour array, extra actors through ``add_overlay_actor``).
"""

from __future__ import annotations
