"""Plant (spend) and project boosts (spec section 3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings

from saka.core.errors import InvalidAmount, ValidationError
from saka.grains import selectors, services
from saka.grains.errors import SakaDisabled
from saka.grains.models import AccountKind, EntryKind, ProjectSupporter, SakaAccount, SakaEntry
from saka.ledger.errors import IdempotencyConflict, InsufficientBalance
from saka.projects.errors import ProjectNotFound
from saka.projects.models import Project, ProjectScoreDelta
from saka.projects.selectors import project_totals
from saka.projects.services import project_create
from tests.support.clock import T0

pytestmark = pytest.mark.django_db


def fund(member_id, grains, staff_id):
    """Give ``grains`` (<= 1000) with manual adjustments."""
    while grains > 0:
        step = min(grains, 500)
        services.wallet_harvest(
            member_id=member_id,
            reason="manual_adjust",
            amount=step,
            granted_by_id=staff_id,
            as_of=T0 - timedelta(days=5),
        )
        grains -= step


def plant(member_id, amount, **kwargs):
    kwargs.setdefault("as_of", T0)
    return services.wallet_plant(member_id=member_id, amount=amount, **kwargs)


def view(member_id):
    return selectors.wallet_summary(member_id=member_id)


def score(project):
    return project_totals(project_id=project.pk)


@pytest.fixture
def funded(member, staff_user):
    fund(member.pk, 100, staff_user.pk)
    return member


# --- balance -----------------------------------------------------------------------------------


def test_plant_spends_grains_out_of_circulation(funded):
    # when
    result = plant(funded.pk, 30)
    # then the wallet is debited and the grains went to the external "planted" account
    assert (result.amount, result.balance, result.reason) == (30, 70, "plant")
    assert (result.project_id, result.project_score, result.project_supporters) == (None,) * 3
    wallet = view(funded.pk)
    assert (wallet.balance, wallet.lifetime_planted, wallet.lifetime_harvested) == (70, 30, 100)
    entry = SakaEntry.objects.get(pk=result.entry_id)
    assert (entry.kind, entry.amount, entry.member_id) == (EntryKind.PLANT, 30, funded.pk)
    postings = {p.account.kind: p.amount for p in entry.postings.select_related("account")}
    assert postings == {AccountKind.WALLET: -30, AccountKind.PLANTED: 30}
    assert SakaAccount.objects.get(kind=AccountKind.PLANTED).balance == 0


def test_plant_the_whole_balance(funded):
    # when
    result = plant(funded.pk, 100)
    # then
    assert result.balance == 0
    # and one more grain is refused
    with pytest.raises(InsufficientBalance):
        plant(funded.pk, 1)


def test_insufficient_balance_books_nothing(funded, project):
    # when more than the balance is planted
    with pytest.raises(InsufficientBalance) as exc:
        plant(funded.pk, 101, project_id=project.pk, as_of=T0 + timedelta(days=1))
    # then a typed error with the figures, and nothing changed anywhere
    assert exc.value.data == {"available": 100, "requested": 101}
    assert exc.value.http_status == 409
    wallet = view(funded.pk)
    assert (wallet.balance, wallet.lifetime_planted) == (100, 0)
    assert wallet.last_activity_at == T0 - timedelta(days=5)
    assert not SakaEntry.objects.filter(kind=EntryKind.PLANT).exists()
    assert score(project) == (0, 0)
    assert not ProjectSupporter.objects.exists()


def test_member_without_wallet_cannot_plant(member):
    # when / then
    with pytest.raises(InsufficientBalance) as exc:
        plant(member.pk, 1)
    assert exc.value.data == {"available": 0, "requested": 1}
    # and no wallet was created by the attempt
    assert not SakaAccount.objects.filter(member=member).exists()


@pytest.mark.parametrize("amount", [0, -5, 1.0, True, None, "ten", "1.5", 10**13])
def test_plant_amount_must_be_a_positive_integer(funded, amount):
    with pytest.raises(InvalidAmount):
        plant(funded.pk, amount)
    assert view(funded.pk).balance == 100


def test_plant_amount_as_digit_string(funded):
    assert plant(funded.pk, "25").amount == 25
    assert view(funded.pk).balance == 75


@pytest.mark.parametrize(
    "reason", ["", "Plant", "1plant", "plant!", "a" * 33, "plant reason", None, 5, "plänt"]
)
def test_plant_reason_is_validated(funded, reason):
    with pytest.raises(ValidationError) as exc:
        plant(funded.pk, 1, reason=reason)
    assert exc.value.data == {"field": "reason"}
    assert view(funded.pk).balance == 100


@pytest.mark.parametrize("reason", ["a", "gift", "tree_2025", "a" * 32])
def test_plant_reason_is_recorded(funded, reason):
    result = plant(funded.pk, 1, reason=reason)
    assert result.reason == reason
    assert SakaEntry.objects.get(pk=result.entry_id).reason == reason


def test_plant_is_activity(funded):
    # when
    later = T0 + timedelta(days=20)
    plant(funded.pk, 10, as_of=later)
    # then
    assert view(funded.pk).last_activity_at == later
    # and a back-dated plant does not move it back
    plant(funded.pk, 10, as_of=T0)
    assert view(funded.pk).last_activity_at == later


def test_plant_refused_when_saka_disabled(funded, project):
    with override_settings(SAKA_ENABLED=False):
        with pytest.raises(SakaDisabled):
            plant(funded.pk, 10)
        with pytest.raises(SakaDisabled):
            services.project_boost(member_id=funded.pk, project_id=project.pk)
    assert view(funded.pk).balance == 100


# --- projects ----------------------------------------------------------------------------------


def test_boost_raises_score_and_counts_a_supporter_once(funded, project):
    # when the member boosts twice, with the default cost then an amount
    first = services.project_boost(member_id=funded.pk, project_id=project.pk, as_of=T0)
    second = services.project_boost(member_id=funded.pk, project_id=project.pk, amount=25)
    # then the score adds up and the member counts once
    assert (first.amount, first.reason, first.project_id) == (10, "project_boost", project.pk)
    assert (first.project_score, first.project_supporters) == (10, 1)
    assert (second.project_score, second.project_supporters) == (35, 1)
    assert score(project) == (35, 1)
    assert ProjectSupporter.objects.get(project=project, member=funded).first_planted_at == T0
    assert view(funded.pk).balance == 65


def test_distinct_supporters_across_members(funded, other_member, staff_user, project):
    # given two members with grains
    fund(other_member.pk, 50, staff_user.pk)
    # when each boosts, one twice
    services.project_boost(member_id=funded.pk, project_id=project.pk)
    services.project_boost(member_id=other_member.pk, project_id=project.pk, amount=7)
    result = services.project_boost(member_id=funded.pk, project_id=project.pk)
    # then two distinct supporters, score 27
    assert (result.project_score, result.project_supporters) == (27, 2)
    assert score(project) == (27, 2)


def test_plant_with_a_project_and_any_reason_counts_for_the_project(funded, project):
    result = plant(funded.pk, 5, reason="gift", project_id=project.pk)
    assert (result.project_score, result.project_supporters) == (5, 1)
    assert SakaEntry.objects.get(pk=result.entry_id).project_id == project.pk


def test_boosting_two_projects_counts_the_member_on_each(funded, project):
    # given a second project
    other = project_create(owner_id=project.owner_id, title="Repair cafe")
    # when
    services.project_boost(member_id=funded.pk, project_id=project.pk)
    services.project_boost(member_id=funded.pk, project_id=other.pk, amount=3)
    # then
    assert score(project) == (10, 1)
    assert score(other) == (3, 1)


@pytest.mark.parametrize("project_id", [10**9, -1, "abc", 2**70])
def test_unknown_project_books_nothing(funded, project_id):
    with pytest.raises(ProjectNotFound):
        plant(funded.pk, 10, project_id=project_id)
    assert view(funded.pk).balance == 100
    assert not ProjectScoreDelta.objects.exists()
    assert not Project.objects.filter(saka_score__gt=0).exists()


@override_settings(SAKA_BOOST_COST=40)
def test_boost_default_cost_follows_the_setting(funded, project):
    assert services.project_boost(member_id=funded.pk, project_id=project.pk).amount == 40
    assert score(project) == (40, 1)


# --- idempotency -------------------------------------------------------------------------------


def test_plant_replay_returns_the_original_and_books_once(funded, project):
    # given a boost with a key
    first = services.project_boost(
        member_id=funded.pk, project_id=project.pk, idempotency_key="boost-1"
    )
    # when the client retries the same request, later
    again = services.project_boost(
        member_id=funded.pk,
        project_id=project.pk,
        idempotency_key="boost-1",
        as_of=T0 + timedelta(days=1),
    )
    # then it gets the very same result and nothing more is booked
    assert again == first
    assert view(funded.pk).balance == 90
    assert score(project) == (10, 1)
    assert SakaEntry.objects.filter(kind=EntryKind.PLANT).count() == 1


@pytest.mark.parametrize(
    "change", [{"amount": 11}, {"reason": "gift"}, {"project_id": None}, {"project_id": "other"}]
)
def test_plant_same_key_other_payload_is_a_conflict(funded, project, change):
    # given a plant with a key
    plant(funded.pk, 10, project_id=project.pk, idempotency_key="k")
    request = {"amount": 10, "project_id": project.pk, "reason": "plant", **change}
    if request["project_id"] == "other":
        request["project_id"] = project_create(owner_id=project.owner_id, title="Other").pk
    # when the same key comes with another payload
    with pytest.raises(IdempotencyConflict) as exc:
        plant(funded.pk, idempotency_key="k", **request)
    # then a clear conflict, and nothing more booked
    assert exc.value.http_status == 409
    assert exc.value.data == {"key": "k"}
    assert view(funded.pk).balance == 90


def test_plant_keys_are_scoped_per_member(funded, other_member, staff_user):
    # given the same key used by two members
    fund(other_member.pk, 10, staff_user.pk)
    a = plant(funded.pk, 10, idempotency_key="same")
    b = plant(other_member.pk, 10, idempotency_key="same")
    # then both are booked, separately
    assert a.entry_id != b.entry_id
    assert (view(funded.pk).balance, view(other_member.pk).balance) == (90, 0)


def test_failed_plant_leaves_its_key_free(member, staff_user):
    # given a plant refused for lack of grains
    with pytest.raises(InsufficientBalance):
        plant(member.pk, 10, idempotency_key="retry-me")
    # when the member gets grains and retries with the same key
    fund(member.pk, 10, staff_user.pk)
    result = plant(member.pk, 10, idempotency_key="retry-me")
    # then the retry is booked (the failed attempt kept no key)
    assert result.balance == 0


# --- query counts ------------------------------------------------------------------------------


def test_plant_query_counts(funded, project, django_assert_max_num_queries):
    # each count includes the member check (saka.core.members.member_require)
    # first plant ever creates the planted account
    with django_assert_max_num_queries(10):
        plant(funded.pk, 1)
    with django_assert_max_num_queries(8):
        plant(funded.pk, 1)
    # a boost by a new supporter, then by a known one
    with django_assert_max_num_queries(13):
        services.project_boost(member_id=funded.pk, project_id=project.pk)
    with django_assert_max_num_queries(12):
        services.project_boost(member_id=funded.pk, project_id=project.pk)
    with django_assert_max_num_queries(13):
        plant(funded.pk, 1, idempotency_key="q")
    # the replay includes the system-account look-up made before the transaction opens
    with django_assert_max_num_queries(5):
        plant(funded.pk, 1, idempotency_key="q")
    # a refused plant stops before booking (after the system-account look-up)
    with django_assert_max_num_queries(6), pytest.raises(InsufficientBalance):
        plant(funded.pk, 1000)
