"""``citytwin`` command line: open the app, render headless, describe a file.

Heavy modules (VTK, Qt, IfcOpenShell) are imported inside the commands so that
``citytwin --help`` and argument errors are instant. Bad input gives one line
``citytwin: error: <file>: <problem>`` and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from app.paths import DEFAULT_SCENE

EXIT_BAD_INPUT = 2


class UserError(Exception):
    """A problem with what the user asked for; printed as one line, exit 2."""


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
    r = sub.add_parser("render", help="render a scene or data file to PNG, headless")
    r.add_argument("scene", type=Path)
    r.add_argument("-o", "--output", type=Path, required=True)
    r.add_argument("--bookmark", help="camera bookmark name (default: overview)")
    r.add_argument("--size", type=_size, default=(1280, 720), help="WIDTHxHEIGHT (1280x720)")
    i = sub.add_parser("info", help="describe a scene or data file")
    i.add_argument("path", type=Path)
    i.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def load_any(path: Path):
    """A scene from a scene file, or a fitted scene holding one data file."""
    import importers

    if path.suffix.lower() == ".toml":
        return importers.open_scene(path)
    scene = importers.scene_for(path)
    for layer in importers.open(path, scene):
        scene.add_layer(layer)
    return scene


def cmd_render(args: argparse.Namespace) -> int:
    from twin.render import render_image, save_png, use_offscreen_gl

    use_offscreen_gl()
    scene = load_any(args.scene)
    if args.bookmark is not None:
        scene.bookmark(args.bookmark)  # fail before rendering if unknown
    image = render_image(scene, args.size, args.bookmark)
    out = args.output
    if out.parent and not out.parent.exists():
        raise UserError(f"{out}: folder {out.parent} does not exist")
    tmp = out.with_name(f".{out.name}.tmp.png")
    save_png(image, tmp)
    os.replace(tmp, out)
    print(f"wrote {out} ({args.size[0]}x{args.size[1]})")
    return 0


def describe(scene) -> dict:
    """Plain-data summary of a loaded scene, for ``info``."""
    layers = []
    for layer in scene.layers:
        b = layer.mesh.bounds
        lo = scene.to_world([b[0], b[2], b[4]])
        hi = scene.to_world([b[1], b[3], b[5]])
        layers.append(
            {
                "name": layer.name,
                "kind": layer.kind,
                "source": str(layer.source) if layer.source else None,
                "source_crs": layer.crs,
                "features": len(layer.features),
                "classes": layer.features.class_counts(),
                "triangles": layer.n_triangles,
                "bounds_local": [round(float(v), 3) for v in b],
                "bounds_world": [
                    round(float(v), 3) for v in (lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])
                ],
                "info": dict(layer.info),
                "warnings": list(layer.warnings),
            }
        )
    return {
        "scene": scene.name,
        "crs": scene.crs_label,
        "origin": [float(v) for v in scene.origin],
        "layers": layers,
        "bookmarks": [bm.name for bm in scene.bookmarks],
        "features": sum(la["features"] for la in layers),
        "triangles": sum(la["triangles"] for la in layers),
    }


def cmd_info(args: argparse.Namespace) -> int:
    summary = describe(load_any(args.path))
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
    return 0


def cmd_gui(path: Path) -> int:
    from app.display import display_problem

    problem = display_problem()
    if problem:
        raise UserError(
            f"{problem}. CityTwin's window needs a display. On a server, render images "
            f"instead: citytwin render {path} -o view.png  (or run the app under "
            f"xvfb-run to test it)."
        )
    from app.main_window import run_app

    return run_app(path)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "render":
            return cmd_render(args)
        if args.command == "info":
            return cmd_info(args)
        return cmd_gui(args.path if args.command == "open" else DEFAULT_SCENE)
    except KeyboardInterrupt:
        print("citytwin: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"citytwin: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT if _is_user_error(exc) else 1


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
        | PermissionError,
    )


def _one_line(exc: Exception) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    text = " ".join(text.split()) or type(exc).__name__
    if not _is_user_error(exc):
        text = f"internal error ({type(exc).__name__}): {text} (rerun with --debug for details)"
    return text


if __name__ == "__main__":
    sys.exit(main())
