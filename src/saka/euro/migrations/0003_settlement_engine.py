# Settlement on the batch engine (saka.engine): the run gains the engine's lifecycle fields and
# a table of chunks (ranges of pledge ids); a settlement interrupted before this release is
# planned as chunks after its cursor, so the engine resumes it where it stopped.

import django.utils.timezone
from django.db import migrations, models
from django.db.models import F


def upgrade_runs(apps, schema_editor):
    """Every settlement gets an ``as_of``: when it started (its pledges carry the instant of
    their batch; no later instant is known for a run). A settlement interrupted (or killed
    while running) before the engine existed has the held pledges after its cursor planned as
    chunks of at most ``chunk_size`` (every chunk_size-th held pledge id a boundary, the last
    held id the last one) and is marked interrupted, so the engine (a command, the API, the
    resume task) finishes it; its earlier batches are in its totals and have no chunk rows.

    Each run row is updated once: a second update of a row this transaction wrote would queue
    its foreign keys' deferred checks, and PostgreSQL then refuses the ALTER TABLE after."""
    SettlementRun = apps.get_model("euro", "SettlementRun")
    SettlementChunk = apps.get_model("euro", "SettlementChunk")
    Pledge = apps.get_model("euro", "Pledge")
    unfinished = SettlementRun.objects.exclude(status="done")
    for run in unfinished:
        ids = list(
            Pledge.objects.filter(campaign_id=run.campaign_id, status="held", id__gt=run.cursor)
            .order_by("id")
            .values_list("id", flat=True)
        )
        size = max(int(run.chunk_size), 1)
        bounds = ids[size - 1 :: size]
        if ids and (not bounds or bounds[-1] != ids[-1]):
            bounds.append(ids[-1])
        los = [run.cursor, *bounds[:-1]]
        SettlementChunk.objects.bulk_create(
            [
                SettlementChunk(run_id=run.pk, step=0, lo=lo, hi=hi)
                for lo, hi in zip(los, bounds, strict=True)
            ],
            ignore_conflicts=True,
        )
    unfinished.update(as_of=F("created_at"), status="interrupted", phase=0, started_at=None)
    SettlementRun.objects.filter(status="done").update(as_of=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("euro", "0002_storage"),
    ]

    operations = [
        migrations.RenameField(
            model_name="settlementrun", old_name="batch_size", new_name="chunk_size"
        ),
        migrations.RenameField(
            model_name="settlementrun", old_name="batches_done", new_name="chunks_done"
        ),
        migrations.AlterField(
            model_name="settlementrun",
            name="chunk_size",
            field=models.IntegerField(default=5000),
        ),
        migrations.AddField(
            model_name="settlementrun",
            name="as_of",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name="settlementrun",
            name="parameters",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="settlementrun",
            name="phase",
            field=models.SmallIntegerField(
                default=0, help_text="Index of the step being done (the kind's steps, in order)."
            ),
        ),
        migrations.AddField(
            model_name="settlementrun",
            name="started_at",
            field=models.DateTimeField(
                blank=True,
                help_text="Start of the current attempt (null when not running).",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="settlementrun",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued (no worker has joined yet)"),
                    ("running", "Running"),
                    ("interrupted", "Interrupted (resumable)"),
                    ("done", "Done"),
                ],
                default="queued",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="settlementrun",
            name="trigger",
            field=models.CharField(
                choices=[
                    ("beat", "Scheduler (Celery beat)"),
                    ("command", "Management command"),
                    ("admin", "Admin"),
                    ("api", "REST API"),
                    ("python", "Python call"),
                ],
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="settlementrun",
            name="updated_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now,
                help_text="Last progress (every chunk and step moves it).",
            ),
        ),
        migrations.AlterField(
            model_name="settlementrun",
            name="duration_ms",
            field=models.BigIntegerField(
                blank=True, help_text="Wall-clock time of all attempts together.", null=True
            ),
        ),
        migrations.AlterField(
            model_name="settlementrun",
            name="pledges_skipped",
            field=models.BigIntegerField(
                default=0,
                help_text="Pledges settled by another operation before their chunk locked them.",
            ),
        ),
        migrations.CreateModel(
            name="SettlementChunk",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "run_id",
                        "step",
                        "lo",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("run_id", models.BigIntegerField()),
                ("lo", models.BigIntegerField(help_text="Exclusive lower key.")),
                ("hi", models.BigIntegerField(help_text="Inclusive upper key.")),
                ("done_at", models.DateTimeField(blank=True, null=True)),
                (
                    "worker",
                    models.CharField(
                        blank=True,
                        default="",
                        help_text="Who holds (or held) the lease.",
                        max_length=96,
                    ),
                ),
                ("lease_until", models.DateTimeField(blank=True, null=True)),
                ("claims", models.IntegerField(default=0, help_text="Times the chunk was leased.")),
                (
                    "step",
                    models.SmallIntegerField(choices=[(0, "settle")], default=0),
                ),
                (
                    "pledges",
                    models.BigIntegerField(default=0, help_text="Pledges released or refunded."),
                ),
                (
                    "skipped",
                    models.BigIntegerField(
                        default=0,
                        help_text="Pledges settled by another operation before the chunk "
                        "locked them.",
                    ),
                ),
                ("amount", models.BigIntegerField(default=0)),
                ("commission", models.BigIntegerField(default=0)),
                ("net", models.BigIntegerField(default=0)),
                ("refunded", models.BigIntegerField(default=0)),
            ],
            options={
                "db_table": "euro_settlement_chunk",
            },
        ),
        migrations.RunPython(upgrade_runs, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="settlementrun",
            name="as_of",
            field=models.DateTimeField(help_text="The instant the run applies its rule at."),
        ),
        migrations.RemoveField(
            model_name="settlementrun",
            name="cursor",
        ),
    ]
