"""Members seen by the EUR services: an active member is required; staff record KYC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model

from saka.core.clock import as_of_or_now
from saka.core.db import durable
from saka.core.errors import ValidationError
from saka.euro.errors import MemberNotFound
from saka.euro.models import MemberProfile


def require_member(member_id: Any) -> int:
    if isinstance(member_id, bool) or not isinstance(member_id, int) or member_id <= 0:
        raise MemberNotFound(member_id=str(member_id)[:64])
    if not get_user_model().objects.filter(pk=member_id, is_active=True).exists():
        raise MemberNotFound(member_id=member_id)
    return member_id


def member_kyc_set(
    *, member_id: int, verified: bool, as_of: datetime | None = None
) -> MemberProfile:
    """Record whether a member passed KYC (staff, through the admin or a KYC provider hook)."""
    at = as_of_or_now(as_of)
    member_id = require_member(member_id)
    if not isinstance(verified, bool):
        raise ValidationError("verified must be true or false.", field="verified")
    with durable():
        profile, _ = MemberProfile.objects.select_for_update().get_or_create(member_id=member_id)
        profile.kyc_verified = verified
        profile.kyc_verified_at = at if verified else None
        profile.updated_at = at
        profile.save(update_fields=["kyc_verified", "kyc_verified_at", "updated_at"])
    return profile
