"""Season writes: create, activate (the other active season is deactivated in the same
transaction), deactivate. Staff ``manage_policy`` (``RoleRequired`` otherwise, recorded);
``None`` is the system. Every writer holds the season table's lock (``season_table_lock``)
before its check, so two creations cannot both miss an overlap and two activations end with
one season active."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.text import slugify

from saka.audit.services import audit_record, staff_require
from saka.core.clock import check_instant
from saka.core.db import durable
from saka.core.errors import ValidationError
from saka.grains.errors import SeasonNotFound, SeasonOverlaps
from saka.grains.lock_objects import season_table_lock
from saka.grains.models import Season

CREATE_ACTION = "saka.season.create"
ACTIVATE_ACTION = "saka.season.activate"
DEACTIVATE_ACTION = "saka.season.deactivate"
NAME_MAX = 80


def _id_of(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise SeasonNotFound(season_id=value)
    return value


def season_create(
    *,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
    created_by_id: int | None,
    active: bool = False,
) -> Season:
    """A new season ``[starts_at, ends_at)`` (made the active one with ``active``). Raises
    ``ValidationError`` (name of 1..80 characters, free, with a slug; aware instants, ends
    after it starts) and ``SeasonOverlaps`` (naming the season met); nothing is written then."""
    staff_require(
        actor_id=created_by_id,
        action=CREATE_ACTION,
        target_type="season",
        payload={"name": str(name)[:NAME_MAX]},
    )
    name = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(name) <= NAME_MAX:
        raise ValidationError(f"A season's name has 1 to {NAME_MAX} characters.", field="name")
    slug = slugify(name)[:NAME_MAX]
    if not slug:
        raise ValidationError("A season's name needs a letter or a digit.", field="name")
    check_instant(starts_at, field="starts_at")
    check_instant(ends_at, field="ends_at")
    if ends_at <= starts_at:
        raise ValidationError("ends_at must be after starts_at.", field="ends_at")
    with durable():
        season_table_lock()
        if Season.objects.filter(name=name).exists() or Season.objects.filter(slug=slug).exists():
            raise ValidationError("A season of this name exists.", field="name")
        met = (
            Season.objects.filter(starts_at__lt=ends_at, ends_at__gt=starts_at)
            .order_by("starts_at")
            .first()
        )
        if met is not None:
            raise SeasonOverlaps(season_id=met.pk, name=met.name)
        if active:
            Season.objects.filter(is_active=True).update(is_active=False)
        season = Season.objects.create(
            name=name,
            slug=slug,
            starts_at=starts_at,
            ends_at=ends_at,
            is_active=active,
            created_by_id=created_by_id,
        )
        audit_record(
            actor_id=created_by_id,
            action=CREATE_ACTION,
            target_type="season",
            target_id=season.pk,
            payload={"name": name, "starts_at": starts_at, "ends_at": ends_at, "active": active},
        )
        return season


def season_activate(*, season_id: int, actor_id: int | None) -> Season:
    """Make ``season_id`` the active season; the one active before (if another) is deactivated
    in the same transaction. Activating the active season changes nothing (recorded all the
    same). Raises ``SeasonNotFound``."""
    staff_require(
        actor_id=actor_id, action=ACTIVATE_ACTION, target_type="season", target_id=season_id
    )
    season_id = _id_of(season_id)
    with durable():
        season_table_lock()
        season = Season.objects.filter(pk=season_id).first()
        if season is None:
            raise SeasonNotFound(season_id=season_id)
        before = list(
            Season.objects.filter(is_active=True).exclude(pk=season_id).values_list("pk", flat=True)
        )
        if before:
            Season.objects.filter(pk__in=before).update(is_active=False)
        if not season.is_active:
            Season.objects.filter(pk=season_id).update(is_active=True)
            season.is_active = True
        audit_record(
            actor_id=actor_id,
            action=ACTIVATE_ACTION,
            target_type="season",
            target_id=season.pk,
            payload={"deactivated": before},
        )
        return season


def season_deactivate(*, season_id: int, actor_id: int | None) -> Season:
    """Leave ``season_id`` inactive (no season is active afterwards if it was). Raises
    ``SeasonNotFound``."""
    staff_require(
        actor_id=actor_id, action=DEACTIVATE_ACTION, target_type="season", target_id=season_id
    )
    season_id = _id_of(season_id)
    with durable():
        season_table_lock()
        season = Season.objects.filter(pk=season_id).first()
        if season is None:
            raise SeasonNotFound(season_id=season_id)
        if season.is_active:
            Season.objects.filter(pk=season_id).update(is_active=False)
            season.is_active = False
        audit_record(
            actor_id=actor_id,
            action=DEACTIVATE_ACTION,
            target_type="season",
            target_id=season.pk,
        )
        return season
