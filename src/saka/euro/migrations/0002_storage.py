"""Append-only guards on the EUR journal (entries and postings)."""

from django.db import migrations

from saka.ledger.append_only import append_only_operation


class Migration(migrations.Migration):
    dependencies = [("euro", "0001_initial")]

    operations = [
        append_only_operation("euro_entry", "euro_posting"),
    ]
