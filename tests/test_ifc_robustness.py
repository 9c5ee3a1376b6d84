"""IFC importer under bad input and faults (RELIABILITY.md section A, F5, C3-C5).

Every case ends in a layer with warnings or one ImportFailed line; the worker may
crash, hang or be killed, the test process (standing in for the GUI) never.
Damaged variants are written from small permissive sample files at test time.
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA
from test_ifc_factory import Box, Model, make_model

import importers
from importers.errors import ImportFailed
from twin.scene import Scene

IFC_DATA = DATA / "ifc"
SAMPLE = IFC_DATA / "Sample_entities.ifc"


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYTWIN_CACHE_DIR", str(tmp_path / "cache"))


def load(path: Path, **options):
    options.setdefault("cache", False)
    return importers.open(path, Scene(crs="EPSG:3857"), options)


def one_line(exc: ImportFailed) -> str:
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text
    return text


def failures(layer) -> list[str]:
    return [w for w in layer.warnings if w.startswith("geometry failed:")]


def variant(tmp_path: Path, name: str, edit) -> Path:
    lines = SAMPLE.read_bytes().split(b"\n")
    out = tmp_path / name
    out.write_bytes(b"\n".join(edit(lines)))
    return out


def _first(lines, needle: bytes) -> int:
    return next(i for i, line in enumerate(lines) if needle in line)


# -- files from the corpus copied into tests/data ------------------------------------


def test_out_of_range_index_is_one_listed_failure():
    layer = load(IFC_DATA / "invalid-index.ifc")[0]
    assert len(layer.features) == 1 and layer.n_triangles == 0
    (msg,) = failures(layer)
    assert "0000000000000000000002" in msg and "IfcBuildingElementProxy" in msg
    assert "index out of bounds" in msg
    assert layer.features.attributes["geometry"][0] == "failed"


def test_dangling_placement_is_one_listed_failure():
    layer = load(IFC_DATA / "missing-placement.ifc")[0]
    (msg,) = failures(layer)
    assert "IfcBuildingElementProxy" in msg
    assert any("#999999" in w for w in layer.warnings)  # the parser's own complaint


def test_unterminated_comment_is_a_clear_error():
    with pytest.raises(ImportFailed) as exc:
        load(IFC_DATA / "unterminated-comment.ifc")
    assert "not an IFC file" in one_line(exc.value)


def test_non_final_schema_name_is_read_with_a_note():
    layer = load(IFC_DATA / "fail-ifc101-schema_IFC4X3.ifc")[0]
    assert layer.info["schema"] == "IFC4X3_ADD2"
    assert layer.info["declared_schema"] == "IFC4X3"
    assert any("not a final IFC release name" in w for w in layer.warnings)


def test_bsi_face_set_sample_loads():
    layer = load(IFC_DATA / "fail-gem001-polygonal_face_tesselation.ifc")[0]
    assert len(layer.features) == 1 and layer.n_triangles > 0


# -- damaged variants -------------------------------------------------------------------


def test_malformed_step_id_reports_line_and_column(tmp_path):
    def edit(lines):
        i = _first(lines, b"IFCDIRECTION")
        lines[i] = re.sub(rb"^#(\d+)", rb"#\g<1>f4", lines[i])
        return lines

    with pytest.raises(ImportFailed) as exc:
        load(variant(tmp_path, "id.ifc", edit))
    text = one_line(exc.value)
    assert "syntax error" in text and re.search(r"line \d+, column \d+", text)


def test_bracket_damage_reports_line_and_column(tmp_path):
    def edit(lines):
        i = _first(lines, b"IFCDIRECTION")
        lines[i] = lines[i].replace(b"IFCDIRECTION((", b"IFCDIRECTION(^S(")
        return lines

    with pytest.raises(ImportFailed) as exc:
        load(variant(tmp_path, "br.ifc", edit))
    assert re.search(r"line \d+, column \d+", one_line(exc.value))


def test_double_semicolon_and_non_utf8_text_load(tmp_path):
    def semi(lines):
        i = _first(lines, b"IFCDIRECTION")
        lines[i] += b";"
        return lines

    def latin(lines):
        i = _first(lines, b"IFCBUILDINGSTOREY")
        lines[i] = lines[i].replace(b"'", b"'\xff\xfe\x80", 1)
        return lines

    for name, edit in (("semi.ifc", semi), ("enc.ifc", latin)):
        layer = load(variant(tmp_path, name, edit))[0]
        assert len(layer.features) == 2 and layer.n_triangles > 0
        for value in layer.features.names.tolist() + layer.features.attributes["storey"].tolist():
            value.encode("utf-8")  # all text is clean UTF-8


def test_truncated_file_is_a_partial_import_with_warnings(tmp_path):
    data = SAMPLE.read_bytes()
    cut = tmp_path / "cut.ifc"
    cut.write_bytes(data[: len(data) // 2])
    layer = load(cut)[0]
    assert any("truncated" in w for w in layer.warnings)
    assert len(failures(layer)) == len(layer.features) - layer.info["elements_with_geometry"]


def test_wrong_attribute_count_is_listed(tmp_path):
    def edit(lines):
        i = _first(lines, b"IFCCARTESIANPOINT((")
        lines[i] = re.sub(rb"IFCCARTESIANPOINT\(.*\);", b"IFCCARTESIANPOINT();", lines[i])
        return lines

    layer = load(variant(tmp_path, "attr.ifc", edit))[0]
    assert len(layer.features) == 2
    assert len(failures(layer)) == 2 - layer.info["elements_with_geometry"]


def test_cyclic_placement_crash_is_contained(tmp_path):
    """Two placements relative to each other make the native kernel overflow its
    stack (a segfault, here). The worker dies; the import still returns, and
    names each element the crash was blamed on."""

    def edit(lines):
        ids = [i for i, line in enumerate(lines) if b"IFCLOCALPLACEMENT" in line][:2]
        a, b = (re.match(rb"#(\d+)", lines[i].strip()).group(1) for i in ids)
        lines[ids[0]] = re.sub(
            rb"IFCLOCALPLACEMENT\((#\d+|\$)", b"IFCLOCALPLACEMENT(#" + b, lines[ids[0]]
        )
        lines[ids[1]] = re.sub(
            rb"IFCLOCALPLACEMENT\((#\d+|\$)", b"IFCLOCALPLACEMENT(#" + a, lines[ids[1]]
        )
        return lines

    layer = load(variant(tmp_path, "cycle.ifc", edit), element_timeout=10)[0]
    assert len(layer.features) == 2
    assert len(failures(layer)) == 2 - layer.info["elements_with_geometry"]


def test_duplicate_globalids_are_kept_and_reported(tmp_path):
    path = make_model(tmp_path / "dup.ifc", Model(boxes=[Box(), Box(at=(2, 0, 0))]))
    text = path.read_text()
    guids = re.findall(r"IFCBUILDINGELEMENTPROXY\('([^']+)'", text)
    path.write_text(text.replace(guids[1], guids[0]))
    layer = load(path)[0]
    assert len(layer.features) == 2
    assert any("GlobalIds are used by more than one element" in w for w in layer.warnings)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"hello, this is not a model\n", "not an IFC file"),
        (b"<?xml version='1.0'?><ifcXML/>", "ifcXML"),
        (b"ISO-10303-21;\nHEADER;\nFILE_SCHEMA(('IFC2X2_FINAL'));\nENDSEC;\n", "IFC2X2_FINAL"),
        (b"ISO-10303-21;\nHEADER;\nFILE_SCHEMA(('IFC4RC4'));\nENDSEC;\n", "IFC4RC4"),
        (b"ISO-10303-21;\nHEADER;\nFILE_SCHEMA(('IFC5'));\nENDSEC;\n", "unsupported IFC schema"),
        (b"ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION(('x'),'2;1');\n", "FILE_SCHEMA"),
        (b"ISO-10303-21;\nHEADER;\nFILE_SCHEMA(('IFC4'));\nENDSEC;\n", "no DATA section"),
    ],
)
def test_unreadable_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.ifc"
    path.write_bytes(content)
    with pytest.raises(ImportFailed) as exc:
        load(path)
    assert message in one_line(exc.value)


def test_empty_data_section_gives_an_empty_layer_with_a_warning(tmp_path):
    path = tmp_path / "empty.ifc"
    path.write_bytes(
        b"ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION(('ViewDefinition [CoordinationView]'),'2;1');\n"
        b"FILE_NAME('e.ifc','2024-01-01T00:00:00',(''),(''),'','','');\n"
        b"FILE_SCHEMA(('IFC2X3'));\nENDSEC;\nDATA;\nENDSEC;\nEND-ISO-10303-21;\n"
    )
    layer = load(path)[0]
    assert len(layer.features) == 0 and layer.n_triangles == 0
    assert any("empty DATA section" in w for w in layer.warnings)


# -- ifcZIP -------------------------------------------------------------------------------


def test_ifczip_loads_like_the_ifc(tmp_path):
    zpath = tmp_path / "model.ifczip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(IFC_DATA / "railing.ifc", "nested/railing.ifc")
    layer = load(zpath)[0]
    assert layer.name == "model"
    plain = load(IFC_DATA / "railing.ifc")[0]
    assert len(layer.features) == len(plain.features) == 2
    np.testing.assert_allclose(layer.mesh.bounds, plain.mesh.bounds)


@pytest.mark.parametrize("case", ["bomb", "no-ifc", "damaged"])
def test_bad_ifczip_archives_are_refused(tmp_path, case):
    zpath = tmp_path / "bad.ifczip"
    if case == "bomb":
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("x.ifc", b"ISO-10303-21;" + b" " * 5_000_000)
        expect = "zip bomb"
    elif case == "no-ifc":
        with zipfile.ZipFile(zpath, "w") as zf:
            zf.writestr("readme.txt", "hello")
        expect = "holds no .ifc"
    else:
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.write(IFC_DATA / "railing.ifc", "railing.ifc")
        data = bytearray(zpath.read_bytes())
        data[200:260] = b"\x00" * 60  # inside the compressed stream
        zpath.write_bytes(bytes(data))
        expect = "railing.ifc"
    with pytest.raises(ImportFailed) as exc:
        load(zpath)
    assert expect in one_line(exc.value)


# -- watchdog -----------------------------------------------------------------------------


def _five_boxes(tmp_path) -> tuple[Path, list[str]]:
    path = make_model(tmp_path / "five.ifc", Model(boxes=[Box(at=(2 * i, 0, 0)) for i in range(5)]))
    guids = re.findall(r"IFCBUILDINGELEMENTPROXY\('([^']+)'", path.read_text())
    return path, guids


def test_hanging_element_is_abandoned_and_the_rest_loads(tmp_path):
    path, guids = _five_boxes(tmp_path)
    layer = load(path, element_timeout=1.5, test_hang=[guids[2]])[0]
    (msg,) = failures(layer)
    assert guids[2] in msg and "no progress" in msg
    assert layer.info["elements_with_geometry"] == 4
    assert layer.info["worker_restarts"] >= 1


def test_crashing_elements_are_abandoned_and_the_rest_loads(tmp_path):
    path, guids = _five_boxes(tmp_path)
    layer = load(path, test_crash=[guids[0], guids[3]])[0]
    msgs = failures(layer)
    assert len(msgs) == 2
    assert all("crashed" in m for m in msgs)
    assert {guids[0], guids[3]} == {g for g in guids if any(g in m for m in msgs)}
    assert layer.info["elements_with_geometry"] == 3


def test_worker_over_its_memory_budget_is_stopped(tmp_path):
    path, _ = _five_boxes(tmp_path)
    with pytest.raises(ImportFailed) as exc:
        load(path, memory_limit_mb=1)
    assert "MB" in one_line(exc.value)


def test_time_budget_bounds_the_import(tmp_path):
    path, guids = _five_boxes(tmp_path)
    layer = load(path, element_timeout=60, time_budget=2, test_hang=[guids[1]])[0]
    assert any("time budget" in m for m in failures(layer))


def test_truncated_file_name_header_is_reported(tmp_path):
    data = SAMPLE.read_bytes()
    m = re.search(rb"FILE_NAME\s*\(.*?\);", data, re.S)
    path = tmp_path / "hdr.ifc"
    path.write_bytes(data.replace(m.group(0), b"FILE_NAME('a.ifc','2020-01-01',('x'),('y'),'z');"))
    layer = load(path)[0]
    assert any("FILE_NAME has 5 of 7 attributes" in w for w in layer.warnings)
    assert len(layer.features) == 2


def test_entity_from_another_schema_is_reported_and_skipped(tmp_path):
    def edit(lines):
        i = _first(lines, b"DATA;")
        lines.insert(i + 1, b"#999999=IFCALIGNMENT('0000000000000000000009',$,'A',$,$,$,$,$);")
        return lines

    layer = load(variant(tmp_path, "a9.ifc", edit))[0]
    assert any("IFCALIGNMENT" in w and "IFC2X3" in w for w in layer.warnings)
    assert len(layer.features) == 2 and layer.n_triangles > 0


def test_slow_boolean_element_is_shown_without_openings(tmp_path):
    """A5: an element stuck cutting its openings is retried un-cut and flagged."""
    path, guids = _five_boxes(tmp_path)
    layer = load(path, element_timeout=1.5, test_slow_booleans=[guids[4]])[0]
    assert not failures(layer)
    (msg,) = [w for w in layer.warnings if w.startswith("geometry simplified:")]
    assert guids[4] in msg and "without its openings" in msg
    assert layer.info["elements_with_geometry"] == 5
    row = layer.features.find(guids[4])
    assert layer.features.attributes["geometry"][row] == "without openings"


def test_the_table_is_read_beside_the_kernel(tmp_path):
    """The worker forks a table reader after parsing, so the table, tree and
    alignment lines are read on the other core while the kernel runs."""
    path, guids = _five_boxes(tmp_path)
    layer = load(path)[0]
    assert layer.info["table_reader"] == "exit 0"
    assert sorted(map(str, layer.features.ids)) == sorted(guids)


@pytest.mark.parametrize("hook", ["test_crash", "test_hang"])
def test_a_lost_table_reader_costs_neither_geometry_nor_table(tmp_path, hook):
    """The reader dies (a crash in a curve) or stalls before sending the
    table: the kernel's results stand without a restart, and the table is
    read again by a worker of its own."""
    from importers.ifc.worker import FIRST_SEMANTICS_HOOK

    path, guids = _five_boxes(tmp_path)
    layer = load(path, element_timeout=1.5, **{hook: [FIRST_SEMANTICS_HOOK]})[0]
    assert layer.info["elements_with_geometry"] == 5
    assert layer.info["worker_restarts"] == 0
    assert sorted(map(str, layer.features.ids)) == sorted(guids)
    assert not failures(layer)


def test_a_damaged_message_on_the_pipe_is_a_lost_worker_not_a_traceback(tmp_path):
    """The pipe is shared by the worker and its table reader; a writer that
    dies mid-message leaves bytes that do not unpickle. The parent treats that
    as a lost worker: the element is blamed, the rest loads."""
    path, guids = _five_boxes(tmp_path)
    layer = load(path, test_garble=[guids[1]])[0]
    (msg,) = failures(layer)
    assert guids[1] in msg and "damaged message" in msg
    assert layer.info["elements_with_geometry"] == 4
    assert sorted(map(str, layer.features.ids)) == sorted(guids)


def test_the_heartbeat_stops_at_its_limit():
    """A table reader stuck in native code with the GIL released must not keep
    the import alive for ever: its beats stop, and the watchdog takes over."""
    import time

    from importers.ifc.worker import Worker

    class Pipe:
        def __init__(self) -> None:
            self.sent: list[tuple] = []

        def send(self, msg: tuple) -> None:
            self.sent.append(msg)

    pipe = Pipe()
    worker = Worker(pipe, {"path": "x.ifc", "workdir": "."})
    with worker.heartbeat(limit_s=0.25, every_s=0.05):
        time.sleep(0.8)
    beats = len(pipe.sent)
    assert 2 <= beats <= 6  # ~5 in the first 0.25 s, none in the remaining 0.55 s


def test_imports_take_the_spare_worker_and_leave_a_new_one(tmp_path):
    """Forking costs ~25 ms an import: a spare forked in the background after
    each import (and by warm_up) is what the next import uses."""
    import time

    from importers import childpool
    from importers.ifc import runner

    path, _ = _five_boxes(tmp_path)

    def spare_pid() -> int:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            spare = childpool._SPARE
            if spare is not None and spare[0].is_alive():
                return spare[0].pid
            time.sleep(0.02)
        raise AssertionError("no spare worker was forked")

    runner.warm_up()
    first = spare_pid()
    assert load(path)[0].info["elements_with_geometry"] == 5
    second = spare_pid()
    assert second != first  # the first spare did the import and is gone
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)


def test_table_is_read_even_when_no_geometry_run_survives(tmp_path):
    """The worker crashes on its first element and may take its table reader
    with it: the table still comes, from a worker that only reads it."""
    path, guids = _five_boxes(tmp_path)
    layer = load(path, max_restarts=0, test_crash=guids)[0]
    assert sorted(map(str, layer.features.ids)) == sorted(guids)
    assert len(failures(layer)) == 5
    assert all("not computed" in m for m in failures(layer))


def test_fork_beside_declines_beside_threads_and_reports_how_the_child_ended():
    """The table reader is a fork: only safe while the worker has one thread.
    Beside a thread it declines (the worker then reads the table itself)."""
    import threading

    from importers.ifc import worker

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert worker.fork_beside(lambda: None) is None
    finally:
        stop.set()
        other.join()
    # the fork itself, in a fresh single-threaded process (pytest's may run others)
    import subprocess
    import sys

    probe = (
        "from importers.ifc import worker as w\n"
        "print(w.wait_for(w.fork_beside(lambda: None)), w.wait_for(w.fork_beside(lambda: 1 / 0)),"
        " sep=',')\n"
    )
    root = str(Path(__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
        env={**os.environ, "PYTHONPATH": root},
    )
    assert done.stdout.strip() == "exit 0,exit 1", done.stderr[-500:]
