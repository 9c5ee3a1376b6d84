"""Temp files left by killed saves are removed on the next save or start, and a
recoverable autosave is never touched (issue 18, item 7)."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path

import pytest

from twin import project as projects
from twin.scene import Bookmark


def _leftover(target: Path, age_s: float = 60.0) -> Path:
    """A temp file named as :func:`atomic_write_text` names it, as a save killed
    between writing and ``os.replace`` leaves it."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.write(fd, b'{"format": "citytwin-project", "half": ')
    os.close(fd)
    old = time.time() - age_s
    os.utime(name, (old, old))
    return Path(name)


def _project(n: int = 2) -> projects.Project:
    marks = [Bookmark(f"b{k}", (float(k), 1.0, 2.0), (0.0, 0.0, 0.0)) for k in range(n)]
    return projects.Project(bookmarks=marks)


def test_a_save_removes_stale_temps_and_keeps_the_recovery_file(tmp_path):
    path = tmp_path / "p.ctproj"
    projects.save_project(_project(1), path)
    rec = projects.autosave(_project(3), path)
    os.utime(rec, (time.time() + 5, time.time() + 5))  # newer: recoverable
    stale = [_leftover(path) for _ in range(3)] + [_leftover(rec) for _ in range(2)]
    other = tmp_path / ".q.ctproj.abcdefgh.tmp"  # another project's: not ours to remove
    other.write_text("x", encoding="utf-8")
    os.utime(other, (time.time() - 60, time.time() - 60))
    assert all(p.exists() for p in stale)

    projects.save_project(_project(2), path)

    assert not any(p.exists() for p in stale)
    assert rec.exists() and projects.recovery_candidate(path) == rec
    assert other.exists()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([".p.ctproj.autosave", ".q.ctproj.abcdefgh.tmp", "p.ctproj"])
    loaded, warnings = projects.load_project(rec)
    assert warnings == [] and len(loaded.bookmarks) == 3


def test_start_cleans_too_and_spares_fresh_or_locked_temps(tmp_path):
    """recovery_candidate runs when the app starts on a project: it cleans. A
    temp file seconds old, or locked by a live save, may be a save in progress."""
    path = tmp_path / "p.ctproj"
    projects.save_project(_project(1), path)
    stale = _leftover(path)
    fresh = _leftover(path, age_s=0.0)
    assert projects.recovery_candidate(path) is None
    assert not stale.exists() and fresh.exists()

    fcntl = pytest.importorskip("fcntl")
    locked = _leftover(path)
    fd = os.open(locked, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert projects.clean_stale_temps(path) == []
        assert locked.exists()
    finally:
        os.close(fd)
    assert projects.clean_stale_temps(path) == [locked]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")
def test_saves_killed_mid_write_leave_nothing_after_the_next_save(tmp_path, monkeypatch):
    """The real thing: SIGKILL a child stopped inside a save (after the temp file
    is written, before the rename); the next save removes its temp file."""
    monkeypatch.setattr(projects, "STALE_TEMP_GRACE_S", 0.0)
    path = tmp_path / "p.ctproj"
    projects.save_project(_project(1), path)
    for _ in range(5):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: stop inside the save, after fsync of the temp file
            try:
                os.close(read_end)

                def stall(fd: int, ready: int = write_end) -> None:
                    os.write(ready, b"r")
                    time.sleep(60)

                projects.os.fsync = stall  # type: ignore[assignment]
                projects.save_project(_project(400), path)
            finally:
                os._exit(1)
        os.close(write_end)
        assert os.read(read_end, 1) == b"r"
        os.close(read_end)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    temps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(temps) == 5
    projects.save_project(_project(2), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.ctproj"]
    loaded, _ = projects.load_project(path)
    assert len(loaded.bookmarks) == 2
