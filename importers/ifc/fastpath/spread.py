"""The fast path on every core: forked copies of the worker mesh some batches.

The fast path is Python (reading attributes, numpy per element), so one
process meshes on one core however many the machine has. After the first
batch (drawn at once, bottom storey first), the worker forks helpers that
share the parsed file copy-on-write; each later batch is taken by whichever
of the worker and its helpers is free (:class:`Batches`). A helper meshes into its own
:class:`~importers.ifc.geometry.Collector` (its own numbering) and sends each
batch whole, with the elements the fast path handed to the kernel, to the
worker over a private pipe; only the worker talks to the parent, renumbering
a helper's chunks to follow its own (:meth:`Renumber.chunk`), so the parent
sees one ordered stream as before.

A batch is sent in one message after it is meshed: a helper that dies (a
crash in a curve, memory) loses the batches it had not sent, and their
elements go to the kernel, as an element the fast path fails on does.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import multiprocessing.connection
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from importers.ifc import memory
from importers.ifc.geometry import Collector

try:
    import fcntl
except ImportError:  # no fork there either: the worker meshes every batch alone
    fcntl = None

#: at most this many processes mesh (more cores are left to the kernel's threads)
MAX_PROCESSES = 8
#: a model with fewer batches after the first is not worth a fork
MIN_BATCHES = 2
#: memory a helper takes under the ``test_helper_bloat`` hook (MB)
BLOAT_MB = 384


def processes(job: dict[str, Any]) -> int:
    """How many processes mesh the fast path: the job's ``fastpath_processes``,
    else every core this process may run on (at most :data:`MAX_PROCESSES`)."""
    wanted = job.get("fastpath_processes")
    if wanted is None:
        try:
            wanted = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            wanted = os.cpu_count() or 1
    return int(max(1, min(int(wanted), MAX_PROCESSES)))


@dataclass
class Renumber:
    """A helper's geometry, material and triangle-count rows, mapped to the
    worker's numbering as its chunks are forwarded."""

    geometry: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    material: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    triangles: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    def chunk(self, chunk: dict[str, Any], g_first: int, m_first: int) -> tuple[dict, int]:
        """``chunk`` (the helper's numbering) renumbered so its rows start at
        ``g_first`` / ``m_first``, and the triangles its elements show."""
        ng, nm = len(chunk["g_nv"]), len(chunk["m_rgba"])
        if chunk["g_first"] != len(self.geometry) or chunk["m_first"] != len(self.material):
            raise ValueError("helper chunk out of sequence")
        self.geometry = np.concatenate([self.geometry, np.arange(g_first, g_first + ng)])
        self.material = np.concatenate([self.material, np.arange(m_first, m_first + nm)])
        self.triangles = np.concatenate([self.triangles, chunk["g_nf"]])
        out = dict(chunk, g_first=g_first, m_first=m_first)
        out["e_geom"] = self.geometry[chunk["e_geom"]].astype(np.int32)
        fmat = np.array(chunk["g_fmat"], dtype=np.int32)
        styled = fmat >= 0
        fmat[styled] = self.material[fmat[styled]]
        out["g_fmat"] = fmat
        return out, int(self.triangles[chunk["e_geom"]].sum())


