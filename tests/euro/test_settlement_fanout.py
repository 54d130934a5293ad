"""Several workers share one settlement on PostgreSQL: an in-process pool of threads
(``settlement_start(workers=4)``) and another worker driving the same run at the same time
(``engine.drive``, as a ``run_work`` task or ``saka_settle --join`` would), for a release and
for a refund. Every pledge is settled exactly once and the run's totals are what was booked,
whoever did which chunk."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum

from saka.engine import lifecycle as engine
from saka.euro import settlement
from saka.euro.models import (
    AccountKind,
    CampaignStatus,
    EuroPosting,
    Pledge,
    PledgeStatus,
    SettlementChunk,
    SettlementRun,
)
from saka.euro.splits import commission_of
from saka.projects.services import project_create
from tests.support.euro import (
    account_balance,
    close,
    deposit,
    euro_balance,
    open_campaign,
    seed_pledges,
)
from tests.support.euro_races import JOIN_SECONDS
from tests.support.threads import Worker, run_all

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PLEDGES = 2_000
CHUNK = 25
FUNDS = 10_000_000


@pytest.fixture
def two_campaigns(make_user: Any) -> Any:
    """Campaigns A and B of two projects, their pledges interleaved in id order by 12 members
    (A gets 2,000 of them)."""
    members = [make_user() for _ in range(12)]
    for m in members:
        deposit(m, FUNDS)
    a = open_campaign(project_create(owner_id=members[0].pk, title="A"))
    b = open_campaign(project_create(owner_id=members[0].pk, title="B"))
    amounts = [100 + (i * 7919) % 9_900 for i in range(PLEDGES)]
    for lo in range(0, PLEDGES, 100):
        seed_pledges(a, members, amounts[lo : lo + 100])
        seed_pledges(b, members, [7] * 10)
    return a, b, members, amounts


@pytest.mark.parametrize("outcome", [CampaignStatus.SUCCEEDED, CampaignStatus.FAILED])
def test_a_thread_pool_and_another_worker_share_one_settlement(
    two_campaigns: Any, outcome: str
) -> None:
    # given campaign A closed and its settlement opened (80 chunks)
    a, b, members, amounts = two_campaigns
    close(a, outcome)
    run, _ = settlement.settlement_open(campaign_id=a.pk, chunk_size=CHUNK)
    assert SettlementChunk.objects.filter(run_id=run.pk).count() == PLEDGES // CHUNK
    # when four threads of one settler and a second worker work on it at the same time
    start = threading.Barrier(2)
    workers = run_all(
        [
            Worker(
                lambda: settlement.settlement_start(campaign_id=a.pk, workers=4),
                name="pool",
                barrier=start,
                guard_seconds=JOIN_SECONDS,
            ),
            Worker(
                lambda: engine.drive(settlement.SETTLEMENT, run.pk),
                name="joiner",
                barrier=start,
                guard_seconds=JOIN_SECONDS,
            ),
        ]
    )
    # then both end with the finished settlement
    assert [w.error for w in workers] == [None, None], [w.outcome for w in workers]
    assert {w.result.pk for w in workers} == {run.pk}
    run = SettlementRun.objects.get(pk=run.pk)
    assert (run.status, run.outcome, run.chunks_done) == ("done", "completed", PLEDGES // CHUNK)
    # and every pledge of A was settled exactly once, none of B's
    settled = PledgeStatus.RELEASED if outcome == CampaignStatus.SUCCEEDED else "refunded"
    assert Pledge.objects.filter(campaign=a, status=settled).count() == PLEDGES
    assert set(Pledge.objects.filter(campaign=b).values_list("status", flat=True)) == {"held"}
    debits = EuroPosting.objects.filter(pledge_id__isnull=False, amount__lt=0, entry__run=run)
    assert debits.count() == debits.values("pledge_id").distinct().count() == PLEDGES
    # and the run's totals are what its chunks booked, and what the ledger holds
    chunks = SettlementChunk.objects.filter(run_id=run.pk)
    assert chunks.filter(done_at__isnull=True).count() == 0
    sums = chunks.aggregate(p=Sum("pledges"), a=Sum("amount"), c=Sum("commission"))
    assert (run.pledges_done, run.amount_done, run.commission_done) == (
        sums["p"],
        sums["a"],
        sums["c"],
    )
    total = sum(amounts)
    assert run.amount_done == total
    if outcome == CampaignStatus.SUCCEEDED:
        commission = sum(commission_of(x, Decimal("0.05")) for x in amounts)
        assert run.commission_done == commission
        assert account_balance(AccountKind.PROJECT, project_id=a.project_id) == total - commission
    else:
        assert run.refunded_done == total
        assert sum(euro_balance(m) for m in members) == 12 * FUNDS - 200 * 7
