"""Seeded synthetic IFC4 towers for the IFC import benchmarks and fast-path tests.

Writes STEP text directly (``ifcopenshell.api`` needs minutes for a 150 MB
model; this needs seconds), in millimetres so the length-unit scale is
exercised. Every storey holds:

- walls: rectangle profiles, L-shaped ``IfcPolyline`` profiles,
  ``IfcIndexedPolyCurve`` profiles, and hollow ``IfcArbitraryProfileDefWithVoids``
  ones (an inner loop); half of the rectangular walls carry a rectangular
  ``IfcOpeningElement`` cut through them (``IfcRelVoidsElement``) filled by an
  ``IfcWindow`` (``IfcRelFillsElement``);
- slabs (rectangle and polygon profiles), columns (some hollow);
- furniture mapped from one ``IfcRepresentationMap`` (``IfcMappedItem``) holding an
  ``IfcTriangulatedFaceSet``;
- a few ``IfcPolygonalFaceSet`` proxies and one swept disk pipe (left to the kernel).

Run from the repository root::

    .venv/bin/python bench/ifc_towers.py   # 20 and 150 MB, in $TMPDIR/citytwin-bench
    .venv/bin/python bench/ifc_towers.py --size-mb 5 --out /tmp/t.ifc
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from pathlib import Path

_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_$"


def _guid(rng: random.Random) -> str:
    """A valid 22-character IFC GlobalId from the seeded generator."""
    n = uuid.UUID(int=rng.getrandbits(128)).int
    out = [_CHARS[(n >> 126) & 0x3]]
    for i in range(20, -1, -1):
        out.append(_CHARS[(n >> (6 * i)) & 0x3F])
    return "".join(out)


def _f(v: float) -> str:
    s = f"{v:.6g}"
    return s if any(c in s for c in ".e") else s + "."


class Writer:
    """Appends numbered STEP instances."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.lines: list[str] = []
        self.n = 0

    def add(self, text: str) -> str:
        self.n += 1
        self.lines.append(f"#{self.n}={text};")
        return f"#{self.n}"

    def guid(self) -> str:
        return "'" + _guid(self.rng) + "'"

    def pt(self, *c: float) -> str:
        return self.add(f"IFCCARTESIANPOINT(({','.join(_f(v) for v in c)}))")

    def dir(self, *c: float) -> str:
        return self.add(f"IFCDIRECTION(({','.join(_f(v) for v in c)}))")

    def ax3(
        self, origin: tuple[float, float, float], xdir: tuple[float, float] | None = None
    ) -> str:
        p = self.pt(*origin)
        if xdir is None:
            return self.add(f"IFCAXIS2PLACEMENT3D({p},$,$)")
        return self.add(f"IFCAXIS2PLACEMENT3D({p},{self.z},{self.dir(xdir[0], xdir[1], 0.0)})")

    def local(self, rel: str | None, origin: tuple[float, float, float], xdir=None) -> str:
        return self.add(f"IFCLOCALPLACEMENT({rel or '$'},{self.ax3(origin, xdir)})")


