"""The STEP header, the schema policy and the file actually handed to IfcOpenShell.

Pure Python (no native code), so the parent process can check a file before any
worker starts: a legacy schema or a text file that is not STEP gets its one-line
error at once. ``.ifczip`` archives are inflated here with the archive checks of
RELIABILITY.md C3-C5 (ratio, size, CRC) instead of ``ifcopenshell.open``'s
unchecked ``extract``.
"""

from __future__ import annotations

import re
import shutil
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from importers.errors import ImportFailed

#: Schemas IfcOpenShell 0.9 parses, by the name it knows them under.
SUPPORTED = ("IFC2X3", "IFC4", "IFC4X3_ADD2")
HEADER_BYTES = 256 * 1024
#: ifcZIP limits: refuse bombs before inflating (RELIABILITY.md C3).
ZIP_MAX_RATIO = 100.0
ZIP_MAX_BYTES = 4 * 1024**3
#: Bytes scanned at a time when counting instances (:func:`scan_instances`);
#: the scan's arrays take about 12 bytes per byte of chunk, while IfcOpenShell
#: parses (the import's peak on the 20 MB plain tower: 283 MB with 1 MB chunks,
#: 296 MB with 2 MB; no slower).
SCAN_CHUNK = 1 * 1024 * 1024
#: Longest STEP id the scan parses (ids are int64 in practice far shorter).
_MAX_ID_DIGITS = 18
_POW10 = 10 ** np.arange(_MAX_ID_DIGITS, dtype=np.int64)

_SCHEMA_RE = re.compile(rb"FILE_SCHEMA\s*\(\s*\(\s*'([^']*)'", re.IGNORECASE)
_DATA_RE = re.compile(rb"(^|;|\s)DATA\s*(\([^)]*\))?\s*;", re.IGNORECASE)


@dataclass
class Header:
    """What the header says and how the file will be read."""

    declared: str
    schema: str
    notes: list[str] = field(default_factory=list)

    @property
    def patched(self) -> bool:
        return self.declared.upper() != self.schema


def is_zip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"PK\x03\x04"


def read_header(path: Path, head: bytes | None = None) -> Header:
    """Schema of a STEP file from its first bytes, mapped by :func:`schema_policy`."""
    if head is None:
        with open(path, "rb") as fh:
            head = fh.read(HEADER_BYTES)
    if not head.strip():
        raise ImportFailed(path, "is empty")
    if b"ISO-10303-21" not in head[:4096].upper():
        if head.lstrip().startswith(b"<"):
            raise ImportFailed(path, "is ifcXML (XML), which is not supported; export IFC-SPF")
        raise ImportFailed(path, "is not an IFC file (no ISO-10303-21 header)")
    match = _SCHEMA_RE.search(head)
    if match is None:
        raise ImportFailed(path, "has no FILE_SCHEMA in its header (truncated or damaged header)")
    declared = match.group(1).decode("latin-1").strip()
    header = schema_policy(path, declared)
    header.notes.extend(_header_problems(head))
    return header


_FILE_NAME_RE = re.compile(rb"FILE_NAME\s*\(", re.IGNORECASE)


def _top_level_args(text: bytes, start: int) -> int | None:
    """Number of top-level arguments of the STEP record whose '(' is at ``start``."""
    depth, count, quoted, seen = 0, 0, False, False
    for i in range(start, min(len(text), start + 65536)):
        c = text[i : i + 1]
        if quoted:
            if c == b"'":
                quoted = False
            continue
        if c == b"'":
            quoted, seen = True, True
        elif c == b"(":
            depth += 1
            if depth > 1:
                seen = True
        elif c == b")":
            depth -= 1
            if depth == 0:
                return count + (1 if seen else 0)
        elif c == b"," and depth == 1:
            count += 1
        elif not c.isspace():
            seen = True
    return None


def _header_problems(head: bytes) -> list[str]:
    """Header damage IfcOpenShell tolerates silently (RELIABILITY A4)."""
    m = _FILE_NAME_RE.search(head)
    if m is None:
        return ["the header has no FILE_NAME record"]
    n = _top_level_args(head, m.end() - 1)
    if n is not None and n != 7:
        return [f"the header's FILE_NAME has {n} of 7 attributes (damaged header)"]
    return []


