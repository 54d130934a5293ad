"""Members: the platform's active users, as the services name them (by id)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from saka.core.errors import MemberNotFound


def member_require(member_id: Any) -> int:
    """``member_id`` if it names an active member; ``MemberNotFound`` otherwise (a non-int,
    a bool, zero or less, an unknown or inactive user)."""
    if isinstance(member_id, bool) or not isinstance(member_id, int) or member_id <= 0:
        raise MemberNotFound(member_id=member_id)
    if not get_user_model().objects.filter(pk=member_id, is_active=True).exists():
        raise MemberNotFound(member_id=member_id)
    return member_id
