"""The database settings of a pooled URL (``SAKA_DB_POOLER=pgbouncer``): nothing that needs a
session to outlive a transaction, and the lock timeout left to the server side."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings.base import LOCK_TIMEOUT_MS, database

URL = "postgres://saka@127.0.0.1:6432/saka"


def test_a_direct_connection_sends_the_lock_timeout_and_jit_off() -> None:
    # when the URL names PostgreSQL itself
    db = database(URL, pooler="")
    # then each connection sets them for its session, and server-side cursors stay allowed
    assert db["OPTIONS"]["options"] == f"-c lock_timeout={LOCK_TIMEOUT_MS} -c jit=off"
    assert not db.get("DISABLE_SERVER_SIDE_CURSORS", False)


def test_a_pgbouncer_url_keeps_every_setting_inside_a_transaction() -> None:
    # when the URL names a PgBouncer in transaction pooling mode
    db = database(URL, pooler="pgbouncer")
    # then no startup options (set on the server instead), no WITH HOLD cursors behind
    # .iterator(), no server-side binding nor prepared statements
    assert "options" not in db["OPTIONS"]
    assert db["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert "server_side_binding" not in db["OPTIONS"]
    assert "prepare_threshold" not in db["OPTIONS"]  # Django's default: None, never prepare
    assert (db["HOST"], db["PORT"], db["NAME"]) == ("127.0.0.1", 6432, "saka")


def test_a_sqlite_url_ignores_the_pooler() -> None:
    db = database("sqlite:///tmp/x.sqlite3", pooler="pgbouncer")
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert not db.get("DISABLE_SERVER_SIDE_CURSORS", False)


def test_an_unknown_pooler_is_refused_at_start_up() -> None:
    with pytest.raises(ImproperlyConfigured, match="SAKA_DB_POOLER"):
        database(URL, pooler="pgpool")