def guided(start: int, stop: int, processes: int, least: int = 256, most: int = 2048
           ) -> list[tuple[int, int]]:  # fmt: skip
    """``(start, stop)`` batches covering ``range(start, stop)``, each half of
    an even share of what is left, within ``least`` .. ``most`` elements: large
    while much is left (fewer messages), small at the end, so no process waits
    long for another's last batch (2,048-element tails cost 0.46-0.7 s)."""
    out = []
    while start < stop:
        size = min(most, max(least, -(-(stop - start) // (2 * max(1, processes)))))
        out.append((start, min(stop, start + size)))
        start = out[-1][1]
    return out


class Batches:
    """The batches after the worker's first ones, each taken by whichever
    process is free next (dealt in turn, one process waited up to 0.7 s for
    the other at the end on the 20 MB plain-wall tower).

    The count and who took what live in shared memory inherited through the
    fork; a take holds a POSIX record lock, which the kernel releases when
    its holder dies, so a killed helper cannot stall the others. Process
    ``k``'s first batch is the ``k``-th: every helper has work the moment it
    starts (and the tests' helper hooks fire at a known batch).
    """

    def __init__(self, spans: list[tuple[int, int]], processes: int) -> None:
        self.spans = spans
        first = min(processes, len(spans))
        owners = [k if k < first else -1 for k in range(len(spans))]
        self.owner = multiprocessing.RawArray("i", owners)
        self.next = multiprocessing.RawValue("i", first)
        self._lock = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        #: in each process, whether it has had its first batch
        self._started = False
        #: the first batches of helpers that could not be forked (the worker's)
        self._orphans: list[tuple[int, int]] = []

    def take(self, me: int) -> tuple[int, int] | None:
        """The next batch for process ``me`` (0: the worker), None when all are taken."""
        if not self._started:
            self._started = True
            if me < self.next.value:
                return self.spans[me]
        if me == 0 and self._orphans:
            return self._orphans.pop(0)
        with self._locked():
            k = self.next.value
            if k >= len(self.spans):
                return None
            self.owner[k] = me  # before the count: a death in between leaves k to the next taker
            self.next.value = k + 1
        return self.spans[k]

    def unforked(self, first: int) -> None:
        """Helpers ``first``... were never forked: their first batches are the worker's."""
        for k in range(first, self.next.value):
            self.owner[k] = 0
            self._orphans.append(self.spans[k])

    def taken_by(self, me: int) -> list[tuple[int, int]]:
        """The batches process ``me`` took (read under the lock: a batch whose
        taker died before counting it is still to be taken, not lost)."""
        with self._locked():
            return [self.spans[k] for k in range(self.next.value) if self.owner[k] == me]

    @contextlib.contextmanager
    def _locked(self):
        if fcntl is None:
            yield
            return
        fd = self._lock.fileno()
        fcntl.lockf(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self._lock.close()


@dataclass
class Helper:
    """The worker's side of one helper process (process ``index`` of :class:`Batches`)."""

    pid: int
    conn: Any
    index: int
    batches: Batches
    done: set[tuple[int, int]] = field(default_factory=set)
    ended: bool = False
    numbers: Renumber = field(default_factory=Renumber)
    #: when it sent its last batch (``time.monotonic``, the same clock in every process)
    finished_at: float = 0.0


def start(
    n: int, fast: Any, order: list[Any], spans: list[tuple[int, int]], is_style: Callable
) -> tuple[list[Helper], Batches]:
    """Fork up to ``n - 1`` helpers for the batches ``spans``; returns them and
    the shared :class:`Batches` the worker takes its own from (all of them
    where no fork is possible: no ``fork``, other threads running, or it fails)."""
    if n < 2 or len(spans) < MIN_BATCHES or not hasattr(os, "fork") or fcntl is None:
        return [], Batches(spans, 1)
    if threading.active_count() > 1:
        return [], Batches(spans, 1)
    batches = Batches(spans, n)
    # a helper's garbage collector must not touch (so copy) the worker's objects:
    # its private memory 63 -> 41 MB on the 20 MB tower
    gc.freeze()
    helpers: list[Helper] = []
    parent = os.getpid()
    for k in range(1, n):
        receive, send = multiprocessing.Pipe(duplex=False)
        try:
            pid = os.fork()
        except OSError:
            receive.close()
            send.close()
            batches.unforked(k)  # the worker meshes them
            break
        if pid == 0:  # the helper: mesh what it takes, never return into the worker
            code = 1
            try:
                receive.close()
                _die_with(parent)
                _mesh(send, fast, order, batches, k, is_style)
                code = 0
            finally:
                os._exit(code)
        send.close()
        helpers.append(Helper(pid, receive, k, batches))
    gc.unfreeze()
    return helpers, batches


def _die_with(parent: int) -> None:
    from importers.ifc.worker import _die_with as die_with

    die_with(parent)


def _mesh(
    send: Any, fast: Any, order: list[Any], batches: Batches, me: int, is_style: Callable
) -> None:
    """A helper's work: each batch it takes split, meshed and sent whole."""
    fast.forked()
    chunks: list[dict] = []
    collector = Collector(chunks.append, is_style)
    while (span := batches.take(me)) is not None:
        start, stop = span
        _hooks(fast, order[start:stop])
        failed_before = set(fast.failed)
        kernel = fast.split(order[start:stop])
        kernel += fast.run(collector, lambda: None)
        collector.flush()
        failed = {k: v for k, v in fast.failed.items() if k not in failed_before}
        send.send(("batch", (start, stop), [p.id() for p in kernel], failed, chunks[:]))
        chunks.clear()
    send.send(("end", {**fast.stats, **_memory()}, time.monotonic()))
    send.close()


def _hooks(fast: Any, products: list[Any]) -> None:
    """Test hooks: a helper dies, or takes memory and waits for the watchdog."""
    if not (fast.helper_dies_on or fast.helper_bloats_on):
        return
    guids = {str(p.GlobalId) for p in products}
    if fast.helper_dies_on & guids:
        os.kill(os.getpid(), signal.SIGKILL)
    if fast.helper_bloats_on & guids:
        ballast = np.ones(BLOAT_MB * 2**20, dtype=np.uint8)  # written: resident
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and ballast[0]:
            time.sleep(0.05)


def _memory() -> dict[str, float]:
    """A helper's peak resident memory and, at its end, its private part (what
    it adds: the parsed file's pages stay shared with the worker)."""
    out = {"helpers_peak_rss_mb": round(memory.peak_rss_mb(), 1)}
    private = memory.private_mb(os.getpid())
    if private is not None:
        out["helpers_private_mb"] = round(private, 1)
    return out


def collect(
    helpers: list[Helper],
    collector: Collector,
    fast: Any,
    by_id: Callable[[int], Any],
    progress: Callable[[int], None],
    order: list[Any],
    wait: bool,
    idle: Callable[[], None] = lambda: None,
) -> list[Any]:
    """Forward what the helpers have sent (every message until they end when
    ``wait``, calling ``idle`` each second nothing comes: the parent must not
    take the wait for a stall); returns the elements for the kernel: those the
    fast path gave up on, and every element of a batch a dead helper never sent."""
    kernel: list[Any] = []
    while True:
        live = [h for h in helpers if not h.ended]
        if not live:
            return kernel
        ready = multiprocessing.connection.wait([h.conn for h in live], 1.0 if wait else 0)
        if not ready:
            if not wait:
                return kernel
            idle()
            continue
        for helper in live:
            if helper.conn in ready:
                kernel += _receive(helper, collector, fast, by_id, progress, order)


def _receive(helper: Helper, collector, fast, by_id, progress, order) -> list[Any]:
    try:
        message = helper.conn.recv()
    except (EOFError, OSError):
        lost = _lost(helper, order)
        fast.merge_stats({"lost": len(lost)})
        return lost
    if message[0] == "end":
        fast.merge_stats(message[1])
        helper.finished_at = float(message[2])
        helper.ended = True
        helper.conn.close()
        _reap(helper.pid)
        return []
    _, batch, kernel_ids, failed, chunks = message
    for chunk in chunks:
        collector.adopt(chunk, helper.numbers)
        progress(len(chunk["e_step"]))
    fast.failed.update(failed)
    helper.done.add(tuple(batch))
    return [by_id(i) for i in kernel_ids]


def _lost(helper: Helper, order: list[Any]) -> list[Any]:
    """A helper died: its unsent batches' elements go to the kernel."""
    helper.ended = True
    with contextlib.suppress(OSError):
        helper.conn.close()
    _reap(helper.pid)
    taken = helper.batches.taken_by(helper.index)
    return [p for b in taken if b not in helper.done for p in order[b[0]:b[1]]]


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, 0)
