"""A second, raw PostgreSQL connection to the test database (another "process" in a test:
holding a lock, watching pg_stat_activity, killing a backend)."""

from __future__ import annotations

import psycopg
from django.db import connection


def pg_connect(*, autocommit: bool = False) -> psycopg.Connection:
    s = connection.settings_dict
    return psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"] or None,
        dbname=s["NAME"],
        autocommit=autocommit,
    )
