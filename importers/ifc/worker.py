"""The child process: parse, semantics and geometry of one IFC file.

IfcOpenShell is native code; a damaged file can crash it or make it loop, and
Python cannot catch either. So all of it runs here, in a process the parent
(:mod:`importers.ifc.runner`) can watch, time out and kill. Only plain data
crosses the pipe, as tuples tagged by their first item:

``("meta", dict)``
    once, after parsing: schema, the STEP ids that go to the geometry kernel,
    each row's kind, the project length unit, parser warnings.
``("ready",)``
    instead of ``meta`` in a restarted worker: parsed, geometry starts now
    (the parent switches from the parse time limit to the per-element one).
``("semantics", dict)``
    the element table columns, spatial tree, georeferencing records and their
    warnings. Sent by the *table reader*, a copy of this process forked after
    parsing (:func:`fork_beside`), so they are computed on the other core
    while the kernel works; where ``fork`` is missing, by this process once
    the kernel's threads have started.
``("alignments", dict)``
    first run only, after ``semantics``, also by the reader: alignment centre
    lines (see :mod:`importers.ifc.alignment`).
``("alive",)``
    about once a second while the semantics are computed: not stalled.
``("chunk", dict)``
    triangles and placements of finished elements (see
    :mod:`importers.ifc.payload`), at least every half second while work is
    done, so results survive a later kill. The fast path's helpers (forked
    copies meshing some of its batches on the other cores,
    :mod:`importers.ifc.fastpath.spread`) never write here: they send their
    batches to this process, which renumbers and forwards them.
``("progress", done, total)``
    finished elements, at most ten times a second.
``("start", step)``
    careful mode only: this element's geometry starts now. If the worker then
    stalls or dies, the parent knows which element to blame.
``("end", dict)``
    failures (STEP id -> reason), element count, peak memory, CPU seconds,
    how the table reader ended. Sent after the reader has exited, so the
    parent never kills a worker whose reader is still sending.
``("extent", dict)``
    extent mode only: georeferencing records and a sample of placements.
``("error", message)``
    the whole file cannot be read (one line, e.g. a syntax error).

Nothing in this module needs pyvista, Qt or the scene (the ``importers``
package it lives in does pull in pyvista through ``twin.layer``; the forkserver
preloads it once, so a worker forks with it already in memory).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import multiprocessing.synchronize  # preloaded: fork_beside's lock costs 2 ms cold
import os
import re
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ifcopenshell
import ifcopenshell.geom
import ifcopenshell.ifcopenshell_wrapper as wrapper

# Imported here, not where used, so the forkserver preloads them (~65 ms a worker).
import ifcopenshell.util.element
import ifcopenshell.util.placement
import ifcopenshell.util.unit
import numpy as np

from importers.errors import ImportFailed
from importers.ifc import alignment, fastpath, georef, memory, selection, semantics, streaming
from importers.ifc.fastpath import bulk, spread
from importers.ifc.geometry import Collector, box_mesh
from importers.ifc.header import check_complete, prepare_source, scan_instances
from importers.ifc.options import FALLBACK_KERNEL, FAST_PATH_HOOKS, TEST_HOOKS

PROGRESS_SECONDS = 0.1
HEARTBEAT_SECONDS = 1.0
#: Beats stop after this long: Python work that is still not done (a native call
#: stuck with the GIL released, say) is then left to the parent's watchdog
#: instead of keeping the import alive for ever. Reading the table of a million
#: elements takes ~15 s, alignment curves have a 60 s budget.
HEARTBEAT_LIMIT_S = 600.0
#: Test-hook name (in ``test_hang`` / ``test_crash``) for "the first worker,
#: after its meta record, before its semantics": the restart must still deliver them.
FIRST_SEMANTICS_HOOK = "@first-semantics"


def main(conn: Any, job: dict[str, Any]) -> None:
    """Process entry point (``multiprocessing`` target)."""
    _quiet(job.get("log"))
    try:
        Worker(conn, job).run()
    except ImportFailed as exc:
        _send(conn, ("error", exc.message))
    except MemoryError:
        _send(conn, ("error", "ran out of memory while reading the file"))
    except Exception as exc:
        _send(conn, ("error", f"the IFC reader failed: {type(exc).__name__}: {_one_line(exc)}"))
    finally:
        with contextlib.suppress(OSError):
            conn.close()


#: Serialises messages on the one pipe once a table reader shares it
#: (:func:`fork_beside`): a large message is more than one write.
_SEND_LOCK: Any = contextlib.nullcontext()


def _send(conn: Any, msg: tuple) -> None:
    try:
        with _SEND_LOCK:
            conn.send(msg)
    except (OSError, EOFError, BrokenPipeError):
        os._exit(0)  # the parent is gone or gave up on us


def fork_beside(work: Any) -> int | None:
    """Run ``work`` in a forked copy of this process; its pid, or None where
    there is no ``fork``, this process has other threads, or the fork fails
    (the caller then runs ``work`` itself).

    The copy shares the parsed file (copy-on-write) and this process's pipe,
    so the table, tree and alignment lines are read on the second core while
    this process runs the kernel. It dies with this process (a watchdog kill
    takes both), and if it dies alone (a crash in a curve, say) only what it
    had not yet sent is lost: the parent reads the table again in a worker of
    its own. Called while this process has no other thread, as ``fork`` needs.
    """
    global _SEND_LOCK
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return None
    lock = multiprocessing.get_context("fork").Lock()
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError:
        return None
    _SEND_LOCK = lock
    if pid:
        return pid
    code = 1
    try:
        _die_with(parent)
        work()
        code = 0
    finally:
        os._exit(code)  # never return into the caller's kernel loop


def _die_with(parent: int) -> None:
    """Ask Linux to SIGKILL this process when ``parent`` exits."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # it exited before the request took effect
        os._exit(1)


