"""``citytwin comply``: check every building against its lot's planning indicators.

Exit 0 when everything complies, 1 when any rule is broken, 2 on bad input.
Heavy modules load inside :func:`run` so that ``citytwin --help`` stays instant.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app.loading import UserError, load_any

#: at most this many violating buildings get a rendered view in the HTML report
MAX_VIEWS = 24
VIEW_SIZE = (360, 240)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``comply`` command on the main parser's subparsers."""
    s = subparsers.add_parser(
        "comply",
        help="check buildings against the planning indicators of their lots",
        description="Check each building of the scene's [[compliance]] tables against the "
        "lot holding most of its footprint: height, floors, density, land-use coefficient "
        "and setback. Exit 0: all comply; 1: violations; 2: bad input.",
    )
    s.add_argument("scene", type=Path)
    s.add_argument("--time", metavar="ISO",
                   help="plan time (default: the scene's [scene] time; plan phases "
                   "decide which buildings exist)")
    s.add_argument("--json", action="store_true",
                   help='print {"checked", "violations", "unassigned"} as JSON')
    s.add_argument("--csv", type=Path, metavar="OUT.csv", help="every value against its limit")
    s.add_argument("--html", type=Path, metavar="OUT.html",
                   help="report with a summary and a rendered view of each violation")
    s.add_argument("--lang", choices=("en", "vi"), default=None,
                   help="report language (default: from LANG, else en)")
    return s


def _out(path: Path | None) -> None:
    if path is not None and path.parent and not path.parent.is_dir():
        raise UserError(f"{path}: folder {path.parent} does not exist")


def run(args: argparse.Namespace) -> int:
    from importers.geometry2d import layer_geometries
    from twin.compliance import report
    from twin.compliance.scene_check import prepare
    from twin.viewstate import parse_time

    _out(args.csv)
    _out(args.html)
    lang = args.lang or ("vi" if os.environ.get("LANG", "").lower().startswith("vi") else "en")
    if args.scene.suffix.lower() != ".toml":
        raise UserError(f"{args.scene}: comply needs a scene file (.toml) with [[compliance]]")
    scene = load_any(args.scene)
    specs = scene.spec.compliance if scene.spec is not None else []
    if not specs:
        raise UserError(f"{args.scene}: declares no [[compliance]] table")
    tz = scene.spec.timezone
    try:
        when = parse_time(args.time, tz=tz) if args.time else scene.spec.time
    except ValueError as exc:
        raise UserError(str(exc)) from None
    results = []
    for spec in specs:
        try:
            sc = prepare(scene, spec, lambda layer: layer_geometries(layer, scene))
        except KeyError as exc:
            raise UserError(f"{args.scene}: [[compliance]]: {exc.args[0]}") from None
        results.append((sc, sc.run(when)))
    # one table is the common case; several are reported one after the other
    for _, res in results:
        for w in res.warnings:
            print(f"citytwin: warning: {args.scene}: {w}", file=sys.stderr)
    when_text = when.isoformat(timespec="minutes") if when is not None else "plan end"
    if args.json:
        import json

        merged = {"checked": 0, "violations": [], "unassigned": []}
        for _, res in results:
            doc = res.summary()
            merged["checked"] += doc["checked"]
            merged["violations"] += doc["violations"]
            merged["unassigned"] += doc["unassigned"]
        print(json.dumps(merged, ensure_ascii=False))
    else:
        for _, res in results:
            _print_summary(res, when_text)
    if args.csv is not None:
        tmp = args.csv.with_name(f".{args.csv.name}.tmp")
        report.write_csv(tmp, [res for _, res in results], lang)
        os.replace(tmp, args.csv)
    if args.html is not None:
        sc, res = results[0]
        images = render_views(scene, sc, res, when, lang)
        tmp = args.html.with_name(f".{args.html.name}.tmp")
        report.write_html(tmp, res, lang, images, when_text, scene.name)
        os.replace(tmp, args.html)
    return 1 if any(res.failing.any() for _, res in results) else 0


def _print_summary(res, when_text: str) -> None:
    viol = res.violations()
    print(f"checked {int(res.checked.sum())} buildings at {when_text}: "
          f"{len(viol)} violations by {int(res.failing.sum())} buildings; "
          f"{int(res.without_rules.sum())} on lots without indicators, "
          f"{int(res.unassigned.sum())} on no lot")
    for v in viol:
        print(f"  {v['building']} on {v['lot']}: {v['rule']} {v['value']:g} "
              f"(limit {v['limit']:g})")


def render_views(scene, sc, res, when, lang: str) -> dict[str, bytes]:
    """A small view of each violating building (at most :data:`MAX_VIEWS`), drawn
    by the one offscreen renderer with the compliance colours and legend."""
    import io

    import numpy as np
    from PIL import Image

    from twin.compliance import colors
    from twin.render import OffscreenRenderer, use_offscreen_gl
    from twin.viewstate import ViewState

    failing = np.flatnonzero(res.failing)[:MAX_VIEWS]
    if failing.size == 0:
        return {}
    use_offscreen_gl()
    out: dict[str, bytes] = {}
    with OffscreenRenderer(scene, VIEW_SIZE, time=when, looks=None) as renderer:
        renderer.view.annotations.language = lang
        renderer.set_time(when)
        apply_colors(renderer.view, scene, res, sc.lots_layer)
        renderer.view.annotations.extra_specs = [colors.legend(lang)]
        b = res.buildings
        for i in failing:
            layer = scene.layer(str(b.layer[i]))
            cam = close_up(scene, layer, int(b.row[i]))
            image = renderer.draw(ViewState(camera=cam, legend=False))
            buf = io.BytesIO()
            Image.fromarray(image).save(buf, format="PNG", optimize=True)
            out[str(b.ids[i])] = buf.getvalue()
    return out


def apply_colors(view, scene, res, lots=None) -> None:
    """Compliance colours on the building layers and the lots layer (shown)."""
    from twin.compliance import colors

    for name in dict.fromkeys(res.buildings.layer.tolist()):
        layer = scene.layer(name)
        view.set_feature_colors(layer, colors.building_colors(res, name, len(layer.features)))
    if lots is not None:
        scene.set_visible(lots, True)
        view.set_feature_colors(lots, colors.lot_colors(res))


def close_up(scene, layer, row: int):
    """A camera from the south-east, above, framing one feature and its street."""
    import numpy as np

    from twin.scene import Bookmark

    bounds = layer.features.bounds
    if row < 0:  # a whole IFC model
        ok = np.all(np.isfinite(bounds), axis=1)
        b = np.concatenate([bounds[ok].min(axis=0)[0::2], bounds[ok].max(axis=0)[1::2]])
        b = b[[0, 3, 1, 4, 2, 5]]
    else:
        b = bounds[row]
    center = np.array([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, max(b[5], 1.0) / 2])
    size = max(b[1] - b[0], b[3] - b[2], b[5], 30.0)
    eye = center + np.array([0.9, -1.1, 1.0]) * size * 2.0
    return Bookmark(
        name="violation",
        position=tuple(float(v) for v in scene.to_world(eye)),
        focal_point=tuple(float(v) for v in scene.to_world(center)),
        view_angle=40.0,
    )
