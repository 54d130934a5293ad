"""The frozen sets' arrays stored uncompressed (PostgreSQL ``STORAGE EXTERNAL``).

Each freeze chunk writes arrays of a few thousand sorted ids (18 kB per 2,250 ids); with the
default storage PostgreSQL compresses each with pglz before writing it, which took about a
quarter of the freeze statement, and measured over whole runs at 1M wallets the
redistribution went from 2.56 s to 2.36 s (docs/benchmarks.md, 2026-12-06). The price is the
space: 3.6 MB instead of 1.5 MB per month at 1M wallets (8 bytes per counted wallet), beside
the run's postings' tens of megabytes. Rows already written keep their compressed values;
only new ones are stored as they are. Nothing to do on SQLite."""

from django.db import migrations


def _storage(mode):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                f"ALTER TABLE grains_run_frozen ALTER COLUMN ids SET STORAGE {mode}"
            )

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("grains", "0013_run_frozen"),
    ]

    operations = [
        migrations.RunPython(_storage("EXTERNAL"), _storage("EXTENDED"), elidable=False),
    ]
