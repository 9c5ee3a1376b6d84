"""Render checks: render every bookmark (and chosen tour frames) headless and
compare them with approved baseline PNGs.

The comparison is :func:`twin.imagecompare.compare`: block-averaged, so the
edge anti-aliasing and last-bit shading differences between Mesa's llvmpipe and
a GPU driver pass, while a moved camera, a missing layer or a wrong colour
changes whole regions and fails. Each run writes, for every image that fails,
the render and a diff image (changed blocks in red), and a report in Markdown
and HTML listing every image with its score.

Approving baselines is a person's act (``--update``, then review the images
and commit them); a check never rewrites a baseline on its own. A
``baselines.json`` manifest next to the PNGs records the size and the GL
renderer they were made with, so a check uses the same size and the report
says when the renderer differs (expected between CI's Mesa and a GPU machine).
"""

from __future__ import annotations

import html
import json
import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from twin.imagecompare import DEFAULT_TOLERANCE, compare, read_png
from twin.render import save_png
from twin.scene import Scene
from twin.tour import Tour

MANIFEST = "baselines.json"
DEFAULT_SIZE = (320, 180)
DEFAULT_TOUR_FRAMES = 3


@dataclass
class CheckItem:
    """One rendered image and how it compared.

    status : "pass", "fail", "missing" (no baseline yet) or "updated".
    score : fraction of differing blocks (None when there was nothing to compare).
    """

    label: str
    file: str
    status: str
    score: float | None = None
    mean_abs: float | None = None
    note: str = ""
    actual: Path | None = None
    diff: Path | None = None

    @property
    def failed(self) -> bool:
        return self.status in ("fail", "missing")


@dataclass
class CheckReport:
    """Results of one check run; ``passed`` is what the exit code reflects."""

    items: list[CheckItem]
    baseline_dir: Path
    out_dir: Path
    size: tuple[int, int]
    tolerance: float
    renderer: str
    baseline_renderer: str | None
    stale: list[str] = field(default_factory=list)
    markdown: Path | None = None
    html: Path | None = None
    seconds: float = 0.0

    @property
    def failures(self) -> list[CheckItem]:
        return [item for item in self.items if item.failed]

    @property
    def passed(self) -> bool:
        return not self.failures


