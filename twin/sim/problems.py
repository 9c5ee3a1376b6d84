"""A feed's list of problems: the first N kept with where and why, the rest counted.

The window's feed-health panel lists them (issue 14: "the first 100 bad rows or
messages are listed with line or topic and reason, plus a count of the rest");
``citytwin ingest`` and ``history --import`` print them. Kept apart from the
feeds so every adapter reports the same way.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One bad row or message: ``where`` is ``file:line`` or an MQTT topic."""

    where: str
    reason: str
    #: "error" (data skipped) or "warning" (data kept, e.g. a zone assumed)
    level: str = "error"

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


class ProblemLog:
    """The first ``limit`` problems, in order, plus a count of the rest.

    Thread-safe: an MQTT callback adds while the window reads.
    """

    def __init__(self, limit: int = 100) -> None:
        self.limit = limit
        self._items: list[Problem] = []
        self.more = 0
        self._lock = threading.Lock()

    def add(self, where: str, reason: str, level: str = "error") -> None:
        with self._lock:
            if len(self._items) < self.limit:
                self._items.append(Problem(where, reason, level))
            else:
                self.more += 1

    @property
    def items(self) -> list[Problem]:
        with self._lock:
            return list(self._items)

    @property
    def total(self) -> int:
        with self._lock:
            return len(self._items) + self.more

    def count(self, level: str) -> int:
        """Problems of one level among those listed (the rest are not sorted)."""
        with self._lock:
            return sum(p.level == level for p in self._items)

    def clear(self) -> None:
        with self._lock:
            self._items, self.more = [], 0

    def lines(self) -> list[str]:
        """Printable: one line each, then "... and N more" when some were not kept."""
        out = [str(p) if p.level == "error" else f"{p} (warning)" for p in self.items]
        if self.more:
            out.append(f"... and {self.more} more")
        return out

    def __len__(self) -> int:
        return self.total