def schema_policy(path: Path, declared: str) -> Header:
    """Map a declared schema to one IfcOpenShell reads, or fail naming it.

    Non-final identifiers of a supported schema family (``IFC4X3``,
    ``IFC4X3_ADD1``, ``IFC4X3_RC2``, ``IFC4_ADD2``, ``IFC2X3_TC1``) are read with
    the final schema and a warning, as other viewers do: their entities are
    nearly all the same and a planner would rather see the model. Legacy
    (IFC1.x, IFC2.0, IFC2X, IFC2X2) and pre-release IFC4 (``IFC4RC4``) schemas
    and unknown names are refused.
    """
    name = declared.upper()
    if name in SUPPORTED:
        return Header(declared, name)
    if name.startswith("IFC4X3"):
        target = "IFC4X3_ADD2"
    elif re.fullmatch(r"IFC4_ADD\d(_TC\d)?|IFC4_TC\d", name):
        target = "IFC4"
    elif re.fullmatch(r"IFC2X3_(TC\d|FINAL)", name):
        target = "IFC2X3"
    else:
        kind = "unknown"
        if re.match(r"IFC(1|2X2|2X_|2X$|20|2\.)", name) or name.startswith("IFC4RC"):
            kind = "legacy or pre-release"
        raise ImportFailed(
            path,
            f"unsupported IFC schema {declared!r} ({kind}); CityTwin reads {', '.join(SUPPORTED)}",
        )
    note = (
        f"schema identifier {declared!r} is not a final IFC release name; read as {target} "
        "(entities that differ may be skipped)"
    )
    return Header(declared, target, [note])


def check_has_data(path: Path, source: Path) -> None:
    """A file without a DATA section is truncated or empty: say so plainly."""
    with open(source, "rb") as fh:
        chunk = fh.read(HEADER_BYTES)
        found = _DATA_RE.search(chunk) is not None
        while not found:
            more = fh.read(4 * 1024 * 1024)
            if not more:
                break
            found = _DATA_RE.search(chunk[-64:] + more) is not None
            chunk = more
    if not found:
        raise ImportFailed(path, "has no DATA section (truncated or empty file)")


def _has_end(source: Path) -> bool:
    with open(source, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - 4096))
        tail = fh.read()
    return b"END-ISO-10303-21" in tail.upper()


def extract_zip(path: Path, workdir: Path) -> Path:
    """The one .ifc member of an ifcZIP, inflated into ``workdir`` with checks.

    The member's name is never used as an output path (no ``../`` escapes); the
    size and compression ratio come from the central directory and are
    enforced again on the bytes actually inflated, since headers can lie.
    """
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFailed(path, f"is not a readable ifcZIP archive ({exc})") from None
    with zf:
        members = [
            i for i in zf.infolist() if not i.is_dir() and i.filename.lower().endswith(".ifc")
        ]
        if not members:
            raise ImportFailed(path, "ifcZIP archive holds no .ifc file")
        info = members[0]
        if info.file_size > ZIP_MAX_BYTES:
            raise ImportFailed(
                path, f"ifcZIP member {info.filename!r} would inflate to {info.file_size} bytes"
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > ZIP_MAX_RATIO:
            raise ImportFailed(
                path,
                f"ifcZIP member {info.filename!r} has compression ratio {ratio:.0f}:1 "
                f"(over {ZIP_MAX_RATIO:.0f}:1; refused as a possible zip bomb)",
            )
        limit = min(ZIP_MAX_BYTES, int(info.compress_size * ZIP_MAX_RATIO) + 1024)
        out = workdir / "member.ifc"
        written = 0
        try:
            with zf.open(info) as src, open(out, "wb") as dst:
                while block := src.read(1024 * 1024):
                    written += len(block)
                    if written > limit:
                        raise ImportFailed(
                            path, f"ifcZIP member {info.filename!r} inflates past its limit"
                        )
                    dst.write(block)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error) as exc:
            out.unlink(missing_ok=True)
            raise ImportFailed(
                path, f"ifcZIP member {info.filename!r} is damaged ({exc})"
            ) from None
        except Exception:
            out.unlink(missing_ok=True)
            raise
    return out


