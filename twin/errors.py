"""One rule for turning an exception into the one-line message a user sees.

The CLI, the window's dialogs, the import worker and the native-reader children
all show errors as one line (README: no tracebacks). They used to carry their own
copies of this rule, which drifted (some kept only the first line, some joined
every line, some named the exception's type). Pure Python, no Qt: every layer
of the tree, including worker processes, may import it.
"""

from __future__ import annotations


def first_line(exc: BaseException, *, with_type: bool = False, limit: int | None = None) -> str:
    """The first non-blank line of ``exc``'s message, whitespace collapsed.

    Falls back to the exception's type name when the message is empty.
    ``with_type`` prefixes the type name (``"ValueError: ..."``) where the kind of
    failure matters to the reader (a reader crash, not a user's mistake); ``limit``
    cuts the message to that many characters. A ``KeyError`` shows its key
    without the quotes ``str()`` adds.
    """
    keyed = isinstance(exc, KeyError) and len(exc.args) == 1
    text = str(exc.args[0]) if keyed else str(exc)
    lines = [line for line in text.splitlines() if line.strip()]
    message = " ".join(lines[0].split()) if lines else ""
    if limit is not None:
        message = message[:limit]
    name = type(exc).__name__
    if not message:
        return name
    return f"{name}: {message}" if with_type else message
