"""The simulation layer: sensors, feeds, history, clock and overlays (no Qt).

``Scene + Clock(t) -> overlays -> per-cell colours / extra meshes -> SceneView``.
The app, tour exports and tests share this package; see
:class:`twin.sim.simulation.Simulation` for the one object the GUI needs.
"""

from __future__ import annotations
