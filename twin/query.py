"""Find features by text and by simple attribute conditions, vectorised, no eval.

A planner types ``height > 30`` or ``class = IfcWall and storeys >= 5``; the
query is parsed into :class:`Condition` records by a tiny tokenizer (never
``eval``) and evaluated as numpy comparisons over whole feature-table columns,
so filtering 100 000 features is a handful of array operations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from twin.features import FeatureTable
from twin.ifc_classes import descendants

OPERATORS = ("!=", ">=", "<=", "==", "~", "=", ">", "<")
_CONDITION = re.compile(
    r"^\s*(?P<col>[^\s=!<>~]+)\s*(?P<op>!=|>=|<=|==|~|=|>|<)\s*(?P<value>.*?)\s*$"
)
_JOIN = re.compile(r"\s+(and|AND|và)\s+")


class QueryError(ValueError):
    """A query the user typed that cannot be understood (message is shown as is)."""


@dataclass(frozen=True)
class Condition:
    """``column op value``; ``~`` means case-insensitive "contains"."""

    column: str
    op: str
    value: str


def parse_query(text: str) -> list[Condition]:
    """Split ``a > 1 and b = x`` into conditions; raise :class:`QueryError` if malformed."""
    text = text.strip()
    if not text:
        return []
    out = []
    for part in _JOIN.split(text)[::2]:
        m = _CONDITION.match(part)
        if m is None or not m["value"]:
            raise QueryError(f"cannot read condition {part.strip()!r}; try e.g. 'height > 30'")
        value = m["value"].strip().strip("'\"")
        out.append(Condition(m["col"], "=" if m["op"] == "==" else m["op"], value))
    return out


def looks_like_condition(text: str) -> bool:
    """True when ``text`` contains a comparison operator (else it is a text search)."""
    return any(op in text for op in OPERATORS)


def _numeric(column: np.ndarray) -> np.ndarray | None:
    if column.dtype.kind in "fiub":
        return column.astype(np.float64)
    try:
        return np.array(
            [np.nan if v is None or v == "" else float(v) for v in column], dtype=np.float64
        )
    except (TypeError, ValueError):
        return None


def evaluate(table: FeatureTable, conditions: list[Condition]) -> np.ndarray:
    """(n,) bool mask of rows meeting every condition.

    Numeric comparisons apply when both the column and the value are numbers
    (NaN never matches); otherwise ``=``/``!=``/``~`` compare text,
    case-insensitively. ``class = X`` (and ``!=``) follows the IFC schema's
    inheritance: ``class = IfcWall`` also finds ``IfcWallStandardCase``
    (:mod:`twin.ifc_classes`). An unknown column raises :class:`QueryError`.
    """
    mask = np.ones(len(table), dtype=bool)
    for cond in conditions:
        try:
            column = table.column(cond.column)
        except KeyError as exc:
            raise QueryError(str(exc.args[0])) from None
        if cond.column == "class" and cond.op in ("=", "!="):
            mask &= _class_match(column, cond)
        else:
            mask &= _compare(column, cond)
    return mask


def _class_match(column: np.ndarray, cond: Condition) -> np.ndarray:
    """``class = X``: X or any subclass of X (case-insensitive); ``!=`` negates."""
    text = np.char.lower(np.asarray(column, dtype=object).astype(str))
    hit = np.isin(text, list(descendants(cond.value)))
    return hit if cond.op == "=" else ~hit


def _compare(column: np.ndarray, cond: Condition) -> np.ndarray:
    try:
        number = float(cond.value)
    except ValueError:
        number = None
    values = _numeric(column) if number is not None else None
    if values is not None and number is not None:
        with np.errstate(invalid="ignore"):
            return {
                "=": values == number,
                "!=": values != number,
                ">": values > number,
                ">=": values >= number,
                "<": values < number,
                "<=": values <= number,
                "~": values == number,
            }[cond.op]
    text = np.char.lower(np.asarray(column, dtype=object).astype(str))
    needle = cond.value.lower()
    if cond.op == "=":
        return text == needle
    if cond.op == "!=":
        return text != needle
    if cond.op == "~":
        return np.char.find(text, needle) >= 0
    raise QueryError(f"'{cond.op}' needs a number, got {cond.value!r}")


def text_search(table: FeatureTable, text: str) -> np.ndarray:
    """(n,) bool mask: ``text`` found (case-insensitive) in id, name or GlobalId."""
    needle = text.strip().lower()
    mask = np.zeros(len(table), dtype=bool)
    if not needle or len(table) == 0:
        return mask
    columns = [table.ids, table.names]
    for key in ("GlobalId", "global_id", "globalid"):
        if key in table.attributes:
            columns.append(table.attributes[key])
    for col in columns:
        lowered = np.char.lower(np.asarray(col, dtype=object).astype(str))
        mask |= np.char.find(lowered, needle) >= 0
    return mask


def search(table: FeatureTable, text: str) -> np.ndarray:
    """Rows matching ``text``: a condition query if it has an operator, else text search."""
    if looks_like_condition(text):
        return np.flatnonzero(evaluate(table, parse_query(text)))
    return np.flatnonzero(text_search(table, text))
