"""``citytwin serve DIR [--port N]``: a 3D Tiles export and an offline CesiumJS page.

Serves, on 127.0.0.1 only:

- ``/``            the viewer page (app/web/), which loads ``tiles/tileset.json``;
- ``/tiles/...``   the export folder DIR (CORS open, so a portal page on another
                   origin can load ``tileset.json`` into its own Cesium viewer);
- ``/cesium/...``  the Cesium build from the npm package the set-up installs
                   (``.cache/web``, or ``$CITYTWIN_CESIUM_DIR``): nothing is
                   fetched from the internet, no Ion token, no online imagery.

Loopback only: an IOC publishes it through its own reverse proxy if it wants.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app.loading import UserError
from app.paths import ROOT

EXIT_OK = 0
WEB = Path(__file__).resolve().parent / "web"
CESIUM_ENV = "CITYTWIN_CESIUM_DIR"
TYPES = {
    ".b3dm": "application/octet-stream", ".glb": "model/gltf-binary",
    ".json": "application/json", ".js": "text/javascript", ".mjs": "text/javascript",
    ".wasm": "application/wasm", ".css": "text/css", ".html": "text/html; charset=utf-8",
    ".png": "image/png", ".jpg": "image/jpeg", ".svg": "image/svg+xml", ".xml": "text/xml",
    ".ktx2": "image/ktx2",
}


def cesium_dir() -> Path:
    """The Cesium build folder (holds Cesium.js, Widgets/, Workers/, Assets/)."""
    env = os.environ.get(CESIUM_ENV)
    if env:
        return Path(env)
    return ROOT / ".cache" / "web" / "node_modules" / "cesium" / "Build" / "Cesium"


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} out of range 0..65535")
    return value


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``serve`` on the ``citytwin`` sub-command parsers."""
    p = subparsers.add_parser(
        "serve",
        help="serve a 3D Tiles export and an offline CesiumJS viewer on 127.0.0.1",
        description="Serve DIR (from `citytwin export SCENE --3dtiles DIR`) at /tiles/ and "
        "a CesiumJS viewer page at /, on the loopback address only. Works offline: the "
        "Cesium build comes from the local npm install made by .ci/setup.sh.",
    )
    p.add_argument("dir", type=Path, help="folder holding tileset.json")
    p.add_argument("--port", type=_port, default=8765, help="TCP port (8765; 0 picks a free one)")
    return p


def _resolve(base: Path, rel: str) -> Path | None:
    """``base/rel`` if it stays inside ``base`` and is a file; None otherwise."""
    try:
        path = (base / rel).resolve()
        path.relative_to(base.resolve())
    except (ValueError, OSError):
        return None
    return path if path.is_file() else None


def make_handler(tiles: Path, cesium: Path):
    from http.server import SimpleHTTPRequestHandler
    from urllib.parse import unquote, urlsplit

    class Handler(SimpleHTTPRequestHandler):
        """Maps the three URL roots to their folders; nothing else is reachable."""

        def _route(self) -> Path | None:
            path = unquote(urlsplit(self.path).path)
            if path in ("/", "/index.html"):
                return _resolve(WEB, "index.html")
            for prefix, base in (("/tiles/", tiles), ("/cesium/", cesium), ("/web/", WEB)):
                if path.startswith(prefix):
                    return _resolve(base, path[len(prefix):])
            return None

        def send_head(self):
            target = self._route()
            if target is None:
                self.send_error(404, "not found")
                return None
            try:
                f = open(target, "rb")  # noqa: SIM115 - the base class closes it
            except OSError:
                self.send_error(404, "not found")
                return None
            self.send_response(200)
            self.send_header("Content-Type", TYPES.get(target.suffix.lower(),
                                                       "application/octet-stream"))
            self.send_header("Content-Length", str(os.fstat(f.fileno()).st_size))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            return f

        def log_request(self, code="-", size="-") -> None:  # quiet: failed requests only
            if str(code)[:1] in ("4", "5"):
                sys.stderr.write(f"citytwin serve: {code} {self.requestline}\n")

        def log_message(self, fmt: str, *args) -> None:
            pass

    return Handler


def run(args: argparse.Namespace) -> int:
    from http.server import ThreadingHTTPServer

    tiles = args.dir
    if not (tiles / "tileset.json").is_file():
        raise UserError(f"{tiles}: no tileset.json (write one with citytwin export SCENE "
                        f"--3dtiles {tiles})")
    cesium = cesium_dir()
    if not (cesium / "Cesium.js").is_file():
        print(f"citytwin: warning: {cesium}: no Cesium build; the viewer page cannot start "
              f"(run .ci/setup.sh, or set {CESIUM_ENV}); the tiles are served",
              file=sys.stderr)
    try:
        server = ThreadingHTTPServer(("127.0.0.1", args.port),
                                     make_handler(tiles, cesium))
    except OSError as exc:
        raise UserError(f"port {args.port}: {exc.strerror or exc}") from None
    server.daemon_threads = True
    port = server.server_address[1]
    print(f"serving {tiles} at http://127.0.0.1:{port}/ (tileset: "
          f"http://127.0.0.1:{port}/tiles/tileset.json); Ctrl-C stops", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return EXIT_OK
