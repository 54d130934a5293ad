"""Campaigns: open one for a project, close it as succeeded, failed or cancelled."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction

from saka.audit.services import audit_record, staff_require
from saka.core.clock import as_of_or_now, check_instant
from saka.core.db import durable
from saka.core.errors import ValidationError
from saka.core.money import MAX_AMOUNT, parse_amount
from saka.euro.errors import CampaignAlreadyOpen, CampaignNotFound, CampaignNotOpen
from saka.euro.lock_objects import campaign_lock
from saka.euro.models import Campaign, CampaignStatus
from saka.euro.services.inputs import parse_id
from saka.projects.selectors import project_get

logger = logging.getLogger("saka.euro")


def campaign_create(
    *,
    project_id: int,
    goal: int,
    deadline: datetime,
    created_by_id: int | None = None,
    as_of: datetime | None = None,
) -> Campaign:
    """Open a campaign for a project (at most one open per project). A staff
    ``created_by_id`` needs ``manage_campaigns`` (``RoleRequired``); ``None`` is the system."""
    staff_require(
        actor_id=created_by_id,
        action="euro.campaign.create",
        target_type="project",
        target_id=project_id,
        payload={"project_id": project_id, "goal": goal, "deadline": deadline},
    )
    at = as_of_or_now(as_of)
    cents = parse_amount(goal, field="goal", maximum=MAX_AMOUNT)
    check_instant(deadline, field="deadline")
    if deadline <= at:
        raise ValidationError("deadline must be in the future.", field="deadline")
    project = project_get(project_id=project_id)
    with durable():
        if Campaign.objects.filter(project=project, status=CampaignStatus.OPEN).exists():
            raise CampaignAlreadyOpen(project_id=project.pk)
        try:
            with transaction.atomic():
                campaign = Campaign.objects.create(
                    project=project,
                    goal_cents=cents,
                    deadline=deadline,
                    created_by_id=created_by_id,
                    created_at=at,
                )
        except IntegrityError as exc:
            raise CampaignAlreadyOpen(project_id=project.pk) from exc
        audit_record(
            actor_id=created_by_id,
            action="euro.campaign.create",
            target_type="campaign",
            target_id=campaign.pk,
            payload={"project_id": project.pk, "goal_cents": cents, "deadline": deadline},
        )
        return campaign


CLOSED_STATUSES = (CampaignStatus.SUCCEEDED, CampaignStatus.FAILED, CampaignStatus.CANCELLED)


def campaign_set_status(
    *, campaign_id: int, status: str, actor_id: int | None = None, as_of: datetime | None = None
) -> Campaign:
    """Close an open campaign as succeeded, failed or cancelled (then settle it).

    Waits for the pledges in flight (they hold the campaign ``FOR SHARE``); every later
    pledge sees the campaign closed. Setting the status it already has is a no-op; any other
    change of a closed campaign raises ``CampaignNotOpen``. A staff ``actor_id`` needs
    ``manage_campaigns`` (``RoleRequired``); ``None`` is the system.
    """
    staff_require(
        actor_id=actor_id,
        action="euro.campaign.status",
        target_type="campaign",
        target_id=str(campaign_id)[:64],
        payload={"status": status},
    )
    at = as_of_or_now(as_of)
    if status not in CLOSED_STATUSES:
        raise ValidationError(f"status is one of {', '.join(CLOSED_STATUSES)}.", field="status")
    cid = parse_id(campaign_id, CampaignNotFound, campaign_id=str(campaign_id)[:64])
    with durable():
        campaign = campaign_lock(campaign_id=cid)
        if campaign is None:
            raise CampaignNotFound(campaign_id=cid)
        if campaign.status == status:
            return campaign
        if campaign.status != CampaignStatus.OPEN:
            raise CampaignNotOpen(
                "The campaign is already closed.", campaign_id=cid, status=campaign.status
            )
        Campaign.objects.filter(pk=cid).update(status=status, closed_at=at)
        audit_record(
            actor_id=actor_id,
            action="euro.campaign.status",
            target_type="campaign",
            target_id=cid,
            payload={"status": status, "closed_at": at},
        )
        campaign.status, campaign.closed_at = status, at
    logger.info("campaign %s closed as %s", cid, status)
    return campaign
