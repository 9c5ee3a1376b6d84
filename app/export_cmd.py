"""``citytwin export SCENE --3dtiles DIR``: the scene as OGC 3D Tiles for a web portal.

The provincial operations centre (IOC) shows the twin in a browser; 3D Tiles is
the format its CesiumJS (or any 3D Tiles viewer) streams. ``citytwin serve DIR``
then serves the result with an offline viewer page (docs/ioc-3dtiles.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.loading import UserError

EXIT_OK = 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``export`` on the ``citytwin`` sub-command parsers."""
    p = subparsers.add_parser(
        "export",
        help="export a scene for other programs (OGC 3D Tiles for a web portal)",
        description="Write the scene's visible layers as OGC 3D Tiles (tileset.json and "
        "b3dm tiles with a batch table of feature ids and attributes), placed on the "
        "globe from the scene CRS through ECEF. Serve it with `citytwin serve DIR`.",
    )
    p.add_argument("scene", type=Path, help="scene file (.toml) or data file")
    p.add_argument("--3dtiles", dest="tiles", type=Path, metavar="DIR", required=True,
                   help="folder for tileset.json and tiles/ (new, or a previous export)")
    p.add_argument("--max-triangles", type=_positive, default=10_000, metavar="N",
                   help="split a layer's tiles until each holds at most N triangles (10000)")
    return p


def run(args: argparse.Namespace) -> int:
    from app.loading import load_any
    from twin.export.tiles3d import ExportError, export_3dtiles

    if not args.scene.exists():
        raise UserError(f"{args.scene}: no such file")
    scene = load_any(args.scene)
    try:
        report = export_3dtiles(scene, args.tiles, max_triangles=args.max_triangles)
    except ExportError as exc:
        text = str(exc)  # folder problems name the folder; the others concern the scene
        if not text.startswith(str(args.tiles)):
            text = f"{args.scene}: {text}"
        raise UserError(text) from None
    for la in report.layers:
        extra = (f", {la.without_geometry} without geometry (not exported)"
                 if la.without_geometry else "")
        print(f"- {la.name}: {la.features} features in {la.tiles} tiles{extra}")
    print(
        f"wrote {report.path} ({report.tiles} tiles, {report.features} features, "
        f"{report.triangles} triangles); exact ECEF placement, a single local frame "
        f"would have been off by up to {report.residual_m:.2f} m"
    )
    return EXIT_OK
