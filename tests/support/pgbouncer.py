"""A PgBouncer in transaction pooling mode in front of the pytest database (Debian's
``pgbouncer``, installed by ``.ci/run``).

``PgBouncer(pool_size=2).start()`` writes its ini and auth file in a fresh directory, starts it
on a free 127.0.0.1 port in the foreground of a child process (its own process group, killed
with the test process), waits until a query passes through it, and ``stop()`` ends it. As root
it runs as ``postgres`` (PgBouncer refuses root), so its files are readable by that user.

What the settings cannot send through it is set here on the server side: the ``options``
startup parameter is ignored, so ``lock_timeout`` and ``jit`` come from ``connect_query`` (run
once on each new server connection; in production ``ALTER ROLE ... SET`` does the same, see
docs/operations-workers.md). ``url()`` is what a child process puts in ``DATABASE_URL``, with
``SAKA_DB_POOLER=pgbouncer``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from django.db import connection

from tests.support.celery_workers import START_SECONDS, die_with_parent, stop_processes

LOCK_TIMEOUT_MS = 3000  # what the settings send as ``options`` on a direct connection
ADMIN_DB = "pgbouncer"


def pgbouncer_binary() -> str:
    found = shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise RuntimeError("pgbouncer is not installed (.ci/run installs Debian's package)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgBouncer:
    pool_size: int = 2
    lock_timeout_ms: int = LOCK_TIMEOUT_MS
    port: int = 0
    popen: subprocess.Popen[Any] | None = None
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="saka-pgb-")))

    @property
    def dbname(self) -> str:
        return str(connection.settings_dict["NAME"])

    @property
    def user(self) -> str:
        return str(connection.settings_dict["USER"] or "postgres")

    def url(self) -> str:
        """The pytest database through PgBouncer, for a child's ``DATABASE_URL``."""
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{self.dbname}"

    def _ini(self) -> str:
        s = connection.settings_dict
        connect_query = f"SET lock_timeout = {self.lock_timeout_ms}; SET jit = off"
        server = (
            f"host={s['HOST'] or '127.0.0.1'} port={s['PORT'] or 5432} dbname={self.dbname} "
            f"user={self.user}"
        )
        return "\n".join(
            [
                "[databases]",
                f"{self.dbname} = {server} connect_query='{connect_query}'",
                "",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {self.port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {self.directory / 'userlist.txt'}",
                "pool_mode = transaction",
                f"default_pool_size = {self.pool_size}",
                "min_pool_size = 0",
                "reserve_pool_size = 0",
                "max_client_conn = 200",
                "max_db_connections = 0",
                # psycopg and the direct-connection settings may send these; the server-side
                # values come from connect_query instead
                "ignore_startup_parameters = extra_float_digits, options",
                f"admin_users = {self.user}",
                f"stats_users = {self.user}",
                "log_connections = 0",
                "log_disconnections = 0",
                "",
            ]
        )

    def start(self) -> PgBouncer:
        self.port = self.port or free_port()
        ini = self.directory / "pgbouncer.ini"
        ini.write_text(self._ini())
        (self.directory / "userlist.txt").write_text(f'"{self.user}" ""\n')
        args = [pgbouncer_binary(), str(ini)]
        if os.geteuid() == 0:
            run_as = pwd.getpwnam("postgres")
            for path in (self.directory, ini, self.directory / "userlist.txt"):
                os.chown(path, run_as.pw_uid, run_as.pw_gid)
            self.directory.chmod(0o755)
            args[1:1] = ["-u", "postgres"]
        log = (self.directory / "pgbouncer.log").open("wb")
        try:
            self.popen = subprocess.Popen(  # noqa: S603 - Debian's pgbouncer, our ini
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        finally:
            log.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert self.popen is not None
            if self.popen.poll() is not None:
                raise RuntimeError(f"pgbouncer exited:\n{self.log_text()}")
            try:
                with self.connect() as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"pgbouncer not ready:\n{self.log_text()}") from None
                time.sleep(0.1)

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        """A client connection through PgBouncer (autocommit; no prepared statements)."""
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            dbname=self.dbname,
            autocommit=True,
            prepare_threshold=None,
            **kwargs,
        )

    def show(self, what: str) -> list[dict[str, Any]]:
        """``SHOW <what>`` on the admin console (``POOLS``, ``SERVERS``, ``STATS``...), rows
        as dicts (the console speaks the simple query protocol only: psql does that)."""
        if not what.isalpha():
            raise ValueError(what)
        out = subprocess.run(  # noqa: S603 - psql on our own admin console
            [
                shutil.which("psql") or "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                ADMIN_DB,
                "-X",
                "-A",
                "-F",
                "\t",
                "-P",
                "footer=off",
                "-c",
                f"SHOW {what}",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.splitlines()
        header, rows = out[0].split("\t"), out[1:]
        return [dict(zip(header, row.split("\t"), strict=False)) for row in rows]

    def log_text(self) -> str:
        path = self.directory / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.popen is not None:
            stop_processes([self.popen])
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> PgBouncer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
