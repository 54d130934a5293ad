"""Storage tuning and guards.

- fillfactor 50 on the account table (PostgreSQL): run updates stay HOT, the table stops
  growing between runs.
- append-only triggers on entries and postings.
"""

from typing import Any

from django.db import migrations

from saka.ledger.append_only import append_only_operation


def fillfactor(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE grains_account SET (fillfactor = 50)")


class Migration(migrations.Migration):
    dependencies = [("grains", "0001_initial")]

    operations = [
        migrations.RunPython(fillfactor, migrations.RunPython.noop, elidable=False),
        append_only_operation("grains_entry", "grains_posting"),
    ]
