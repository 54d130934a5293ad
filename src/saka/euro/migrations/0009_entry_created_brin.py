"""BRIN index on the entries' ``created_at`` (PostgreSQL only; the staff dashboard's daily
series). Index-only: another branch's euro migration may come first (the merger sets the
dependency)."""

from django.contrib.postgres.indexes import BrinIndex
from django.db import migrations

from saka.core.db import PostgresAddIndex


class Migration(migrations.Migration):
    dependencies = [('euro', '0008_statement')]

    operations = [
        PostgresAddIndex(
            model_name="euroentry",
            index=BrinIndex(fields=["created_at"], name="euro_entry_created_brin"),
        ),
    ]
