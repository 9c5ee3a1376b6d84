"""Compliance reports: the ``--json`` document, a CSV of every value against its
limit, and a standalone HTML page (vi or en) with a summary and a small
rendered view of each violating building (PNG bytes handed in by the caller:
the renderer lives in ``twin.render``, this module draws nothing).
"""

from __future__ import annotations

import base64
import csv
import html
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from twin.compliance.buildings import GFA_IFC
from twin.compliance.indicators import RULES
from twin.compliance.rules import CheckResult

#: key -> (English, Vietnamese)
WORDS: dict[str, tuple[str, str]] = {
    "title": ("Planning compliance", "Kiểm tra tuân thủ quy hoạch"),
    "max_height": ("Height", "Chiều cao"),
    "max_floors": ("Floors", "Tầng cao"),
    "max_density": ("Building density", "Mật độ xây dựng"),
    "max_far": ("Land-use coefficient (FAR)", "Hệ số sử dụng đất"),
    "setback": ("Setback", "Khoảng lùi"),
    "building": ("Building", "Công trình"),
    "lot": ("Lot", "Lô đất"),
    "land_use": ("Land use", "Chức năng"),
    "rule": ("Indicator", "Chỉ tiêu"),
    "value": ("Value", "Giá trị"),
    "limit": ("Limit", "Giới hạn"),
    "checked": ("Buildings checked", "Số công trình đã kiểm tra"),
    "violations": ("Violations", "Vi phạm"),
    "violating": ("Buildings in violation", "Công trình vi phạm"),
    "unassigned": ("Buildings on no lot", "Công trình không thuộc lô nào"),
    "without_rules": ("Buildings on lots without indicators",
                      "Công trình trên lô chưa có chỉ tiêu"),
    "complies": ("Complies", "Đạt"),
    "breaks": ("Breaks the limit", "Vượt chỉ tiêu"),
    "not_checked": ("Not checked", "Không kiểm tra"),
    "time": ("Plan time", "Thời điểm quy hoạch"),
    "all_comply": ("Every building complies.", "Mọi công trình đều tuân thủ."),
    "warnings": ("Warnings", "Cảnh báo"),
    "estimate": ("floors estimated from height / 3.2 m", "số tầng ước tính theo chiều cao / 3,2 m"),
    "gfa_ifc": ("floor area from IFC quantities", "diện tích sàn theo khối lượng IFC"),
    "gfa_fp": ("floor area = footprint × floors", "diện tích sàn = diện tích chiếm đất × số tầng"),
    "to_red": ("setback to the red lines", "khoảng lùi tính đến chỉ giới đường đỏ"),
    "to_lot": ("setback to the lot boundary", "khoảng lùi tính đến ranh giới lô"),
    "lot_rule": ("lot-wide: all its buildings", "tính cho cả lô"),
}
UNITS = {"max_height": "m", "max_floors": "", "max_density": "%", "max_far": "", "setback": "m"}
LANGS = ("en", "vi")


def word(key: str, lang: str = "en") -> str:
    en, vi = WORDS[key]
    return vi if lang == "vi" else en


def number(value: float, lang: str = "en") -> str:
    """2 decimals at most, Vietnamese decimal comma."""
    if value is None or not np.isfinite(value):
        return "–"
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if lang == "vi" else text


def write_json(result: CheckResult) -> str:
    return json.dumps(result.summary(), ensure_ascii=False)


def rows(result: CheckResult, lang: str = "en") -> list[dict]:
    """Every (building, rule) with a limit, violations first, then unassigned buildings."""
    b, lots = result.buildings, result.lots
    out = []
    for i in np.flatnonzero(result.checked):
        li = result.lot[i]
        for rule in RULES:
            limit = result.limits[rule][i]
            value = result.values[rule][i]
            if not np.isfinite(limit) or not np.isfinite(value):
                continue
            notes = []
            if rule == "max_floors" and b.floors_estimated[i]:
                notes.append(word("estimate", lang))
            if rule == "max_far":
                notes.append(word("gfa_ifc" if b.gfa_source[i] == GFA_IFC else "gfa_fp", lang))
            if rule in ("max_density", "max_far"):
                notes.append(word("lot_rule", lang))
            if rule == "setback":
                notes.append(word("to_red" if result.setback_from == "red_lines" else "to_lot",
                                  lang))
            out.append({
                "building": str(b.ids[i]), "layer": str(b.layer[i]), "row": int(b.row[i]),
                "lot": str(lots.ids[li]), "land_use": str(lots.land_use[li]),
                "rule": rule, "value": round(float(value), 3), "limit": round(float(limit), 3),
                "unit": UNITS[rule], "complies": not bool(result.fails[rule][i]),
                "note": "; ".join(notes),
            })
    out.sort(key=lambda r: r["complies"])  # stable: violations first, order kept
    for i in np.flatnonzero(result.unassigned):
        out.append({"building": str(b.ids[i]), "layer": str(b.layer[i]), "row": int(b.row[i]),
                    "lot": "", "land_use": "", "rule": "", "value": None, "limit": None,
                    "unit": "", "complies": None, "note": word("unassigned", lang)})
    return out


