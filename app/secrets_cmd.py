"""``citytwin secrets``: put a feed's password where the feeds look for it, on a
server without a window (``citytwin ingest``) — OS keyring, else the private
fallback file (:mod:`twin.sim.secrets`).

- ``set KEY``: the secret is read from standard input (first line) or asked for
  without echo on a terminal, never taken from the command line (which ``ps``
  and the shell history show);
- ``forget KEY``; ``where``: the keyring or the file in use.

KEY is ``mqtt://USER@HOST:PORT``, ``sensorthings:URL`` or
``postgresql://USER@HOST:PORT/DB`` (``--mqtt HOST:PORT --user USER``,
``--sensorthings URL`` or ``--postgres URL`` build it).
"""

from __future__ import annotations

import argparse
import sys

from app.loading import UserError


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "secrets", help="store or forget a feed or database password (keyring or private file)",
        description="Store the password of an MQTT broker or a PostgreSQL user, or the auth "
        "header value of a SensorThings service, where CityTwin looks for it: the OS keyring, else "
        "$XDG_CONFIG_HOME/citytwin/secrets (mode 0600). The secret is read from stdin.")
    p.add_argument("action", choices=("set", "forget", "where"))
    p.add_argument("key", nargs="?",
                   help="mqtt://USER@HOST:PORT, sensorthings:URL or postgresql://USER@HOST:PORT/DB")
    p.add_argument("--mqtt", metavar="HOST:PORT", help="build the key of an MQTT broker")
    p.add_argument("--user", help="MQTT user name (with --mqtt)")
    p.add_argument("--sensorthings", metavar="URL", help="build the key of a SensorThings URL")
    p.add_argument("--postgres", metavar="URL",
                   help="build the key of a PostgreSQL login (postgresql://USER@HOST:PORT/DB)")
    return p


def _key(args) -> str:
    from twin.sim import secrets

    if args.mqtt:
        if not args.user:
            raise UserError("--mqtt needs --user (the password belongs to a user name)")
        return secrets.secret_key("mqtt", args.mqtt, args.user)
    if args.postgres:
        return _postgres_key(args.postgres)
    if args.sensorthings:
        return secrets.secret_key("sensorthings", args.sensorthings.rstrip("/"))
    if not args.key:
        raise UserError(f"secrets {args.action}: give KEY, --mqtt HOST:PORT --user U "
                        "--sensorthings URL or --postgres URL")
    return args.key


def _postgres_key(url: str) -> str:
    from urllib.parse import urlsplit

    from twin.sim import secrets

    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise UserError(f"--postgres {url}: expected postgresql://USER@HOST:PORT/DB")
    if parts.password:
        raise UserError("--postgres: give the URL without its password (it is read from stdin)")
    if not parts.username:
        raise UserError(f"--postgres {url}: name the user (postgresql://USER@HOST/DB)")
    try:
        return secrets.database_secret_key(url, parts.username)
    except ValueError as exc:
        raise UserError(f"--postgres {url}: {exc}") from None


def run(args) -> int:
    from twin.sim import secrets

    try:
        if args.action == "where":
            print("keyring" if secrets.backend_name() == "keyring" else secrets.secrets_path())
            return 0
        key = _key(args)
        if args.action == "forget":
            secrets.forget(key)
            return 0
        if sys.stdin.isatty():
            import getpass

            value = getpass.getpass(f"secret for {key}: ")
        else:
            value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise UserError(f"secrets set {key}: empty secret on standard input")
        where = secrets.store(key, value)
    except secrets.SecretError as exc:
        raise UserError(str(exc)) from None
    print(f"{key}: stored in {where}")
    return 0
