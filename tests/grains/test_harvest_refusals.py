"""Harvests refused (spec section 3): unknown reasons and members, bad ids, amounts and
instants, SAKA disabled; every refusal a typed error that books nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import override_settings

from saka.core.errors import InvalidAmount, MemberNotFound, ValidationError
from saka.grains import services
from saka.grains.errors import SakaDisabled, UnknownReason
from saka.grains.models import AccountKind, SakaAccount, SakaEntry
from tests.support.saka import entries, harvest, manual, saka_balance

pytestmark = pytest.mark.django_db


# --- bad requests ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reason", ["", "unknown", "CONTENT_READ", " content_read", "project_boost", None, 42]
)
def test_unknown_reason_is_refused(member, reason):
    # when / then
    with pytest.raises(UnknownReason) as exc:
        harvest(member.pk, reason)
    assert exc.value.code == "unknown_reason"
    assert "content_read" in exc.value.data["known"]
    assert "manual_adjust" in exc.value.data["known"]
    assert not SakaAccount.objects.filter(member=member).exists()


def test_unhashable_reason_is_a_typed_error(member):
    with pytest.raises(UnknownReason):
        harvest(member.pk, ["content_read"])


@pytest.mark.parametrize("amount", [10, 1, "10", 0])
def test_fixed_reward_reasons_take_no_amount(member, amount):
    # when a normal reason is sent with an amount (even the right one)
    with pytest.raises(InvalidAmount) as exc:
        harvest(member.pk, "content_read", amount=amount)
    # then it is refused and says what the reward is
    assert exc.value.data == {"field": "amount", "reward": 10}
    assert entries(member.pk) == 0


def test_unknown_member_is_not_found(member):
    # when / then
    with pytest.raises(MemberNotFound):
        harvest(member.pk + 10_000)
    assert not SakaAccount.objects.filter(kind=AccountKind.WALLET).exists()


def test_inactive_member_is_not_found(make_user):
    # given a deactivated member
    gone = make_user(is_active=False)
    # when / then
    with pytest.raises(MemberNotFound):
        harvest(gone.pk)
    assert entries(gone.pk) == 0


@pytest.mark.parametrize("bad_id", ["1", 1.0, True, None])
def test_member_id_must_be_an_int(member, bad_id):
    with pytest.raises(MemberNotFound):
        harvest(bad_id)
    assert not SakaEntry.objects.exists()


def test_naive_as_of_is_refused(member):
    with pytest.raises(ValidationError) as exc:
        harvest(member.pk, as_of=datetime(2025, 6, 10, 12, 0))  # noqa: DTZ001 - on purpose
    assert exc.value.data == {"field": "as_of"}
    assert entries(member.pk) == 0


@pytest.mark.parametrize(
    ("reason", "as_of"),
    [
        ("content_read", datetime(9999, 12, 31, 23, 30, tzinfo=UTC)),
        ("manual_adjust", datetime(1, 1, 1, 0, 30, tzinfo=UTC)),
        ("content_read", datetime(1, 1, 1, 0, 30, tzinfo=UTC)),
        ("plant", datetime(1, 1, 1, 0, 30, tzinfo=UTC)),
    ],
)
def test_as_of_out_of_range_is_a_typed_error(member, staff_user, reason, as_of):
    # given grains to plant
    harvest(member.pk, "invest_bonus")
    calls = {
        "plant": lambda: services.wallet_plant(member_id=member.pk, amount=1, as_of=as_of),
        "manual_adjust": lambda: manual(member.pk, 5, staff_user.pk, as_of=as_of),
        "content_read": lambda: harvest(member.pk, reason, as_of=as_of),
    }
    # when / then an absurd instant is refused as bad input, and nothing is booked
    with pytest.raises(ValidationError):
        calls[reason]()
    assert entries(member.pk) == 1


def test_saka_disabled_refuses_and_books_nothing(member, staff_user):
    # given SAKA switched off
    with override_settings(SAKA_ENABLED=False):
        # when / then every harvest is refused
        with pytest.raises(SakaDisabled) as exc:
            harvest(member.pk)
        assert exc.value.http_status == 503
        with pytest.raises(SakaDisabled):
            manual(member.pk, 100, staff_user.pk)
    assert entries(member.pk) == 0
    assert not SakaAccount.objects.filter(member=member).exists()
    # and switched on again, harvesting works
    harvest(member.pk)
    assert saka_balance(member.pk) == 10
