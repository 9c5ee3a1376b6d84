"""``citytwin report SCENE -o OUT.pdf|png``: a printable map page, headless.

The page (A4 or A3 landscape) holds the view at print resolution drawn by the
one offscreen renderer, the title, legends, scale bar, north arrow, CRS, the
scene's date and time and the data sources with their licences
(``app/print_map.py``, the layout File → Print map… uses too). It needs QtGui
for the PDF writer, with the ``offscreen`` platform: no display. Qt is
imported only when the command runs, so ``citytwin --help`` stays Qt-free.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from app.loading import UserError

EXIT_OK = 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``report`` on the ``citytwin`` sub-command parsers."""
    p = subparsers.add_parser(
        "report",
        help="print a map page (A4/A3 landscape) of a scene to PDF or PNG, headless",
        description="A printable map: the view at print resolution with title, legend, "
        "scale bar, north arrow, CRS, the scene's date and time and the data sources.",
    )
    p.add_argument("scene", type=Path, help="scene file (.toml) or data file")
    p.add_argument("-o", "--output", type=Path, required=True, help="OUT.pdf or OUT.png")
    p.add_argument("--bookmark", help="camera bookmark name (default: the scene's overview)")
    p.add_argument("--time", metavar="ISO", default=None,
                   help="scene time, ISO 8601 (e.g. 2025-06-02T13:00+07:00) or 'now'; "
                   "default: the scene file's [scene] time")
    p.add_argument("--title", help="page title (default: the scene's name)")
    p.add_argument("--paper", choices=("A4", "A3"), default="A4", help="landscape paper (A4)")
    p.add_argument("--lang", choices=("vi", "en"), default=None,
                   help="language of the page (default: from LANG, else en)")
    p.add_argument("--dpi", type=int, default=300, help="print resolution of the map (300)")
    return p


def run(args: argparse.Namespace) -> int:
    from app.print_map import PageSpec, print_map
    from twin.viewstate import ViewState, parse_time

    out: Path = args.output
    if out.suffix.lower() not in (".pdf", ".png"):
        raise UserError(f"{out}: expected a .pdf or .png file name")
    if out.parent and not out.parent.exists():
        raise UserError(f"{out}: folder {out.parent} does not exist")
    if not args.scene.exists():
        raise UserError(f"{args.scene}: no such file")
    when = None
    if args.time is not None:
        try:
            when = parse_time(args.time)
        except ValueError as exc:
            raise UserError(str(exc)) from None
    lang = args.lang or ("vi" if os.environ.get("LANG", "").lower().startswith("vi") else "en")
    try:
        spec = PageSpec(title=args.title or "", paper=args.paper, lang=lang, dpi=args.dpi)
    except ValueError as exc:
        raise UserError(f"--dpi: {exc}") from None
    from app.loading import load_any
    from twin.render import use_offscreen_gl

    use_offscreen_gl()
    scene = load_any(args.scene)
    if args.bookmark is not None:
        try:
            scene.bookmark(args.bookmark)
        except KeyError as exc:
            raise UserError(f"{args.scene}: {exc.args[0] if exc.args else exc}") from None
    if not spec.title:
        spec.title = scene.name
    camera = args.bookmark
    if camera is None and any(b.name == "overview" for b in scene.bookmarks):
        camera = "overview"
    state = ViewState(camera=camera, time=when)
    path = print_map(scene, state, out, spec)
    print(f"wrote {path} ({spec.paper} landscape, {spec.lang}, map at {spec.dpi} dpi)")
    return EXIT_OK
