"""Import cache: a reopened, unchanged file skips the worker entirely.

Key: SHA-256 of the file's bytes + importer version + the options that change
geometry + the IfcOpenShell version, so a new kernel or a changed file never
serves stale triangles. Entry: one ``.ctifc`` file, raw arrays behind a JSON
index (see :meth:`importers.ifc.payload.Payload.to_bytes`; no pickles, so a
planted cache file cannot run code; ~0.5 ms to read back where ``np.load`` of
an ``.npz`` spent ~2.5 ms parsing its members), under ``$CITYTWIN_CACHE_DIR``
or ``~/.cache/citytwin``, written to a temporary name, fsynced and renamed, so
a crash mid-write leaves either the old entry or none, never half of one.
Entries are written on a background thread (the cold import does not wait for
the disk); :func:`flush` waits for them.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import json
import os
import threading
import time
from importlib import metadata
from pathlib import Path

from importers.ifc.options import IfcOptions
from importers.ifc.payload import Payload

#: Bump when the payload's meaning changes; old entries are then ignored.
IMPORTER_VERSION = "ifc-3"  # 2: alignment centre lines; 3: .ctifc entries
SUFFIX = ".ctifc"
MAX_CACHE_BYTES = 4 * 1024**3
STALE_TMP_SECONDS = 3600

_digests: dict[tuple, str] = {}
_pending: list[threading.Thread] = []
_lock = threading.Lock()


def cache_dir() -> Path:
    root = os.environ.get("CITYTWIN_CACHE_DIR") or str(Path.home() / ".cache" / "citytwin")
    return Path(root) / "ifc"


@functools.cache
def ifcopenshell_version() -> str:
    """Installed IfcOpenShell (~1 ms to look up: once per process)."""
    try:
        return metadata.version("ifcopenshell")
    except metadata.PackageNotFoundError:
        return "unknown"


def file_digest(path: Path) -> str:
    """SHA-256 of the file, remembered per (path, size, mtime, inode) for this process."""
    st = os.stat(path)
    stamp = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    with _lock:
        if stamp in _digests:
            return _digests[stamp]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(8 * 1024 * 1024):
            h.update(block)
    digest = h.hexdigest()
    with _lock:
        _digests[stamp] = digest
    return digest


def fastpath_version() -> int:
    """The fast path's output version, so entries meshed by an older fast
    path are not reused."""
    from importers.ifc import fastpath

    return fastpath.VERSION


def key(digest: str, opts: IfcOptions) -> str:
    material = json.dumps(
        {
            "file": digest,
            "importer": IMPORTER_VERSION,
            "options": opts.geometry_key(),
            "ifcopenshell": ifcopenshell_version(),
            "fastpath": fastpath_version() if opts.fastpath else 0,
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:40]


def entry_path(k: str) -> Path:
    return cache_dir() / f"{k}{SUFFIX}"


def load(k: str) -> Payload | None:
    """The cached payload, or None (a damaged entry is deleted)."""
    path = entry_path(k)
    if not path.exists():
        return None
    try:
        with open(path, "rb") as fh:
            data = bytearray(fh.read())
        payload = Payload.from_bytes(data)
    except (OSError, ValueError, UnicodeDecodeError):
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recency for pruning
    return payload


def cacheable(payload: Payload) -> bool:
    """Only deterministic results: not when a worker was killed or timed out
    (a busy machine must not make an abandoned element permanent), nor when
    a fast-path helper was stopped for memory."""
    meta = payload.meta
    if meta.get("restarts") or meta.get("memory_notes"):
        return False
    return not any(
        str(r).startswith(("abandoned", "not computed")) for r in meta.get("failures", {}).values()
    )


def _write(k: str, payload: Payload) -> None:
    folder = cache_dir()
    tmp = folder / f".{k}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(payload.to_bytes())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, entry_path(k))
        with contextlib.suppress(OSError):
            dfd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        prune(folder)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def store(k: str, payload: Payload, background: bool = True) -> None:
    """Write an entry (atomically); in the background unless asked not to."""
    if not background:
        _write(k, payload)
        return
    thread = threading.Thread(target=_write, args=(k, payload), daemon=True, name="ifc-cache")
    with _lock:
        _pending[:] = [t for t in _pending if t.is_alive()]
        _pending.append(thread)
    thread.start()
    _flush_at_exit()


_registered = False


def _flush_at_exit() -> None:
    """A short-lived process (``citytwin info``) still leaves its entry behind."""
    global _registered
    with _lock:
        if _registered:
            return
        _registered = True
    atexit.register(flush, 60.0)


def flush(timeout: float | None = None) -> None:
    """Wait for background cache writes (tests, benchmarks, app shutdown)."""
    with _lock:
        threads = list(_pending)
    for t in threads:
        t.join(timeout)


def prune(folder: Path, limit: int = MAX_CACHE_BYTES) -> None:
    """Drop stale temporary files and the least recently used entries over ``limit``."""
    now = time.time()
    entries = []
    for p in folder.iterdir():
        try:
            st = p.stat()
        except OSError:
            continue
        if p.name.endswith(".tmp"):
            if now - st.st_mtime > STALE_TMP_SECONDS:
                with contextlib.suppress(OSError):
                    p.unlink()
            continue
        if p.suffix in (SUFFIX, ".npz"):  # .npz: entries of importer versions < 3
            entries.append((st.st_mtime, st.st_size, p))
    total = sum(e[1] for e in entries)
    for _, size, p in sorted(entries):
        if total <= limit:
            break
        with contextlib.suppress(OSError):
            p.unlink()
            total -= size
