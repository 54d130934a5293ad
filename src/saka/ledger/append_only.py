"""Append-only guards on ledger tables, installed by the migrations.

PostgreSQL refuses UPDATE and DELETE of ledger rows with a trigger (TRUNCATE, used only by
test teardown and operators, stays possible). SQLite refuses UPDATE.
"""

from __future__ import annotations

from typing import Any


def _pg(table: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION saka_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger rows of % are append-only', TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END $$;
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
  FOR EACH ROW EXECUTE FUNCTION saka_append_only();
"""


def _sqlite(table: str) -> str:
    return f"""
CREATE TRIGGER IF NOT EXISTS {table}_append_only BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only'); END;
"""


def append_only_operation(*tables: str) -> Any:
    """A migration operation installing the append-only guard on ``tables``."""
    from django.db import migrations

    def forwards(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        for name in tables:
            if vendor == "postgresql":
                schema_editor.execute(_pg(name), None)
            elif vendor == "sqlite":
                schema_editor.execute(_sqlite(name), None)

    return migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)
