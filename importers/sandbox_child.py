"""The child side of :func:`importers.sandbox.call`: run the named function and
send back its result, its exception, or a one-line failure."""

from __future__ import annotations

import contextlib
from typing import Any


def run_in_child(conn: Any, job: dict[str, Any]) -> None:
    """Run ``module:function`` of ``job`` and send its result or exception back."""
    import importlib
    import pickle

    module_name, _, name = job["call"].partition(":")
    try:
        value = getattr(importlib.import_module(module_name), name)(*job["args"], **job["kwargs"])
        reply: tuple[str, Any] = ("result", value)
    except Exception as exc:
        try:
            pickle.dumps(exc)
            reply = ("raised", exc)
        except Exception:
            reply = ("raised", RuntimeError(f"{type(exc).__name__}: {exc}"))
    with contextlib.suppress(OSError, EOFError, BrokenPipeError):
        conn.send(reply)
