"""BRIN index on the entries' ``created_at`` (PostgreSQL only; the staff dashboard's daily
series). Index-only: another branch's grains migration may come first (the merger sets the
dependency)."""

from django.contrib.postgres.indexes import BrinIndex
from django.db import migrations

from saka.core.db import PostgresAddIndex


class Migration(migrations.Migration):
    dependencies = [('grains', '0006_balance_ceiling')]

    operations = [
        PostgresAddIndex(
            model_name="sakaentry",
            index=BrinIndex(fields=["created_at"], name="grains_entry_created_brin"),
        ),
    ]
