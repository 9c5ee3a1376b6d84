"""Imports off the GUI thread: a QObject worker in a QThread around ``importers.open``.

The worker only reads the scene (CRS, origin) and returns layers; the window
adds them to the scene on the GUI thread, and only when the import succeeded,
so a failed or cancelled import leaves the scene as it was. Progress callbacks
come from the worker thread and are throttled before they cross to the GUI
(a million-feature import must not flood the event loop). Nothing here touches
a VTK object that is on screen (RELIABILITY F6).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

import importers
from twin.scene import Scene

PROGRESS_INTERVAL_S = 0.05


class ImportWorker(QObject):
    """Runs one import; emits exactly one of ``succeeded``, ``failed``, ``cancelled``."""

    progress = Signal(int, int)
    succeeded = Signal(object)  # list[Layer]
    failed = Signal(str)
    cancelled = Signal()

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

    def _progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last >= PROGRESS_INTERVAL_S or done >= total:
            self._last = now
            self.progress.emit(int(done), int(total))

    @Slot()
    def run(self) -> None:
        try:
            layers = importers.open(
                self.path,
                self.scene,
                self.options,
                self._progress,
                self.cancel_event,
                importer=self.importer,
            )
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
                self.succeeded.emit(layers)

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
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    done = Signal(object)  # self

    def __init__(self, worker: ImportWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName(f"import:{worker.path.name}")
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        worker.progress.connect(self.progress)
        worker.succeeded.connect(self.succeeded)
        worker.failed.connect(self.failed)
        worker.cancelled.connect(self.cancelled)
        for signal in (worker.succeeded, worker.failed, worker.cancelled):
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
