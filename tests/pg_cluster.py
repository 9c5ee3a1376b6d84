"""A private PostgreSQL + PostGIS cluster for one test session, on a Unix socket.

Tests of the PostGIS layer source need a real server (the point is to meet the
real errors: a refused connection, a wrong password, a missing table), but must
not touch a server the machine runs for anyone else. :class:`PgCluster` runs
``initdb`` and ``pg_ctl`` from ``/usr/lib/postgresql/15/bin`` in a new temp
folder, listens on no TCP address, and removes everything on :meth:`stop`.

``initdb`` and ``postgres`` refuse to run as root, so as root they run as the
``postgres`` user (``runuser``) with a data folder that user owns; as anyone
else they run directly. Authentication: ``trust`` for every role except
:data:`PASSWORD_ROLE`, which must give a SCRAM password, so wrong-password
handling is tested against the server's real check.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path(os.environ.get("CITYTWIN_PG_BIN", "/usr/lib/postgresql/15/bin"))
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")
#: the role whose login needs a password (scram-sha-256), and that password
PASSWORD_ROLE, PASSWORD = "planner", "đúng-mật-khẩu"
DATABASE = "citytwin"


def missing() -> str | None:
    """Why a cluster cannot start here (shown as the skip reason), or None."""
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (PG_BIN / tool).exists():
            return f"PostgreSQL 15 missing ({PG_BIN / tool}; .ci/setup.sh installs it)"
    if not POSTGIS_CONTROL.exists():
        return "PostGIS not installed (postgresql-15-postgis-3; .ci/setup.sh installs it)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: cannot start postgres as another user"
    return None


class PgCluster:
    """initdb + pg_ctl start in a temp folder; :meth:`stop` stops and deletes it."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="ctpg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.port = random.randint(20000, 60000)  # names the socket file only
        self.as_root = os.geteuid() == 0
        self.log = self.socket_dir / "server.log"

    # -- running the server's tools ------------------------------------------------
    def _run(self, *argv: str, timeout: float = 120) -> None:
        cmd = [str(PG_BIN / argv[0]), *argv[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> PgCluster:
        self.socket_dir.mkdir()
        self.data.mkdir(mode=0o700)
        if self.as_root:
            os.chmod(self.root, 0o755)
            for path in (self.data, self.socket_dir):
                shutil.chown(path, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        (self.data / "pg_hba.conf").write_text(
            f"local all {PASSWORD_ROLE} scram-sha-256\nlocal all all trust\n", encoding="utf-8"
        )
        options = f"-k {self.socket_dir} -p {self.port} -c listen_addresses='' -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start")
        self._setup()
        return self

    def _setup(self) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(PASSWORD_ROLE), sql.Literal(PASSWORD)
                )
            )
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
            conn.execute(f"GRANT ALL ON SCHEMA public TO {PASSWORD_ROLE}")
            conn.execute(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
                f"GRANT SELECT ON TABLES TO {PASSWORD_ROLE}"
            )

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", timeout=60)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    # -- addresses -----------------------------------------------------------------
    def url(self, database: str = DATABASE, user: str = "postgres") -> str:
        """A libpq URL for the socket; no password (those come from PGPASSWORD,
        ~/.pgpass or the keyring)."""
        return f"postgresql://{user}@/{database}?host={self.socket_dir}&port={self.port}"

    def execute(self, sql: str, database: str = DATABASE) -> list[tuple]:
        """Run SQL as the superuser; the rows of the last statement (if any)."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else []


def city_cluster(gpkg: Path, table: str = "city"):
    """A fixture body: a private cluster holding ``gpkg``'s buildings in ``table``,
    loaded by the real ``citytwin db load``; yields the cluster's URL (skips, with
    the reason, where PostgreSQL/PostGIS are missing)."""
    import pytest
    from conftest import run_cli

    reason = missing()
    if reason:
        pytest.skip(reason)
    cluster = PgCluster().start()
    try:
        done = run_cli("db", "load", str(gpkg), "--to", cluster.url(), "--table", table,
                       "--layer", "buildings")
        assert done.returncode == 0, done.stderr
        yield cluster.url()
    finally:
        cluster.stop()
