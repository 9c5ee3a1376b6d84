"""``citytwin sunhours``: hours of direct sun over one day, to CSV (and PNG).

Without ``--features`` the points are a ground grid over the scene's content;
with them, the façades of those features. Heavy modules load inside :func:`run`
so that ``citytwin --help`` stays instant.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from app.loading import UserError, load_any


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``sunhours`` command on the main parser's subparsers."""
    s = subparsers.add_parser(
        "sunhours",
        help="hours of direct sun over one day on a ground grid or façades, to CSV",
        description="Sample the sun every --step minutes from 00:00 in the scene's time "
        "zone; a sample counts when the sun is up and the ray to it is unobstructed.",
    )
    s.add_argument("scene", type=Path)
    s.add_argument("--date", required=True, metavar="YYYY-MM-DD")
    s.add_argument("--layer", help="layer of --features (default: the first buildings layer)")
    s.add_argument("--features", metavar="ID,...", help="façades of these feature ids")
    s.add_argument("--step", type=float, default=15.0, metavar="MIN", help="minutes (15)")
    s.add_argument("--grid", type=float, default=None, metavar="M",
                   help="spacing in metres: ground grid (5) or façade points (2)")
    s.add_argument("--tz", default="+07:00", help="time zone offset of the day (+07:00)")
    s.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.csv")
    s.add_argument("--png", type=Path, metavar="OUT.png", help="also a heat map (ground grid)")
    return s


def _check_out(path: Path | None) -> None:
    if path is not None and path.parent and not path.parent.is_dir():
        raise UserError(f"{path}: folder {path.parent} does not exist")


def run(args: argparse.Namespace) -> int:
    """Compute, write the CSV (and PNG) and print one summary line."""
    from twin.analysis import sunhours as sh

    try:
        day = sh.parse_date(args.date)
        tz = sh.parse_tz(args.tz)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if not 0 < args.step <= 1440:
        raise UserError(f"--step {args.step:g} out of range (0, 1440] minutes")
    if args.grid is not None and not 0.05 <= args.grid <= 10_000:
        raise UserError(f"--grid {args.grid:g} out of range 0.05..10000 m")
    if args.png is not None and args.features:
        raise UserError("--png draws the ground grid; it does not go with --features")
    _check_out(args.output)
    _check_out(args.png)
    scene = load_any(args.scene)
    grid = None
    if args.features:
        layer = _layer(scene, args.layer, args.scene)
        rows = []
        for fid in (f.strip() for f in args.features.split(",") if f.strip()):
            try:
                rows.append(layer.features.find(fid))
            except KeyError:
                msg = f"{args.scene}: layer {layer.name!r} has no feature {fid!r}"
                raise UserError(msg) from None
        points, normals = sh.facade_points(layer, rows, spacing_m=args.grid or 2.0)
        what = f"{len(points)} façade points of {len(rows)} features"
    else:
        if scene.local_bounds() is None:
            raise UserError(f"{args.scene}: nothing visible to lay a grid over")
        try:
            grid = sh.ground_grid_detail(scene, args.grid or 5.0)
        except ValueError as exc:
            raise UserError(f"{args.scene}: {exc}") from None
        points, normals = grid.points, grid.normals
        what = f"{len(points)} ground points every {grid.spacing:g} m"
    if len(points) == 0:
        raise UserError(f"{args.scene}: no sample points ({what})")
    res = sh.sun_hours_detail(scene, points, normals, day, args.step, tz=tz)
    tmp = args.output.with_name(f".{args.output.name}.tmp")
    sh.write_csv(tmp, points, res.hours, scene)
    os.replace(tmp, args.output)
    if args.png is not None and grid is not None:
        sh.write_png(args.png, grid, res.hours)
    t = sum(res.timings.values())
    print(
        f"wrote {args.output}: {what}, {day.isoformat()} every {args.step:g} min; "
        f"hours {res.hours.min():.2f}..{res.hours.max():.2f}; "
        f"{res.n_rays} rays on {res.n_triangles} triangles with {res.backend} in {t:.2f} s"
    )
    return 0


def _layer(scene, name: str | None, path: Path):
    if name is not None:
        try:
            return scene.layer(name)
        except KeyError as exc:
            raise UserError(f"{path}: {exc.args[0]}") from None
    for layer in scene.layers:
        if layer.kind == "buildings":
            return layer
    if scene.layers:
        return scene.layers[0]
    raise UserError(f"{path}: has no layers")
