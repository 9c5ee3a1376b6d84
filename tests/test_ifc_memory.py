"""The import's memory across processes (importers.ifc.memory), on real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from importers.ifc.memory import HelperWatch, parent_of, private_mb

pytestmark = pytest.mark.skipif(
    not os.path.exists("/proc/self/smaps_rollup"), reason="needs Linux /proc smaps_rollup"
)

HOLD = (
    "import numpy, time; a = numpy.ones({mb} * 2**20, numpy.uint8); "
    "print('ready', flush=True); time.sleep(60)"
)


def _holding(mb: int) -> subprocess.Popen:
    """A child process that holds ``mb`` MB of written (private) memory."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD.format(mb=mb)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_private_memory_and_parent_of_a_real_child():
    proc = _holding(64)
    try:
        assert parent_of(proc.pid) == os.getpid()
        assert 64 <= private_mb(proc.pid) < 64 + 60
    finally:
        proc.kill()
        proc.wait()
    assert private_mb(proc.pid) is None and parent_of(proc.pid) is None


def test_the_watch_stops_the_largest_helper_only_while_over_budget():
    small, big = _holding(16), _holding(128)
    try:
        watch = HelperWatch(limit_mb=150.0)
        watch.watch(os.getpid(), [small.pid, big.pid])
        now = watch.check(worker_rss_mb=40.0)  # 40 + ~16 + ~128 > 150
        assert big.wait(5) == -9 and small.poll() is None
        assert 40 + 16 <= now < 150 and watch.peak_mb >= 40 + 16 + 128
        assert len(watch.stopped) == 1 and "over the 150 MB budget" in watch.stopped[0]
        time.sleep(0.3)  # the next read of the helpers
        assert 40 + 16 <= watch.check(worker_rss_mb=40.0) < 150 and small.poll() is None
        assert watch.helpers == [small.pid] and len(watch.stopped) == 1
    finally:
        for p in (small, big):
            p.kill()
            p.wait()


def test_the_watch_leaves_helpers_when_the_worker_alone_is_over():
    """The worker itself over budget ends the run (the runner's outcome): its
    helpers die with it, stopping them first would only lose their work."""
    child = _holding(16)
    try:
        watch = HelperWatch(limit_mb=100.0)
        watch.watch(os.getpid(), [child.pid])
        watch.check(worker_rss_mb=120.0)
        assert child.poll() is None and not watch.stopped
    finally:
        child.kill()
        child.wait()


def test_the_watch_ignores_a_process_that_is_not_the_workers_child():
    child = _holding(16)
    try:
        watch = HelperWatch(limit_mb=10.0)
        watch.watch(os.getppid(), [child.pid])  # not this child's parent
        watch.check(worker_rss_mb=5.0)
        assert child.poll() is None and not watch.stopped and watch.helpers == []
    finally:
        child.kill()
        child.wait()
