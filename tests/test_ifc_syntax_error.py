"""IFC files IfcOpenShell stops reading without a word: a stray ``*//*`` opens a
comment that never closes, and the model came back short (or empty) as if it
were the whole file. Now: one import error naming the file and the line."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, run_cli

import importers
from importers.errors import ImportFailed
from twin.scene import Scene

RAILING = DATA / "ifc" / "railing.ifc"  # 636 instances


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYTWIN_CACHE_DIR", str(tmp_path / "cache"))


def _damaged(tmp_path: Path, before_line: int, text: bytes = b"*//*") -> Path:
    """railing.ifc with ``text`` on its own line, which becomes ``before_line``."""
    lines = RAILING.read_bytes().split(b"\n")
    lines.insert(before_line - 1, text)
    out = tmp_path / "railing.ifc"
    out.write_bytes(b"\n".join(lines))
    return out


def _load(path: Path):
    return importers.open(path, Scene(crs="EPSG:3857"), {"cache": False})


@pytest.mark.parametrize("line", [15, 300, 640])
def test_stray_comment_opener_is_a_syntax_error_naming_its_line(tmp_path, line):
    path = _damaged(tmp_path, line)
    with pytest.raises(ImportFailed) as exc:
        _load(path)
    text = str(exc.value)
    assert "\n" not in text and text.startswith(f"{path}: syntax error")
    assert f"at line {line}, column 1: unreadable text '*//*'" in text
    assert re.search(r"read [\d,]+ of 636 instances", text)


def test_cli_info_on_a_damaged_ifc_is_bad_input_not_an_empty_model(tmp_path):
    path = _damaged(tmp_path, 15)
    result = run_cli("info", str(path))
    assert result.returncode == 2, result.stdout
    assert "line 15" in result.stderr and "0 features" not in result.stdout
    assert "Traceback" not in result.stderr


def test_a_closed_comment_over_instances_is_skipped_as_the_standard_says(tmp_path):
    """``/* ... */`` around whole instances is valid STEP: no error, like the parser."""
    lines = RAILING.read_bytes().split(b"\n")
    lines.insert(99, b"*/")
    lines.insert(29, b"/*")
    path = tmp_path / "hidden.ifc"
    path.write_bytes(b"\n".join(lines))
    _load(path)


def test_comments_strings_and_spacing_that_look_like_instances_load(tmp_path):
    """Quotes in comments, '#n=' in strings, '#n =' spacing, multi-line
    instances and an escaped quote: the scan agrees with the parser."""
    data = RAILING.read_bytes()
    data = data.replace(b"DATA;\n", b"DATA;\n/* it's #999= not an instance; */\n", 1)
    before = b"#5= IFCAPPLICATION(#1,'9.0'"
    data = data.replace(before, b"#5 =\nIFCAPPLICATION(#1,\n'9.0 #77=;'''", 1)
    path = tmp_path / "tricky.ifc"
    path.write_bytes(data)
    [layer, *_] = _load(path)
    assert len(layer.features) > 0


def test_second_model_after_the_end_is_a_warning(tmp_path):
    data = RAILING.read_bytes()
    data += b"\n" + re.sub(rb"#(\d+)=", lambda m: b"#%d=" % (int(m.group(1)) + 100000), data)
    path = tmp_path / "twice.ifc"
    path.write_bytes(data)
    [layer, *_] = _load(path)
    assert any("after END-ISO-10303-21" in w for w in layer.warnings)


def test_unknown_entities_are_still_skipped_not_refused(tmp_path):
    """A9 at the end of the DATA section, many times (the parser names it once)."""
    data = RAILING.read_bytes()
    extra = b"".join(
        b"#%d=IFCALIGNMENT('0000000000000000000009',$,'A',$,$,$,$,$);\n" % (900000 + k)
        for k in range(50)
    )
    end = data.rindex(b"ENDSEC;")
    path = tmp_path / "a9.ifc"
    path.write_bytes(data[:end] + extra + data[end:])
    [layer, *_] = _load(path)
    assert len(layer.features) > 0
    assert any("IFCALIGNMENT" in w for w in layer.warnings)


def test_scan_lists_every_definition_in_any_chunking(tmp_path):
    from importers.ifc.header import scan_instances

    text = (
        b"ISO-10303-21;\nHEADER;FILE_NAME('#1=x');ENDSEC;\nDATA;\n"
        b"#10=A('it''s #11=;',\n#3);\n/* 'odd quote #12= */\n#20 =  B('\\S\\'#13=');"
        b"#30\n=C($);\nENDSEC;\nEND-ISO-10303-21;\n"
    )
    path = tmp_path / "t.ifc"
    path.write_bytes(text)
    for chunk in (7, 64, 1 << 20):
        scan = scan_instances(path, chunk)
        assert scan.ids.tolist() == [10, 20, 30]
        assert [text[s : s + 3] for s in scan.starts.tolist()] == [b"#10", b"#20", b"#30"]
        assert scan.end == text.index(b"END-ISO")
    assert np.asarray(scan.ids).dtype == np.int64
