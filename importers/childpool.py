"""The pool of child processes that isolate every native reader.

IfcOpenShell, GDAL (pyogrio) and rasterio are native code: a damaged file can
segfault them or loop, and Python can catch neither. Every read of an untrusted
file runs in a child forked from one forkserver that has preloaded those
libraries (a child starts in ~30 ms instead of ~0.8 s with ``spawn``); one spare
child is kept forked and waiting. :mod:`importers.ifc.runner` (IFC imports) and
:mod:`importers.sandbox` (GDAL and rasterio reads) take their children here;
:mod:`importers.child_entry` is what a child runs.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing as mp
import os
import select
import signal
import threading
import time
from typing import Any

_CTX: Any = None
_CTX_LOCK = threading.Lock()


def context() -> Any:
    """The multiprocessing context for workers.

    ``forkserver`` where available: the app has Qt and VTK threads, so plain
    ``fork`` is unsafe, while forking from a small server that has preloaded
    IfcOpenShell starts a worker in about 30 ms (``spawn`` takes ~0.8 s).
    """
    global _CTX
    with _CTX_LOCK:
        if _CTX is None:
            if "forkserver" in mp.get_all_start_methods():
                ctx = mp.get_context("forkserver")
                # GDAL readers too: importers.sandbox runs them in the same workers.
                ctx.set_forkserver_preload(
                    [
                        "importers.ifc.preload",
                        "importers.gdal_read",
                        "pyogrio",
                        "importers.raster_read",
                        "rasterio",
                    ]
                )
            else:
                ctx = mp.get_context("spawn")
            _CTX = ctx
        return _CTX


_PREP_LOCK = threading.Lock()

#: A worker's pid comes back from the forkserver in milliseconds, or after the
#: forkserver's own start-up (preloading IfcOpenShell, GDAL: seconds on a loaded
#: machine). Past this the forkserver is taken as hung and is restarted.
FORKSERVER_ANSWER_S = 60.0

try:  # POSIX only; elsewhere the worker uses plain ``spawn``
    from multiprocessing import forkserver as _forkserver
    from multiprocessing import popen_forkserver as _popen_forkserver
    from multiprocessing import spawn as _spawn
    from multiprocessing.context import ForkServerProcess as _ForkServerProcess
except ImportError:  # pragma: no cover - Windows
    _popen_forkserver = None


if _popen_forkserver is not None:

    class _NoMainPopen(_popen_forkserver.Popen):
        """Forkserver launch without the main-module entries (see :class:`_WorkerProcess`)."""

        def _launch(self, process_obj: Any) -> None:
            original = _spawn.get_preparation_data

            def prep(name: str) -> dict[str, Any]:
                data = original(name)
                data.pop("init_main_from_name", None)
                data.pop("init_main_from_path", None)
                return data

            with _PREP_LOCK:
                _spawn.get_preparation_data = prep
                _forkserver.read_signed = _read_signed_in_time
                try:
                    super()._launch(process_obj)
                finally:
                    _spawn.get_preparation_data = original
                    _forkserver.read_signed = _read_signed

    class _WorkerProcess(_ForkServerProcess):
        """A forkserver process that does not re-run the caller's ``__main__``.

        ``spawn``/``forkserver`` children normally re-import the main script so
        that functions pickled from it resolve; the worker's target lives in
        this package, so that is pure cost, and it breaks callers whose script
        has no ``if __name__ == "__main__"`` guard.
        """

        @staticmethod
        def _Popen(process_obj: Any) -> Any:
            return _NoMainPopen(process_obj)


if _popen_forkserver is not None:
    _read_signed = _forkserver.read_signed

    def _read_signed_in_time(fd: int) -> int:
        """The forkserver's answer (a new worker's pid), or :class:`TimeoutError`
        when it does not come: a hung forkserver must not hang every import."""
        ready, _, _ = select.select([fd], [], [], FORKSERVER_ANSWER_S)
        if not ready:
            raise TimeoutError(f"the reader forkserver did not answer in {FORKSERVER_ANSWER_S:g} s")
        return _read_signed(fd)


def _restart_forkserver() -> None:
    """Kill a forkserver that stopped answering; the next worker starts a new one."""
    server = getattr(_forkserver, "_forkserver", None)
    pid = getattr(server, "_forkserver_pid", None)
    if server is None or pid is None:
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    with server._lock, contextlib.suppress(OSError, TypeError):
        server._stop_unlocked()


def _process_class(ctx: Any) -> Any:
    if ctx.get_start_method() == "forkserver" and _popen_forkserver is not None:
        return _WorkerProcess
    return ctx.Process


def warm_up() -> None:
    """Start the forkserver now (e.g. at app start) so the first import does
    not pay its ~1 s start-up, and fork a spare worker for it."""
    ctx = context()
    if ctx.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()
    prepare_spare()


# -- worker processes: one spare is kept forked and waiting ---------------------------
_SPARE: tuple[Any, Any] | None = None
_SPARE_LOCK = threading.Lock()


def _start_worker() -> tuple[Any, Any]:
    """Fork a worker that waits for its job on the returned connection."""
    from importers import child_entry  # imports nothing heavy: see its docstring

    for attempt in (1, 2):
        ctx = context()
        mine, theirs = ctx.Pipe(duplex=True)
        proc = _process_class(ctx)(target=child_entry.serve, args=(theirs,), daemon=True)
        try:
            proc.start()
        except TimeoutError:
            mine.close()
            if attempt == 2:
                raise
            _restart_forkserver()  # hung: a fresh forkserver, then once more
            continue
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()
        return proc, mine
    raise AssertionError("unreachable")


def _retire(worker: tuple[Any, Any]) -> None:
    proc, conn = worker
    with contextlib.suppress(OSError):
        conn.close()  # the spare reads EOF and returns
    _stop(proc, at_once=True)


def take_worker() -> tuple[Any, Any]:
    """The spare worker if one is waiting and alive, else a freshly forked one.

    Forking costs ~25 ms of the import's wall time; the spare was forked in the
    background after the previous import (or by :func:`warm_up`).
    """
    global _SPARE
    with _SPARE_LOCK:
        spare, _SPARE = _SPARE, None
    if spare is not None:
        if spare[0].is_alive():
            return spare
        _retire(spare)
    return _start_worker()


#: After an import the app draws the new layer: a software-GL frame needs both
#: cores, so the spare is forked a little later.
SPARE_DELAY_S = 0.5


def prepare_spare(delay: float = 0.0) -> None:
    """Fork the next import's worker in the background (no-op if one waits)."""

    if _CLOSING.is_set():
        return

    def fork() -> None:
        global _SPARE
        if delay:
            _CLOSING.wait(delay)
        with _SPARE_LOCK:
            if _SPARE is not None or _CLOSING.is_set():
                return
        try:
            made = _start_worker()
        except (OSError, RuntimeError, ValueError):
            return  # the next import forks its own and reports any failure
        with _SPARE_LOCK:
            if _SPARE is None:
                _SPARE = made
                return
        _retire(made)

    threading.Thread(target=fork, name="reader-spare-worker", daemon=True).start()