def wait_for(pid: int) -> str:
    """Wait for a process from :func:`fork_beside`; how it ended, in words."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return "gone"
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit {os.WEXITSTATUS(status)}"


def _one_line(exc: BaseException) -> str:
    from twin.errors import first_line

    return first_line(exc, limit=300)


def _quiet(log: str | None) -> None:
    """Send the kernel's own prints (it writes debug text to stdout) to a file,
    so they neither spam the user's terminal nor block on a full pipe."""
    target = log or os.devnull
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    except OSError:
        pass


def cpu_seconds() -> float:
    """User + system CPU of this process, all threads, and of the table
    readers it has waited for."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


class _Background:
    """``fn(*args)`` on a thread; :meth:`result` waits and returns it (or
    None where it raised: the caller then does the work itself)."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self._out: Any = None
        self._thread = threading.Thread(target=self._run, args=(fn, args), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[..., Any], args: tuple) -> None:
        with contextlib.suppress(Exception):
            self._out = fn(*args)

    def result(self) -> Any:
        self._thread.join()
        return self._out


class Worker:
    def __init__(self, conn: Any, job: dict[str, Any]) -> None:
        self.conn = conn
        self.job = job
        self.path = Path(job["path"])
        self.workdir = Path(job["workdir"])
        self.failures: dict[int, str] = {}
        self.log_errors: dict[int, list[str]] = {}
        self.parse_messages: list[str] = []
        #: Byte offsets the parser complained at (instances it skipped on purpose).
        self.parse_offsets: list[int] = []
        #: Entity names the parser said are not in the schema (it skips those).
        self.unknown_entities: set[str] = set()
        self.unit_m = float(job.get("unit_m") or 1.0)
        #: The fast path's numbers read from the text beside the parse (:mod:`.fastpath.bulk`).
        self.bulk: bulk.Bulk | None = None

    # -- parsing -----------------------------------------------------------------
    def open(self) -> tuple[Any, Any]:
        wrapper.set_log_format_json()
        source, header = prepare_source(self.path, self.workdir)
        self.source = source
        kwargs: dict[str, Any] = {}
        if self.job.get("mode") == "extent":
            kwargs["lazy"] = True
        # the completeness scan (numpy over the file's bytes) and the fast
        # path's bulk read overlap the parse (IfcOpenShell releases the GIL)
        with_bulk = fastpath.enabled(self.job) and self.job.get("mode") != "extent"
        scan = _Background(bulk.scan if with_bulk else scan_instances, source)
        try:
            f = ifcopenshell.open(str(source), **kwargs)
        except TypeError:
            f = ifcopenshell.open(str(source))
        except Exception as exc:
            self._read_log()
            detail = "; ".join(self.parse_messages[:3]) or _one_line(exc)
            raise ImportFailed(self.path, f"syntax error: {detail}") from None
        self._read_log()
        # IfcOpenShell stops silently at some damage: never pass a short model on.
        found = scan.result()
        if with_bulk and found is not None:
            found, self.bulk = found
        notes = check_complete(
            self.path, source, f.entity_names(), self.parse_offsets, self.unknown_entities, found
        )
        header.notes.extend(notes)
        return f, header

    def _where(self, msg: str) -> str:
        """'... at offset 2695' -> '... at line 48, column 7' (A1 wants both)."""
        m = re.search(r"at offset (\d+)", msg)
        if m is None:
            return msg
        offset = int(m.group(1))
        if not hasattr(self, "_newlines"):
            try:
                data = np.fromfile(self.source, dtype=np.uint8)
                self._newlines = np.flatnonzero(data == 10)
            except OSError:
                self._newlines = None
        if self._newlines is None:
            return msg
        line = int(np.searchsorted(self._newlines, offset))
        col = offset - (int(self._newlines[line - 1]) + 1 if line > 0 else 0) + 1
        return msg[: m.start()] + f"at line {line + 1}, column {col}" + msg[m.end() :]

    def _read_log(self) -> None:
        """Drain IfcOpenShell's JSON log: parser messages become file warnings,
        kernel errors are kept per instance to explain failed elements."""
        try:
            text = wrapper.get_log()
        except Exception:
            return
        for line in text.splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            level = rec.get("level")
            msg = " ".join(str(rec.get("message", "")).replace("Failed to convert:", "").split())
            inst = rec.get("instance")
            if level not in ("error", "warning") or not msg or rec.get("code") == "SYS033":
                continue
            at = re.search(r"at offset (\d+)", msg)
            if at is not None and not inst:
                self.parse_offsets.append(int(at.group(1)))
            unknown = re.search(r"Entity with name '([^']+)' not found", msg)
            if unknown is not None:
                self.unknown_entities.add(unknown.group(1))
            if inst:
                m = re.match(r"#(\d+)=", str(inst))
                if m:
                    step = int(m.group(1))
                    where = str(inst).split("(")[0]
                    self.log_errors.setdefault(step, []).append(f"{msg} ({where})")
                    continue
            is_parser = not rec.get("code") or str(rec.get("code", "")).startswith("SYS")
            if is_parser and len(self.parse_messages) < 200:
                self.parse_messages.append(self._where(msg))

    # -- main --------------------------------------------------------------------
    def run(self) -> None:
        mode = self.job.get("mode", "full")
        t0 = time.perf_counter()
        f, header = self.open()
        t1 = time.perf_counter()
        if mode == "extent":
            geo = georef.extract(f)
            anchors = _sample_positions(f, float(geo.get("unit_m") or 1.0))
            found = {"schema": header.schema, "georef": geo, "anchors": anchors}
            _send(self.conn, ("extent", found))
            return
        targets, boxes, rows, meta = self.plan(f)
        t2 = time.perf_counter()
        if self.job.get("send_meta", True):
            meta["header_notes"] = header.notes
            meta["declared_schema"] = header.declared
            meta["schema"] = header.schema
            meta["parse_warnings"] = _summarise(self.parse_messages)
            _send(self.conn, ("meta", meta))
        else:
            _send(self.conn, ("ready",))
        wants_semantics = bool(self.job.get("send_semantics", self.job.get("send_meta", True)))

        def semantics_now() -> None:
            if self.job.get("send_meta", True):
                self._hooks(FIRST_SEMANTICS_HOOK)
            if wants_semantics:
                kinds = meta.get("kind")  # the first run's: products without body or box
                shapeless = None
                if rows is not None and kinds is not None:
                    shapeless = [p for p, k in zip(rows, kinds, strict=True) if k == "none"]
                self.send_semantics(f, rows, shapeless)

        collector = Collector(
            lambda chunk: _send(self.conn, ("chunk", chunk)),
            lambda iid: _is_style(f, iid),
            self.job.get("g_first", 0),
            self.job.get("m_first", 0),
        )
        total = len(targets) + len(boxes)
        self.done = 0
        self.total = total
        self.last_progress = 0.0
        careful = self.job.get("strategy") == "careful"
        # The table's reader runs beside the kernel in a forked copy of this
        # process: the kernel's first call holds the GIL, so a thread here
        # could only follow it, never overlap it.
        reader = fork_beside(semantics_now) if wants_semantics and not careful else None
        meanwhile = None if reader is not None else semantics_now
        if careful:
            semantics_now()
            self.careful(f, targets, collector)
        else:
            self.iterate(f, targets, collector, meanwhile, self.fast_path(f, targets))
        for product in boxes:
            self.box(product, collector)
        collector.flush()
        t_kernel = time.perf_counter()
        reader_end = wait_for(reader) if reader is not None else "ran in the worker"
        t3 = time.perf_counter()
        self._read_log()
        for step, reason in collector.empty.items():
            self.failures.setdefault(step, reason)
        _send(
            self.conn,
            (
                "end",
                {
                    "failures": {str(k): v for k, v in self.failures.items()},
                    "elements": collector.n_elements,
                    "triangles": collector.n_triangles,
                    "peak_rss_mb": memory.peak_rss_mb(),
                    "cpu_s": cpu_seconds(),
                    "kernel": getattr(self, "kernel_used", self.job["kernel"]),
                    "table_reader": reader_end,
                    "fastpath": self.fast.stats if getattr(self, "fast", None) else {},
                    "seconds": {
                        "parse": round(t1 - t0, 4),
                        "select": round(t2 - t1, 4),
                        "geometry": round(t_kernel - t2, 4),
                        "waiting for the table reader": round(t3 - t_kernel, 4),
                    },
                },
            ),
        )

    def plan(self, f: Any) -> tuple[list[Any], list[Any], list[Any] | None, dict[str, Any]]:
        """What goes to the kernel (products with a representation, openings
        excluded), the table's rows, and the cheap part of the meta record."""
        wanted = self.job.get("targets")
        include_spaces = self.job.get("spaces", True)
        if wanted is not None:
            by_id = []
            for step in wanted:
                try:
                    by_id.append(f.by_id(int(step)))
                except (RuntimeError, ValueError):
                    self.failures[int(step)] = "element vanished on re-reading"
            targets = [p for p in by_id if selection.classify(p) == "body"]
            boxes = [p for p in by_id if selection.classify(p) == "box"]
            return targets, boxes, None, {}
        chosen = selection.select(f)
        rows, kinds, is_space = chosen.rows, chosen.kinds, chosen.is_space
        targets = chosen.of_kind("body", include_spaces)
        boxes = chosen.of_kind("box", include_spaces)
        self.unit_m = georef.project_unit(f)[0]
        try:
            n_entities = len(f)
        except Exception:
            n_entities = -1
        meta = {
            "kind": kinds,
            "is_space": is_space,
            "targets": [p.id() for p in targets] + [p.id() for p in boxes],
            "boxes": [p.id() for p in boxes],
            "unit_m": self.unit_m,
            "n_entities": n_entities,
            "has_project": bool(semantics._by_type(f, "IfcProject")),
        }
        self._read_log()
        return targets, boxes, rows, meta

    def send_semantics(
        self, f: Any, rows: list[Any] | None, shapeless: list[Any] | None = None
    ) -> None:
        """Table columns, tree and georeferencing; then (first run only) the
        alignment centre lines, in their own message: a kernel crash while
        evaluating a curve then costs the lines, never the table, and is not
        repeated by the restarted worker. ``shapeless``: the rows found to have
        no body or box, where the alignment reader looks for axis-only products."""
        t0 = time.perf_counter()
        with self.heartbeat():
            sem = semantics.extract(f, selection.select(f).rows if rows is None else rows)
            geo = georef.extract(f)
        self._read_log()
        _send(
            self.conn,
            (
                "semantics",
                {
                    "columns": sem["columns"],
                    "tree": sem["tree"],
                    "semantic_warnings": sem["warnings"],
                    "georef": geo,
                    "semantics_seconds": round(time.perf_counter() - t0, 4),
                },
            ),
        )
        if self.job.get("send_meta", True):
            with self.heartbeat():
                lines = alignment.extract(f, shapeless=shapeless)
            self._read_log()
            _send(self.conn, ("alignments", lines))

    @contextlib.contextmanager
    def heartbeat(self, limit_s: float = HEARTBEAT_LIMIT_S, every_s: float = HEARTBEAT_SECONDS):
        """Send ``alive`` about once a second while Python work runs, so the
        parent's per-element watchdog does not mistake it for a stalled kernel;
        for ``limit_s`` at most."""
        stop = threading.Event()
        until = time.monotonic() + limit_s

        def beat() -> None:
            while not stop.wait(every_s) and time.monotonic() < until:
                _send(self.conn, ("alive",))

        heart = threading.Thread(target=beat, name="heartbeat", daemon=True)
        heart.start()
        try:
            yield
        finally:
            stop.set()
            heart.join()

    # -- geometry ------------------------------------------------------------------
    def settings(self) -> Any:
        return geometry_settings(bool(self.job.get("no_openings")))

    def ticks(self, n: int) -> None:
        """``n`` elements done elsewhere (a fast-path helper)."""
        self.done += n - 1
        self.tick()

    def tick(self, force: bool = False) -> None:
        self.done += 1
        now = time.monotonic()
        if force or now - self.last_progress > PROGRESS_SECONDS:
            self.last_progress = now
            _send(self.conn, ("progress", self.done, self.total))

    def _hooks(self, guid: str) -> None:
        if guid in self.job.get("test_hang", ()):
            time.sleep(3600)
        if guid in self.job.get("test_slow_booleans", ()) and not self.job.get("no_openings"):
            time.sleep(3600)
        if guid in self.job.get("test_crash", ()):
            os.kill(os.getpid(), signal.SIGSEGV)
        if guid in self.job.get("test_garble", ()):
            self.conn.send_bytes(b"\x80\x05 not a pickle")

    def fast_path(self, f: Any, targets: list[Any]) -> fastpath.FastPath | None:
        """The fast path for this file (it takes its elements batch by batch in
        :meth:`stream`), or None where this job is the kernel's alone."""
        if not fastpath.enabled(self.job):
            return None
        hooks = [k for k in TEST_HOOKS if k not in FAST_PATH_HOOKS]
        keep_off = {g for k in hooks for g in self.job.get(k, ())}
        try:
            fast = fastpath.FastPath(f, self.unit_m, keep_off, self.bulk)
            self.bulk = None  # resolved into the fast path's own arrays: free the tables
            fast.fail_on = set(self.job.get("test_fastpath_error", ()))
            fast.helper_dies_on = set(self.job.get("test_helper_crash", ()))
            fast.helper_bloats_on = set(self.job.get("test_helper_bloat", ()))
        except Exception:
            return None
        self.fast = fast
        return fast

    def stream(
        self, f: Any, fast: fastpath.FastPath, targets: list[Any], collector: Collector, meanwhile
    ) -> tuple[list[Any], list[Any]]:
        """Look at and mesh the fast path's elements batch by batch, bottom
        storey first, each batch sent as soon as it is meshed (the window
        draws it; see :mod:`importers.ifc.streaming`). Returns the kernel's
        elements, and the ones not yet looked at when the model turned out
        to be mostly the kernel's (the caller runs those concurrently).
        ``meanwhile`` runs after the first batch."""
        order = streaming.storey_order(f, targets)
        plan = list(streaming.batches(len(order)))
        kernel: list[Any] = []
        for i, (start, stop) in enumerate(plan):  # alone until the kernel's share is known
            kernel += self.batch(fast, order[start:stop], collector)
            if i == 0:
                meanwhile()
            if stop < len(order) and streaming.kernel_heavy(len(kernel), stop):
                return kernel, order[stop:]
            if stop >= streaming.MIN_SEEN:
                break
        else:
            if not plan:
                meanwhile()
            return kernel, []
        # the rest on every core: helpers mesh their share of the batches; this
        # process's peak is measured apart while they run (they add their private part)
        memory.give_back()  # what the parse and the bulk read freed, before helpers copy it
        before = memory.restart_peak()
        n = spread.processes(self.job)
        spans = spread.guided(plan[i][1], len(order), n)
        helpers, batches = spread.start(n, fast, order, spans, collector.is_style)
        fast.record("processes", 1 + len(helpers))
        if helpers:  # the runner's memory watchdog counts them with this process
            _send(self.conn, ("helpers", [h.pid for h in helpers]))

        def forward(wait: bool) -> list[Any]:
            return spread.collect(helpers, collector, fast, f.by_id, self.ticks, order, wait,
                                  idle=lambda: _send(self.conn, ("alive",)))

        while (span := batches.take(0)) is not None:
            kernel += self.batch(fast, order[span[0]:span[1]], collector)
            kernel += forward(False)
        mine_done = time.monotonic()
        kernel += forward(True)
        batches.close()
        if helpers:  # how evenly the batches were shared: who waited for whom, how long
            fast.record("worker_waited_s", round(time.monotonic() - mine_done, 3))
            first_end = min([h.finished_at for h in helpers if h.finished_at], default=mine_done)
            fast.record("helpers_idle_s", round(max(0.0, mine_done - first_end), 3))
        if helpers:
            fast.record("worker_peak_rss_before_helpers_mb", round(before, 1))
            fast.record("worker_peak_rss_with_helpers_mb", round(memory.peak_since_restart_mb(), 1))
        return kernel, []

    def batch(self, fast: fastpath.FastPath, products: list[Any], collector: Collector) -> list:
        """Look at and mesh one batch, sent at once; the elements for the kernel."""
        kernel = fast.split(products)
        kernel += fast.run(collector, self.tick)  # a failed one goes to the kernel
        collector.flush()
        return kernel

    def iterate(
        self,
        f: Any,
        targets: list[Any],
        collector: Collector,
        meanwhile: Any = None,
        fast: fastpath.FastPath | None = None,
    ) -> None:
        """The fast path's batches (:meth:`stream`), then the multi-threaded
        iterator on the rest. ``meanwhile`` runs after the first batch, or
        once the kernel's threads have started: Python work there overlaps
        the geometry. A model that is mostly the kernel's has the fast path's
        rest meshed while the kernel's threads run; what it fails on goes to
        a second run of the kernel."""
        meanwhile = meanwhile or (lambda: None)
        if fast is not None:
            targets, rest = self.stream(f, fast, targets, collector, meanwhile)
            meanwhile = lambda: None  # noqa: E731 (ran after the first batch)
            if rest:  # mostly the kernel's: its threads run beside the fast path
                with self.heartbeat():  # no element finishes meanwhile: not stalled
                    targets += fast.split(rest)
            else:
                fast = None
        if not targets:
            meanwhile()
            late = fast.run(collector, self.tick) if fast is not None else []
            if late:
                self.iterate(f, late, collector)
            return
        it = None
        for kernel in dict.fromkeys((self.job["kernel"], FALLBACK_KERNEL)):
            try:
                it = ifcopenshell.geom.iterator(
                    self.settings(),
                    f,
                    int(self.job.get("threads", 1)),
                    include=targets,
                    geometry_library=kernel,
                )
                self.kernel_used = kernel
                break
            except Exception:
                it = None
        if it is None:
            raise ImportFailed(self.path, "no geometry kernel could be started")
        seen: set[int] = set()
        hooks = any(self.job.get(k) for k in TEST_HOOKS)
        started = it.initialize()
        meanwhile()
        late = fast.run(collector, self.tick) if fast is not None else []
        if fast is not None:
            collector.flush()  # a kernel crash from here on costs none of it
        if started:
            while True:
                shape = it.get()
                if hooks:
                    self._hooks(str(shape.guid))
                seen.add(int(shape.id))
                collector.add(shape)
                self.tick()
                if not it.next():
                    break
        self._read_log()
        for p in targets:
            if p.id() not in seen:
                self.failures[p.id()] = self.reason(p)
        if late:
            collector.flush()  # the fast path's work survives a crash in the rerun
            self.iterate(f, late, collector)

    def careful(self, f: Any, targets: list[Any], collector: Collector) -> None:
        """One element at a time, announced first: slow, but a stall or crash
        names its element. Used only after the fast path failed."""
        s = self.settings()
        kernel = self.job["kernel"]
        for p in targets:
            collector.flush()
            _send(self.conn, ("start", p.id()))
            self._hooks(selection.text(selection.attr(p, "GlobalId")))
            try:
                shape = ifcopenshell.geom.create_shape(s, p, geometry_library=kernel)
            except Exception as exc:
                self._read_log()
                self.failures[p.id()] = self.reason(p, _one_line(exc))
                self.tick()
                continue
            collector.add(shape)
            self.tick()
        collector.flush()

    def box(self, product: Any, collector: Collector) -> None:
        """An element whose only shape is an IfcBoundingBox: draw the box."""
        unit = float(self.unit_m)
        try:
            items = []
            for rep in product.Representation.Representations:
                items.extend(i for i in rep.Items if i.is_a("IfcBoundingBox"))
            bb = items[0]
            corner = np.array(bb.Corner.Coordinates, dtype=np.float64)[:3] * unit
            dims = np.array([bb.XDim, bb.YDim, bb.ZDim], dtype=np.float64) * unit
            matrix = georef._matrix(product.ObjectPlacement, unit)
            if matrix is None or not np.all(np.isfinite(corner)) or not np.all(dims > 0):
                raise ValueError("bad placement or box")
        except Exception as exc:
            self.failures[product.id()] = f"bounding-box representation unusable ({exc})"
            self.tick()
            return
        verts, faces = box_mesh(corner, dims)
        collector.add_arrays(product.id(), verts, faces, np.asarray(matrix))
        self.tick()

    def reason(self, product: Any, fallback: str = "") -> str:
        """Why the kernel gave no shape: its log messages for the product, its
        placement and its representation items."""
        ids = [product.id()]
        try:
            placement = product.ObjectPlacement
            for _ in range(32):
                if placement is None:
                    break
                ids.append(placement.id())
                placement = selection.attr(placement, "PlacementRelTo")
            for rep in product.Representation.Representations:
                ids.append(rep.id())
                for item in rep.Items or ():
                    ids.append(item.id())
        except Exception:
            pass
        msgs: list[str] = []
        for i in ids:
            for m in self.log_errors.get(i, []):
                if m not in msgs:
                    msgs.append(m)
        if msgs:
            return "; ".join(msgs[:3])[:400]
        return fallback or "the geometry kernel produced no shape"


