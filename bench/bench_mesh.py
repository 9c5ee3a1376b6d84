"""Mesh importer (importers/mesh/) on ~1M-triangle files.

Three generated files: one 1,002,528-triangle Y-up grid as GLB (a terrain or a
photogrammetry tile), the same grid as OBJ, and a GLB of 1,000 nodes instancing
one 1,000-triangle mesh (trees, lamp posts). Each is imported three times with
an ``at`` placement into a VN-2000 scene; ``extent()`` is timed once.

    .venv/bin/python bench/bench_mesh.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import importers
from twin.scene import Scene


def write_glb(path: Path, positions, indices, nodes, rgba) -> Path:
    """A one-mesh GLB: float32 positions, uint32 indices, a base colour."""
    pos = np.ascontiguousarray(positions, dtype=np.float32)
    idx = np.ascontiguousarray(indices, dtype=np.uint32).ravel()
    blob = pos.tobytes() + idx.tobytes()
    doc = {
        "asset": {"version": "2.0", "generator": "bench_mesh.py"},
        "scene": 0,
        "scenes": [{"nodes": list(range(len(nodes)))}],
        "nodes": nodes,
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1, "material": 0}]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorFactor": rgba}}],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": 5126,
                "count": len(pos),
                "type": "VEC3",
                "min": pos.min(axis=0).tolist(),
                "max": pos.max(axis=0).tolist(),
            },
            {"bufferView": 1, "componentType": 5125, "count": len(idx), "type": "SCALAR"},
        ],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": pos.nbytes},
            {"buffer": 0, "byteOffset": pos.nbytes, "byteLength": idx.nbytes},
        ],
        "buffers": [{"byteLength": len(blob)}],
    }
    js = json.dumps(doc).encode()
    js += b" " * (-len(js) % 4)
    blob += b"\0" * (-len(blob) % 4)
    body = struct.pack("<II", len(js), 0x4E4F534A) + js + struct.pack("<II", len(blob), 0x4E4942)
    path.write_bytes(struct.pack("<4sII", b"glTF", 2, 12 + len(body) + len(blob)) + body + blob)
    return path


def grid(n: int = 708):
    """(n+1)^2 points, 2 n^2 triangles of a wavy Y-up surface (1 m spacing)."""
    x, z = np.meshgrid(np.arange(n + 1.0), np.arange(n + 1.0))
    y = np.sin(x / 30) * np.cos(z / 40) * 10
    pos = np.column_stack([x.ravel(), y.ravel(), z.ravel()])
    i = np.arange(n * n)
    a = (i // n) * (n + 1) + i % n
    b, c = a + 1, a + n + 1
    tris = np.concatenate([np.column_stack([a, c, b]), np.column_stack([b, c, c + 1])])
    return pos, tris


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_mesh_"))
    out.mkdir(parents=True, exist_ok=True)
    pos, tris = grid()
    files = [write_glb(out / "grid_1m.glb", pos, tris, [{"mesh": 0}], [0.5, 0.7, 0.4, 1])]
    rng = np.random.default_rng(0)
    tree = rng.random((1002, 3))
    tree_tris = np.column_stack([np.arange(1000), np.arange(1000) + 1, np.arange(1000) + 2])
    nodes = [
        {
            "name": f"tree{k}",
            "mesh": 0,
            "translation": [k % 40 * 10.0, 0.0, k // 40 * 10.0],
            "rotation": [0.0, float(np.sin(k / 2)), 0.0, float(np.cos(k / 2))],
        }
        for k in range(1000)
    ]
    files.append(write_glb(out / "trees_1m.glb", tree, tree_tris, nodes, [0.2, 0.6, 0.2, 1]))
    obj = out / "grid_1m.obj"
    with obj.open("w") as f:
        f.write("o ground\n")
        np.savetxt(f, pos, fmt="v %.3f %.3f %.3f")
        np.savetxt(f, tris + 1, fmt="f %d %d %d")
    files.append(obj)
    scene = Scene(crs="EPSG:9208", origin=[568300.0, 2357700.0, 0.0])
    mesh = importers.REGISTRY["mesh"].load()
    for path in files:
        times = []
        for _ in range(3):
            t = time.perf_counter()
            [layer] = importers.open(path, scene, {"at": [568400.0, 2357800.0, 10.0, 30.0]})
            times.append(time.perf_counter() - t)
        t = time.perf_counter()
        mesh.extent(path)
        t_ext = time.perf_counter() - t
        print(
            f"{path.name}: {path.stat().st_size / 2**20:.1f} MiB, {layer.n_triangles:,} "
            f"triangles, {len(layer.features):,} features; import min {min(times):.2f} s "
            f"(runs {', '.join(f'{v:.2f}' for v in times)}); extent {t_ext:.2f} s"
        )


if __name__ == "__main__":
    main()
