"""Credentials (MQTT passwords, SensorThings auth headers, PostgreSQL
passwords), never in a file the user shares.

Scene and project files name *where* a feed is (host, port, user, URL); the
secret is looked up by a key built from that address (:func:`secret_key`), in
this order:

1. an environment variable, for services and CI: ``CITYTWIN_MQTT_PASSWORD``
   (MQTT) or ``CITYTWIN_SENSORTHINGS_AUTH`` (the SensorThings auth header's
   value), or the variable a feed names with ``password_env`` / ``auth_env``;
2. the OS keyring (``keyring``: Secret Service, macOS Keychain, Windows
   Credential Locker), service name ``citytwin``;
3. the fallback file ``$XDG_CONFIG_HOME/citytwin/secrets`` (default
   ``~/.config/citytwin/secrets``): JSON ``{key: secret}``, mode 0600 in a 0700
   folder. A headless Debian server has no Secret Service: ``keyring`` then
   selects its *fail* backend (or one that raises when used), and secrets are
   saved here instead. A file others can read is refused, as ssh does with keys.

``CITYTWIN_SECRETS=file`` skips the keyring (a desktop whose keyring prompts
for a password on every start of a headless ingest service).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path

SERVICE = "citytwin"
#: default environment variables per feed kind
ENV_VARS = {"mqtt": "CITYTWIN_MQTT_PASSWORD", "sensorthings": "CITYTWIN_SENSORTHINGS_AUTH"}
#: the MQTT user name when a scene does not give one (kept from the first version)
MQTT_USER_ENV = "CITYTWIN_MQTT_USER"


class SecretError(ValueError):
    """A secrets file that cannot be used (others can read it, not JSON): one line."""


def secret_key(kind: str, address: str, user: str | None = None) -> str:
    """The lookup key of one feed's secret, e.g. ``mqtt://ops@broker.vt:8883`` or
    ``sensorthings:https://sta.phutho.gov.vn/v1.1``: the same address gives the
    same key in the dialog, the scene, the project and ``citytwin ingest``."""
    if kind == "mqtt":
        return f"mqtt://{user + '@' if user else ''}{address}"
    if kind == "postgresql":
        return f"postgresql://{user + '@' if user else ''}{address}"
    return f"{kind}:{address}"


def database_secret_key(url: str, user: str) -> str:
    """The key of a PostgreSQL login, ``postgresql://USER@HOST:PORT/DB``: what
    ``citytwin secrets set --postgres URL`` stores and a PostGIS layer looks up.
    A Unix-socket URL (``?host=/run/postgresql``) keys on that folder."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    host = parts.hostname or (parse_qs(parts.query).get("host") or ["localhost"])[0]
    port = parts.port or int((parse_qs(parts.query).get("port") or ["5432"])[0])
    return secret_key("postgresql", f"{host}:{port}{parts.path or '/'}", user)


def secrets_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "citytwin" / "secrets"


def _keyring():
    """The keyring backend to use, or None where there is none that works (the
    fail backend of a headless Debian, keyring not installed, or turned off)."""
    if os.environ.get("CITYTWIN_SECRETS", "").lower() == "file":
        return None
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken backend configuration: use the file
        return None
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
        return None
    return backend


def backend_name() -> str:
    """Where :func:`store` puts a secret now: ``"keyring"`` or ``"file"``."""
    return "keyring" if _keyring() is not None else "file"


# -- the fallback file -----------------------------------------------------------------
def _read_file(path: Path) -> dict[str, str]:
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretError(f"{path}: readable by others (mode {stat.S_IMODE(st.st_mode):o}); "
                          f"run: chmod 600 {path}")
    try:
        doc = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError) as exc:
        raise SecretError(f"{path}: not a JSON object of secrets ({exc})") from None
    if not isinstance(doc, dict):
        raise SecretError(f"{path}: not a JSON object of secrets")
    return {str(k): str(v) for k, v in doc.items()}


def _write_file(path: Path, doc: dict[str, str]) -> None:
    """Atomic and private from the first byte: the temp file is created 0600 in
    a 0700 folder, so no other user ever sees a secret, not even mid-write."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".secrets.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# -- the interface -----------------------------------------------------------------------
def lookup(key: str, env: str | None = None) -> str | None:
    """The secret for ``key``: the environment variable ``env`` if set, else the
    keyring, else the fallback file; None when none has it."""
    if env and os.environ.get(env):
        return os.environ[env]
    backend = _keyring()
    if backend is not None:
        try:
            value = backend.get_password(SERVICE, key)
        except Exception:  # locked or vanished keyring: try the file
            value = None
        if value is not None:
            return value
    return _read_file(secrets_path()).get(key)


def store(key: str, secret: str) -> str:
    """Remember ``secret`` for ``key``; returns where: ``"keyring"`` or the file's path."""
    backend = _keyring()
    if backend is not None:
        try:
            backend.set_password(SERVICE, key, secret)
            return "keyring"
        except Exception:  # e.g. a Secret Service that refuses: fall back to the file
            pass
    path = secrets_path()
    doc = _read_file(path)
    doc[key] = secret
    _write_file(path, doc)
    return str(path)


def forget(key: str) -> None:
    """Remove ``key`` from the keyring and the file (no error if absent)."""
    backend = _keyring()
    if backend is not None:
        with contextlib.suppress(Exception):
            backend.delete_password(SERVICE, key)
    path = secrets_path()
    doc = _read_file(path)
    if doc.pop(key, None) is not None:
        _write_file(path, doc)