def prepare_source(path: Path, workdir: Path) -> tuple[Path, Header]:
    """The path IfcOpenShell should open and the header policy applied to it.

    Inflates ifcZIP and, for a non-final schema name of a supported family,
    writes a copy whose FILE_SCHEMA names the final schema.
    """
    source = extract_zip(path, workdir) if is_zip(path) else path
    with open(source, "rb") as fh:
        head = fh.read(HEADER_BYTES)
    header = read_header(path, head)
    check_has_data(path, source)
    if not _has_end(source):
        header.notes.append(
            "the file is truncated (no END-ISO-10303-21 at its end); whatever followed the "
            "cut is missing"
        )
    if header.patched:
        patched = workdir / "patched.ifc"
        match = _SCHEMA_RE.search(head)
        assert match is not None
        with open(source, "rb") as src, open(patched, "wb") as dst:
            first = src.read(HEADER_BYTES)
            first = first[: match.start(1)] + header.schema.encode("ascii") + first[match.end(1) :]
            dst.write(first)
            shutil.copyfileobj(src, dst, 4 * 1024 * 1024)
        if source != path:
            source.unlink(missing_ok=True)
        source = patched
    return source, header


# -- did the parser read the whole file? ----------------------------------------------


@dataclass
class InstanceScan:
    """Every instance definition (``#n=``) of a STEP file, in file order."""

    ids: np.ndarray  # (n,) int64
    starts: np.ndarray  # (n,) int64 byte offset of each '#'
    #: Offset of the first ``END-ISO-10303-21`` outside strings and comments:
    #: readers stop there, so instances after it are not part of the model.
    end: int | None = None


#: A string ('...', quotes doubled inside) or a closed comment, whichever comes
#: first: the tokens that can hide quotes or '#n=' from the scan.
_STRING_OR_COMMENT = re.compile(rb"'(?:[^'\\]++|''|\\S\\.|\\)*+'|/\*.*?\*/", re.DOTALL)
_SPACES = np.array([32, 9, 10, 13], dtype=np.uint8)
#: Bytes looked at before each '=': up to 18 id digits, '#' and some blanks.
_WINDOW = 32


def _blank_comments(arr: np.ndarray) -> np.ndarray:
    """``arr`` with closed comments blanked (same length, so offsets hold).

    Only when the text has a ``/*`` at all (rare in exported files), so the
    usual file costs one search. Strings are matched too, so a ``/*`` inside
    a string does not open a comment, nor a quote inside a comment a string.
    An unclosed ``/*`` is left alone: it is exactly the damage this scan looks
    for, and IfcOpenShell stops reading at it without a word.
    """
    data = arr.tobytes()
    if b"/*" not in data:
        return arr
    spans = [m.span() for m in _STRING_OR_COMMENT.finditer(data) if m.group().startswith(b"/*")]
    if not spans:
        return arr
    out = arr.copy()
    for start, stop in spans:
        out[start:stop] = 32
    return out


def _outside_strings(arr: np.ndarray) -> np.ndarray:
    """Mask of the bytes outside '...' strings, for text that starts outside one.

    STEP escapes a quote inside a string by doubling it, so the parity of the
    quotes seen so far tells inside from outside with no per-byte loop. The
    one other way a quote appears in a string is ``\\S\\'`` (ISO 8859 high
    half: the quote stands for 0xA7), which IfcOpenShell reads as a character.
    """
    quote = arr == 39
    if len(arr) > 3:
        quote[3:] &= ~((arr[:-3] == 92) & (arr[1:-2] == 83) & (arr[2:-1] == 92))
    return ~np.bitwise_xor.accumulate(quote)


