"""What CityGML appearances cost the import: the same city of N textured box
buildings (4 walls + roof, 5 ParameterizedTextures and 4 atlas images, or an
X3DMaterial roof every third building) written with and without its
``app:appearance`` elements, imported alternately, best of ``--repeat``, in
wall and CPU seconds (this process: the CPU figure holds on a shared machine).

    .venv/bin/python bench/bench_citygml_appearance.py [--n 4000] [--repeat 3] [--append]

The city comes from docs/citygml_textures_shot.py (citygml4j's testtown
images, ../shared/data); it is written to a temporary folder.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _street_module():
    spec = importlib.util.spec_from_file_location(
        "citygml_textures_shot", ROOT / "docs" / "citygml_textures_shot.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def write_city(folder: Path, n: int) -> tuple[Path, Path]:
    """(textured, plain) GML files of ``n`` buildings on a 50-wide grid."""
    st = _street_module()
    st.copy_images(folder)
    fronts = (st.SHOP, st.BRICK, st.DOORS)
    parts = []
    for k in range(n):
        roof = (0.55, 0.2, 0.15) if k % 3 == 0 else st.SLATE
        parts.append(
            st.building(
                k,
                30.0 * (k % 50),
                20.0,
                12.0,
                6.0 + k % 7 * 3,
                fronts[k % 3],
                roof,
                y0=25.0 * (k // 50),
            )
        )
    doc = st.HEAD + "".join(parts) + "</core:CityModel>"
    textured = folder / "city.gml"
    textured.write_text(doc, encoding="utf-8")
    plain = folder / "city_plain.gml"
    plain.write_text(re.sub(r"<app:appearance>.*?</app:appearance>", "", doc), encoding="utf-8")
    return textured, plain


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--append", action="store_true", help="append a section to RESULTS.md")
    args = ap.parse_args()

    import importers
    from twin import textures

    with tempfile.TemporaryDirectory() as tmp:
        textured, plain = write_city(Path(tmp), args.n)
        best = {"plain": float("inf"), "textured": float("inf")}
        cpu = dict(best)
        layers = {}
        for _ in range(args.repeat):
            for name, path in (("plain", plain), ("textured", textured)):
                scene = importers.scene_for(path)
                t0, c0 = time.perf_counter(), time.process_time()
                [layers[name]] = importers.open(path, scene, {})
                best[name] = min(best[name], time.perf_counter() - t0)
                cpu[name] = min(cpu[name], time.process_time() - c0)
        sizes = {k: p.stat().st_size / 1e6 for k, p in (("plain", plain), ("textured", textured))}
    layer = layers["textured"]
    cells = textures.textured_cells(layer.mesh)
    atlas = textures.atlas_of(layer.mesh)
    surfaces = 5 * args.n
    extra = cpu["textured"] - cpu["plain"]
    rows = [
        ("buildings / surfaces", f"{args.n:,} / {surfaces:,}"),
        ("file MB plain / with appearances", f"{sizes['plain']:.1f} / {sizes['textured']:.1f}"),
        (
            f"import plain, wall / CPU (best of {args.repeat})",
            f"{best['plain']:.2f} s / {cpu['plain']:.2f} s",
        ),
        (
            "import with appearances, wall / CPU",
            f"{best['textured']:.2f} s / {cpu['textured']:.2f} s",
        ),
        ("appearance cost per surface (CPU)", f"{extra / surfaces * 1e6:.0f} µs"),
        ("textured triangles", f"{int(cells.sum()) if cells is not None else 0:,}"),
        ("atlas", "none" if atlas is None else f"{atlas.shape[1]}x{atlas.shape[0]}"),
        ("layer info", f"{layer.info.get('textures')}; {layer.info.get('materials')}"),
    ]
    table = "| measure | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    print(table)
    if args.append:
        from bench.machine import cpu_model

        section = (
            f"\n## CityGML appearances: import cost ({time.strftime('%Y-%m-%d')})\n\n"
            f"`python bench/bench_citygml_appearance.py --n {args.n} --repeat {args.repeat} "
            f"--append` — {cpu_model()}, the same file with and without its appearances, "
            f"imported alternately\n\n{table}\n"
        )
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write(section)


if __name__ == "__main__":
    main()
