"""Refresh ``citytwin_vi.ts`` from the ``tr("...")`` calls in app/ and build the ``.qm``.

Run ``python -m app.i18n.update_ts`` after adding UI strings: new strings are
added as ``unfinished`` (shown in English until translated), translations
already in the file are kept, and ``pyside6-lrelease`` compiles the ``.qm``.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape

from app.i18n import CONTEXT, HERE, read_ts

APP = HERE.parent


def extract(paths: list[Path] | None = None) -> list[str]:
    """Every string literal passed to ``tr(...)`` in the app's modules, sorted."""
    found: set[str] = set()
    for path in paths or sorted(APP.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "tr"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return sorted(found)


def write_ts(path: Path, language: str, sources: list[str], table: dict[str, str]) -> None:
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<!DOCTYPE TS>",
        f'<TS version="2.1" language="{language}">',
        "<context>",
        f"    <name>{CONTEXT}</name>",
    ]
    for src in sources:
        lines.append("    <message>")
        lines.append(f"        <source>{escape(src)}</source>")
        if src in table:
            lines.append(f"        <translation>{escape(table[src])}</translation>")
        else:
            lines.append('        <translation type="unfinished"></translation>')
        lines.append("    </message>")
    lines += ["</context>", "</TS>", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def main(language: str = "vi") -> int:
    ts = HERE / f"citytwin_{language}.ts"
    table = {src: text for (ctx, src), text in read_ts(ts).items() if ctx == CONTEXT}
    write_ts(ts, language, extract(), table)
    lrelease = shutil.which("pyside6-lrelease") or str(
        Path(sys.executable).with_name("pyside6-lrelease")
    )
    subprocess.run([lrelease, str(ts), "-qm", str(ts.with_suffix(".qm"))], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
