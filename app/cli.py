"""``citytwin`` command line: open the app, render headless, describe a file,
export a tour to video, check renders against baselines.

Heavy modules (VTK, Qt, IfcOpenShell) are imported inside the commands so that
``citytwin --help`` and argument errors are instant. Bad input gives one line
``citytwin: error: <file>: <problem>`` and exit code 2, never a traceback; an
internal error gives one line naming a crash log (the traceback) and exit code 3.
The exit codes are the same for every command (README: "Exit codes").
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

from app.loading import UserError, load_any
from app.loading import scene_for_file as scene_for_file  # re-exported: the old path
from app.paths import DEFAULT_SCENE
from twin.errors import first_line

# Exit codes, the same for every command, so CI can tell a finding from a crash.
EXIT_OK = 0
#: findings: ``check`` differences (and a future ``comply``'s violations)
EXIT_FINDINGS = 1
EXIT_CHECK_FAILED = EXIT_FINDINGS
#: bad input: a usage error, an unreadable or invalid file, an unknown name
EXIT_BAD_INPUT = 2
#: an internal error (a bug): one line on stderr, the traceback in a crash log
EXIT_INTERNAL = 3
#: ``render`` (or ``tour``) had nothing to draw: the image was written, sky only
EXIT_NOTHING_TO_DRAW = 4
EXIT_INTERRUPTED = 130

#: Commands that live in their own module: ``add_parser(subparsers)`` registers
#: the command, ``run(args) -> int`` runs it. Each module imports only what
#: ``--help`` needs at the top, so the command line stays instant.
COMMAND_MODULES: dict[str, str] = {
    "sun": "app.sun_cmd",
    "sunhours": "app.sunhours_cmd",
    "report": "app.report_cmd",
    "comply": "app.comply_cmd",
    "export": "app.export_cmd",
    "serve": "app.serve_cmd",
    "ingest": "app.ingest_cmd",
    "history": "app.history_cmd",
    "db": "app.db_cmd",
    "secrets": "app.secrets_cmd",
}


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT such as 1280x720, got {text!r}"
        ) from None
    if not (16 <= w <= 16384 and 16 <= h <= 16384):
        raise argparse.ArgumentTypeError(f"size {w}x{h} out of range 16..16384")
    return w, h


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="citytwin",
        description="CityTwin: digital-twin viewer for GIS, BIM (IFC) and city models. "
        "With no command, opens the app on the Việt Trì pilot district.",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    sub = p.add_subparsers(dest="command")
    o = sub.add_parser("open", help="open a scene (.toml) or a data file in the app")
    o.add_argument("path", type=Path)
    _placement_args(o)
    r = sub.add_parser("render", help="render a scene or data file to PNG, headless")
    r.add_argument("scene", type=Path)
    _placement_args(r)
    r.add_argument("-o", "--output", type=Path, required=True)
    r.add_argument("--bookmark", help="camera bookmark name (default: overview)")
    r.add_argument("--size", type=_size, default=(1280, 720), help="WIDTHxHEIGHT (1280x720)")
    _view_args(r)
    i = sub.add_parser("info", help="describe a scene or data file")
    i.add_argument("path", type=Path)
    i.add_argument("--json", action="store_true", help="machine-readable output")
    _placement_args(i)
    t = sub.add_parser(
        "tour",
        help="export a scene's tour to an H.264 video, headless",
        description="Render a tour offscreen and encode it with the bundled ffmpeg "
        "(libx264). Ctrl-C keeps a playable video of the frames done.",
    )
    t.add_argument("scene", type=Path)
    t.add_argument("--tour", help="tour name (default: the scene's only tour)")
    t.add_argument("-o", "--output", type=Path, help="video file: .mp4, .mkv or .mov")
    t.add_argument("--fps", type=_fps, default=30.0, help="frames per second (30)")
    t.add_argument("--size", type=_size, default=(1920, 1080), help="WIDTHxHEIGHT (1920x1080)")
    t.add_argument("--frames", type=Path, metavar="DIR", help="also write every frame as PNG")
    t.add_argument("--crf", type=int, default=18, help="x264 quality, 0-51, lower is better (18)")
    t.add_argument("--preset", default="veryfast", help="x264 speed preset (veryfast)")
    t.add_argument(
        "--msaa",
        type=int,
        default=None,
        metavar="N",
        help="anti-aliasing samples (default as the app; 0 renders 2-4x faster in software)",
    )
    t.add_argument("--list", action="store_true", help="list the scene's tours and exit")
    t.add_argument("--sun", action=argparse.BooleanOptionalAction, default=None,
                   help="light each frame by the sun at its keyframe's scene time "
                   "(default: on, as the app; --no-sun: the plain light kit)")
    c = sub.add_parser(
        "check",
        help="render bookmarks (and tour frames) and compare with baseline PNGs",
        description="Exit code 0 when every image matches its baseline, 1 when any "
        "differs or has no baseline, 2 for bad input.",
    )
    c.add_argument("scene", type=Path)
    c.add_argument("--baseline", type=Path, required=True, metavar="DIR")
    c.add_argument("--update", action="store_true", help="write the renders as new baselines")
    c.add_argument(
        "--tolerance",
        type=_fraction,
        default=None,
        help="fraction of 4x4 blocks allowed to differ (0.02)",
    )
    c.add_argument(
        "--size", type=_size, default=None, help="WIDTHxHEIGHT (the baselines', else 320x180)"
    )
    c.add_argument(
        "--tours",
        nargs="*",
        metavar="NAME",
        help="also check frames of these tours (all tours when no name is given)",
    )
    c.add_argument("--tour-frames", type=int, default=3, help="frames per tour (3)")
    c.add_argument("--time", type=_time, default=None, metavar="ISO",
                   help="view time of the bookmark renders (recorded in the baseline "
                   "manifest); default: the scene's [scene] time, else its data's start")
    c.add_argument("--sun", action=argparse.BooleanOptionalAction, default=None,
                   help="sun light or (--no-sun) the plain light kit; default: as the "
                   "baseline manifest records (baselines made before the sun was on by "
                   "default: the light kit), and with --update the app's default")
    c.add_argument(
        "--out",
        type=Path,
        default=Path("citytwin-check"),
        help="folder for the report, failing renders and diffs (./citytwin-check)",
    )
    c.add_argument(
        "--junit",
        type=Path,
        metavar="FILE",
        help="also write a JUnit XML report (one test case per image) for CI systems",
    )
    import importlib

    for module in COMMAND_MODULES.values():
        importlib.import_module(module).add_parser(sub)
    return p


def _view_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--time", type=_time, default=None, metavar="ISO",
        help="view time: ISO 8601 with offset, e.g. 2025-06-02T13:00+07:00, or 'now'. "
        "Default: the scene file's [scene] time, else the start of its sensor data; "
        "a render never reads the wall clock unless asked",
    )
    p.add_argument("--legend", action="store_true", help="draw the legends of every colour")
    p.add_argument("--sun", action=argparse.BooleanOptionalAction, default=None,
                   help="light the scene by the sun at the view time (sky, dusk, night; "
                   "default: on, as the app; --no-sun: the plain light kit)")
    p.add_argument("--shadows", action="store_true",
                   help="the sun casts shadows (implies --sun; ~2.6x the frame time on "
                   "software GL)")
    p.add_argument(
        "--looks", default="auto", metavar="LIST",
        help="auto (what this GL affords, as the window) | all | none | a list of "
        "ao,edges,edl,textures",
    )
    p.add_argument("--lang", choices=("en", "vi"), default=None,
                   help="legend language (default: from LANG, else en)")


def _time(text: str):
    from twin.viewstate import parse_time

    try:
        return parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _looks(text: str):
    """``--looks``: "auto", None for "none", else the named options."""
    from twin.render.looks import LookOptions

    if text == "auto":
        return "auto"
    if text == "none":
        return None
    try:
        return LookOptions.parse(text)
    except ValueError as exc:
        raise UserError(f"--looks {text!r}: {exc}") from None


def _sun(args: argparse.Namespace) -> bool | str:
    """``--sun`` / ``--no-sun``, else "auto" (the default of
    :func:`twin.render.looks.default_sun`, as the window)."""
    if args.sun is False and getattr(args, "shadows", False):
        raise UserError("--shadows needs the sun: drop --no-sun")
    return "auto" if args.sun is None else bool(args.sun)


def _language(choice: str | None) -> str:
    if choice:
        return choice
    return "vi" if os.environ.get("LANG", "").lower().startswith("vi") else "en"


def _fps(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 30, got {text!r}") from None
    if not 1.0 <= value <= 120.0:
        raise argparse.ArgumentTypeError(f"fps {value:g} out of range 1..120")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 0.02, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"tolerance {value:g} out of range 0..1")
    return value


def _at(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) not in (3, 4) or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(
            f"expected E,N,H or E,N,H,ROTATION (metres, degrees), got {text!r}"
        )
    return values


def _placement_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--at",
        type=_at,
        metavar="E,N,H[,ROT]",
        help="place a model that has no georeferencing at these scene-CRS coordinates "
        "(rotation in degrees, counter-clockwise from grid east)",
    )
    p.add_argument(
        "--crs",
        default="EPSG:9208",
        help="CRS of --at coordinates and of the scene built for it (EPSG:9208)",
    )


def cmd_render(args: argparse.Namespace) -> int:
    from twin.render import OffscreenRenderer, save_png, use_offscreen_gl
    from twin.viewstate import ViewState

    use_offscreen_gl()
    scene = load_any(args.scene, args.at, args.crs)
    if args.bookmark is not None:
        scene.bookmark(args.bookmark)  # fail before rendering if unknown
    state = ViewState(camera=args.bookmark, time=args.time, legend=args.legend)
    with OffscreenRenderer(scene, args.size, time=args.time, looks=_looks(args.looks),
                           sun=_sun(args), shadows=args.shadows) as renderer:
        renderer.view.annotations.language = _language(args.lang)
        image = renderer.draw(state)
        shown = renderer.sim.clock.time if renderer.sim is not None else None
    out = args.output
    if out.parent and not out.parent.exists():
        raise UserError(f"{out}: folder {out.parent} does not exist")
    tmp = out.with_name(f".{out.name}.tmp.png")
    save_png(image, tmp)
    os.replace(tmp, out)
    at = f" at {shown.isoformat(timespec='minutes')}" if shown is not None else ""
    print(f"wrote {out} ({args.size[0]}x{args.size[1]}){at}")
    if nothing_to_draw(scene):
        _warn_nothing_to_draw(args.scene, f"{out} shows only the sky")
        return EXIT_NOTHING_TO_DRAW
    return EXIT_OK


def nothing_to_draw(scene) -> bool:
    """True when no visible layer has a single point: a render is sky only.

    A scene can be valid and still empty (a file with no features, every layer
    hidden); CI must not take its sky-only image for a picture of the city."""
    return not any(layer.visible and layer.mesh.n_points > 0 for layer in scene.layers)


def _warn_nothing_to_draw(path: Path, what: str) -> None:
    print(
        f"citytwin: warning: {path}: nothing to draw (no visible layer has geometry); "
        f"{what} (exit code {EXIT_NOTHING_TO_DRAW})",
        file=sys.stderr,
    )


def describe(scene) -> dict:
    """Plain-data summary of a loaded scene, for ``info``."""
    layers = []
    for layer in scene.layers:
        b = layer.mesh.bounds
        lo = scene.to_world([b[0], b[2], b[4]])
        hi = scene.to_world([b[1], b[3], b[5]])
        # None for an empty layer: VTK's (1, -1, ...) of an empty mesh are not bounds
        empty = layer.mesh.n_points == 0
        world = (lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])
        layers.append(
            {
                "name": layer.name,
                "kind": layer.kind,
                "source": str(layer.source) if layer.source else None,
                "source_crs": layer.crs,
                "features": len(layer.features),
                "classes": layer.features.class_counts(),
                "triangles": layer.n_triangles,
                "bounds_local": None if empty else [round(float(v), 3) for v in b],
                "bounds_world": None if empty else [round(float(v), 3) for v in world],
                "info": _layer_info(layer),
                "warnings": list(layer.warnings),
            }
        )
    return {
        "scene": scene.name,
        "crs": scene.crs_label,
        "origin": [float(v) for v in scene.origin],
        "layers": layers,
        "bookmarks": [bm.name for bm in scene.bookmarks],
        "crs_operations": [op.as_dict(la) for la in scene.layers for op in la.crs_operations],
        "features": sum(la["features"] for la in layers),
        "triangles": sum(la["triangles"] for la in layers),
    }


def _layer_info(layer) -> dict:
    """The importer's facts, with ``surface_types`` cut to the types the layer's
    triangles use: the importer keeps the whole code table (the index of each
    name is its code in the ``surface`` cell array), which lists every type of
    the standard whatever the file holds."""
    info = dict(layer.info)
    names = info.get("surface_types")
    codes = layer.mesh.cell_data.get("surface") if layer.mesh.n_cells else None
    if isinstance(names, list):
        import numpy as np

        used = np.unique(np.asarray(codes)) if codes is not None else []
        info["surface_types"] = [names[c] for c in used if 0 <= c < len(names) and names[c]]
    return info


def cmd_info(args: argparse.Namespace) -> int:
    summary = describe(load_any(args.path, args.at, args.crs))
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 0
    print(f"{summary['scene']}  CRS {summary['crs']}  origin {summary['origin']}")
    for la in summary["layers"]:
        bw = la["bounds_world"]
        print(
            f"- {la['name']} [{la['kind']}]: {la['features']} features, {la['triangles']} triangles"
        )
        print(f"    classes: {', '.join(f'{k} {v}' for k, v in la['classes'].items())}")
        if bw is None:
            print("    world bounds: empty")
        else:
            print(
                f"    world bounds: E {bw[0]:.1f}..{bw[1]:.1f}  N {bw[2]:.1f}..{bw[3]:.1f}  "
                f"H {bw[4]:.1f}..{bw[5]:.1f}"
            )
        for key, value in la["info"].items():
            print(f"    {key}: {value}")
        for w in la["warnings"]:
            print(f"    warning: {w}")
    if summary["bookmarks"]:
        print(f"bookmarks: {', '.join(summary['bookmarks'])}")
    if summary["crs_operations"]:
        from twin.crs_record import summary_lines

        print("CRS operations:")
        for line in summary_lines(summary["crs_operations"]):
            print(line)
    return 0


class ProgressBar:
    """A plain-text progress bar with the time left, on stderr.

    On a terminal it redraws one line; in a log (CI) it prints a line every
    10 % so the log stays short but shows that work goes on.
    """

    def __init__(self, label: str, stream=None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last_step = -1
        self._last_draw = 0.0

    def __call__(
        self, done: int, total: int, elapsed: float, eta: float | None, rate: float | None = None
    ) -> None:
        frac = done / total if total else 1.0
        if self.tty:
            now = time.monotonic()
            if done < total and now - self._last_draw < 0.1:
                return
            self._last_draw = now
            width = 28
            filled = round(width * frac)
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(
                f"\r{self.label} [{bar}] {self._text(done, total, elapsed, eta, rate)}"
            )
            if done >= total:
                self.stream.write("\n")
        else:
            step = int(frac * 10)
            if step == self._last_step and done < total:
                return
            self._last_step = step
            self.stream.write(f"{self.label}: {self._text(done, total, elapsed, eta, rate)}\n")
        self.stream.flush()

    @staticmethod
    def _text(done: int, total: int, elapsed: float, eta: float | None, rate: float | None) -> str:
        if rate is None:
            rate = done / elapsed if elapsed > 0 else 0.0
        left = "--:--" if eta is None else _clock(eta)
        pct = 100 * done // total if total else 100
        return f"{done}/{total} {pct:3d}% {rate:5.1f}/s, elapsed {_clock(elapsed)}, left {left}"

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    h, rest = divmod(seconds, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def _tours(scene, path: Path):
    from twin.tour import scene_tours

    tours = scene_tours(scene)
    if not tours:
        raise UserError(f"{path}: has no tours ([[tours]] sections)")
    return tours


def cmd_tour(args: argparse.Namespace) -> int:
    from twin.render import use_offscreen_gl
    from twin.tour import find_tour

    if args.scene.suffix.lower() != ".toml":
        raise UserError(f"{args.scene}: tours live in scene files (.toml)")
    if not args.list and args.output is None and args.frames is None:
        raise UserError("give -o/--output VIDEO (and/or --frames DIR)")
    from twin.render.video import check_size, check_video_path

    try:  # the exporter's own checks, run before the scene is loaded
        if args.output is not None:
            check_video_path(args.output)
        check_size(args.size)
    except (ValueError, OSError) as exc:
        raise UserError(str(exc)) from None
    if not 0 <= args.crf <= 51:
        raise UserError(f"--crf {args.crf} out of range 0..51")
    if args.msaa is not None and not 0 <= args.msaa <= 16:
        raise UserError(f"--msaa {args.msaa} out of range 0..16")
    if args.frames is not None and not args.frames.parent.is_dir():
        raise UserError(f"{args.frames}: folder {args.frames.parent} does not exist")
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        raise UserError("video export needs imageio-ffmpeg: pip install imageio-ffmpeg") from None

    use_offscreen_gl()
    scene = load_any(args.scene)
    tours = _tours(scene, args.scene)
    if args.list:
        for tour in tours:
            print(f"{tour.name}  ({tour.duration:.1f} s, {len(tour.keyframes)} keyframes)")
        return 0
    if args.tour is None:
        if len(tours) > 1:
            names = ", ".join(t.name for t in tours)
            raise UserError(
                f"{args.scene}: has {len(tours)} tours, choose one with --tour: {names}"
            )
        tour = tours[0]
    else:
        tour = find_tour(tours, args.tour)
    return _export(scene, tour, args)


def _export(scene, tour, args: argparse.Namespace) -> int:
    from twin.render.video import ExportInterrupted, export_tour

    bar = ProgressBar(f"tour {tour.name!r}")
    try:
        result = export_tour(
            scene,
            tour,
            args.output,
            fps=args.fps,
            size=args.size,
            frames_dir=args.frames,
            progress=lambda p: bar(p.done, p.total, p.elapsed, p.eta, p.rate),
            crf=args.crf,
            preset=args.preset,
            multi_samples=args.msaa,
            sun=_sun(args),
        )
    except ExportInterrupted as stop:
        bar.finish()
        r = stop.result
        kept = f"kept a playable {r.output} with" if r.output else "no video written;"
        print(
            f"citytwin: interrupted: {kept} {r.frames} of {r.total} frames",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    w = result.timings.get("wall", 0.0)
    target = result.output if result.output is not None else args.frames
    print(
        f"wrote {target} ({result.frames} frames, {args.size[0]}x{args.size[1]} at "
        f"{args.fps:g} fps, {tour.duration:.1f} s) in {w:.1f} s"
    )
    if nothing_to_draw(scene):
        _warn_nothing_to_draw(args.scene, f"{target} shows only the sky")
        return EXIT_NOTHING_TO_DRAW
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from twin.imagecompare import DEFAULT_TOLERANCE
    from twin.render import use_offscreen_gl
    from twin.render.check import check_scene
    from twin.tour import find_tour

    if args.tour_frames < 1 or args.tour_frames > 100:
        raise UserError(f"--tour-frames {args.tour_frames} out of range 1..100")
    if not args.update and not args.baseline.is_dir():
        raise UserError(
            f"{args.baseline}: no such baseline folder (create it with --update, "
            "review the images, then commit them)"
        )
    if args.junit is not None and not args.junit.parent.is_dir():
        raise UserError(f"{args.junit}: folder {args.junit.parent} does not exist")
    use_offscreen_gl()
    scene = load_any(args.scene)
    tours = []
    if args.tours is not None:
        available = _tours(scene, args.scene)
        tours = [find_tour(available, n) for n in args.tours] if args.tours else available
    if not scene.bookmarks and not tours:
        raise UserError(f"{args.scene}: has no bookmarks (and no tours chosen) to check")
    bar = ProgressBar("check")
    started = time.perf_counter()
    report = check_scene(
        scene,
        args.baseline,
        args.out,
        size=args.size,
        tolerance=DEFAULT_TOLERANCE if args.tolerance is None else args.tolerance,
        update=args.update,
        tours=tours,
        tour_frames=args.tour_frames,
        when=args.time,
        progress=lambda done, total, _label: bar(done, total, time.perf_counter() - started, None),
        sun=args.sun,
    )
    for item in report.items:
        score = "" if item.score is None else f" score {item.score:.4f}"
        note = f" ({item.note})" if item.note else ""
        print(f"{item.status.upper():8s} {item.label}{score}{note}")
    for name in report.stale:
        print(f"STALE    {name} (baseline with no matching view)")
    if args.junit is not None:
        from twin.render.check import write_junit

        write_junit(report, args.junit, suite=f"citytwin check {args.scene.name}")
        print(f"junit: {args.junit}")
    if args.update:
        print(f"updated {len(report.items)} baselines in {args.baseline}; review and commit them")
        return 0
    print(f"report: {report.markdown} and {report.html}")
    if report.passed:
        print(f"all {len(report.items)} images match (tolerance {report.tolerance:g})")
        return 0
    print(
        f"{len(report.failures)} of {len(report.items)} images differ or lack a baseline; "
        f"diffs in {report.out_dir / 'diff'}"
    )
    return EXIT_CHECK_FAILED


def _elapsed_eta(started: float, done: int, total: int) -> tuple[float, float | None]:
    elapsed = time.perf_counter() - started
    return elapsed, (elapsed / done * (total - done) if done else None)


def cmd_gui(path: Path, at: tuple[float, ...] | None = None, crs: str = "EPSG:9208") -> int:
    from app.display import display_problem

    problem = display_problem()
    if problem:
        raise UserError(
            f"{problem}. CityTwin's window needs a display. On a server, render images "
            f"instead: citytwin render {path} -o view.png  (or run the app under "
            f"xvfb-run to test it)."
        )
    from app.main_window import run_app

    return run_app(path, at, crs)


def start_reader_processes() -> None:
    """Start the importers' process server now: it preloads the native readers
    (~1 s) while this process imports Qt and VTK, instead of when the first
    file is read."""
    try:
        from importers.ifc import runner

        runner.warm_up()
    except Exception:  # the first read starts it and reports any failure
        pass


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    start_reader_processes()
    try:
        if args.command == "render":
            return cmd_render(args)
        if args.command == "info":
            return cmd_info(args)
        if args.command == "tour":
            return cmd_tour(args)
        if args.command == "check":
            return cmd_check(args)
        if args.command in COMMAND_MODULES:
            import importlib

            return importlib.import_module(COMMAND_MODULES[args.command]).run(args)
        if args.command == "open":
            return cmd_gui(args.path, args.at, args.crs)
        return cmd_gui(DEFAULT_SCENE)
    except KeyboardInterrupt:
        print("citytwin: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed: not an error
        sys.stderr.close()
        return 0
    except Exception as exc:
        if args.debug:
            raise
        if _is_user_error(exc):
            print(f"citytwin: error: {first_line(exc)}", file=sys.stderr)
            return EXIT_BAD_INPUT
        log = write_crash_log(exc, sys.argv if argv is None else ["citytwin", *argv])
        where = f"traceback in {log}" if log else "rerun with --debug for the traceback"
        print(
            f"citytwin: internal error ({type(exc).__name__}): {first_line(exc)}; {where}",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _is_user_error(exc: Exception) -> bool:
    from importers.errors import ImportCancelled, ImportFailed
    from twin.geo import CRSResolutionError
    from twin.scenefile import SceneFileError

    return isinstance(
        exc,
        UserError
        | SceneFileError
        | ImportFailed
        | ImportCancelled
        | CRSResolutionError
        | KeyError
        | FileNotFoundError
        | PermissionError
        | IsADirectoryError
        | NotADirectoryError,
    )


def crash_log_dirs() -> list[Path]:
    """Where crash logs go, in order of preference: the XDG state folder
    (``$XDG_STATE_HOME/citytwin``, else ``~/.local/state/citytwin``), then the
    system's temp folder for machines where home is read-only (CI runners)."""
    import tempfile

    state = os.environ.get("XDG_STATE_HOME", "")
    base = Path(state) if state and os.path.isabs(state) else Path.home() / ".local" / "state"
    return [base / "citytwin", Path(tempfile.gettempdir())]


def write_crash_log(exc: BaseException, argv: list[str]) -> Path | None:
    """Write the traceback of an internal error to a new log file; its path, or
    None when no folder is writable. The user sees one line, the developer who
    gets the file sees everything."""
    import platform
    import traceback

    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = (
        f"citytwin crash {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n"
        f"command: {' '.join(argv)}\n"
        f"python {platform.python_version()} on {platform.platform()}\n\n"
        + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    )
    for folder in crash_log_dirs():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        prefix = "crash" if folder.name == "citytwin" else "citytwin-crash"
        for name in (f"{prefix}-{stamp}.log", f"{prefix}-{stamp}-{os.getpid()}.log"):
            try:
                with open(folder / name, "x", encoding="utf-8") as fh:
                    fh.write(text)
                return folder / name
            except FileExistsError:
                continue
            except OSError:
                break
    return None


if __name__ == "__main__":
    sys.exit(main())
