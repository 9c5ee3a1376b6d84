"""Batches shared by forked processes (importers.ifc.fastpath.spread.Batches):
each taken once, a dead taker neither stalls the rest nor loses a batch."""

from __future__ import annotations

import ast
import os
import signal
import time

import pytest

from importers.ifc.fastpath.spread import Batches

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")

SPANS = [(k * 10, k * 10 + 10) for k in range(300)]


def _fork(work) -> tuple[int, int]:
    """A child running ``work()`` (its result written to a pipe); (pid, read fd)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(r)
            os.write(w, repr(work()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


def _read(pid: int, fd: int):
    data = b""
    while chunk := os.read(fd, 65536):
        data += chunk
    os.close(fd)
    os.waitpid(pid, 0)
    return ast.literal_eval(data.decode()) if data else None


def _take_all(batches: Batches, me: int) -> list[tuple[int, int]]:
    out = []
    while (span := batches.take(me)) is not None:
        out.append(span)
        time.sleep(0.0005)
    return out


def test_every_batch_is_taken_once_by_processes_taking_at_once():
    batches = Batches(SPANS, 3)
    children = [_fork(lambda k=k: _take_all(batches, k)) for k in (1, 2)]
    mine = _take_all(batches, 0)
    theirs = [_read(pid, fd) for pid, fd in children]
    taken = mine + theirs[0] + theirs[1]
    assert sorted(taken) == SPANS
    assert mine[0] == SPANS[0] and theirs[0][0] == SPANS[1] and theirs[1][0] == SPANS[2]
    for me, got in enumerate([mine, *theirs]):
        assert batches.taken_by(me) == sorted(got)
    batches.close()


def test_a_taker_killed_holding_the_lock_does_not_stall_the_others():
    batches = Batches(SPANS, 2)

    def die_holding_it():
        with batches._locked():
            os.kill(os.getpid(), signal.SIGKILL)

    pid, fd = _fork(die_holding_it)
    assert _read(pid, fd) is None
    t0 = time.monotonic()
    taken = _take_all(batches, 0)
    assert time.monotonic() - t0 < 5
    # the dead helper's first batch is recorded as its own (the worker hands it to the kernel)
    assert batches.taken_by(1) == [SPANS[1]]
    assert sorted(taken + batches.taken_by(1)) == SPANS
    batches.close()


def test_the_first_batches_of_helpers_never_forked_are_the_workers():
    batches = Batches(SPANS[:5], 4)
    batches.unforked(2)  # helpers 2 and 3 could not be forked
    taken = _take_all(batches, 0)
    assert sorted(taken) == sorted(set(SPANS[:5]) - {SPANS[1]})
    assert batches.taken_by(1) == [SPANS[1]]
    batches.close()