def _header(w: Writer) -> dict[str, str]:
    """Project, units (millimetres), context, site, building, shared styles and maps."""
    h: dict[str, str] = {}
    w.z = w.dir(0.0, 0.0, 1.0)
    w.x = w.dir(1.0, 0.0, 0.0)
    w.y = w.dir(0.0, 1.0, 0.0)
    origin = w.pt(0.0, 0.0, 0.0)
    wcs = w.add(f"IFCAXIS2PLACEMENT3D({origin},$,$)")
    h["ctx"] = w.add(f"IFCGEOMETRICREPRESENTATIONCONTEXT($,'Model',3,1.E-05,{wcs},$)")
    h["body"] = w.add(
        f"IFCGEOMETRICREPRESENTATIONSUBCONTEXT('Body','Model',*,*,*,*,{h['ctx']},$,.MODEL_VIEW.,$)"
    )
    mm = w.add("IFCSIUNIT(*,.LENGTHUNIT.,.MILLI.,.METRE.)")
    m2 = w.add("IFCSIUNIT(*,.AREAUNIT.,$,.SQUARE_METRE.)")
    m3 = w.add("IFCSIUNIT(*,.VOLUMEUNIT.,$,.CUBIC_METRE.)")
    rad = w.add("IFCSIUNIT(*,.PLANEANGLEUNIT.,$,.RADIAN.)")
    units = w.add(f"IFCUNITASSIGNMENT(({mm},{m2},{m3},{rad}))")
    h["project"] = w.add(f"IFCPROJECT({w.guid()},$,'Bench tower',$,$,$,$,({h['ctx']}),{units})")
    h["site_pl"] = w.local(None, (0.0, 0.0, 0.0))
    h["site"] = w.add(f"IFCSITE({w.guid()},$,'Site',$,$,{h['site_pl']},$,$,.ELEMENT.,$,$,$,$,$)")
    h["bldg_pl"] = w.local(h["site_pl"], (1000.0, 2000.0, 0.0))
    h["bldg"] = w.add(f"IFCBUILDING({w.guid()},$,'Tower',$,$,{h['bldg_pl']},$,$,.ELEMENT.,$,$,$)")
    w.add(f"IFCRELAGGREGATES({w.guid()},$,$,$,{h['project']},({h['site']}))")
    w.add(f"IFCRELAGGREGATES({w.guid()},$,$,$,{h['site']},({h['bldg']}))")
    h["wall_style"] = _style(w, (0.75, 0.72, 0.68), 0.0)
    h["glass_style"] = _style(w, (0.55, 0.75, 0.9), 0.6)
    h["slab_style"] = _style(w, (0.6, 0.6, 0.62), 0.0)
    # one chair: a triangulated prism family mapped many times
    coords = [
        (0, 0, 0),
        (450, 0, 0),
        (450, 450, 0),
        (0, 450, 0),
        (0, 0, 450),
        (450, 0, 450),
        (450, 450, 450),
        (0, 450, 450),
        (0, 400, 900),
        (450, 400, 900),
    ]
    tris = [
        (1, 3, 2),
        (1, 4, 3),
        (5, 6, 7),
        (5, 7, 8),
        (1, 2, 6),
        (1, 6, 5),
        (2, 3, 7),
        (2, 7, 6),
        (3, 4, 8),
        (3, 8, 7),
        (4, 1, 5),
        (4, 5, 8),
    ]
    plist = w.add(
        "IFCCARTESIANPOINTLIST3D(("
        + ",".join("(" + ",".join(_f(c) for c in p) + ")" for p in coords[:8])
        + "),$)"
    )
    fs = w.add(
        f"IFCTRIANGULATEDFACESET({plist},$,.T.,("
        + ",".join(f"({a},{b},{c})" for a, b, c in tris)
        + "),$)"
    )
    w.add(f"IFCSTYLEDITEM({fs},({h['slab_style']}),$)")
    rep = w.add(f"IFCSHAPEREPRESENTATION({h['body']},'Body','Tessellation',({fs}))")
    h["chair_map"] = w.add(f"IFCREPRESENTATIONMAP({w.ax3((0.0, 0.0, 0.0))},{rep})")
    return h


def _style(w: Writer, rgb: tuple[float, float, float], transparency: float) -> str:
    colour = w.add(f"IFCCOLOURRGB($,{_f(rgb[0])},{_f(rgb[1])},{_f(rgb[2])})")
    shading = w.add(f"IFCSURFACESTYLESHADING({colour},{_f(transparency)})")
    return w.add(f"IFCSURFACESTYLE($,.BOTH.,({shading}))")


def _product(
    w: Writer,
    h,
    cls: str,
    name: str,
    placement: str,
    items: list[str],
    kind: str,
    tail: str = "$,$",
) -> str:
    rep = w.add(f"IFCSHAPEREPRESENTATION({h['body']},'Body','{kind}',({','.join(items)}))")
    pds = w.add(f"IFCPRODUCTDEFINITIONSHAPE($,$,({rep}))")
    return w.add(f"{cls}({w.guid()},$,'{name}',$,$,{placement},{pds},$,{tail})")


def _rect(w: Writer, x: float, y: float, cx: float = 0.0, cy: float = 0.0) -> str:
    pos = w.add(f"IFCAXIS2PLACEMENT2D({w.pt(cx, cy)},$)")
    return w.add(f"IFCRECTANGLEPROFILEDEF(.AREA.,$,{pos},{_f(x)},{_f(y)})")


def _polyline(w: Writer, pts: list[tuple[float, float]]) -> str:
    refs = [w.pt(*p) for p in pts]
    return w.add(f"IFCPOLYLINE(({','.join(refs + refs[:1])}))")


