"""Upgrading with a settlement interrupted by the previous release (``euro`` migration 0003): it
is planned as chunks after its cursor, marked interrupted (so it shows as stalled), and the
engine finishes it -- every pledge settled exactly once, its totals what was booked.

The previous release's state is made for real: the settlement is interrupted with today's code,
the ``euro`` schema migrated back to 0002 (the cursor and batch columns return), the run set as
a settlement killed while running would have left it, then migrated forward again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from saka.engine import lifecycle as engine
from saka.euro import settlement
from saka.euro.models import (
    CampaignStatus,
    EuroPosting,
    Pledge,
    PledgeStatus,
    SettlementChunk,
    SettlementRun,
)
from saka.euro.services.pledges import pledge_refund
from tests.support.euro import close, deposit, open_campaign, seed_pledges

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("euro", "0002_storage")]
AFTER = [("euro", "0008_statement")]  # the latest: the code under test needs it


@pytest.fixture
def executor() -> Iterator[MigrationExecutor]:
    yield MigrationExecutor(connection)
    latest = MigrationExecutor(connection)
    latest.migrate(latest.loader.graph.leaf_nodes())  # whatever happened: the schema of today


def test_a_settlement_interrupted_before_the_upgrade_resumes_after_its_cursor(
    make_user: Any, project: Any, executor: MigrationExecutor
) -> None:
    # given a succeeded campaign of 12 held pledges, settled in chunks of 3 up to pledge #6
    members = [make_user() for _ in range(2)]
    for m in members:
        deposit(m, 100_000)
    campaign = open_campaign(project)
    ids = seed_pledges(campaign, members, [100 + i for i in range(12)])
    close(campaign, CampaignStatus.SUCCEEDED)
    real_exit = settlement.pledges_exit
    calls = {"n": 0}

    def failing_exit(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed")
        return real_exit(**kwargs)

    settlement.pledges_exit = failing_exit  # type: ignore[assignment]
    try:
        with pytest.raises(RuntimeError):
            settlement.settlement_start(campaign_id=campaign.pk, chunk_size=3, workers=1)
    finally:
        settlement.pledges_exit = real_exit
    run_id = SettlementRun.objects.get(campaign=campaign).pk
    # and, as the previous release left it: pledge #10 refunded by staff meanwhile (booked by
    # today's code, which needs today's schema), its cursor after pledge #6, killed while running
    pledge_refund(pledge_id=ids[9])
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("euro", "SettlementRun")
    old.objects.filter(pk=run_id).update(cursor=ids[5], status="running", batches_done=2)

    # when the upgrade migrates
    upgrade = MigrationExecutor(connection)
    upgrade.migrate(AFTER)

    # then its remaining held pledges are planned as chunks of 3 after its cursor, and it is
    # interrupted: stalled, for the resume task, the API or a command to finish
    run = SettlementRun.objects.get(pk=run_id)
    assert (run.status, run.chunk_size, run.chunks_done, run.pledges_done) == (
        "interrupted",
        3,
        2,
        6,
    )
    assert run.as_of == run.created_at
    chunks = SettlementChunk.objects.filter(run_id=run_id).order_by("lo")
    assert list(chunks.values_list("lo", "hi", "done_at")) == [
        (ids[5], ids[8], None),
        (ids[8], ids[11], None),
    ]
    assert engine.is_stalled(settlement.SETTLEMENT, run)

    # when it is settled again
    done = settlement.settlement_start(campaign_id=campaign.pk)

    # then it finished where it stopped: every held pledge released exactly once
    assert (done.pk, done.status, done.attempts, done.chunks_done) == (run_id, "done", 2, 4)
    assert (done.pledges_done, done.pledges_skipped) == (11, 0)
    released = Pledge.objects.filter(status=PledgeStatus.RELEASED)
    assert sorted(released.values_list("id", flat=True)) == sorted(ids[:9] + ids[10:])
    assert Pledge.objects.get(pk=ids[9]).status == PledgeStatus.REFUNDED
    assert done.amount_done == sum(100 + i for i in range(12)) - 109
    debits = EuroPosting.objects.filter(pledge_id__isnull=False, amount__lt=0)
    assert debits.count() == debits.values("pledge_id").distinct().count() == 12
    # (reconcile runs after the test: the run's totals against its postings)
