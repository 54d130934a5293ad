"""The benchmark's databases: one server (that of ``DATABASE_URL``), names ``saka_bench_*`` only.

The harness never uses the database named in ``DATABASE_URL``: it takes the server's
coordinates from it, talks to the admin database ``postgres`` for CREATE/DROP DATABASE, and
works in databases whose names start with :data:`PREFIX`. Anything else is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

PREFIX = "saka_bench"
_NAME_RE = re.compile(r"^saka_bench(_[a-z0-9_]{1,50})?$")


class BenchError(RuntimeError):
    """A clear reason why the benchmark cannot run or a contender failed."""


def check_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise BenchError(f"refusing to touch database {name!r}: bench databases are saka_bench_*")
    return name


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: str

    @classmethod
    def from_django(cls) -> Server:
        """The server of Django's default database; refuses anything but PostgreSQL."""
        from django.conf import settings

        db = settings.DATABASES["default"]
        if db["ENGINE"] != "django.db.backends.postgresql":
            raise BenchError(
                "saka_bench measures PostgreSQL only (it creates and copies databases). Set "
                "DATABASE_URL=postgres://postgres@127.0.0.1:5432/saka_bench (make bench does)."
            )
        return cls(
            host=str(db.get("HOST") or "127.0.0.1"),
            port=int(db.get("PORT") or 5432),
            user=str(db.get("USER") or "postgres"),
            password=str(db.get("PASSWORD") or ""),
        )

    def url(self, dbname: str) -> str:
        """A ``DATABASE_URL`` for a bench database (given to the contender processes)."""
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        return f"postgres://{auth}@{self.host}:{self.port}/{check_name(dbname)}"

    def connect(self, dbname: str, *, autocommit: bool = True) -> psycopg.Connection[Any]:
        if dbname != "postgres":
            check_name(dbname)
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=dbname,
            autocommit=autocommit,
            options="-c jit=off",
        )

    @contextmanager
    def admin(self) -> Iterator[psycopg.Connection[Any]]:
        with self.connect("postgres") as conn:
            yield conn

    # --- databases ---------------------------------------------------------------------------

    def exists(self, name: str) -> bool:
        with self.admin() as conn:
            row = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [check_name(name)]
            ).fetchone()
        return row is not None

    def comment(self, name: str) -> str | None:
        with self.admin() as conn:
            row = conn.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                [check_name(name)],
            ).fetchone()
        return None if row is None else row[0]

    def set_comment(self, name: str, text: str) -> None:
        with self.admin() as conn:
            conn.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    sql.Identifier(check_name(name)), sql.Literal(text)
                )
            )

    def create(self, name: str, *, template: str | None = None, file_copy: bool = False) -> None:
        """``CREATE DATABASE name [TEMPLATE t]`` (dropping ``name`` first if it exists).

        ``file_copy``: copy the files (two checkpoints) instead of WAL-logging every page; much
        faster for a template of hundreds of MB."""
        self.drop(name)
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(check_name(name)))
        if template is not None:
            query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(check_name(template)))
            if file_copy:
                query += sql.SQL(" STRATEGY FILE_COPY")
        else:
            query += sql.SQL(" TEMPLATE template0")
        with self.admin() as conn:
            conn.execute(query)

    def drop(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(check_name(name))
                )
            )

    def names_with_prefix(self, prefix: str) -> list[str]:
        check_name(prefix)
        with self.admin() as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY 1",
                [prefix],
            ).fetchall()
        return [r[0] for r in rows]

    def maintain(self, name: str, tables: Sequence[str] = ()) -> None:
        """VACUUM (ANALYZE) a database (autovacuum may be off) and CHECKPOINT, so every copy
        starts clean: hint bits set, visibility map built, statistics present."""
        with self.connect(name) as conn:
            if tables:
                for table in tables:
                    conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
            else:
                conn.execute("VACUUM (ANALYZE)")
            conn.execute("CHECKPOINT")

    def size_bytes(self, name: str) -> int:
        """The database's size on disk (``pg_database_size``: tables, indexes, TOAST)."""
        with self.admin() as conn:
            row = conn.execute("SELECT pg_database_size(%s)", (name,)).fetchone()
        return int(row[0]) if row else 0

    def version(self) -> str:
        with self.admin() as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"

    def settings(self, names: Sequence[str]) -> dict[str, str]:
        with self.admin() as conn:
            rows = conn.execute(
                "SELECT name, setting || COALESCE(unit, '') FROM pg_settings "
                "WHERE name = ANY(%s) ORDER BY name",
                [list(names)],
            ).fetchall()
        return {r[0]: r[1] for r in rows}