def _extrusion(w: Writer, profile: str, depth: float, style: str | None) -> str:
    solid = w.add(f"IFCEXTRUDEDAREASOLID({profile},{w.ax3((0.0, 0.0, 0.0))},{w.z},{_f(depth)})")
    if style:
        w.add(f"IFCSTYLEDITEM({solid},({style}),$)")
    return solid


def _storey(
    w: Writer, h: dict[str, str], level: int, height: float, bays: int, plain: bool = False
) -> None:
    """One storey; ``plain``: rectangle walls alone (no openings, columns, furniture,
    face sets or pipe) on the slab, the plain-wall tower of issue 20."""
    rng = w.rng
    pl = w.local(h["bldg_pl"], (0.0, 0.0, level * height))
    storey = w.add(
        f"IFCBUILDINGSTOREY({w.guid()},$,'Level {level}',$,$,{pl},$,$,.ELEMENT.,"
        f"{_f(level * height)})"
    )
    w.add(f"IFCRELAGGREGATES({w.guid()},$,$,$,{h['bldg']},({storey}))")
    contained: list[str] = []
    bay = 6000.0
    wall_h = height - 250.0
    # slab: rectangle or polygon
    size = bays * bay
    if level % 2:
        prof = _rect(w, size, size, size / 2, size / 2)
    else:
        cut = 0.2 * size
        pts = [(0, 0), (size, 0), (size, size - cut), (size - cut, size), (0, size)]
        prof = w.add(f"IFCARBITRARYCLOSEDPROFILEDEF(.AREA.,$,{_polyline(w, pts)})")
    slab_pl = w.local(pl, (0.0, 0.0, -250.0))
    contained.append(
        _product(
            w,
            h,
            "IFCSLAB",
            "Slab",
            slab_pl,
            [_extrusion(w, prof, 250.0, h["slab_style"])],
            "SweptSolid",
            ".FLOOR.",
        )
    )
    for i in range(bays):
        for j in range(bays):
            x0, y0 = i * bay, j * bay
            for k, (ox, oy, angle) in enumerate(((x0, y0, 0), (x0, y0, 90))):
                xdir = (1.0, 0.0) if angle == 0 else (0.0, 1.0)
                wpl = w.local(pl, (ox, oy, 0.0), xdir)
                length = bay - 200.0 * rng.random()
                thick = 200.0 + 100.0 * rng.randint(0, 2)
                variant = 2 if plain else (i + j + k + level) % 6
                if variant in (0, 1, 2):  # rectangle, with an opening and a window for 0 and 1
                    prof = _rect(w, length, thick, length / 2, 0.0)
                    wall = _product(
                        w,
                        h,
                        "IFCWALL",
                        "Wall",
                        wpl,
                        [_extrusion(w, prof, wall_h, h["wall_style"])],
                        "SweptSolid",
                        ".STANDARD.",
                    )
                    contained.append(wall)
                    if variant < 2:
                        contained.append(_window(w, h, wall, wpl, length, thick, wall_h))
                elif variant == 3:  # L-shaped polyline profile
                    t, a = thick, 600.0
                    pts = [
                        (0, -t / 2),
                        (length, -t / 2),
                        (length, t / 2 + a),
                        (length - t, t / 2 + a),
                        (length - t, t / 2),
                        (0, t / 2),
                    ]
                    prof = w.add(f"IFCARBITRARYCLOSEDPROFILEDEF(.AREA.,$,{_polyline(w, pts)})")
                    contained.append(
                        _product(
                            w,
                            h,
                            "IFCWALL",
                            "Wall L",
                            wpl,
                            [_extrusion(w, prof, wall_h, None)],
                            "SweptSolid",
                            ".STANDARD.",
                        )
                    )
                elif variant == 4:  # indexed poly curve, a trapezoid
                    t = thick
                    coords = [(0, -t / 2), (length, -t / 2), (length - 100, t / 2), (100, t / 2)]
                    plist = w.add(
                        "IFCCARTESIANPOINTLIST2D(("
                        + ",".join(f"({_f(a)},{_f(b)})" for a, b in coords)
                        + "),$)"
                    )
                    curve = w.add(f"IFCINDEXEDPOLYCURVE({plist},(IFCLINEINDEX((1,2,3,4,1))),.F.)")
                    prof = w.add(f"IFCARBITRARYCLOSEDPROFILEDEF(.AREA.,$,{curve})")
                    contained.append(
                        _product(
                            w,
                            h,
                            "IFCWALL",
                            "Wall trapezoid",
                            wpl,
                            [_extrusion(w, prof, wall_h, h["wall_style"])],
                            "SweptSolid",
                            ".STANDARD.",
                        )
                    )
                else:  # hollow wall: an inner loop
                    t = thick + 200.0
                    outer = [(0, -t / 2), (length, -t / 2), (length, t / 2), (0, t / 2)]
                    inner = [(500, -50), (500, 50), (length - 500, 50), (length - 500, -50)]
                    prof = w.add(
                        "IFCARBITRARYPROFILEDEFWITHVOIDS(.AREA.,$,"
                        f"{_polyline(w, outer)},({_polyline(w, inner)}))"
                    )
                    contained.append(
                        _product(
                            w,
                            h,
                            "IFCWALL",
                            "Wall hollow",
                            wpl,
                            [_extrusion(w, prof, wall_h, None)],
                            "SweptSolid",
                            ".STANDARD.",
                        )
                    )
            if plain:
                continue
            # a column at every grid point, every fourth one hollow
            cpl = w.local(pl, (x0, y0, 0.0))
            if (i + j) % 4 == 0:
                outer = _polyline(w, [(-250, -250), (250, -250), (250, 250), (-250, 250)])
                inner = _polyline(w, [(-150, -150), (-150, 150), (150, 150), (150, -150)])
                prof = w.add(f"IFCARBITRARYPROFILEDEFWITHVOIDS(.AREA.,$,{outer},({inner}))")
            else:
                prof = _rect(w, 400.0, 400.0)
            contained.append(
                _product(
                    w,
                    h,
                    "IFCCOLUMN",
                    "Column",
                    cpl,
                    [_extrusion(w, prof, wall_h, None)],
                    "SweptSolid",
                    ".COLUMN.",
                )
            )
            # two chairs per bay, mapped
            for c in range(2):
                fpl = w.local(
                    pl,
                    (x0 + 1000 + 1500 * c, y0 + 1500 + 400 * rng.random(), 0.0),
                    (1.0, 0.0) if c == 0 else (0.0, 1.0),
                )
                op = w.add(f"IFCCARTESIANTRANSFORMATIONOPERATOR3D($,$,{w.pt(0.0, 0.0, 0.0)},$,$)")
                item = w.add(f"IFCMAPPEDITEM({h['chair_map']},{op})")
                contained.append(
                    _product(
                        w,
                        h,
                        "IFCFURNITURE",
                        "Chair",
                        fpl,
                        [item],
                        "MappedRepresentation",
                        ".CHAIR.",
                    )
                )
    if plain:
        w.add(f"IFCRELCONTAINEDINSPATIALSTRUCTURE({w.guid()},$,$,$,({','.join(contained)}),{storey})")
        return
    # a few polygonal face sets (a pyramid with a quad base) and one pipe (kernel only)
    for n in range(3):
        ppl = w.local(pl, (500.0 + 1500 * n, -2000.0, 0.0))
        plist = w.add(
            "IFCCARTESIANPOINTLIST3D(((0.,0.,0.),(1000.,0.,0.),(1000.,1000.,0.),(0.,1000.,0.),"
            "(500.,500.,1500.)),$)"
        )
        faces = [(1, 4, 3, 2), (1, 2, 5), (2, 3, 5), (3, 4, 5), (4, 1, 5)]
        frefs = [w.add(f"IFCINDEXEDPOLYGONALFACE(({','.join(map(str, fc))}))") for fc in faces]
        fs = w.add(f"IFCPOLYGONALFACESET({plist},.T.,({','.join(frefs)}),$)")
        contained.append(
            _product(
                w,
                h,
                "IFCBUILDINGELEMENTPROXY",
                "Pyramid",
                ppl,
                [fs],
                "Tessellation",
                ".NOTDEFINED.",
            )
        )
    disk_pl = w.local(pl, (0.0, -3000.0, 500.0))
    line = w.add(f"IFCPOLYLINE(({w.pt(0.0, 0.0, 0.0)},{w.pt(3000.0, 0.0, 0.0)}))")
    sweep = w.add(f"IFCSWEPTDISKSOLID({line},50.,$,$,$)")
    contained.append(
        _product(
            w,
            h,
            "IFCBUILDINGELEMENTPROXY",
            "Pipe",
            disk_pl,
            [sweep],
            "AdvancedSweptSolid",
            ".NOTDEFINED.",
        )
    )
    w.add(f"IFCRELCONTAINEDINSPATIALSTRUCTURE({w.guid()},$,$,$,({','.join(contained)}),{storey})")


