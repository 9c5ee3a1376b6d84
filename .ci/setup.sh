#!/usr/bin/env bash
# One-time (and idempotent) set-up of CityTwin on Debian 12: the system libraries
# that headless VTK and Qt need (Mesa EGL/OSMesa, the xcb libraries, Xvfb), then a
# virtual environment in .venv with CityTwin installed in editable mode.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(
  xvfb xauth
  libegl1 libgl1 libglx-mesa0 libegl-mesa0 libosmesa6 libgl1-mesa-dri
  libxrender1 libxkbcommon0 libxkbcommon-x11-0 libdbus-1-3 libfontconfig1 fonts-dejavu-core
  libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
  libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxcb-cursor0
  mosquitto mosquitto-clients
  poppler-utils
  postgresql-15 postgresql-15-postgis-3
  chromium
)
# node + npm for the 3D Tiles viewer build and its tests (.cache/web); keep a node
# that is already there (e.g. NodeSource's, which conflicts with Debian's npm)
command -v npm >/dev/null || packages+=(nodejs npm)
python=${PYTHON:-python3}
if ! "$python" -c 'import sys, venv, ensurepip; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  packages+=(python3 python3-venv)
  python=/usr/bin/python3
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing system packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

stamp=.venv/.citytwin-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating .venv and installing CityTwin (first run takes a few minutes)"
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  export PIP_DISABLE_PIP_VERSION_CHECK=1
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
  echo "$want" > "$stamp"
fi

# CesiumJS (served offline by `citytwin serve`), and 3d-tiles-tools and playwright-core
# for tests/test_3dtiles.py: npm packages in .cache/web (git-ignored, never committed)
web=.cache/web
web_pkgs="cesium@1.145.0 3d-tiles-tools@0.5.4 playwright-core@1.65.1"
if [ "$(cat "$web/.citytwin-installed" 2>/dev/null)" != "$web_pkgs" ]; then
  echo "setup: installing $web_pkgs into $web (npm, a few minutes the first time)"
  mkdir -p "$web"
  # shellcheck disable=SC2086  # the list is meant to split into package names
  npm install --prefix "$web" --no-audit --no-fund --loglevel=error --save-exact $web_pkgs
  echo "$web_pkgs" > "$web/.citytwin-installed"
fi
