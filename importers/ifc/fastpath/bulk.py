"""The fast path's numbers read in bulk from the file's text.

Reading one attribute through IfcOpenShell costs a SWIG call and often a
wrapper object (about 2 µs); a wall's placement, profile and extrusion take
some 25 such reads, most of the fast path's time. The entities that carry those
numbers (points, directions, axis placements, local placements, rectangle
profiles, extrusions, styled items) have a fixed shape of numbers and
references, so numpy reads them all from the bytes the completeness scan
(:func:`~importers.ifc.header.scan_instances`) holds anyway, while
IfcOpenShell parses the same file on the other core (it releases the GIL).

This is an accelerator, never a second reader of the model: only definitions
the scan found (outside strings and comments, before ``END-ISO-10303-21``)
are read, and an id defined twice is dropped. Anything spelt otherwise (a
typed value, a comment inside, lower case, a blank before '(') is simply
absent, and the fast path reads that entity through IfcOpenShell as before.
Numbers are the file's own (no unit applied): :mod:`.resolved` turns them
into matrices and loops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from importers.ifc import memory
from importers.ifc.header import InstanceScan, scan_instances

_KINDS = (
    b"IFCCARTESIANPOINT",
    b"IFCDIRECTION",
    b"IFCAXIS2PLACEMENT3D",
    b"IFCAXIS2PLACEMENT2D",
    b"IFCLOCALPLACEMENT",
    b"IFCEXTRUDEDAREASOLID",
    b"IFCRECTANGLEPROFILEDEF",
    b"IFCSTYLEDITEM",
)
_NUM = rb"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
_REF = rb"\s*#(\d+)\s*"
_OPT = rb"\s*(?:#(\d+)|\$)\s*"
_COORDS = re.compile(rb"\s*\(" + _NUM + rb"(?:," + _NUM + rb")?(?:," + _NUM + rb")?\)\s*")
#: Argument shapes, one per kind, for rows read one by one (``fullmatch``; a
#: row that differs is dropped). A string's bytes are quotes here.
_ARGS = {
    b"IFCCARTESIANPOINT": _COORDS,
    b"IFCDIRECTION": _COORDS,
    b"IFCAXIS2PLACEMENT3D": re.compile(_REF + b"," + _OPT + b"," + _OPT),
    b"IFCAXIS2PLACEMENT2D": re.compile(_REF + b"," + _OPT),
    b"IFCLOCALPLACEMENT": re.compile(_OPT + b"," + _REF),
    b"IFCEXTRUDEDAREASOLID": re.compile(_REF + b"," + _OPT + b"," + _REF + b"," + _NUM),
    b"IFCRECTANGLEPROFILEDEF": re.compile(
        rb"\s*\.AREA\.\s*,\s*(?:\$|'*)\s*," + _OPT + b"," + _NUM + b"," + _NUM
    ),
}


@dataclass
class Entities:
    """Rows of one kind, sorted by id: ``ids`` (n,) int64 and ``cols`` (n, k),
    references as ids and numbers as float64 (NaN for ``$`` or a missing coordinate)."""

    ids: np.ndarray
    cols: np.ndarray


@dataclass
class Bulk:
    """What was read, by kind (see :data:`_KINDS`)."""

    kinds: dict[str, Entities] = field(default_factory=dict)
    #: IfcStyledItem id -> (item id, style ids)
    styled: dict[int, tuple[int, tuple[int, ...]]] = field(default_factory=dict)

    def __getitem__(self, kind: str) -> Entities:
        empty = Entities(np.zeros(0, np.int64), np.zeros((0, 0)))
        return self.kinds.get(kind, empty)


def scan(source: Path) -> tuple[InstanceScan, Bulk]:
    """The completeness scan of ``source`` and, in the same pass, its simple
    entities."""
    reader = Reader()
    found = scan_instances(source, each=reader.feed)
    unique, counts = np.unique(found.ids, return_counts=True)
    tables = reader.finish(unique[counts > 1])
    memory.give_back()
    return found, tables


class Reader:
    """Reads the simple entities chunk by chunk (:meth:`feed`, called by the
    completeness scan, which knows strings, comments and definitions)."""

    def __init__(self) -> None:
        self.parts: dict[bytes, list[Entities]] = {k: [] for k in _KINDS}
        self.styled: dict[int, tuple[int, tuple[int, ...]]] = {}
        self.failed = False

    def feed(self, arr: np.ndarray, ids: np.ndarray, eq: np.ndarray) -> None:
        """One chunk's bytes (strings turned to quotes, comments blanked),
        the ids of its definitions and the offsets of their '='. A failure
        here gives up the bulk read, never the completeness scan around it."""
        if self.failed or len(eq) == 0:
            return
        try:
            self._read(arr, ids, eq)
        except Exception:
            self.failed = True

    def _read(self, arr: np.ndarray, ids: np.ndarray, eq: np.ndarray) -> None:
        start = eq + 1
        blank = np.flatnonzero(np.isin(arr[np.minimum(start, len(arr) - 1)], _SPACES))
        if len(blank):  # '#12= IFC...' (some exporters): skip up to 7 blanks
            after = arr[np.minimum(start[blank, None] + _COLS[:8], len(arr) - 1)]
            start[blank] += np.argmin(np.isin(after, _SPACES), axis=1)
        window = arr[np.minimum(start[:, None] + _COLS, len(arr) - 1)].view(np.uint64)
        semis = np.flatnonzero(arr == 59)  # every ';' left is a terminator
        for kind, (code, mask, n) in _CODES.items():
            rows = np.flatnonzero(((window & mask) == code).all(axis=1))
            if len(rows) == 0:
                continue
            first = start[rows] + n  # after '('
            end = semis[np.minimum(np.searchsorted(semis, first), len(semis) - 1)]
            ok = (end > first) & (arr[end - 1] == 41)  # '...);'
            first, last, step = first[ok], end[ok] - 1, ids[rows[ok]]
            joined = _gather(arr, first, last)
            if kind == b"IFCSTYLEDITEM":
                self.styled.update(_styled(step, joined))
            else:
                self.parts[kind].append(_table(kind, step, joined))

    def finish(self, repeated: np.ndarray) -> Bulk:
        """The tables, without ids defined more than once (``repeated``);
        none where a chunk failed (the fast path then reads every entity)."""
        bulk = Bulk()
        if self.failed:
            return bulk
        for kind, parts in self.parts.items():
            if not parts:
                continue
            ids = np.concatenate([p.ids for p in parts])
            cols = np.concatenate([p.cols.reshape(len(p.ids), -1) for p in parts])
            keep = np.flatnonzero(~np.isin(ids, repeated))
            keep = keep[np.argsort(ids[keep], kind="stable")]  # by id: looked up by search
            bulk.kinds[kind.decode()[3:].lower()] = Entities(ids[keep], cols[keep])
        drop = set(repeated.tolist())
        bulk.styled = {k: v for k, v in self.styled.items() if k not in drop}
        self.parts, self.styled = {}, {}
        return bulk


def _codes() -> dict[bytes, tuple[np.ndarray, np.ndarray, int]]:
    """Each kind's name and '(' as three uint64 words, with the mask of its
    bytes, to compare 24-byte windows of the text in one go."""
    out = {}
    for kind in _KINDS:
        name = kind + b"("
        code = np.frombuffer(name.ljust(24, b"\0"), np.uint64)
        mask = np.frombuffer((b"\xff" * len(name)).ljust(24, b"\0"), np.uint64)
        out[kind] = (code, mask, len(name))
    return out


_COLS = np.arange(24)
_SPACES = np.array(list(b" \t\r\n"), dtype=np.uint8)
_CODES = _codes()


def _gather(arr: np.ndarray, first: np.ndarray, last: np.ndarray) -> bytes:
    """``arr[first[i]:last[i]]`` for every row, joined by ';'."""
    size = last - first + 1  # each row and its separator
    total = int(size.sum())
    if total == 0:
        return b""
    out_start = np.cumsum(size) - size
    idx = np.arange(total) - np.repeat(out_start - first, size)
    out = arr[idx]
    out[out_start + size - 1] = 59
    return out[:-1].tobytes()


def _styled(ids: np.ndarray, joined: bytes) -> dict[int, tuple[int, tuple[int, ...]]]:
    """Styled items -> (item, style ids) by id: one style each all at once,
    the others row by row."""
    rows = joined.translate(None, b" \t\r\n'").split(b";")
    # the Name last: '$' or a string (its quotes are gone)
    plain = [r[:-2] if r.endswith(b",$") else r[:-1] if r.endswith(b",") else b"" for r in rows]
    fast = _columns(b"IFCSTYLEDITEM", b";".join(plain), len(rows))
    keep, cols = fast if fast is not None else (np.zeros(len(rows), bool), None)
    out = {}
    if cols is not None:
        keep &= ~np.isnan(cols).any(axis=1)  # an item and a style, not '$'
        pairs = cols[keep].astype(np.int64).tolist()
        found = zip(ids[keep].tolist(), pairs, strict=True)
        out = {i: (item, (style,)) for i, (item, style) in found}
    for k in np.flatnonzero(~keep).tolist():  # several styles, or spelt otherwise
        m = _STYLES.fullmatch(plain[k])
        if m is not None:
            styles = tuple(int(t[1:]) for t in m.group(2).split(b","))
            out[int(ids[k])] = (int(m.group(1)), styles)
    return out


_STYLES = re.compile(rb"#(\d+),\(((?:#\d+,)*#\d+)\)")


#: Columns per kind: (width, references first) -- numbers follow the references.
_SHAPES = {
    b"IFCCARTESIANPOINT": (3, 0),
    b"IFCDIRECTION": (3, 0),
    b"IFCAXIS2PLACEMENT3D": (3, 3),
    b"IFCAXIS2PLACEMENT2D": (2, 2),
    b"IFCLOCALPLACEMENT": (2, 2),
    b"IFCEXTRUDEDAREASOLID": (4, 3),
    b"IFCRECTANGLEPROFILEDEF": (3, 1),  # after '.AREA.,' and the name
    b"IFCSTYLEDITEM": (2, 2),  # one style: '#item,(#style)', before the name
}
#: Kinds whose columns sit in a list (its parentheses are dropped).
_LISTS = {b"IFCCARTESIANPOINT", b"IFCDIRECTION", b"IFCSTYLEDITEM"}
_BLANKS = b" \t\r\n"
_AREA = b".AREA.,"
_ALLOWED = np.zeros(256, bool)
_ALLOWED[list(b"0123456789.+-Ee,;$#")] = True


def _table(kind: bytes, ids: np.ndarray, joined: bytes) -> Entities:
    """Rows -> arrays (references as ids, ``$`` and absent coordinates NaN):
    all rows at once where the text is plain, else row by row."""
    width = _SHAPES[kind][0]
    fast = _columns(kind, joined, len(ids))
    if fast is not None:
        keep, cols = fast
        return Entities(ids[keep], cols[keep])
    shape = _ARGS[kind]
    keep, rows = [], []
    for k, a in enumerate(joined.split(b";")):
        m = shape.fullmatch(a)
        if m is not None:
            keep.append(k)
            rows.append([float(g) if g else np.nan for g in m.groups()])
    return Entities(ids[keep], np.array(rows, dtype=np.float64).reshape(-1, width))


def _columns(kind: bytes, joined: bytes, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Every row of ``joined`` (rows split by ';') at once, or None where some
    text is not plain numbers and references (the caller then reads row by row)."""
    width, nrefs = _SHAPES[kind]
    joined = joined.translate(None, _BLANKS)
    keep = np.ones(n, bool)
    if kind == b"IFCRECTANGLEPROFILEDEF":  # its ProfileName: '$' or a string
        rows = joined.translate(None, b"'").split(b";")
        keep = np.array([r.startswith(_AREA) for r in rows], dtype=bool)
        joined = b";".join(r[r.index(b",", len(_AREA)) + 1 :] if k else b"$,$,$"
                           for r, k in zip(rows, keep.tolist(), strict=True))  # fmt: skip
    if kind in _LISTS:
        joined = joined.translate(None, b"()")
    buf = np.frombuffer(joined, np.uint8)
    if len(buf) == 0 or not _ALLOWED[buf].all():
        return None
    seps = np.flatnonzero((buf == 59) | (buf == 44))
    ends = buf[seps] == 59
    row = np.concatenate([[0], np.cumsum(ends)])  # of each token
    col = np.arange(len(row)) - np.flatnonzero(np.concatenate([[True], ends]))[row]
    count = np.bincount(row, minlength=n)
    lead = buf[np.minimum(np.concatenate([[0], seps + 1]), len(buf) - 1)]
    is_ref, is_null = lead == 35, lead == 36  # '#', '$'
    if nrefs:
        keep &= count == width
        keep &= np.bincount(row, (col < nrefs) & ~(is_ref | is_null), n) == 0
        keep &= np.bincount(row, (col >= nrefs) & (is_ref | is_null), n) == 0
    else:
        keep &= (count <= width) & (np.bincount(row, is_ref | is_null, n) == 0)
    # '$' only ever stands alone in a column kept above: it reads as NaN
    tokens = joined.translate(None, b"#").replace(b"$", b"nan").replace(b";", b",").split(b",")
    try:
        values = np.fromiter(map(float, tokens), np.float64, len(tokens))
    except ValueError:
        return None
    cols = np.full((n, width), np.nan)
    inside = col < width
    cols[row[inside], col[inside]] = values[inside]
    return keep, cols
