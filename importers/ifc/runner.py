"""The parent side of the worker: start it, feed progress, watch it, and
survive it.

One import is a loop of worker runs. The first run uses the fast multi-threaded
iterator on every element. If a run stalls (no element finished for
``element_timeout`` seconds), outgrows its memory budget, or dies (a segfault
in native code), the parent kills it, keeps every chunk already received, and
starts a *careful* run on what is left: one element at a time, each announced
before it starts, so the next stall or crash names its culprit. The culprit is
recorded as a failed element with the reason, and the rest goes back to the
fast path. Each restart settles at least one element, and ``max_restarts``
bounds the total, so an import always ends. Cancel kills the worker at once.

Progressive display (issue 20): a ``listener`` sees the meta record, the
semantics and every chunk as they arrive (``listener(tag, data)``, on the
thread that runs the import), so a viewer can draw the model while it is
meshed; with ``keep_partial`` a cancelled import returns what had arrived,
marked ``meta["partial"]``, instead of raising.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from importers.childpool import SPARE_DELAY_S as SPARE_DELAY_S
from importers.childpool import _describe_death as _describe_death
from importers.childpool import _rss_mb as _rss_mb
from importers.childpool import _stop as _stop
from importers.childpool import context as context
from importers.childpool import default_memory_limit_mb as default_memory_limit_mb
from importers.childpool import prepare_spare as prepare_spare
from importers.childpool import shutdown as shutdown
from importers.childpool import take_worker as take_worker
from importers.childpool import warm_up as warm_up
from importers.errors import ImportCancelled, ImportFailed
from importers.ifc.memory import HelperWatch
from importers.ifc.options import TEST_HOOKS, IfcOptions
from importers.ifc.payload import ChunkMerger, Payload

POLL_SECONDS = 0.05
#: meta key of the centre lines (``importers.ifc.alignment.META_KEY``; not
#: imported: the parent must not load IfcOpenShell, see importers.child_entry)
ALIGNMENTS_KEY = "alignments"
#: Called with ("meta" | "semantics" | "chunk", data) as messages arrive.
Listener = Callable[[str, Any], None]
#: Parsing gets its own, longer budget than one element: 2 min + 1 s per MB.
PARSE_SECONDS_BASE = 120.0
PARSE_SECONDS_PER_MB = 1.0

@dataclass
class Outcome:
    """How one worker run ended."""

    kind: str  # end | error | died | stalled | memory | budget
    message: str = ""
    meta: dict[str, Any] | None = None
    semantics: dict[str, Any] | None = None
    alignments: dict[str, Any] | None = None
    end: dict[str, Any] | None = None
    last_started: int | None = None
    ready: bool = False


@dataclass
class RunStats:
    restarts: int = 0
    child_peak_rss_mb: float = 0.0
    abandoned: dict[int, str] = field(default_factory=dict)
    kernel: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_s: float = 0.0
    table_reader: str = ""
    fastpath: dict[str, Any] = field(default_factory=dict)


class Supervisor:
    """Runs workers for one file until every element is settled."""

    def __init__(
        self,
        path: Path,
        opts: IfcOptions,
        progress: Callable[[int, int], None] | None,
        cancel: threading.Event | None,
        listener: Listener | None = None,
        keep_partial: bool = False,
    ) -> None:
        self.path = path
        self.listener = listener
        self.keep_partial = keep_partial
        #: the records received so far (a cancelled import keeps them)
        self.got_meta: dict[str, Any] | None = None
        self.got_semantics: dict[str, Any] | None = None
        self.got_alignments: dict[str, Any] | None = None
        self.opts = opts
        self.progress = progress
        self.cancel = cancel
        self.merger = ChunkMerger()
        self.stats = RunStats()
        self.failures: dict[int, str] = {}
        self.degraded: dict[int, str] = {}
        self.memory_limit = opts.memory_limit_mb or default_memory_limit_mb()
        #: the worker's fast-path helpers count against the same budget
        self.helpers = HelperWatch(self.memory_limit)
        size_mb = path.stat().st_size / 2**20
        self.parse_limit = PARSE_SECONDS_BASE + PARSE_SECONDS_PER_MB * size_mb
        self.t0 = time.monotonic()

    # -- one worker run ------------------------------------------------------------
    def _job(self, workdir: Path, mode: str, **extra: Any) -> dict[str, Any]:
        opts = self.opts
        job = {
            "path": str(self.path),
            "workdir": str(workdir),
            "log": str(workdir / "kernel.log"),
            "mode": mode,
            "kernel": opts.kernel,
            "threads": opts.threads,
            "spaces": opts.spaces,
            "fastpath": opts.fastpath,
            "fastpath_processes": opts.processes,
            **{hook: list(getattr(opts, hook)) for hook in TEST_HOOKS},
        }
        job.update(extra)
        return job

    def _over_memory(self, proc, out: Outcome) -> bool:
        """Record the worker's RSS; True (with ``out`` filled) when over budget.
        Helpers that take the import over it are stopped instead (:class:`HelperWatch`)."""
        rss = _rss_mb(proc.pid) if proc.pid else None
        if rss is None:
            return False
        self.stats.child_peak_rss_mb = max(self.stats.child_peak_rss_mb, rss)
        self.helpers.check(rss)
        if rss <= self.memory_limit:
            return False
        out.kind = "memory"
        out.message = f"used {rss:.0f} MB, over the {self.memory_limit:.0f} MB budget"
        return True

    def run_once(self, job: dict[str, Any], base_done: int, total: int) -> Outcome:
        try:
            proc, recv = take_worker()
        except (OSError, RuntimeError, ValueError) as exc:
            raise ImportFailed(self.path, f"cannot start the IFC worker process ({exc})") from None
        out = Outcome("died")
        try:
            recv.send(job)
        except (OSError, ValueError):
            proc.join(1.0)
            out.message = _describe_death(proc.exitcode)
            _stop(proc, at_once=True)
            with contextlib.suppress(OSError):
                recv.close()
            return out
        last = time.monotonic()
        ready = False
        self.helpers.watch(proc.pid, [])
        try:
            while True:
                if self.cancel is not None and self.cancel.is_set():
                    raise ImportCancelled(str(self.path))
                got = False
                try:
                    if recv.poll(POLL_SECONDS):
                        msg = recv.recv()
                        got = True
                except (EOFError, OSError):
                    proc.join(5.0)
                    out.kind, out.message = "died", _describe_death(proc.exitcode)
                    return out
                except Exception as exc:  # a garbled message: a writer died mid-send
                    out.kind = "died"
                    out.message = f"sent a damaged message ({type(exc).__name__})"
                    return out
                now = time.monotonic()
                # Checked on every message too: a worker that streams results
                # continuously must not escape its memory budget.
                if self._over_memory(proc, out):
                    return out
                if got:
                    tag = msg[0]
                    if tag == "meta":
                        out.meta = msg[1]
                        ready = True
                        self.got_meta = self.got_meta or msg[1]
                        self._tell("meta", msg[1])
                    elif tag == "ready":
                        ready = True
                    elif tag == "helpers":
                        self.helpers.watch(proc.pid, [int(p) for p in msg[1]])
                    elif tag == "semantics":
                        out.semantics = msg[1]
                        self.got_semantics = self.got_semantics or msg[1]
                        self._tell("semantics", msg[1])
                    elif tag == "alignments":
                        out.alignments = msg[1]
                        self.got_alignments = self.got_alignments or msg[1]
                    elif tag == "chunk":
                        self.merger.add(msg[1])
                        ready = True
                        self._tell("chunk", msg[1])
                    elif tag == "progress":
                        ready = True
                        if self.progress is not None:
                            self.progress(min(total, base_done + int(msg[1])), total)
                    elif tag == "start":
                        out.last_started = int(msg[1])
                        ready = True
                    elif tag in ("end", "extent"):
                        out.kind, out.end = "end", msg[1]
                        return out
                    elif tag == "error":
                        out.kind, out.message = "error", str(msg[1])
                        return out
                    last = now
                    out.ready = ready
                    continue
                if not proc.is_alive() and not recv.poll(0):
                    out.kind, out.message = "died", _describe_death(proc.exitcode)
                    return out
                limit = self.opts.element_timeout if ready else self.parse_limit
                if now - last > limit:
                    out.kind = "stalled"
                    out.message = (
                        f"no progress for {limit:.0f} s"
                        if ready
                        else f"parsing took longer than {limit:.0f} s"
                    )
                    return out
                if self._over_memory(proc, out):
                    return out
                budget = self.opts.time_budget
                if budget is not None and now - self.t0 > budget:
                    out.kind, out.message = "budget", f"time budget of {budget:.0f} s used up"
                    return out
        finally:
            out.ready = ready
            # A worker that has said "end" has nothing left to do: kill it rather
            # than wait for its interpreter to free a large model.
            _stop(proc, at_once=out.kind == "end")
            with contextlib.suppress(OSError):
                recv.close()

    def _tell(self, tag: str, data: Any) -> None:
        """Pass a record to the listener; a listener that fails is dropped
        (a preview must never cost the import)."""
        if self.listener is None:
            return
        try:
            self.listener(tag, data)
        except Exception:
            self.listener = None

    # -- the whole import ------------------------------------------------------------
    def run(self) -> Payload:
        try:
            return self._run()
        except ImportCancelled:
            partial = self._partial() if self.keep_partial else None
            if partial is None:
                raise
            return partial

    def _partial(self) -> Payload | None:
        """What a cancelled import had received, when it can make a layer
        (records, table and at least one element); ``meta["partial"]`` says
        how much."""
        if self.got_meta is None or self.got_semantics is None or not self.merger.done:
            return None
        payload = self._finish(self.got_meta, self.got_semantics, self.got_alignments)
        total = len(self.got_meta.get("targets") or [])
        payload.meta["partial"] = {
            "why": "cancelled",
            "done": len(self.merger.done),
            "total": total,
        }
        return payload

    def _run(self) -> Payload:
        with tempfile.TemporaryDirectory(prefix="citytwin-ifc-") as tmp:
            workdir = Path(tmp)
            first = self.run_once(self._job(workdir, "full"), 0, 1)
            meta = first.meta
            if first.kind == "error" and meta is None:
                raise ImportFailed(self.path, first.message)
            if meta is None:
                if first.kind == "stalled":
                    raise ImportFailed(self.path, f"could not be read: {first.message}")
                if first.kind == "memory":
                    raise ImportFailed(self.path, f"parsing {first.message}")
                raise ImportFailed(
                    self.path, f"the IFC parser {first.message} while reading this file"
                )
            targets = [int(s) for s in meta["targets"]]
            total = len(targets)
            outcome = first
            semantics = first.semantics
            strategy = "iterator"
            while True:
                if outcome.kind == "end":
                    end = outcome.end or {}
                    self.failures.update({int(k): v for k, v in end.get("failures", {}).items()})
                    self.stats.child_peak_rss_mb = max(
                        self.stats.child_peak_rss_mb, float(end.get("peak_rss_mb") or 0.0)
                    )
                    self.stats.kernel = end.get("kernel", self.stats.kernel)
                    self.stats.seconds = end.get("seconds") or {}
                    self.stats.cpu_s += float(end.get("cpu_s") or 0.0)
                    self.stats.table_reader = str(end.get("table_reader") or "")
                    self.stats.fastpath = end.get("fastpath") or self.stats.fastpath
                    break
                if outcome.kind == "error" and outcome is not first and not outcome.ready:
                    # A restarted worker could not re-read the file: keep what we have.
                    for step in self._remaining(targets):
                        self.failures[step] = f"not computed: {outcome.message}"
                    break
                rest = self._remaining(targets)
                why = {
                    "stalled": f"abandoned: {outcome.message} on this element",
                    "memory": f"abandoned: the geometry worker {outcome.message}",
                    "died": f"abandoned: the geometry worker {outcome.message} on this element",
                    "budget": "not computed within the time budget",
                    "error": f"abandoned: {outcome.message}",
                }.get(outcome.kind, outcome.message)
                if outcome.kind == "budget":
                    for step in rest:
                        self.failures[step] = why
                    break
                if strategy == "careful" and outcome.last_started in rest:
                    culprit = outcome.last_started
                    self.failures[culprit] = why
                    self.stats.abandoned[culprit] = why
                    rest = [s for s in rest if s != culprit]
                    strategy = "iterator"
                else:
                    strategy = "careful"
                if not rest:
                    break
                self.stats.restarts += 1
                if self.stats.restarts > self.opts.max_restarts:
                    for step in rest:
                        self.failures[step] = (
                            "not computed: the geometry worker failed "
                            f"{self.stats.restarts} times ({outcome.message})"
                        )
                    break
                job = self._restart_job(
                    workdir,
                    rest,
                    strategy=strategy,
                    unit_m=meta.get("unit_m", 1.0),
                    send_semantics=semantics is None,
                )
                outcome = self.run_once(job, total - len(rest), total)
                semantics = semantics or outcome.semantics
            self._without_openings(workdir, meta)
            if semantics is None:
                semantics = self._semantics_alone(workdir)
            if self.progress is not None:
                self.progress(total, total)
        return self._finish(meta, semantics, first.alignments)

    def _finish(
        self, meta: dict[str, Any], semantics: dict[str, Any], alignments: dict[str, Any] | None
    ) -> Payload:
        """The payload: arrays received, records, failures and statistics."""
        meta = {**meta, **semantics}
        meta[ALIGNMENTS_KEY] = alignments or {
            "warnings": [
                "alignment centre lines (if any) were not read: the IFC reader stopped first"
            ]
        }
        meta["degraded"] = {str(k): v for k, v in self.degraded.items()}
        meta["failures"] = {str(k): v for k, v in self.failures.items()}
        meta["restarts"] = self.stats.restarts
        meta["worker_peak_rss_mb"] = round(self.stats.child_peak_rss_mb, 1)
        meta["import_peak_rss_mb"] = round(self._import_peak(), 1)
        meta["memory_notes"] = list(self.helpers.stopped)
        meta["kernel"] = self.stats.kernel or self.opts.kernel
        meta["worker_seconds"] = self.stats.seconds
        meta["worker_cpu_s"] = round(self.stats.cpu_s, 3)
        meta["table_reader"] = self.stats.table_reader
        meta["fastpath"] = self.stats.fastpath
        return Payload(self.merger.arrays(), meta)

    def _import_peak(self) -> float:
        """The most the import held at once (MB): the worker's peak, or, where
        helpers meshed beside it, the worker's peak until they ended plus
        their private memory, or the watchdog's sampled sum, whichever is
        highest (an upper bound: the helpers' parts are their ends')."""
        fast = self.stats.fastpath
        together = float(fast.get("worker_peak_rss_with_helpers_mb") or 0.0)
        together += float(fast.get("helpers_private_mb") or 0.0)
        return max(self.stats.child_peak_rss_mb, together, self.helpers.peak_mb)

    def _without_openings(self, workdir: Path, meta: dict[str, Any]) -> None:
        """A5/A6: an element abandoned for taking too long is usually a boolean
        explosion (a wall with thousands of openings). Try it once more with
        opening subtraction off: shown un-cut and flagged beats not shown."""
        slow = [s for s, why in self.stats.abandoned.items() if "no progress" in why]
        if not slow or self.stats.restarts >= self.opts.max_restarts:
            return
        job = self._restart_job(
            workdir, slow, strategy="careful", no_openings=True, unit_m=meta.get("unit_m", 1.0)
        )
        self.stats.restarts += 1
        before = set(self.merger.done)
        progress, self.progress = self.progress, None  # already reported as done
        try:
            self.run_once(job, 0, len(slow))
        finally:
            self.progress = progress
        for step in slow:
            if step in self.merger.done and step not in before:
                reason = self.failures.pop(step, "")
                self.degraded[step] = (
                    "drawn without its openings: cutting them "
                    + reason.removeprefix("abandoned: ").replace(" on this element", "")
                )

    def _restart_job(self, workdir: Path, targets: list[int], **extra: Any) -> dict[str, Any]:
        """A job for a worker after the first: only ``targets``, no meta record,
        numbering its chunks on from those already received."""
        g_first, m_first = self.merger.rebase()
        return self._job(
            workdir,
            "full",
            targets=targets,
            send_meta=False,
            g_first=g_first,
            m_first=m_first,
            **extra,
        )

    def _semantics_alone(self, workdir: Path) -> dict[str, Any]:
        """The table and tree when no geometry run lived long enough to send
        them: one worker that only reads them (no elements to compute)."""
        out = self.run_once(self._restart_job(workdir, [], send_semantics=True), 0, 1)
        if out.semantics is None:
            raise ImportFailed(
                self.path, f"the element records could not be read (the IFC reader {out.message})"
            )
        return out.semantics

    def _remaining(self, targets: list[int]) -> list[int]:
        done = self.merger.done
        return [s for s in targets if s not in done and s not in self.failures]

    def extent(self) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="citytwin-ifc-") as tmp:
            out = self.run_once(self._job(Path(tmp), "extent"), 0, 1)
        if out.kind == "error":
            raise ImportFailed(self.path, out.message)
        if out.kind != "end" or out.end is None:
            raise ImportFailed(self.path, f"could not be read: the IFC parser {out.message}")
        return out.end


def run(
    path: Path,
    opts: IfcOptions,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    listener: Listener | None = None,
    keep_partial: bool = False,
) -> Payload:
    """Import ``path`` in workers; the payload holds every element that worked
    (``listener`` and ``keep_partial``: see the module docstring)."""
    try:
        return Supervisor(path, opts, progress, cancel, listener, keep_partial).run()
    finally:
        prepare_spare(SPARE_DELAY_S)


def read_extent(path: Path, opts: IfcOptions) -> dict[str, Any]:
    """Schema and georeferencing records only (a lazy parse, no geometry)."""
    return Supervisor(path, opts, None, None).extent()
