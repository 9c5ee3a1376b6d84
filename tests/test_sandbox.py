"""Native readers run in a child: whatever the child does, the caller gets a
one-line ImportFailed naming the file (or the function's own exception)."""

from __future__ import annotations

import json

import pytest

from importers import sandbox
from importers.errors import ImportFailed

FILE = "district.gpkg"


def test_result_comes_back():
    assert sandbox.call(FILE, "math:hypot", 3.0, 4.0) == 5.0


def test_the_functions_own_exception_is_raised_here():
    with pytest.raises(json.JSONDecodeError):
        sandbox.call(FILE, "json:loads", "{not json")


def test_a_crashing_reader_is_a_one_line_error():
    with pytest.raises(ImportFailed) as exc:
        sandbox.call(FILE, "os:abort")
    assert FILE in str(exc.value) and "crashed (SIGABRT)" in str(exc.value)


def test_a_hanging_reader_is_stopped_at_its_time_limit():
    with pytest.raises(ImportFailed) as exc:
        sandbox.call(FILE, "time:sleep", 30, time_limit_s=0.5)
    assert "longer than 0 s" in str(exc.value) or "longer than 1 s" in str(exc.value)


def test_a_reader_over_its_memory_budget_is_stopped():
    with pytest.raises(ImportFailed) as exc:
        sandbox.call(FILE, "numpy:ones", 60_000_000, memory_limit_mb=300)
    assert "over the 300 MB budget" in str(exc.value)


def test_cancel_stops_the_reader():
    import threading

    from importers.errors import ImportCancelled

    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    with pytest.raises(ImportCancelled):
        sandbox.call(FILE, "time:sleep", 30, cancel=cancel)


def test_a_hung_forkserver_is_restarted_not_waited_on_forever():
    """A forkserver that stops answering (here: SIGSTOP) costs one time-out, then
    a fresh forkserver serves the read; before, every import hung for good."""
    import subprocess
    import sys

    from conftest import ROOT

    code = (
        "import os, signal, time\n"
        "from multiprocessing import forkserver\n"
        "from importers import childpool, sandbox\n"
        "childpool.FORKSERVER_ANSWER_S = 3.0\n"
        "childpool.warm_up()\n"
        "proc, conn = childpool.take_worker(); conn.close(); childpool._stop(proc)\n"
        "pid = forkserver._forkserver._forkserver_pid\n"
        "with childpool._SPARE_LOCK:\n"
        "    spare, childpool._SPARE = childpool._SPARE, None\n"
        "if spare: childpool._retire(spare)\n"
        "os.kill(pid, signal.SIGSTOP)\n"
        "t0 = time.monotonic()\n"
        "proc, conn = childpool.take_worker()\n"
        "assert forkserver._forkserver._forkserver_pid != pid\n"
        "assert proc.is_alive()\n"
        "print('recovered in', round(time.monotonic() - t0, 1))\n"
        "conn.close(); childpool._stop(proc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "recovered in" in out.stdout
