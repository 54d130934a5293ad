"""Members' KYC, recorded by staff (equity pledges need a verified member)."""

from __future__ import annotations

from datetime import datetime

from saka.core.clock import as_of_or_now
from saka.core.db import durable
from saka.core.errors import ValidationError
from saka.core.members import member_require
from saka.euro.models import MemberProfile


def member_kyc_set(
    *, member_id: int, verified: bool, as_of: datetime | None = None
) -> MemberProfile:
    """Record whether a member passed KYC (staff, through the admin or a KYC provider hook)."""
    at = as_of_or_now(as_of)
    member_id = member_require(member_id)
    if not isinstance(verified, bool):
        raise ValidationError("verified must be true or false.", field="verified")
    with durable():
        profile, _ = MemberProfile.objects.select_for_update().get_or_create(member_id=member_id)
        profile.kyc_verified = verified
        profile.kyc_verified_at = at if verified else None
        profile.updated_at = at
        profile.save(update_fields=["kyc_verified", "kyc_verified_at", "updated_at"])
    return profile