def default_memory_limit_mb() -> float:
    """Three quarters of physical memory, at least 2 GB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    except (ValueError, OSError, AttributeError):
        total = 8192.0
    return max(2048.0, 0.75 * total)


def _rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            pages = int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _describe_death(code: int | None) -> str:
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            return f"crashed ({signal.Signals(-code).name})"
        except ValueError:
            return f"crashed (signal {-code})"
    return f"exited with code {code}"


def _stop(proc: Any, at_once: bool = False) -> None:
    """Terminate, then kill: a worker stuck in native code may ignore SIGTERM.

    ``at_once`` (a worker that has said all it had to say): kill it and reap it
    in the background: tearing down its memory takes ~8 ms that nobody needs
    to wait for.
    """
    if at_once and proc.is_alive():
        proc.kill()
        if _CLOSING.is_set():  # at exit: no new thread, see shutdown()
            _reap(proc)
            return
        threading.Thread(target=_reap, args=(proc,), name="reader-reaper", daemon=True).start()
        return
    if proc.is_alive():
        proc.terminate()
        proc.join(0.5)
    if proc.is_alive():
        proc.kill()
        proc.join(2.0)
    with contextlib.suppress(ValueError, AttributeError):
        proc.close()


def _reap(proc: Any) -> None:
    proc.join(5.0)
    with contextlib.suppress(ValueError, AttributeError):
        proc.close()


# -- shutdown at exit --------------------------------------------------------------------
_CLOSING = threading.Event()
#: names of the background threads that fork (prepare_spare) or reap (_stop) workers
_HELPER_THREADS = ("reader-spare-worker", "reader-reaper")


def shutdown(timeout: float = 5.0) -> None:
    """Stop forking spares, let forks and reaps in flight finish, and stop the spare.

    Runs at interpreter exit, before multiprocessing's own exit hook. Without it
    a short command (``citytwin info``) could end while a helper thread was busy,
    and print a traceback after its output (8 % of runs under load): a spare
    forked as the parent exited died reading its start-up data (``EOFError`` from
    the forkserver), and a reaper closed a process that multiprocessing's hook was
    about to join (``ValueError: process object is closed``). Idempotent; after
    it, workers are still forked on demand, only no spare is kept.
    """
    global _SPARE
    _CLOSING.set()
    deadline = time.monotonic() + timeout
    me = threading.current_thread()
    for thread in threading.enumerate():
        if thread.name in _HELPER_THREADS and thread is not me:
            thread.join(max(0.0, deadline - time.monotonic()))
    with _SPARE_LOCK:
        spare, _SPARE = _SPARE, None
    if spare is not None:
        _retire(spare)


def _register_shutdown() -> None:
    # atexit runs hooks last-registered-first: importing multiprocessing.util
    # registers its hook (which joins child processes) before ours.
    from multiprocessing import util  # noqa: F401

    atexit.register(shutdown)


_register_shutdown()
