// Independent reader of a CityTwin 3D Tiles export, for tests/test_3dtiles.py.
// Uses CesiumGS's 3d-tiles-tools (b3dm parsing) and glTF-Transform (GLB parsing), both
// from the npm install in .cache/web; applies the tile transforms as the 3D Tiles spec
// says (parent * child, then glTF y-up -> z-up) and prints, as JSON, every tile's
// BATCH_LENGTH, its batch table and each feature's ECEF vertex centroid.
// usage: node test_3dtiles_reader.cjs NODE_MODULES_DIR TILESET_JSON
"use strict";
const fs = require("fs");
const path = require("path");
const modules = process.argv[2];
const from = (name) => require(require.resolve(name, { paths: [modules] }));
const { TileFormats } = from("3d-tiles-tools");
const { NodeIO } = from("@gltf-transform/core");

function mul(a, b) { // 4x4 column-major
  const o = new Array(16).fill(0);
  for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++)
    for (let k = 0; k < 4; k++) o[c * 4 + r] += a[k * 4 + r] * b[c * 4 + k];
  return o;
}
const I = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
const Y_UP_TO_Z_UP = [1, 0, 0, 0, 0, 0, 1, 0, 0, -1, 0, 0, 0, 0, 0, 1];

async function main() {
  const file = process.argv[3];
  const base = path.dirname(file);
  const tileset = JSON.parse(fs.readFileSync(file, "utf8"));
  const io = new NodeIO();
  const out = { version: tileset.asset.version, tiles: [], features: {} };
  async function visit(tile, parent) {
    const m = tile.transform ? mul(parent, tile.transform) : parent;
    if (tile.content) {
      const data = TileFormats.readTileData(fs.readFileSync(path.join(base, tile.content.uri)));
      const n = data.featureTable.json.BATCH_LENGTH;
      const bt = data.batchTable.json;
      const doc = await io.readBinary(new Uint8Array(TileFormats.extractGlbPayload(data)));
      const sums = Array.from({ length: n }, () => [0, 0, 0, 0]);
      let maxId = -1;
      for (const node of doc.getRoot().listNodes()) {
        const mesh = node.getMesh();
        if (!mesh) continue;
        const w = mul(mul(m, Y_UP_TO_Z_UP), node.getWorldMatrix());
        for (const prim of mesh.listPrimitives()) {
          const pos = prim.getAttribute("POSITION").getArray();
          const ids = prim.getAttribute("_BATCHID").getArray();
          for (let i = 0; i < ids.length; i++) {
            const x = pos[3 * i], y = pos[3 * i + 1], z = pos[3 * i + 2], b = ids[i];
            maxId = Math.max(maxId, b);
            const s = sums[b];
            s[0] += w[0] * x + w[4] * y + w[8] * z + w[12];
            s[1] += w[1] * x + w[5] * y + w[9] * z + w[13];
            s[2] += w[2] * x + w[6] * y + w[10] * z + w[14];
            s[3] += 1;
          }
        }
      }
      out.tiles.push({ uri: tile.content.uri, batch_length: n, max_batch_id: maxId,
        columns: Object.fromEntries(Object.entries(bt).map(([k, v]) => [k, v.length])) });
      for (let b = 0; b < n; b++) {
        const s = sums[b];
        const props = Object.fromEntries(Object.entries(bt).map(([k, v]) => [k, v[b]]));
        const key = props.layer + "\u0000" + props.id;
        if (out.features[key]) throw new Error("feature in two tiles: " + key);
        out.features[key] = { properties: props, vertices: s[3],
          ecef: [s[0] / s[3], s[1] / s[3], s[2] / s[3]] };
      }
    }
    for (const child of tile.children || []) await visit(child, m);
  }
  await visit(tileset.root, I);
  process.stdout.write(JSON.stringify(out));
}
main().catch((e) => { console.error(String(e && e.stack ? e.stack : e)); process.exit(1); });