def _window(w: Writer, h, wall: str, wpl: str, length: float, thick: float, wall_h: float) -> str:
    """A rectangular opening through ``wall`` (extruded across its thickness)
    and the window that fills it."""
    rng = w.rng
    width = 900.0 + 100.0 * rng.randint(0, 6)
    height = 1200.0 + 100.0 * rng.randint(0, 4)
    x = 300.0 + (length - width - 600.0) * rng.random()
    sill = 800.0
    # opening frame: origin at the outer face, z across the wall (along -Y of the wall)
    o_ax = w.add(
        f"IFCAXIS2PLACEMENT3D({w.pt(x, thick / 2 + 10.0, sill)},{w.dir(0.0, -1.0, 0.0)},{w.x})"
    )
    o_pl = w.add(f"IFCLOCALPLACEMENT({wpl},{o_ax})")
    prof = _rect(w, width, height, width / 2, height / 2)
    solid = w.add(f"IFCEXTRUDEDAREASOLID({prof},{w.ax3((0.0, 0.0, 0.0))},{w.z},{_f(thick + 20.0)})")
    opening = _product(
        w, h, "IFCOPENINGELEMENT", "Opening", o_pl, [solid], "SweptSolid", ".OPENING."
    )
    w.add(f"IFCRELVOIDSELEMENT({w.guid()},$,$,$,{wall},{opening})")
    win_pl = w.local(wpl, (x, -25.0, sill))
    frame = _rect(w, width, 50.0, width / 2, 0.0)
    pane = _extrusion(w, frame, height, h["glass_style"])
    window = _product(
        w,
        h,
        "IFCWINDOW",
        "Window",
        win_pl,
        [pane],
        "SweptSolid",
        f"{_f(height)},{_f(width)},.WINDOW.,$,$",
    )
    w.add(f"IFCRELFILLSELEMENT({w.guid()},$,$,$,{opening},{window})")
    return window


