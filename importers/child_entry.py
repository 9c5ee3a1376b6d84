"""What a reader child runs, kept apart from :mod:`importers.ifc.worker`.

A child of :mod:`importers.childpool` waits for one job: an IFC import
(:func:`importers.ifc.worker.main`) or a sandboxed call
(:func:`importers.sandbox_child.run_in_child`), so one spare serves both.


Starting a process pickles its target by reference, so the parent imports the
target's module. ``worker`` imports IfcOpenShell, whose native library takes
~100 ms to load while holding the GIL: done in the app's import thread, that
froze the GUI thread. This module imports nothing; the child finds ``worker``
already loaded by the forkserver.
"""

from __future__ import annotations

from typing import Any


def serve(conn: Any) -> None:
    try:
        job = conn.recv()
    except (EOFError, OSError):
        return  # the parent went away or retired the spare
    if "call" in job:
        from importers import sandbox_child

        sandbox_child.run_in_child(conn, job)
    else:
        from importers.ifc import worker

        worker.main(conn, job)
