"""The settlement's plan and instant: chunks of pledge-id ranges planned once when it opens,
covering every held pledge of the campaign exactly once even when other campaigns' pledges
interleave with its own; pledges settled at the run's ``as_of``; a settlement triggered by a
user deleted since still runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from saka.core.clock import now
from saka.core.errors import ValidationError
from saka.euro import settlement
from saka.euro.models import (
    CampaignStatus,
    EuroEntry,
    Pledge,
    PledgeStatus,
    SettlementChunk,
    SettlementRun,
)
from saka.euro.services.pledges import pledge_cancel, pledge_create, pledge_refund
from saka.projects.services import project_create
from tests.support.euro import close, deposit, open_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def interleaved(make_user: Any) -> Any:
    """Three open campaigns whose pledges interleave in id order: pledge ``i`` goes to campaign
    ``i % 3`` (by one of four members); a few of campaign 0's are cancelled or refunded."""
    members = [make_user() for _ in range(4)]
    for m in members:
        deposit(m, 1_000_000)
    campaigns = [
        open_campaign(project_create(owner_id=members[0].pk, title=f"Project {n}"))
        for n in range(3)
    ]
    by_campaign: dict[int, list[int]] = {c.pk: [] for c in campaigns}
    for i in range(90):
        campaign = campaigns[i % 3]
        made = pledge_create(
            member_id=members[i % 4].pk, project_id=campaign.project_id, amount=100 + i
        )
        by_campaign[campaign.pk].append(made.pledge_id)
    first = by_campaign[campaigns[0].pk]
    pledge_cancel(member_id=members[0].pk, pledge_id=first[0])  # pledge 0, by member 0
    pledge_refund(pledge_id=first[7])
    pledge_refund(pledge_id=first[29])  # the campaign's last pledge
    return campaigns, by_campaign