def geometry_settings(no_openings: bool = False) -> Any:
    """The kernel settings of every import (local coordinates: placements
    travel as 4x4s, so instanced shapes are sent once)."""
    s = ifcopenshell.geom.settings()
    s.set("use-world-coords", False)
    s.set("weld-vertices", True)
    s.set("apply-default-materials", True)
    if no_openings:
        s.set("disable-opening-subtractions", True)
    return s


def _sample_positions(f: Any, unit: float, count: int = 32, seconds: float = 2.0) -> list:
    """Placement origins (model metres) of a sample of elements with a body:
    where the model is, without computing any geometry (for ``extent``)."""
    try:
        products = [p for p in f.by_type("IfcProduct") if selection.classify(p) == "body"]
    except RuntimeError:
        return []
    if not products:
        return []
    step = max(1, len(products) // count)
    out = []
    t0 = time.monotonic()
    for p in products[::step][:count]:
        if time.monotonic() - t0 > seconds:
            break
        placement = selection.attr(p, "ObjectPlacement")
        m = georef._matrix(placement, unit) if placement is not None else None
        if m is not None:
            out.append([float(v) for v in np.asarray(m)[:3, 3]])
    return out


def _is_style(f: Any, iid: int) -> bool:
    try:
        entity = f.by_id(iid)
    except (RuntimeError, ValueError):
        return False
    return not entity.is_a("IfcMaterial")


def _summarise(messages: list[str], limit: int = 20) -> list[str]:
    """Group messages that differ only in their position (first position kept)."""
    counts: dict[str, list] = {}
    for m in messages:
        key = re.sub(r" at line \d+, column \d+| at offset \d+", "", m)
        entry = counts.setdefault(key, [m, 0])
        entry[1] += 1
    out = [f"{m} (and {n - 1} more like it)" if n > 1 else m for m, n in counts.values()]
    if len(out) > limit:
        out = [*out[:limit], f"... and {len(out) - limit} more parser messages"]
    return out
