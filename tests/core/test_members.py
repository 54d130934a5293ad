"""One definition of "member" (``saka.core.members``): an active user who is not staff, not a
superuser and not a service account (``grains.harvest_on_behalf``, directly or by group).
Operator accounts are refused everywhere grains or euros would be booked for them, get no
wallet, and the stats do not count them."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission

from saka.api.common.permissions import HARVEST_PERMISSION
from saka.core.errors import MemberNotFound, NotAMember
from saka.core.members import SERVICE_PERMISSION, member_require, operator_accounts
from saka.euro.models import EuroAccount
from saka.grains.models import SakaAccount
from saka.grains.selectors import saka_stats
from saka.grains.services import wallet_harvest, wallet_plant
from tests.support.euro import SECRET, deliver, payment_event

pytestmark = pytest.mark.django_db


def test_the_service_permission_is_the_apis_harvest_permission() -> None:
    assert ".".join(SERVICE_PERMISSION) == HARVEST_PERMISSION


@pytest.fixture
def group_platform(make_user: Any) -> Any:
    """A service account that holds the permission through a group."""
    group = Group.objects.create(name="platforms")
    group.permissions.add(Permission.objects.get(codename="harvest_on_behalf"))
    user = make_user()
    user.groups.add(group)
    return user


@pytest.fixture
def superuser(make_user: Any) -> Any:
    return make_user(is_superuser=True)


OPERATORS = ["platform_user", "staff_user", "group_platform", "superuser"]


def test_a_member_is_a_member(member: Any) -> None:
    assert member_require(member.pk) == member.pk
    assert not operator_accounts().filter(pk=member.pk).exists()


@pytest.mark.parametrize("who", OPERATORS)
def test_operator_accounts_are_not_members(who: str, request: pytest.FixtureRequest) -> None:
    user = request.getfixturevalue(who)
    with pytest.raises(NotAMember) as raised:
        member_require(user.pk)
    assert raised.value.as_dict()["code"] == "not_a_member"
    assert raised.value.http_status == 409
    assert operator_accounts().filter(pk=user.pk).exists()


def test_an_inactive_user_is_not_found(make_user: Any) -> None:
    with pytest.raises(MemberNotFound):
        member_require(make_user(is_active=False).pk)


@pytest.mark.parametrize("who", OPERATORS)
def test_no_harvest_adjustment_plant_or_deposit_for_an_operator(
    who: str,
    request: pytest.FixtureRequest,
    platform_user: Any,
    make_user: Any,
    settings: Any,
) -> None:
    settings.SAKA_PAYMENT_WEBHOOK_SECRET = SECRET
    # given an operator account, and another staff user who adjusts (one's own wallet is
    # refused as such: tests/api/test_roles.py)
    user = request.getfixturevalue(who)
    adjuster = make_user(staff=True, roles=["saka_adjuster"])
    # when grains or euros would be booked for it, then each is refused
    with pytest.raises(NotAMember):
        wallet_harvest(member_id=user.pk, reason="content_read", granted_by_id=platform_user.pk)
    with pytest.raises(NotAMember):
        wallet_harvest(
            member_id=user.pk, reason="manual_adjust", amount=10, granted_by_id=adjuster.pk
        )
    with pytest.raises(NotAMember):
        wallet_plant(member_id=user.pk, amount=1)
    with pytest.raises(NotAMember):
        deliver(payment_event(member_id=user.pk, amount=1_000))
    # and it has no wallet
    assert not SakaAccount.objects.filter(member_id=user.pk).exists()
    assert not EuroAccount.objects.filter(member_id=user.pk).exists()


def test_stats_count_members_only(member: Any, staff_user: Any) -> None:
    # given a member with grains, and a staff user's wallet from before they were refused
    wallet_harvest(member_id=member.pk, reason="invite_accepted")
    staff_user.is_staff = False
    staff_user.save(update_fields=["is_staff"])
    wallet_harvest(member_id=staff_user.pk, reason="invite_accepted")
    staff_user.is_staff = True
    staff_user.save(update_fields=["is_staff"])
    # when the stats are read
    stats = saka_stats()
    # then only the member is counted
    assert (stats["wallets"], stats["members_with_saka"], stats["total_balance"]) == (1, 1, 50)
    assert [m["member_id"] for m in stats["top_members"]] == [member.pk]
