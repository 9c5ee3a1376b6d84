"""The fast path on every core: forked copies of the worker mesh some batches.

The fast path is Python (reading attributes, numpy per element), so one
process meshes on one core however many the machine has. After the first
batch (drawn at once, bottom storey first), the worker forks helpers that
share the parsed file copy-on-write; the later batches are dealt out in turn
to the worker and its helpers. A helper meshes into its own
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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from importers.ifc.geometry import Collector

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


@dataclass
class Helper:
    """The worker's side of one helper process."""

    pid: int
    conn: Any
    batches: list[tuple[int, int]]
    done: set[tuple[int, int]] = field(default_factory=set)
    ended: bool = False
    numbers: Renumber = field(default_factory=Renumber)


def deal(batches: list[tuple[int, int]], n: int) -> list[list[tuple[int, int]]]:
    """Batches dealt in turn to ``n`` processes (the worker's share first)."""
    return [batches[k::n] for k in range(n)]


def start(
    n: int, fast: Any, order: list[Any], batches: list[tuple[int, int]], is_style: Callable
) -> tuple[list[Helper], list[tuple[int, int]]]:
    """Fork up to ``n - 1`` helpers for ``batches``; returns them and the
    worker's own share (all of them where no fork is possible: no ``fork``,
    other threads running, or it fails)."""
    if n < 2 or len(batches) < MIN_BATCHES or not hasattr(os, "fork"):
        return [], batches
    if threading.active_count() > 1:
        return [], batches
    shares = deal(batches, n)
    # a helper's garbage collector must not touch (so copy) the worker's objects:
    # its private memory 63 -> 41 MB on the 20 MB tower
    gc.freeze()
    helpers: list[Helper] = []
    mine = list(shares[0])
    parent = os.getpid()
    for k, share in enumerate(shares[1:], start=1):
        receive, send = multiprocessing.Pipe(duplex=False)
        try:
            pid = os.fork()
        except OSError:
            receive.close()
            send.close()
            mine += [b for s in shares[k:] for b in s]  # the worker meshes them
            break
        if pid == 0:  # the helper: mesh its share, never return into the worker
            code = 1
            try:
                receive.close()
                _die_with(parent)
                _mesh(send, fast, order, share, is_style)
                code = 0
            finally:
                os._exit(code)
        send.close()
        helpers.append(Helper(pid, receive, share))
    gc.unfreeze()
    return helpers, sorted(mine)


def _die_with(parent: int) -> None:
    from importers.ifc.worker import _die_with as die_with

    die_with(parent)


def _mesh(
    send: Any, fast: Any, order: list[Any], share: list[tuple[int, int]], is_style: Callable
) -> None:
    """A helper's work: each batch split, meshed and sent whole."""
    fast.forked()
    chunks: list[dict] = []
    collector = Collector(chunks.append, is_style)
    for start, stop in share:
        _hooks(fast, order[start:stop])
        failed_before = set(fast.failed)
        kernel = fast.split(order[start:stop])
        kernel += fast.run(collector, lambda: None)
        collector.flush()
        failed = {k: v for k, v in fast.failed.items() if k not in failed_before}
        send.send(("batch", (start, stop), [p.id() for p in kernel], failed, chunks[:]))
        chunks.clear()
    send.send(("end", {**fast.stats, **_memory()}))
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
    import resource

    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {"helpers_peak_rss_mb": round(peak_kb / 1024, 1)}
    with contextlib.suppress(OSError, ValueError), open(
        "/proc/self/smaps_rollup", encoding="ascii"
    ) as fh:
        kb = sum(int(line.split()[1]) for line in fh if line.startswith("Private_"))
        out["helpers_private_mb"] = round(kb / 1024, 1)
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
    return [p for b in helper.batches if b not in helper.done for p in order[b[0]:b[1]]]


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, 0)
