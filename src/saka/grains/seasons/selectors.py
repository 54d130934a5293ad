"""Season reads: the list, the season of an instant, a season's figures.

A season's figures are sums of ``grains_entry.amount`` by kind over the entries booked in
``[starts_at, ends_at)`` (an entry's ``created_at`` is its ``as_of``: a run's entries carry
the run's instant), one statement that the entries' BRIN index on ``created_at`` serves.
Redistributed counts the chunk credits only (``reason=""``, pool -> wallets): the ``pot`` and
``pot_return`` entries move grains between the silo and the pool, and counting them would
count the pot twice and the leftover as given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from saka.core.clock import check_instant
from saka.grains.errors import SeasonNotFound
from saka.grains.models import EntryKind, SakaEntry, Season


@dataclass(frozen=True)
class SeasonStats:
    """What the economy did in a season, in grains (runs: live runs linked to it)."""

    harvested: int
    planted: int
    composted: int
    redistributed: int
    runs: int
    harvesters: int  # distinct members who harvested


def season_list() -> QuerySet[Season]:
    """Every season, newest first, with ``live_runs`` (its live runs) annotated."""
    return Season.objects.annotate(live_runs=Count("runs", filter=Q(runs__dry_run=False))).order_by(
        "-starts_at"
    )


def season_recent(*, limit: int) -> list[Season]:
    """The ``limit`` latest seasons (by start), newest first, without figures: one query."""
    return list(Season.objects.order_by("-starts_at")[:limit])


def season_get(*, season_id: Any) -> Season:
    """One season (annotated as in :func:`season_list`); ``SeasonNotFound`` otherwise."""
    if isinstance(season_id, bool) or not isinstance(season_id, int) or season_id <= 0:
        raise SeasonNotFound(season_id=season_id)
    season = season_list().filter(pk=season_id).first()
    if season is None:
        raise SeasonNotFound(season_id=season_id)
    return season


def season_id_at(at: datetime) -> int | None:
    """The id of the season whose ``[starts_at, ends_at)`` contains ``at`` (at most one:
    seasons never overlap), ``None`` outside every season. One probe of the range index."""
    return (
        Season.objects.filter(starts_at__lte=at, ends_at__gt=at)
        .order_by("starts_at")
        .values_list("pk", flat=True)
        .first()
    )


def season_current(at: datetime) -> Season | None:
    """The season containing the instant ``at`` (whether or not it is the active one)."""
    check_instant(at, field="at")
    return Season.objects.filter(starts_at__lte=at, ends_at__gt=at).order_by("starts_at").first()


def season_active() -> Season | None:
    """The active season, if any (at most one)."""
    return Season.objects.filter(is_active=True).first()


def season_stats(season: Season) -> SeasonStats:
    """The season's figures: one aggregate over its entries, plus one count of its live runs
    unless ``season`` comes from :func:`season_list` (annotated)."""
    sums = SakaEntry.objects.filter(
        created_at__gte=season.starts_at, created_at__lt=season.ends_at
    ).aggregate(
        harvested=Coalesce(Sum("amount", filter=Q(kind=EntryKind.HARVEST)), 0),
        planted=Coalesce(Sum("amount", filter=Q(kind=EntryKind.PLANT)), 0),
        composted=Coalesce(Sum("amount", filter=Q(kind=EntryKind.COMPOST)), 0),
        redistributed=Coalesce(
            Sum("amount", filter=Q(kind=EntryKind.REDISTRIBUTION, reason="")), 0
        ),
        harvesters=Count("member", distinct=True, filter=Q(kind=EntryKind.HARVEST)),
    )
    runs = getattr(season, "live_runs", None)
    if runs is None:
        runs = season.runs.filter(dry_run=False).count()
    return SeasonStats(
        harvested=int(sums["harvested"]),
        planted=int(sums["planted"]),
        composted=int(sums["composted"]),
        redistributed=int(sums["redistributed"]),
        runs=int(runs),
        harvesters=int(sums["harvesters"]),
    )
