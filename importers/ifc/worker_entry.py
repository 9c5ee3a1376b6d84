"""The worker process's entry point, kept apart from :mod:`importers.ifc.worker`.

Starting a process pickles its target by reference, so the parent imports the
target's module. ``worker`` imports IfcOpenShell, whose native library takes
~100 ms to load while holding the GIL: done in the app's import thread, that
froze the GUI thread. This module imports nothing; the child finds ``worker``
already loaded by the forkserver.
"""

from __future__ import annotations

from typing import Any


def serve(conn: Any) -> None:
    from importers.ifc import worker

    worker.serve(conn)