def write_tower(
    path: Path, size_mb: float, seed: int = 20, bays: int = 4, plain: bool = False
) -> dict[str, float]:
    """Write a tower of about ``size_mb`` megabytes (``plain``: walls and slabs
    only, see :func:`_storey`); returns what was written."""
    w = Writer(seed)
    h = _header(w)
    height = 3500.0
    level = 0
    body = 0
    while True:
        before = len(w.lines)
        _storey(w, h, level, height, bays, plain)
        body += sum(len(s) + 1 for s in w.lines[before:])
        level += 1
        if body >= size_mb * 1e6:
            break
    head = (
        "ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION(('ViewDefinition [DesignTransferView]'),'2;1');\n"
        f"FILE_NAME('{path.name}','2026-01-01T00:00:00',(''),(''),'CityTwin bench',"
        "'ifc_towers','');\n"
        "FILE_SCHEMA(('IFC4'));\nENDSEC;\nDATA;\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="ascii") as fh:
        fh.write(head)
        fh.write("\n".join(w.lines))
        fh.write("\nENDSEC;\nEND-ISO-10303-21;\n")
    return {"storeys": level, "entities": w.n, "mb": path.stat().st_size / 1e6}


def bench_dir() -> Path:
    return Path(tempfile.gettempdir()) / "citytwin-bench"


def towers(sizes: tuple[float, ...] = (20.0, 150.0), seed: int = 20) -> list[Path]:
    """The bench towers, written once per size and seed (reused when present)."""
    out = []
    for mb in sizes:
        path = bench_dir() / f"tower_{mb:g}mb_s{seed}.ifc"
        if not path.exists():
            write_tower(path.with_suffix(".part"), mb, seed)
            path.with_suffix(".part").rename(path)
        out.append(path)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=float, nargs="*", default=[20.0, 150.0])
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--out", type=Path, help="one file (with one --size-mb)")
    ap.add_argument("--plain", action="store_true", help="with --out: plain walls and slabs only")
    args = ap.parse_args()
    t0 = time.perf_counter()
    if args.out:
        info = write_tower(args.out, args.size_mb[0], args.seed, plain=args.plain)
        print(args.out, info, f"{time.perf_counter() - t0:.1f} s")
        return 0
    for p in towers(tuple(args.size_mb), args.seed):
        print(p, f"{p.stat().st_size / 1e6:.1f} MB")
    print(f"{time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
