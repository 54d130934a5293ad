"""The abstract models every run kind builds its run and chunk tables from.

A run row carries the lifecycle (status, phase, attempts, error, timings, trigger and who); a
chunk row is one key range ``(lo, hi]`` of one step, planned when the step begins. A chunk is
*pending* until a worker leases it (``worker``, ``lease_until``, committed on its own so that
operators see who holds what), and *done* when ``done_at`` is set in the same transaction that
did its work: a worker that dies mid-chunk rolls its transaction back, its lease runs out, and
another worker takes the chunk.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued (no worker has joined yet)"
    RUNNING = "running", "Running"
    INTERRUPTED = "interrupted", "Interrupted (resumable)"
    DONE = "done", "Done"


class RunTrigger(models.TextChoices):
    BEAT = "beat", "Scheduler (Celery beat)"
    COMMAND = "command", "Management command"
    ADMIN = "admin", "Admin"
    API = "api", "REST API"
    PYTHON = "python", "Python call"


UNFINISHED = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.INTERRUPTED)


class BatchRun(models.Model):
    """The lifecycle fields of a run (a kind adds its key, scope and totals)."""

    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    outcome = models.CharField(max_length=32, blank=True, default="")
    as_of = models.DateTimeField(help_text="The instant the run applies its rule at.")
    parameters = models.JSONField(default=dict, blank=True)
    trigger = models.CharField(max_length=16, choices=RunTrigger.choices)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    chunk_size = models.IntegerField(default=5_000)
    chunks_done = models.IntegerField(default=0)
    phase = models.SmallIntegerField(
        default=0, help_text="Index of the step being done (the kind's steps, in order)."
    )
    attempts = models.IntegerField(default=1)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(
        default=timezone.now, help_text="Last progress (every chunk and step moves it)."
    )
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="Start of the current attempt (null when not running)."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.BigIntegerField(
        null=True, blank=True, help_text="Wall-clock time of all attempts together."
    )

    objects = models.Manager()

    class Meta:
        abstract = True


class BatchChunk(models.Model):
    """One key range of one step of a run: planned, leased, done (a kind adds its totals and
    the composite primary key ``(run_id, step, lo)``)."""

    run_id = models.BigIntegerField()
    step = models.SmallIntegerField()
    lo = models.BigIntegerField(help_text="Exclusive lower key.")
    hi = models.BigIntegerField(help_text="Inclusive upper key.")
    done_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(
        max_length=96, blank=True, default="", help_text="Who holds (or held) the lease."
    )
    lease_until = models.DateTimeField(null=True, blank=True)
    claims = models.IntegerField(default=0, help_text="Times the chunk was leased.")

    objects = models.Manager()

    class Meta:
        abstract = True
