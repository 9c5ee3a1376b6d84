"""Run one native-library read (GDAL through pyogrio or rasterio) in a child process.

GDAL, like IfcOpenShell, is native code: a damaged file can segfault it or make
it loop, and Python can catch neither (DESIGN: crash isolation; RELIABILITY:
0 crashes of the app). :func:`call` runs a module-level function in a worker
forked from the importers' forkserver (the IFC spare worker when one waits, so
it costs ~1 ms) and returns its result: plain numpy arrays and records. If the
child dies, stalls past its time budget or outgrows its memory budget, the
parent gets a one-line :class:`ImportFailed` naming the file, and survives.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any

from importers.errors import ImportCancelled, ImportFailed

POLL_SECONDS = 0.05
#: A read gets 2 minutes plus 2 s per MB of file before it counts as hung.
TIME_BASE_S = 120.0
TIME_PER_MB_S = 2.0


def call(
    path: Path,
    function: str,
    *args: Any,
    cancel: threading.Event | None = None,
    time_limit_s: float | None = None,
    memory_limit_mb: float | None = None,
    **kwargs: Any,
) -> Any:
    """``module:function(*args, **kwargs)`` in a child process; its return value.

    An exception raised by the function is re-raised here when it pickles (so
    callers keep their ``except`` clauses); a crash, hang or memory blow-up is
    an :class:`ImportFailed` for ``path``.
    """
    from importers import childpool as runner

    path = Path(path)
    if time_limit_s is None:
        try:
            size_mb = path.stat().st_size / 2**20
        except OSError:
            size_mb = 0.0
        time_limit_s = TIME_BASE_S + TIME_PER_MB_S * size_mb
    memory_limit_mb = memory_limit_mb or runner.default_memory_limit_mb()
    try:
        proc, conn = runner.take_worker()
    except (OSError, RuntimeError, ValueError) as exc:
        raise ImportFailed(path, f"cannot start a reader process ({exc})") from None
    started = time.monotonic()
    try:
        conn.send({"call": function, "args": args, "kwargs": kwargs})
        while True:
            if cancel is not None and cancel.is_set():
                raise ImportCancelled(str(path))
            try:
                if conn.poll(POLL_SECONDS):
                    tag, value = conn.recv()
                    if tag == "raised":
                        raise value
                    return value
            except (EOFError, OSError):
                proc.join(2.0)
                raise ImportFailed(
                    path, f"the file reader {runner._describe_death(proc.exitcode)} on this file"
                ) from None
            if not proc.is_alive() and not conn.poll(0):
                raise ImportFailed(
                    path, f"the file reader {runner._describe_death(proc.exitcode)} on this file"
                )
            if time.monotonic() - started > time_limit_s:
                raise ImportFailed(path, f"reading took longer than {time_limit_s:.0f} s")
            rss = runner._rss_mb(proc.pid)
            if rss is not None and rss > memory_limit_mb:
                raise ImportFailed(
                    path, f"reading used {rss:.0f} MB, over the {memory_limit_mb:.0f} MB budget"
                )
    finally:
        runner._stop(proc, at_once=True)
        with contextlib.suppress(OSError):
            conn.close()
        runner.prepare_spare()