def _definitions(
    arr: np.ndarray, outside: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ids, offsets and '=' offsets of the ``#n =`` tokens outside strings in one chunk.

    Anchored on each '=' outside strings (in a DATA section only instance
    definitions have one): read backwards over a short window, past blanks
    (STEP allows spaces and line breaks there), the token before it must be a
    run of digits led by '#'. Work is per '=', never per byte of the file.
    """
    eq = np.flatnonzero((arr == 61) & outside)
    if len(eq) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    back = eq[:, None] - 1 - np.arange(_WINDOW)  # window, nearest byte first
    win = np.where(back >= 0, arr[np.maximum(back, 0)], 0)
    blank = np.isin(win, _SPACES)
    lead = np.argmin(blank, axis=1)  # blanks before the '='
    digit = (win >= 48) & (win <= 57)
    cols = np.arange(_WINDOW)
    run = np.argmin(digit | (cols < lead[:, None]), axis=1) - lead  # digits
    hash_col = lead + run
    ok = (run > 0) & (run <= _MAX_ID_DIGITS) & (hash_col < _WINDOW)
    ok[ok] = win[ok, hash_col[ok]] == 35
    win, lead, run, hash_col = win[ok], lead[ok], run[ok], hash_col[ok]
    place = np.arange(_MAX_ID_DIGITS)  # 0: the units digit, next to the blanks
    at = np.minimum(lead[:, None] + place, _WINDOW - 1)
    digits = np.take_along_axis(win, at, axis=1).astype(np.int64) - 48
    ids = (np.where(place < run[:, None], digits, 0) * _POW10).sum(axis=1)
    return ids, (eq[ok] - 1 - hash_col).astype(np.int64), eq[ok]


def scan_instances(
    source: Path, chunk: int = SCAN_CHUNK, each: Callable[..., None] | None = None
) -> InstanceScan:
    """Read ``source`` in chunks and list its instance definitions.

    Chunks are cut after the last ``;`` outside strings and comments, which no
    ``#n=`` token spans, so each chunk starts outside both; a comment still
    open at a cut is given up to eight more chunks to close. Memory stays
    bounded by the chunk size plus two int64 per instance.

    ``each``: called with every chunk's bytes up to ``END-ISO-10303-21`` (every
    byte of a string turned into a quote, comments blanked: offsets kept), and
    the ids and '=' offsets of its definitions, for readers that must not see
    inside strings or comments (:mod:`.fastpath.bulk`).
    """
    ids: list[np.ndarray] = []
    starts: list[np.ndarray] = []
    carry, base = b"", 0
    end: int | None = None
    with open(source, "rb") as fh:
        while True:
            more = fh.read(chunk)
            buf = carry + more
            if not buf:
                break
            arr = _blank_comments(np.frombuffer(buf, dtype=np.uint8))
            outside = _outside_strings(arr)
            cut = len(buf)
            if more:
                semis = (arr == 59) & outside
                opened = np.flatnonzero((arr[:-1] == 47) & (arr[1:] == 42) & outside[:-1])
                if len(opened) and len(buf) < 8 * chunk:
                    semis[opened[0] :] = False  # wait for the comment to close
                found = np.flatnonzero(semis)
                if len(found) == 0:
                    carry = buf  # one huge instance or comment: read on
                    continue
                cut = int(found[-1]) + 1
            i, s, eq = _definitions(arr[:cut], outside[:cut])
            ids.append(i)
            starts.append(s + base)
            stop = end
            if end is None:
                end = _terminator(arr[:cut], outside[:cut], base)
            if each is not None and stop is None:
                last = cut if end is None else end - base
                before = s < last
                each(np.where(outside[:last], arr[:last], 39), i[before], eq[before])
            carry, base = buf[cut:], base + cut
            if not more:
                break
    if not ids:
        return InstanceScan(np.zeros(0, np.int64), np.zeros(0, np.int64), end)
    return InstanceScan(np.concatenate(ids), np.concatenate(starts), end)


def _terminator(arr: np.ndarray, outside: np.ndarray, base: int) -> int | None:
    data = arr.tobytes()
    at = data.find(b"END-ISO-10303-21")
    while at >= 0 and not outside[at]:
        at = data.find(b"END-ISO-10303-21", at + 1)
    return None if at < 0 else base + at


def _line_col(source: Path, offset: int) -> tuple[int, int]:
    """1-based line and column of a byte offset, counting newlines in chunks."""
    line, done, last_nl = 1, 0, -1
    with open(source, "rb") as fh:
        while done < offset:
            block = fh.read(min(SCAN_CHUNK, offset - done))
            if not block:
                break
            line += block.count(b"\n")
            nl = block.rfind(b"\n")
            if nl >= 0:
                last_nl = done + nl
            done += len(block)
    return line, offset - last_nl


def _first_junk(source: Path, start: int, stop: int) -> int | None:
    """Offset of the first non-blank byte after the ``;`` that ends the
    instance at ``start`` and before ``stop``: text the parser choked on."""
    with open(source, "rb") as fh:
        fh.seek(start)
        region = fh.read(min(stop - start, 16 * 1024 * 1024))
    arr = _blank_comments(np.frombuffer(region, dtype=np.uint8))
    outside = _outside_strings(arr)
    semis = np.flatnonzero((arr == 59) & outside)
    if len(semis) == 0:
        return None
    rest = arr[semis[0] + 1 :]
    solid = np.flatnonzero(~((rest == 32) | (rest == 9) | (rest == 10) | (rest == 13)))
    return None if len(solid) == 0 else start + int(semis[0]) + 1 + int(solid[0])


def _of_classes(source: Path, starts: np.ndarray, names: set[str]) -> np.ndarray:
    """(n,) bool: the instances at ``starts`` whose entity name is in ``names``.

    Reads a short window at each start from a memory map, in batches, and
    compares the word after '=' with each name (few: the names the parser
    reported unknown), so there is no loop per instance.
    """
    out = np.zeros(len(starts), dtype=bool)
    if not names or len(starts) == 0:
        return out
    mm = np.memmap(source, dtype=np.uint8, mode="r")
    cols = np.arange(_WINDOW * 3)
    for b in range(0, len(starts), 65536):
        win = mm[np.minimum(starts[b : b + 65536, None] + cols, len(mm) - 1)]
        eq = np.argmax(win == 61, axis=1)
        solid = ~np.isin(win, _SPACES) & (cols > eq[:, None])
        word = np.argmax(solid, axis=1)
        rows = np.arange(len(win))[:, None]
        for name in names:
            want = np.frombuffer(name.upper().encode("ascii", "replace"), dtype=np.uint8)
            at = np.minimum(word[:, None] + np.arange(len(want) + 1), len(cols) - 1)
            got = win[rows, at]
            tail = got[:, -1]
            ends = ~(((tail >= 65) & (tail <= 90)) | ((tail >= 48) & (tail <= 57)) | (tail == 95))
            out[b : b + len(win)] |= np.all(got[:, :-1] == want, axis=1) & ends
    return out


def check_complete(
    path: Path,
    source: Path,
    read_ids: np.ndarray,
    parser_offsets: list[int],
    unknown: set[str] | None = None,
    scan: InstanceScan | None = None,
) -> list[str]:
    """Fail when IfcOpenShell silently stopped short of the file's end; the
    warnings to show otherwise (a second model after ``END-ISO-10303-21``).

    IfcOpenShell gives up at some damage (a stray ``*//*`` opens a comment
    that never closes) without an error and returns the instances read so
    far, so a damaged file looked like an empty model. Every ``#n=`` of the
    file (:func:`scan_instances`) must be in the model, except those the parser
    itself reported (an offset in its log falls inside them, or their entity is
    one it named ``unknown`` to the schema, RELIABILITY A2/A9: it names each
    only once), the cut last instance of a truncated file (already warned
    about) and those after ``END-ISO-10303-21`` (a warning).

    A short model is an import error, not a partial layer: the parser stops
    at the damage, so the loss is the rest of the file, where exporters write
    the relationships (storeys, materials, property sets, styles); a layer
    from the part before would be wrong without looking wrong. RELIABILITY A1
    asks for the same: a syntax error with its line, no partial scene.
    ``scan``: :func:`scan_instances` of ``source`` where the caller made it
    already (the worker scans while IfcOpenShell parses).
    """
    scan = scan if scan is not None else scan_instances(source)
    if len(scan.ids) == 0:
        return []
    missing = ~np.isin(scan.ids, np.asarray(read_ids, dtype=np.int64))
    if not missing.any():
        return []
    n_read = len(scan.ids) - int(missing.sum())
    if len(parser_offsets):
        hit = np.searchsorted(scan.starts, np.asarray(parser_offsets, np.int64), "right") - 1
        missing[hit[hit >= 0]] = False
    if unknown and missing.any():
        rows = np.flatnonzero(missing)
        missing[rows[_of_classes(source, scan.starts[rows], unknown)]] = False
    if not _has_end(source):
        missing[-1] = False
    notes: list[str] = []
    if scan.end is not None:
        after = scan.starts > scan.end
        if (missing & after).any():
            line, _ = _line_col(source, scan.end)
            notes.append(
                f"{int((missing & after).sum()):,} instances after END-ISO-10303-21 "
                f"(line {line}) were not read: the file holds more than one model"
            )
        missing &= ~after
    lost = np.flatnonzero(missing)
    if len(lost) == 0:
        return notes
    first = int(lost[0])
    at = int(scan.starts[first])
    junk = _first_junk(source, int(scan.starts[first - 1]), at) if first > 0 else None
    line, col = _line_col(source, junk if junk is not None else at)
    if junk is not None:
        with open(source, "rb") as fh:
            fh.seek(junk)
            text = fh.read(40).split(b"\n")[0].decode("latin-1").strip()
        what = f"unreadable text {text!r}"
    else:
        what = f"instance #{int(scan.ids[first])} cannot be read"
    raise ImportFailed(
        path,
        f"syntax error at line {line}, column {col}: {what}; IfcOpenShell stopped reading "
        f"there and read {n_read:,} of {len(scan.ids):,} instances",
    )
