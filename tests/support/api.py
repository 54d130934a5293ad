"""Helpers of the endpoint tests: a platform harvest request, the boost URL, a member's
wallet as the API shows it, a staff adjustment request, a valid body of each write endpoint."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

HARVEST_URL = "saka_api:platform-harvest"
ADJUST_URL = "saka_api:staff-adjustment"


def boost_url(project: Any) -> str:
    return reverse("saka_api:project-boost", args=[project.pk])


def platform_harvest(api: Any, platform_user: Any, member: Any, reason: str, **extra: Any) -> Any:
    return api(platform_user).post(
        reverse(HARVEST_URL), {"member_id": member.pk, "reason": reason}, format="json", **extra
    )


def wallet_json(api: Any, user: Any) -> dict[str, Any]:
    response = api(user).get(reverse("saka_api:saka-wallet"))
    assert response.status_code == 200
    return response.json()


def _adjust(api: Any, staff_user: Any, member: Any, amount: Any, **extra: Any) -> Any:
    return api(staff_user).post(
        reverse(ADJUST_URL), {"member_id": member.pk, "amount": amount}, format="json", **extra
    )


def _valid_body(endpoint: str) -> dict[str, Any]:
    return {
        "saka-plant": {"amount": 10},
        "project-boost": {"amount": 10},
        "platform-harvest": {"member_id": "{member}", "reason": "content_read"},
        "staff-adjustment": {"member_id": "{member}", "amount": 10},
    }[endpoint]


def promote(user: Any, *roles: str) -> Any:
    """Make a member staff with ``roles`` (group names): a member who pledged or held grains
    before joining the staff keeps what they own, and may still not act on it."""
    from django.contrib.auth.models import Group

    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(*Group.objects.filter(name__in=roles))
    return user
