// CityTwin 3D Tiles viewer. Query parameters:
//   tileset=URL   the tileset to show (default tiles/tileset.json, as `citytwin serve` serves it)
//   view=none     do not fly to the tileset when it has loaded
// window.citytwin exposes the viewer, its state ("loading", "loaded", "error") and small
// helpers (pick, screenOf, lookAt) for an embedding portal and for the tests.
"use strict";

(function () {
  const params = new URLSearchParams(window.location.search);
  const statusEl = document.getElementById("status");
  const featureEl = document.getElementById("feature");
  const api = (window.citytwin = { state: "loading", error: null, viewer: null, tileset: null });

  function setState(state, text) {
    api.state = state;
    statusEl.textContent = text;
    document.title = "CityTwin 3D Tiles: " + state;
  }

  if (typeof Cesium === "undefined") {
    api.error = "Cesium build not found at /cesium/ (run .ci/setup.sh)";
    setState("error", api.error);
    return;
  }

  const viewer = new Cesium.Viewer("viewer", {
    baseLayer: false, // no imagery at all: nothing is fetched from the internet
    baseLayerPicker: false, geocoder: false, timeline: false, animation: false,
    sceneModePicker: false, navigationHelpButton: false, fullscreenButton: false,
    infoBox: false, selectionIndicator: false, homeButton: false,
    contextOptions: { webgl: { preserveDrawingBuffer: true } },
  });
  viewer.scene.globe.baseColor = Cesium.Color.fromCssColorString("#5d6b58");
  viewer.scene.globe.depthTestAgainstTerrain = false;
  api.viewer = viewer;

  const highlight = { feature: null, color: new Cesium.Color() };

  function properties(feature) {
    const out = {};
    for (const name of feature.getPropertyIds()) out[name] = feature.getProperty(name);
    return out;
  }

  // The feature drawn at window pixel (x, y): {id, properties} or null.
  api.pick = function (x, y) {
    const picked = viewer.scene.pick(new Cesium.Cartesian2(x, y));
    if (!(picked instanceof Cesium.Cesium3DTileFeature)) return null;
    const props = properties(picked);
    return { id: props.id, properties: props, feature: picked };
  };

  // Window pixel of a WGS 84 position (degrees, metres above the ellipsoid), or null.
  api.screenOf = function (lon, lat, height) {
    const p = Cesium.SceneTransforms.worldToWindowCoordinates(
      viewer.scene, Cesium.Cartesian3.fromDegrees(lon, lat, height));
    return p ? [p.x, p.y] : null;
  };

  // Resolves once every tile the current view needs has loaded and been drawn.
  api.settled = function () {
    return new Promise((resolve) => {
      let calm = 0;
      const remove = viewer.scene.postRender.addEventListener(() => {
        calm = api.tileset && !api.tileset.tilesLoaded ? 0 : calm + 1;
        if (calm >= 5) { remove(); resolve(true); }
      });
    });
  };

  // Look at a WGS 84 point from `range` metres (heading/pitch in degrees), then settle.
  api.lookAt = function (lon, lat, height, heading, pitch, range) {
    viewer.camera.lookAt(Cesium.Cartesian3.fromDegrees(lon, lat, height),
      new Cesium.HeadingPitchRange(Cesium.Math.toRadians(heading),
        Cesium.Math.toRadians(pitch), range));
    viewer.camera.lookAtTransform(Cesium.Matrix4.IDENTITY);
    return api.settled();
  };

  function show(feature) {
    if (highlight.feature) highlight.feature.color = highlight.color;
    highlight.feature = feature;
    featureEl.textContent = "";
    if (!feature) return;
    Cesium.Color.clone(feature.color, highlight.color);
    feature.color = Cesium.Color.YELLOW;
    const table = document.createElement("table");
    for (const [key, value] of Object.entries(properties(feature))) {
      const row = table.insertRow();
      row.insertCell().textContent = key;
      row.insertCell().textContent = value === null || value === undefined ? "—" : String(value);
    }
    featureEl.appendChild(table);
  }

  new Cesium.ScreenSpaceEventHandler(viewer.scene.canvas).setInputAction((click) => {
    const hit = api.pick(click.position.x, click.position.y);
    show(hit ? hit.feature : null);
  }, Cesium.ScreenSpaceEventType.LEFT_CLICK);

  const url = params.get("tileset") || "tiles/tileset.json";
  Cesium.Cesium3DTileset.fromUrl(url)
    .then(async (tileset) => {
      api.tileset = tileset;
      viewer.scene.primitives.add(tileset);
      const meta = (tileset.extras && tileset.extras.citytwin) || {};
      if (params.get("view") !== "none") await viewer.zoomTo(tileset);
      await api.settled();
      setState("loaded", (meta.scene || "CityTwin") + (meta.crs_label ? " · " + meta.crs_label : ""));
    })
    .catch((err) => {
      api.error = String(err && err.message ? err.message : err);
      setState("error", "Không tải được tileset / cannot load tileset: " + api.error);
    });
})();
