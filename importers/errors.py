"""The one error type importers raise for a file they cannot read."""

from __future__ import annotations

from pathlib import Path


class ImportFailed(Exception):
    """A file could not be imported; the text is one line naming file and problem."""

    def __init__(self, path: Path | str, message: str) -> None:
        self.path, self.message = Path(path), message
        super().__init__(f"{path}: {message}")


class ImportCancelled(Exception):
    """The caller set the cancel event; nothing was added to the scene."""


class PartialImport(ImportCancelled):
    """Cancelled, but what had been read is kept: ``layers`` (marked partial)
    are for the caller to add or drop (the window adds them: they are what
    it was already showing)."""

    def __init__(self, path: Path | str, layers: list) -> None:
        self.path, self.layers = Path(path), layers
        super().__init__(str(path))