CSV_FIELDS = ("building", "layer", "lot", "land_use", "rule", "value", "limit", "unit",
              "complies", "note")


def write_csv(path: Path, result: CheckResult | list[CheckResult], lang: str = "en") -> int:
    """Write the CSV (UTF-8 with BOM so spreadsheet programs read Vietnamese) of one
    result or several (a scene's ``[[compliance]]`` tables in turn); rows written."""
    results = result if isinstance(result, list) else [result]
    data = [row for res in results for row in rows(res, lang)]
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(data)
    return len(data)


def write_html(
    path: Path,
    result: CheckResult,
    lang: str = "en",
    images: Mapping[str, bytes] | None = None,
    when: str = "",
    scene_name: str = "",
) -> None:
    """A standalone page: summary, violations with their views, warnings."""
    e = html.escape
    images = images or {}
    viol = result.violations()
    per_rule = {r: sum(1 for v in viol if v["rule"] == r) for r in RULES}
    failing = [str(i) for i in result.buildings.ids[result.failing]]
    parts = [
        "<!doctype html>", f'<html lang="{lang}"><head><meta charset="utf-8">',
        f"<title>{e(word('title', lang))} — {e(scene_name)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:70em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;"
        "text-align:left}.bad{color:#b00020;font-weight:bold}figure{display:inline-block;"
        "margin:.5em}figcaption{font-size:90%}</style></head><body>",
        f"<h1>{e(word('title', lang))}</h1><p>{e(scene_name)}"
        + (f" — {e(word('time', lang))}: {e(when)}" if when else "") + "</p>",
        "<table>",
        f"<tr><th>{e(word('checked', lang))}</th><td>{int(result.checked.sum())}</td></tr>",
        f"<tr><th>{e(word('violations', lang))}</th><td>{len(viol)}</td></tr>",
        f"<tr><th>{e(word('violating', lang))}</th><td>{len(failing)}</td></tr>",
        f"<tr><th>{e(word('without_rules', lang))}</th>"
        f"<td>{int(result.without_rules.sum())}</td></tr>",
        f"<tr><th>{e(word('unassigned', lang))}</th><td>{int(result.unassigned.sum())}</td></tr>",
    ]
    parts += [f"<tr><th>{e(word(r, lang))}</th><td>{per_rule[r]}</td></tr>" for r in RULES]
    parts.append("</table>")
    if not viol:
        parts.append(f"<p>{e(word('all_comply', lang))}</p>")
    else:
        parts.append(f"<h2>{e(word('violations', lang))}</h2><table><tr>")
        parts += [f"<th>{e(word(k, lang))}</th>"
                  for k in ("building", "lot", "rule", "value", "limit")]
        parts.append("</tr>")
        for v in viol:
            unit = UNITS[v["rule"]]
            parts.append(
                f"<tr><td>{e(v['building'])}</td><td>{e(v['lot'])}</td>"
                f"<td>{e(word(v['rule'], lang))}</td>"
                f"<td class=bad>{number(v['value'], lang)} {unit}</td>"
                f"<td>{number(v['limit'], lang)} {unit}</td></tr>")
        parts.append("</table>")
        shown = [b for b in failing if b in images]
        if shown:
            parts.append("<h2>" + e(word("violating", lang)) + "</h2>")
        for bid in shown:
            data = base64.b64encode(images[bid]).decode("ascii")
            rules = ", ".join(word(v["rule"], lang) for v in viol if v["building"] == bid)
            parts.append(f'<figure><img alt="{e(bid)}" src="data:image/png;base64,{data}">'
                         f"<figcaption>{e(bid)}: {e(rules)}</figcaption></figure>")
    if result.warnings:
        parts.append(f"<h2>{e(word('warnings', lang))}</h2><ul>")
        parts += [f"<li>{e(w)}</li>" for w in result.warnings]
        parts.append("</ul>")
    parts.append("</body></html>")
    Path(path).write_text("\n".join(parts), encoding="utf-8")
