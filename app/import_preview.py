"""The window's side of a progressive IFC import (issue 20): each batch the
import thread built (:class:`importers.ifc.progressive.PreviewBatch`, with its
actor from :func:`twin.render.preview.batch_actor`) becomes one more part of
the import's one overlay prop in the view (a ``vtkAssembly``), so the model
grows on screen while it is meshed, and the final layer replaces it with one
removal.

The GUI thread only adds the ready actor to the view and asks for a frame:
the triangles, their colours, the placement and the actor were made on the
import thread, and a new actor uploads only its own triangles (a growing single
mesh would re-upload the whole model every batch). The actors are not
pickable: a click on the model while it loads picks nothing, and the real
layer (one actor, picking, attributes) replaces them all in the frame that
shows it. Wall-clock facts (first batch on screen, time spent here per
batch) are kept for the benchmark and the tests.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer

from twin.render.preview import batch_group, last_frame_seconds, show_batch

#: Overlay-actor name prefix of preview batches.
PREFIX = "import-preview"
#: The first batch of an import into an empty view frames the camera at this
#: many times the batch's diagonal (m), at least MIN_DISTANCE_M.
FRAME_FACTOR = 2.5
MIN_DISTANCE_M = 30.0
#: Batches are drawn at most once per this many of the view's last frame
#: times (and per MIN_INTERVAL_S): on software GL a frame of a large model
#: costs a second, and the window must keep answering between frames.
FRAME_SHARE = 3.0
MIN_INTERVAL_S = 0.3


class ImportPreview:
    """The preview actors of one import in one view."""

    def __init__(self, view: Any, scene: Any, parent: QObject | None = None) -> None:
        self.view = view
        self.scene = scene
        # The final layer's arrival imports this on its first use (the view's
        # looks); without byte-code caches compiling it costs the swap 17-30 ms.
        import twin.textures  # noqa: F401

        #: one overlay actor (a vtkAssembly of the batch actors) per import
        self.name = f"{PREFIX}:{id(self)}"
        self.group = batch_group()
        #: one name per batch actor shown (parts of ``group``)
        self.names: list[str] = []
        self.pending: list[Any] = []
        self._next_at = 0.0
        #: a child of the window: closing the window stops it (no draw into a closed view)
        self._timer = QTimer(parent)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._draw)
        self.started = time.monotonic()
        #: seconds from the start of the import to the first batch in the view
        self.first_shown_s: float | None = None
        #: GUI-thread milliseconds spent adding each batch (the frame not included)
        self.add_ms: list[float] = []
        self.elements = 0
        self.total = 0
        self.closed = False

    def add(self, batch: Any) -> None:
        """Draw one batch now, or with the next ones when the last frame was
        recent (see FRAME_SHARE); GUI thread."""
        if self.closed or batch.mesh.n_cells == 0:
            return
        self.pending.append(batch)
        wait = self._next_at - time.monotonic()
        if wait <= 0:
            self._draw()
        elif not self._timer.isActive():
            self._timer.start(int(wait * 1000) + 1)

    def _draw(self) -> None:
        if self.closed or not self.pending:
            return
        t0 = time.perf_counter()
        if not self.names and self.scene.local_bounds() is None:
            self._frame(self.pending[0].bounds)
        for batch in self.pending:
            show_batch(self.view, self.name, self.group, batch.actor)
            self.names.append(f"{self.name}:{len(self.names)}")
            self.elements, self.total = int(batch.shown), int(batch.total)
        self.pending = []
        self.view.request_frame()
        self.add_ms.append((time.perf_counter() - t0) * 1000.0)
        if self.first_shown_s is None:
            self.first_shown_s = time.monotonic() - self.started
        frame = last_frame_seconds(self.view)
        self._next_at = time.monotonic() + max(MIN_INTERVAL_S, FRAME_SHARE * frame)

    def _frame(self, bounds: tuple[float, ...]) -> None:
        """Point the camera at the first batch when nothing else is shown."""
        b = np.asarray(bounds, dtype=float)
        if b.size != 6 or not np.all(np.isfinite(b)):
            return
        lo, hi = b[0::2], b[1::2]
        distance = max(float(np.linalg.norm(hi - lo)) * FRAME_FACTOR, MIN_DISTANCE_M)
        self.view.look_at((lo + hi) / 2, distance)

    def clear(self) -> bool:
        """Remove every preview actor (no frame asked; one prop, whatever the
        number of batches); True when there were any."""
        self.closed = True
        self._timer.stop()
        self.pending = []
        had = bool(self.names)
        if had:
            self.view.remove_overlay_actor(self.name)
        self.names = []
        return had


class SwapWatch:
    """Looks at every frame of ``view`` while ``path`` is imported: is the
    preview drawn, is the final layer drawn? The swap is atomic when no frame
    shows both and, once the first batch was drawn, none shows neither (the
    benchmark and the tests ask; the window does not need it)."""

    def __init__(self, view: Any, preview: ImportPreview, path: Any) -> None:
        from pathlib import Path

        self.view = view
        self.preview = preview
        self.path = Path(path).resolve()
        #: (preview drawn, final layer drawn) at the start of each frame
        self.frames: list[tuple[bool, bool]] = []
        self._window = view.plotter.ren_win
        self._tag = self._window.AddObserver("StartEvent", self._frame)

    def _frame(self, *_: Any) -> None:
        from pathlib import Path

        previewing = self.preview.name in self.view.overlay_actors
        final = any(
            la.source is not None and Path(la.source).resolve() == self.path
            for la in self.view.actors
        )
        self.frames.append((previewing, final))

    def stop(self) -> None:
        self._window.RemoveObserver(self._tag)

    def verdict(self) -> str:
        """``ok (N frames)``, or what went wrong and in how many frames."""
        both = sum(p and f for p, f in self.frames)
        first = next((i for i, (p, _) in enumerate(self.frames) if p), len(self.frames))
        neither = sum(not p and not f for p, f in self.frames[first:])
        if both or neither:
            return f"both in {both} frames, neither in {neither}"
        return f"ok ({len(self.frames)} frames)"