def slug(text: str) -> str:
    """A file-name-safe ASCII form: "Tòa A6" -> "toa-a6", "Đường" -> "duong"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "view"


def tour_sample_times(tour: Tour, count: int) -> list[float]:
    """``count`` evenly spread times inside the tour (mid-points of equal
    slices: never the very first or last instant, where many tours rest on
    a bookmark that is already checked)."""
    d = tour.duration
    return [d * (k + 0.5) / count for k in range(count)]


def read_manifest(baseline_dir: Path) -> dict:
    path = Path(baseline_dir) / MANIFEST
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def check_scene(
    scene: Scene,
    baseline_dir: Path | str,
    out_dir: Path | str,
    *,
    size: tuple[int, int] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    update: bool = False,
    tours: Sequence[Tour] = (),
    tour_frames: int = DEFAULT_TOUR_FRAMES,
    when: datetime | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    sun: bool | None = None,
) -> CheckReport:
    """Render and compare; see the module docstring.

    Parameters
    ----------
    baseline_dir : folder of approved PNGs (created by ``update``).
    out_dir : where renders of failures, diff images and the report go.
    size : render size; default the manifest's, else 320x180 (small: fast and
        enough to see a moved camera, a layer or a colour).
    tolerance : allowed fraction of differing 4x4 blocks (0..1).
    update : write every render as the new baseline instead of comparing.
    tours : tours whose frames to check too, ``tour_frames`` each.
    when : view time of the bookmark renders (default: the manifest's, else the
        scene's own default time); tour frames follow their keyframes' scene time.
    progress : called with (done, total, label) after each image.
    sun : light by the sun (True) or the plain light kit (False); default the
        manifest's record, and for baselines made before the sun was the default
        (no record) the light kit, so upgrading CityTwin does not fail every
        image. ``update`` without ``sun`` uses the app's default and records it.
    """
    from twin.render.offscreen import FrameRenderer

    started = time.perf_counter()
    baseline_dir, out_dir = Path(baseline_dir), Path(out_dir)
    manifest = read_manifest(baseline_dir)
    if size is None:
        size = tuple(manifest.get("size", DEFAULT_SIZE))  # type: ignore[assignment]
    if when is None and manifest.get("time") and not update:
        when = datetime.fromisoformat(manifest["time"])
    if sun is None and not update and manifest:
        sun = bool(manifest.get("sun", False))
    size = (int(size[0]), int(size[1]))
    if update:
        baseline_dir.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[str, str, Callable]] = []
    used: set[str] = set()

    def add(label: str, stem: str, draw: Callable) -> None:
        name, k = f"{stem}.png", 2
        while name in used:
            name, k = f"{stem}-{k}.png", k + 1
        used.add(name)
        jobs.append((label, name, draw))

    for bm in scene.bookmarks:
        add(
            f"bookmark {bm.name}",
            f"bookmark-{slug(bm.name)}",
            lambda r, n=bm.name: r.bookmark_frame(n),
        )
    for tour in tours:
        for k, t in enumerate(tour_sample_times(tour, tour_frames)):
            add(
                f"tour {tour.name} @ {t:.2f} s",
                f"tour-{slug(tour.name)}-{k:02d}",
                lambda r, tour=tour, t=t: r.tour_frame(tour.sample(t)),
            )

    items: list[CheckItem] = []
    with FrameRenderer(scene, size, time=when, sun="auto" if sun is None else sun) as renderer:
        shown_time = renderer.sim.clock.time if renderer.sim is not None else None
        sun_lit = renderer.sun_light is not None
        gl = renderer.renderer_info()
        for i, (label, name, draw) in enumerate(jobs):
            image = draw(renderer)
            caption = renderer.caption.region() if renderer.caption is not None else None
            items.append(
                _judge(label, name, image, baseline_dir, out_dir, tolerance, update, caption)
            )
            if progress is not None:
                progress(i + 1, len(jobs), label)

    stale = (
        sorted(p.name for p in baseline_dir.glob("*.png") if p.name not in used)
        if baseline_dir.is_dir()
        else []
    )
    if update:
        entry = {
            "size": list(size),
            "renderer": gl,
            "vtk": _vtk_version(),
            "scene": scene.name,
            "time": shown_time.isoformat() if shown_time is not None else None,
            "sun": sun_lit,
            "images": {item.file: item.label for item in items},
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        tmp = baseline_dir / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(entry, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        tmp.replace(baseline_dir / MANIFEST)
    report = CheckReport(
        items=items,
        baseline_dir=baseline_dir,
        out_dir=out_dir,
        size=size,
        tolerance=tolerance,
        renderer=gl,
        baseline_renderer=manifest.get("renderer"),
        stale=stale,
    )
    report.seconds = time.perf_counter() - started
    write_reports(report)
    return report


def _judge(
    label: str,
    name: str,
    image: np.ndarray,
    baseline_dir: Path,
    out_dir: Path,
    tolerance: float,
    update: bool,
    caption: tuple[slice, slice] | None = None,
) -> CheckItem:
    """Compare one render. A caption is small next to the frame, so a wrong or
    garbled caption (say, a font without "ộ") would hide under the whole-image
    tolerance: its box is also scored on its own, and the worse score counts."""
    baseline = baseline_dir / name
    if update:
        tmp = baseline.with_name(f".{name}.tmp.png")
        save_png(image, tmp)
        tmp.replace(baseline)
        return CheckItem(label, name, "updated")
    if not baseline.is_file():
        actual = _save(out_dir / "actual" / name, image)
        return CheckItem(
            label,
            name,
            "missing",
            note="no baseline yet: review the render, then --update",
            actual=actual,
        )
    expected = read_png(baseline)
    note = ""
    if expected.shape[:2] != image.shape[:2]:
        eh, ew = expected.shape[:2]
        note = f"size {image.shape[1]}x{image.shape[0]} differs from baseline {ew}x{eh}"
    result = compare(image, expected, tolerance=tolerance)
    score = result.score
    if caption is not None and not note:
        boxed = compare(image[caption], expected[caption], tolerance=tolerance)
        if boxed.score > score:
            score = boxed.score
            note = f"caption box score {boxed.score:.4f} (whole image {result.score:.4f})"
            rows, cols = caption
            red = np.all(boxed.diff == (230, 30, 30), axis=2)
            result.diff[rows, cols][red] = (230, 30, 30)
    if score <= tolerance:
        return CheckItem(label, name, "pass", score, result.mean_abs, note)
    return CheckItem(
        label,
        name,
        "fail",
        score,
        result.mean_abs,
        note,
        actual=_save(out_dir / "actual" / name, image),
        diff=_save(out_dir / "diff" / name, result.diff),
    )


def _save(path: Path, image: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_png(image, path)
    return path


def _vtk_version() -> str:
    import vtk

    return vtk.vtkVersion.GetVTKVersion()


# -- reports --------------------------------------------------------------------------
def _rel(path: Path | None, start: Path) -> str:
    if path is None:
        return ""
    try:
        return path.resolve().relative_to(start.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_uri()


def junit_report(report: CheckReport, suite: str = "citytwin check") -> str:
    """The run as JUnit XML, the report format CI systems (GitLab, Jenkins,
    GitHub test reporters) show natively: one test case per image; a differing
    image or a missing baseline is a failure whose message gives the score and
    where its diff or render is, so the CI page points straight at the picture."""
    import xml.etree.ElementTree as ET

    failures = report.failures
    root = ET.Element(
        "testsuite",
        name=suite,
        tests=str(len(report.items)),
        failures=str(len(failures)),
        errors="0",
        skipped="0",
        time=f"{report.seconds:.3f}",
    )
    props = ET.SubElement(root, "properties")
    for key, value in (
        ("size", f"{report.size[0]}x{report.size[1]}"),
        ("tolerance", f"{report.tolerance:g}"),
        ("renderer", report.renderer),
        ("baseline_renderer", report.baseline_renderer or ""),
        ("baselines", str(report.baseline_dir)),
    ):
        ET.SubElement(props, "property", name=key, value=value)
    for item in report.items:
        case = ET.SubElement(
            root, "testcase", classname=suite, name=item.label, file=item.file, time="0"
        )
        if item.status == "fail":
            score = "" if item.score is None else f"score {item.score:.4f} > "
            message = f"{score}tolerance {report.tolerance:g}; diff: {item.diff}"
            if item.note:
                message += f" ({item.note})"
            body = f"render: {item.actual}\nbaseline: {report.baseline_dir / item.file}"
            ET.SubElement(case, "failure", message=message, type="ImageDiffers").text = body
        elif item.status == "missing":
            message = f"no baseline {report.baseline_dir / item.file}; render: {item.actual}"
            ET.SubElement(case, "failure", message=message, type="BaselineMissing").text = (
                item.note
            )
        elif item.score is not None:
            ET.SubElement(case, "system-out").text = f"score {item.score:.4f}"
    if report.stale:
        ET.SubElement(root, "system-out").text = "baselines with no matching view: " + ", ".join(
            report.stale
        )
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(report: CheckReport, path: Path | str, suite: str = "citytwin check") -> Path:
    """Write :func:`junit_report` to ``path`` (via a temp file: CI never reads half
    a report)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(junit_report(report, suite), encoding="utf-8")
    tmp.replace(path)
    return path


def write_reports(report: CheckReport) -> None:
    """``report.md`` and ``report.html`` in the output folder."""
    report.markdown = report.out_dir / "report.md"
    report.html = report.out_dir / "report.html"
    report.markdown.write_text(markdown_report(report), encoding="utf-8")
    report.html.write_text(html_report(report), encoding="utf-8")


def _summary(report: CheckReport) -> str:
    counts: dict[str, int] = {}
    for item in report.items:
        counts[item.status] = counts.get(item.status, 0) + 1
    parts = [f"{n} {status}" for status, n in sorted(counts.items())]
    verdict = "PASSED" if report.passed else "FAILED"
    return f"{verdict}: {', '.join(parts) or 'nothing rendered'}"


def _renderer_note(report: CheckReport) -> str:
    if report.baseline_renderer and report.baseline_renderer != report.renderer:
        return (
            f"Baselines were made with `{report.baseline_renderer}`; this run used "
            f"`{report.renderer}`. Small driver differences are tolerated by design."
        )
    return f"Renderer: `{report.renderer}`."


def markdown_report(report: CheckReport) -> str:
    root = report.out_dir
    lines = [
        "# Render check",
        "",
        f"**{_summary(report)}** — {report.size[0]}x{report.size[1]}, tolerance "
        f"{report.tolerance:g} (fraction of 4x4 blocks allowed to differ), "
        f"{report.seconds:.1f} s.",
        "",
        f"Baselines: `{report.baseline_dir}`. {_renderer_note(report)}",
        "",
        "| image | status | score | mean abs | render | diff | note |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for item in report.items:
        score = "" if item.score is None else f"{item.score:.4f}"
        mean = "" if item.mean_abs is None else f"{item.mean_abs:.2f}"
        actual = f"![render]({_rel(item.actual, root)})" if item.actual else ""
        diff = f"![diff]({_rel(item.diff, root)})" if item.diff else ""
        status = f"**{item.status}**" if item.failed else item.status
        label = item.label.replace("|", "\\|")
        lines.append(
            f"| {label} (`{item.file}`) | {status} | {score} | {mean} | {actual} | {diff} "
            f"| {item.note} |"
        )
    if report.stale:
        lines += ["", "Baselines with no matching view (renamed or removed bookmark?):", ""]
        lines += [f"- `{name}`" for name in report.stale]
    lines += [
        "",
        "To approve new images: look at them, then rerun with `--update` and commit the "
        "baseline folder. CI never updates baselines.",
        "",
    ]
    return "\n".join(lines)


def html_report(report: CheckReport) -> str:
    root = report.out_dir
    esc = html.escape
    rows = []
    for item in report.items:
        baseline = report.baseline_dir / item.file
        cells = []
        for path in (item.actual, baseline if baseline.is_file() else None, item.diff):
            cells.append(
                f'<td><img src="{esc(_rel(path, root))}" alt=""></td>' if path else "<td></td>"
            )
        score = "" if item.score is None else f"{item.score:.4f}"
        rows.append(
            f'<tr class="{esc(item.status)}"><td>{esc(item.label)}<br><code>{esc(item.file)}'
            f"</code></td><td>{esc(item.status)}</td><td>{score}</td>{''.join(cells)}"
            f"<td>{esc(item.note)}</td></tr>"
        )
    stale = "".join(f"<li><code>{esc(n)}</code></li>" for n in report.stale)
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Render check</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }}
td, th {{ border-bottom: 1px solid #ccc; padding: 4px 8px; vertical-align: top; }}
tr.fail td, tr.missing td {{ background: #fde8e8; }}
img {{ max-width: 320px; }}
</style></head><body>
<h1>Render check</h1>
<p><strong>{esc(_summary(report))}</strong> — {report.size[0]}x{report.size[1]},
tolerance {report.tolerance:g}, {report.seconds:.1f} s.
Baselines: <code>{esc(str(report.baseline_dir))}</code>. {esc(_renderer_note(report))}</p>
<table><tr><th>image</th><th>status</th><th>score</th><th>render</th><th>baseline</th>
<th>diff</th><th>note</th></tr>
{"".join(rows)}
</table>
{f"<p>Baselines with no matching view:</p><ul>{stale}</ul>" if stale else ""}
</body></html>
"""
