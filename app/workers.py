"""Imports off the GUI thread: a QObject worker in a QThread around ``importers.open``.

The worker only reads the scene (CRS, origin) and returns layers; the window
adds them to the scene on the GUI thread, and only when the import succeeded,
so a failed or cancelled import leaves the scene as it was. Progress callbacks
come from the worker thread and are throttled before they cross to the GUI
(a million-feature import must not flood the event loop). Nothing here touches
a VTK object that is on screen (RELIABILITY F6).

An IFC import also streams ``batch`` es (:class:`importers.ifc.progressive.PreviewBatch`,
meshes built on the worker thread) for the window to draw while the model is
meshed, and a cancelled one ends in ``partial`` with the layers of what had
arrived (issue 20).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

import importers
from twin.scene import Scene

PROGRESS_INTERVAL_S = 0.05


class ImportWorker(QObject):
    """Runs one import; emits exactly one of ``succeeded``, ``failed``,
    ``cancelled`` and ``partial`` (cancelled, with the layers read so far)."""

    progress = Signal(int, int)
    batch = Signal(object)  # PreviewBatch (IFC only)
    succeeded = Signal(object)  # list[Layer]
    failed = Signal(str)
    cancelled = Signal()
    partial = Signal(object)  # list[Layer], marked partial

    def __init__(
        self,
        path: Path,
        scene: Scene,
        options: dict[str, Any] | None = None,
        importer: str | None = None,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.scene = scene
        self.options = dict(options or {})
        self.importer = importer
        self.cancel_event = threading.Event()
        self._last = 0.0
        #: builds the layers' drawing on this thread before they reach the GUI
        #: thread (``SceneView.prepare``), which then only adopts it
        self.prepare: Callable[[list], None] | None = None

    def _progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last >= PROGRESS_INTERVAL_S or done >= total:
            self._last = now
            self.progress.emit(int(done), int(total))

    def _batch(self, batch) -> None:
        """A preview batch, its actor built here on the import thread (the GUI
        thread only adds it to the view)."""
        from twin.render.preview import batch_actor

        batch.actor = batch_actor(batch.mesh)
        self.batch.emit(batch)

    def _open(self) -> list:
        """``importers.open``; an IFC file with a preview of its batches."""
        if self.path.is_file() and importers.importer_for(self.path, self.importer) == "ifc":
            from importers import ifc

            return ifc.read(
                self.path,
                self.scene,
                self.options,
                self._progress,
                self.cancel_event,
                preview=self._batch,
            )
        return importers.open(
            self.path,
            self.scene,
            self.options,
            self._progress,
            self.cancel_event,
            importer=self.importer,
        )

    @Slot()
    def run(self) -> None:
        from importers.errors import PartialImport

        try:
            layers = self._open()
        except PartialImport as exc:
            self._prepare(exc.layers)
            self.partial.emit(exc.layers)
        except importers.ImportCancelled:
            self.cancelled.emit()
        except Exception as exc:  # every failure becomes a readable one-line message
            if self.cancel_event.is_set():
                self.cancelled.emit()
            else:
                self.failed.emit(one_line(exc, self.path))
        else:
            if self.cancel_event.is_set():
                self.cancelled.emit()
            else:
                self._prepare(layers)
                self.succeeded.emit(layers)

    def _prepare(self, layers: list) -> None:
        """Draw-ready layers (a failure here only leaves the work to the GUI thread)."""
        if self.prepare is not None:
            with contextlib.suppress(Exception):
                self.prepare(layers)

    def cancel(self) -> None:
        self.cancel_event.set()


def one_line(exc: BaseException, path: Path) -> str:
    """A message a planner can read: the exception's first line, naming the file."""
    from twin.errors import first_line

    text = first_line(exc)
    if isinstance(exc, importers.ImportFailed) or path.name in text:
        return text
    return f"{path.name}: {text}"


class ImportJob(QObject):
    """A worker plus its thread, living on the GUI thread.

    The worker's signals are re-emitted by this object, so every handler the
    window connects runs on the GUI thread (queued across threads), never in
    the worker thread; ``done`` fires after the thread has really ended.
    """

    progress = Signal(int, int)
    batch = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    partial = Signal(object)
    done = Signal(object)  # self

    def __init__(self, worker: ImportWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName(f"import:{worker.path.name}")
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        worker.progress.connect(self.progress)
        worker.batch.connect(self.batch)
        worker.succeeded.connect(self.succeeded)
        worker.failed.connect(self.failed)
        worker.cancelled.connect(self.cancelled)
        worker.partial.connect(self.partial)
        #: names of the view's preview actors of this import (the window's)
        self.previews: list[str] = []
        for signal in (worker.succeeded, worker.failed, worker.cancelled, worker.partial):
            signal.connect(self.thread.quit)
        self.thread.finished.connect(self._on_finished)

    def start(self) -> None:
        self.thread.start()

    @Slot()
    def cancel(self) -> None:
        """Ask the import to stop (runs on the GUI thread; the worker polls the event)."""
        self.worker.cancel_event.set()

    @Slot()
    def _on_finished(self) -> None:
        self.thread.wait()
        self.done.emit(self)

    def wait(self, ms: int = 30000) -> bool:
        return self.thread.wait(ms)