@pytest.mark.parametrize("size", [1, 4, 7, 27, 1_000])
def test_the_chunks_cover_every_held_pledge_exactly_once(interleaved: Any, size: int) -> None:
    # given campaign 0 closed with 27 held pledges among the other campaigns' pledges
    campaigns, by_campaign = interleaved
    campaign = close(campaigns[0], CampaignStatus.SUCCEEDED)
    held = list(
        Pledge.objects.filter(campaign=campaign, status=PledgeStatus.HELD)
        .order_by("id")
        .values_list("id", flat=True)
    )
    assert len(held) == 27
    # when its settlement opens in chunks of ``size``
    run, created = settlement.settlement_open(campaign_id=campaign.pk, chunk_size=size)
    # then its chunks are planned: contiguous key ranges from 0 to its last held pledge
    assert created
    assert (run.status, run.pledges_total) == ("queued", 27)
    chunks = list(SettlementChunk.objects.filter(run_id=run.pk).order_by("lo"))
    assert chunks[0].lo == 0
    assert [c.lo for c in chunks[1:]] == [c.hi for c in chunks[:-1]]
    assert chunks[-1].hi == held[-1]
    # each holding ``size`` held pledges of the campaign (the last one the rest), every held
    # pledge in exactly one chunk, however many pledges of other campaigns lie in its range
    per_chunk = [[p for p in held if c.lo < p <= c.hi] for c in chunks]
    assert [len(p) for p in per_chunk] == [size] * (27 // size) + ([27 % size] if 27 % size else [])
    assert sorted(p for ids in per_chunk for p in ids) == held
    assert all(c.done_at is None and c.lease_until is None for c in chunks)
    # and settling it settles exactly those, nothing of the other campaigns
    done = settlement.settlement_start(campaign_id=campaign.pk)
    assert (done.status, done.pledges_done, done.chunks_done) == ("done", 27, len(chunks))
    assert set(
        Pledge.objects.filter(status=PledgeStatus.RELEASED).values_list("id", flat=True)
    ) == set(held)
    others = [p for c in campaigns[1:] for p in by_campaign[c.pk]]
    assert set(Pledge.objects.filter(pk__in=others).values_list("status", flat=True)) == {"held"}
    assert sum(c.pledges for c in SettlementChunk.objects.filter(run_id=run.pk)) == 27


def test_the_plan_is_made_once_and_a_later_start_keeps_it(interleaved: Any) -> None:
    # given campaign 1's settlement opened in chunks of 4, as of an instant after its close
    campaigns, _ = interleaved
    closed_at = now() - timedelta(hours=2)
    campaign = close_at(campaigns[1], CampaignStatus.FAILED, closed_at)
    at = closed_at + timedelta(minutes=30)
    run, _ = settlement.settlement_open(campaign_id=campaign.pk, chunk_size=4, as_of=at)
    planned = list(SettlementChunk.objects.filter(run_id=run.pk).values_list("lo", "hi"))
    # when it is started later with other arguments
    done = settlement.settlement_start(campaign_id=campaign.pk, chunk_size=100, as_of=None)
    # then it is the same run, with its chunks, its chunk size and its instant
    assert done.pk == run.pk
    assert (done.chunk_size, done.chunks_done, done.as_of) == (4, 8, at)
    assert list(SettlementChunk.objects.filter(run_id=run.pk).values_list("lo", "hi")) == planned
    # and every pledge and entry of the settlement carries that instant
    pledges = Pledge.objects.filter(campaign=campaign)
    assert set(pledges.values_list("status", flat=True)) == {PledgeStatus.REFUNDED}
    assert set(pledges.values_list("settled_at", flat=True)) == {at}
    assert set(EuroEntry.objects.filter(run=done).values_list("created_at", flat=True)) == {at}


def close_at(campaign: Any, status: str, at: Any) -> Any:
    from saka.euro.services.campaigns import campaign_set_status

    return campaign_set_status(campaign_id=campaign.pk, status=status, as_of=at)


def test_a_settlement_defaults_to_now(interleaved: Any) -> None:
    campaigns, _ = interleaved
    campaign = close(campaigns[2], CampaignStatus.SUCCEEDED)
    before = now()
    run = settlement.settlement_start(campaign_id=campaign.pk)
    assert before <= run.as_of <= now()
    released = Pledge.objects.filter(campaign=campaign)
    assert set(released.values_list("settled_at", flat=True)) == {run.as_of}


@pytest.mark.parametrize(
    "as_of",
    [
        "future",
        "before_close",
        "naive",
        "year_1999",
        "not_a_datetime",
    ],
)
def test_a_bad_as_of_is_refused_and_opens_nothing(interleaved: Any, as_of: str) -> None:
    campaigns, _ = interleaved
    closed_at = now() - timedelta(days=1)
    campaign = close_at(campaigns[0], CampaignStatus.SUCCEEDED, closed_at)
    value = {
        "future": now() + timedelta(minutes=5),
        "before_close": closed_at - timedelta(seconds=1),
        "naive": (closed_at + timedelta(hours=1)).replace(tzinfo=None),
        "year_1999": closed_at.replace(year=1999),
        "not_a_datetime": closed_at.isoformat(),
    }[as_of]
    with pytest.raises(ValidationError) as refused:
        settlement.settlement_start(campaign_id=campaign.pk, as_of=value)
    assert refused.value.data["field"] == "as_of"
    assert not SettlementRun.objects.exists()


def test_a_settlement_triggered_by_a_deleted_user_still_runs(
    interleaved: Any, make_user: Any
) -> None:
    # given a staff member who asked for the settlement and was deleted before it opened
    campaigns, _ = interleaved
    campaign = close(campaigns[0], CampaignStatus.SUCCEEDED)
    gone = make_user(staff=True)
    gone_id = gone.pk
    gone.delete()
    # when the settlement runs on their behalf
    run = settlement.settlement_start(
        campaign_id=campaign.pk, trigger="api", triggered_by_id=gone_id
    )
    # then it ran (it only lost who asked)
    assert (run.status, run.pledges_done, run.trigger, run.triggered_by_id) == (
        "done",
        27,
        "api",
        None,
    )
