"""The memory of an import that runs in several processes.

The worker's fast-path helpers (:mod:`importers.ifc.fastpath.spread`) are
forked from it and share its parsed file copy-on-write: a helper's resident
size counts those shared pages again, so what it adds is its *private* part.
The import holds the worker's resident memory plus each helper's private
memory, and that sum is what the runner's budget and the benchmarks count.

A helper that would take the import over its budget is stopped (killed): its
unsent batches go to the worker's kernel, as a crashed helper's do, and the
import goes on. Only the worker itself over budget ends the run.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import time
from dataclasses import dataclass, field

#: seconds between two reads of the helpers' memory (``smaps_rollup`` walks
#: every mapping of a process: ~0.1-1 ms, too much for every message)
CHECK_SECONDS = 0.25


#: this process's peak before the last :func:`restart_peak` (MB)
_earlier_peak_mb = 0.0


def give_back() -> None:
    """Hand freed heap memory back to the system (glibc ``malloc_trim``).

    After a pass that makes and frees many mid-sized numpy arrays, glibc keeps
    the freed memory in the process (its mmap threshold has grown past them),
    where it counts against the import's budget: 40 MB after the bulk read of
    a 20 MB tower. No-op where there is no glibc."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started (MB), across
    :func:`restart_peak`."""
    return max(_earlier_peak_mb, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def restart_peak() -> float:
    """Measure this process's peak afresh from now (Linux ``clear_refs``), so
    :func:`peak_since_restart_mb` tells the peak of one stretch (the helpers'
    run); returns the peak so far."""
    global _earlier_peak_mb
    _earlier_peak_mb = peak_rss_mb()
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")
    return _earlier_peak_mb


def peak_since_restart_mb() -> float:
    """The peak since :func:`restart_peak` (the whole run's where the system
    cannot restart it: an upper bound either way)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return peak_rss_mb()


def private_mb(pid: int) -> float | None:
    """The process's private resident memory (MB), None where it is gone or
    the system cannot say."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            kb = sum(int(line.split()[1]) for line in fh if line.startswith("Private_"))
    except (OSError, ValueError, IndexError):
        return None
    return kb / 1024


def parent_of(pid: int) -> int | None:
    """The process's parent, None where it is gone (a stopped helper's pid may
    be reused: only a child of the worker is ever signalled)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
        return int(stat.rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class HelperWatch:
    """The runner's view of one worker's helpers: their private memory, the
    import's peak, and the helpers stopped to keep it within ``limit_mb``."""

    limit_mb: float
    worker: int = 0
    helpers: list[int] = field(default_factory=list)
    #: highest worker RSS + helpers' private memory seen together (MB)
    peak_mb: float = 0.0
    #: what each stopped helper held, for the import's report
    stopped: list[str] = field(default_factory=list)
    _next: float = 0.0

    def watch(self, worker: int, helpers: list[int]) -> None:
        self.worker, self.helpers, self._next = worker, list(helpers), 0.0

    def check(self, worker_rss_mb: float) -> float:
        """The import's memory now (MB): the worker's ``worker_rss_mb`` plus its
        helpers' private memory (read at most every :data:`CHECK_SECONDS`).
        Stops the largest helpers while the sum is over the budget and the
        worker alone is not."""
        self.peak_mb = max(self.peak_mb, worker_rss_mb)
        now = time.monotonic()
        if not self.helpers or now < self._next:
            return worker_rss_mb
        self._next = now + CHECK_SECONDS
        held = {}
        for pid in self.helpers:
            mb = private_mb(pid) if parent_of(pid) == self.worker else None
            if mb is not None:
                held[pid] = mb
        self.helpers = list(held)
        total = worker_rss_mb + sum(held.values())
        self.peak_mb = max(self.peak_mb, total)
        for pid in sorted(held, key=held.get, reverse=True):
            if total <= self.limit_mb or worker_rss_mb > self.limit_mb:
                break
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            self.stopped.append(
                f"a fast-path process held {held[pid]:.0f} MB (import {total:.0f} MB, "
                f"over the {self.limit_mb:.0f} MB budget): stopped, its elements went "
                "to the geometry kernel"
            )
            self.helpers.remove(pid)
            total -= held[pid]
        return total
