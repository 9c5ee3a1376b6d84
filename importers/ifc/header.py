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
from dataclasses import dataclass, field
from pathlib import Path

from importers.errors import ImportFailed

#: Schemas IfcOpenShell 0.9 parses, by the name it knows them under.
SUPPORTED = ("IFC2X3", "IFC4", "IFC4X3_ADD2")
HEADER_BYTES = 256 * 1024
#: ifcZIP limits: refuse bombs before inflating (RELIABILITY.md C3).
ZIP_MAX_RATIO = 100.0
ZIP_MAX_BYTES = 4 * 1024**3

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
