"""Campaign settlement on the batch engine: release with commission, refunds, chunks by key
range over held pledges, resumable and idempotent, totals equal to what was booked, side
effects after commit. (The chunk plan, ``as_of`` and the command: ``test_settlement_plan.py``;
concurrency and a killed process: ``test_settlement_races.py``, ``test_kill_resume.py``.)"""

from __future__ import annotations

import logging
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from saka.core.clock import now
from saka.core.errors import ValidationError
from saka.euro import selectors, settlement, signals
from saka.euro.conf import MAX_PLEDGE_CENTS
from saka.euro.errors import CampaignNotClosed, CampaignNotFound
from saka.euro.models import (
    AccountKind,
    CampaignStatus,
    EntryKind,
    EuroEntry,
    Pledge,
    PledgeStatus,
    SettlementChunk,
    SettlementRun,
    SettlementStatus,
)
from saka.euro.services.escrow import pledges_exit
from saka.euro.services.pledges import pledge_cancel, pledge_create, pledge_refund
from saka.euro.splits import commission_of
from tests.support.euro import (
    account_balance,
    close,
    deposit,
    euro_balance,
    open_campaign,
    snapshot,
)

pytestmark = pytest.mark.django_db

AMOUNTS = [1, 19, 20, 29, 99, 100, 1_234, 5_555, 9_999, 10_000, 12_345, 77_777]


@pytest.fixture
def pledged(make_user: Any, project: Any) -> Any:
    """An open campaign with one pledge per amount in AMOUNTS, by three members."""
    members = [make_user() for _ in range(3)]
    for m in members:
        deposit(m, 200_000)
    campaign = open_campaign(project)
    ids = [
        pledge_create(member_id=members[i % 3].pk, project_id=project.pk, amount=a).pledge_id
        for i, a in enumerate(AMOUNTS)
    ]
    return campaign, members, ids


def settle(campaign: Any, **kwargs: Any) -> SettlementRun:
    return settlement.settlement_start(campaign_id=campaign.pk, **kwargs)


def test_release_books_commission_and_net_per_pledge(pledged: Any, project: Any) -> None:
    # given a succeeded campaign with 12 held pledges
    campaign, _, ids = pledged
    close(campaign, CampaignStatus.SUCCEEDED)
    # when it is settled in chunks of 5
    run = settle(campaign, chunk_size=5)
    # then every pledge is released with commission floor(amount x 5 %)
    expected_commission = sum(commission_of(a, Decimal("0.05")) for a in AMOUNTS)
    total = sum(AMOUNTS)
    assert (run.status, run.kind, run.outcome) == ("done", "release", "completed")
    assert (run.pledges_total, run.pledges_done, run.pledges_skipped) == (12, 12, 0)
    assert run.chunks_done == 3
    assert run.amount_done == total
    assert run.commission_done == expected_commission
    assert run.net_done == total - expected_commission
    assert run.refunded_done == 0
    # the ledger holds exactly what the run reports
    assert account_balance(AccountKind.PROJECT, project=project) == run.net_done
    assert account_balance(AccountKind.COMMISSION) == run.commission_done
    assert account_balance(AccountKind.ESCROW) == 0
    rows = Pledge.objects.filter(pk__in=ids)
    assert set(rows.values_list("status", flat=True)) == {PledgeStatus.RELEASED}
    for row in rows:
        assert row.commission_cents == commission_of(row.amount_cents, Decimal("0.05"))
        assert row.commission_cents + row.net_cents == row.amount_cents
        assert row.settlement_run_id == run.pk
    assert EuroEntry.objects.filter(kind=EntryKind.RELEASE, run=run).count() == 3
    # the summary shows money as strings with two places
    summary = selectors.settlement_summary(run)
    assert summary["amount"] == f"{total // 100}.{total % 100:02d}"
    assert summary["commission"] == f"{expected_commission // 100}.{expected_commission % 100:02d}"


@pytest.mark.parametrize("outcome", [CampaignStatus.FAILED, CampaignStatus.CANCELLED])
def test_failed_or_cancelled_campaigns_refund_every_pledge(pledged: Any, outcome: str) -> None:
    campaign, members, _ = pledged
    close(campaign, outcome)
    run = settle(campaign, chunk_size=4)
    assert (run.kind, run.pledges_done, run.refunded_done) == ("refund", 12, sum(AMOUNTS))
    assert (run.commission_done, run.net_done) == (0, 0)
    assert [euro_balance(m) for m in members] == [200_000] * 3
    assert set(Pledge.objects.values_list("status", flat=True)) == {PledgeStatus.REFUNDED}
    assert account_balance(AccountKind.COMMISSION) == 0


def test_an_open_campaign_cannot_be_settled(pledged: Any) -> None:
    campaign, _, _ = pledged
    before = snapshot()
    with pytest.raises(CampaignNotClosed):
        settle(campaign)
    with pytest.raises(CampaignNotFound):
        settlement.settlement_start(campaign_id=10**9)
    assert snapshot() == before


@pytest.mark.parametrize(
    "kwargs",
    [
        *({"chunk_size": size} for size in [0, -1, 10_001, 2.5, True, "10"]),
        *({"workers": n} for n in [0, 33, True, "2"]),
        {"trigger": "cron"},
    ],
)
def test_arguments_are_checked(pledged: Any, kwargs: dict[str, Any]) -> None:
    campaign, _, _ = pledged
    close(campaign)
    with pytest.raises(ValidationError):
        settle(campaign, **kwargs)
    assert not SettlementRun.objects.exists()


def test_settling_again_returns_the_finished_run_and_books_nothing(pledged: Any) -> None:
    campaign, _, _ = pledged
    close(campaign)
    first = settle(campaign, chunk_size=5)
    after = snapshot()
    again = settle(campaign, chunk_size=2)
    assert again.pk == first.pk
    assert again.chunks_done == first.chunks_done
    assert snapshot() == after


def test_a_campaign_without_pledges_settles_to_nothing(project: Any) -> None:
    campaign = open_campaign(project)
    close(campaign, CampaignStatus.SUCCEEDED)
    run = settle(campaign)
    assert (run.status, run.outcome, run.pledges_done, run.amount_done) == (
        "done",
        "nothing_to_settle",
        0,
        0,
    )


def test_only_held_pledges_are_settled(pledged: Any, project: Any) -> None:
    # given pledges cancelled (by their members) and refunded (by staff) before the close
    campaign, members, ids = pledged
    pledge_cancel(member_id=members[0].pk, pledge_id=ids[0])
    pledge_cancel(member_id=members[1].pk, pledge_id=ids[4])
    pledge_refund(pledge_id=ids[8])
    close(campaign, CampaignStatus.SUCCEEDED)
    # when the campaign is settled
    run = settle(campaign, chunk_size=3)
    # then the other nine are released, the three stay as they were
    statuses = dict(Pledge.objects.values_list("id", "status"))
    assert [statuses[i] for i in (ids[0], ids[4], ids[8])] == ["cancelled", "cancelled", "refunded"]
    assert run.pledges_done == 9
    assert run.amount_done == sum(AMOUNTS) - AMOUNTS[0] - AMOUNTS[4] - AMOUNTS[8]
    assert account_balance(AccountKind.PROJECT, project=project) == run.net_done


def test_a_pledge_settled_by_another_operation_in_the_meantime_is_skipped(
    pledged: Any, monkeypatch: Any
) -> None:
    # given a succeeded campaign, and a staff refund of pledge #6 that lands between the
    # batch's read of held ids and its row lock
    campaign, _, ids = pledged
    close(campaign, CampaignStatus.SUCCEEDED)
    real_lock = settlement.pledges_lock
    raced = ids[5]

    def lock_after_a_refund(*, pledge_ids: list[int]) -> list[Pledge]:
        if raced in pledge_ids and Pledge.objects.get(pk=raced).status == PledgeStatus.HELD:
            pledges_exit(
                pledges=real_lock(pledge_ids=[raced]),
                outcome=PledgeStatus.REFUNDED,
                at=now(),
            )
        return real_lock(pledge_ids=pledge_ids)

    monkeypatch.setattr(settlement, "pledges_lock", lock_after_a_refund)
    # when the campaign is settled
    run = settle(campaign, chunk_size=5)
    # then the refunded pledge is skipped (counted), never released
    assert Pledge.objects.get(pk=raced).status == PledgeStatus.REFUNDED
    assert (run.pledges_done, run.pledges_skipped) == (11, 1)
    assert run.amount_done == sum(AMOUNTS) - AMOUNTS[5]


def test_an_interrupted_settlement_resumes_where_it_stopped(
    pledged: Any, project: Any, monkeypatch: Any, settings: Any
) -> None:
    # given a settlement that fails in its third chunk
    campaign, _, ids = pledged
    close(campaign, CampaignStatus.SUCCEEDED)
    real_exit = settlement.pledges_exit
    calls = {"n": 0}

    def failing_exit(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("power cut")
        return real_exit(**kwargs)

    monkeypatch.setattr(settlement, "pledges_exit", failing_exit)
    with pytest.raises(RuntimeError):
        settle(campaign, chunk_size=4)
    # then the run is interrupted after two committed chunks, nothing of the third booked
    run = SettlementRun.objects.get(campaign=campaign)
    assert (run.status, run.chunks_done, run.pledges_done) == (SettlementStatus.INTERRUPTED, 2, 8)
    chunks = SettlementChunk.objects.filter(run_id=run.pk).order_by("lo")
    assert [(c.hi, c.done_at is not None, c.pledges) for c in chunks] == [
        (ids[3], True, 4),
        (ids[7], True, 4),
        (ids[11], False, 0),
    ]
    assert chunks[2].lease_until is None  # given up at the failure: the next worker need not wait
    assert "power cut" in run.error
    assert Pledge.objects.filter(status=PledgeStatus.RELEASED).count() == 8
    # when it runs again (even with another commission rate configured meanwhile)
    monkeypatch.setattr(settlement, "pledges_exit", real_exit)
    settings.SAKA_PLATFORM_COMMISSION_RATE = "0.50"
    run = settle(campaign, chunk_size=100)
    # then it finishes the rest with the rate it started with, each pledge released once
    assert (run.status, run.attempts, run.pledges_done, run.chunks_done) == ("done", 2, 12, 3)
    assert run.commission_rate == "0.05"
    assert run.commission_done == sum(commission_of(a, Decimal("0.05")) for a in AMOUNTS)
    assert account_balance(AccountKind.PROJECT, project=project) == run.net_done
    assert Pledge.objects.filter(status=PledgeStatus.RELEASED).count() == 12


def test_notifications_go_out_after_each_commit(
    pledged: Any, django_capture_on_commit_callbacks: Any
) -> None:
    campaign, _, ids = pledged
    close(campaign, CampaignStatus.FAILED)
    heard: list[tuple[str, Any]] = []

    def on_settled(**kwargs: Any) -> None:
        heard.append(("settled", sorted(kwargs["pledge_ids"])))

    def on_finished(**kwargs: Any) -> None:
        heard.append(("finished", kwargs["outcome"]))

    signals.pledges_settled.connect(on_settled)
    signals.settlement_finished.connect(on_finished)
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            settle(campaign, chunk_size=5)
    finally:
        signals.pledges_settled.disconnect(on_settled)
        signals.settlement_finished.disconnect(on_finished)
    assert len(callbacks) == 5  # 3 chunks, then the rollup and the "finished" notification
    assert heard == [
        ("settled", sorted(ids[:5])),
        ("settled", sorted(ids[5:10])),
        ("settled", sorted(ids[10:])),
        ("finished", "completed"),
    ]


def test_settlement_queries_do_not_grow_with_the_chunk(make_user: Any) -> None:
    # given three succeeded campaigns of 6, 60 and 60 held pledges
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from saka.projects.services import project_create
    from tests.support.euro import seed_pledges

    members = [make_user() for _ in range(6)]
    for m in members:
        deposit(m, 100_000, tip=1)  # the tip creates the platform's account beforehand
    campaigns = []
    for n, size in enumerate((6, 60, 60)):
        project = project_create(owner_id=members[0].pk, title=f"{size} pledges #{n}")
        campaign = open_campaign(project)
        seed_pledges(campaign, members, [100 + i for i in range(size)])
        campaigns.append(close(campaign, CampaignStatus.SUCCEEDED))
    # when the first two are settled in one chunk each, the third in two chunks
    counts = []
    for campaign, chunk in zip(campaigns, (60, 60, 30), strict=True):
        with CaptureQueriesContext(connection) as queries:
            run = settle(campaign, chunk_size=chunk)
        counts.append(len(queries))
        assert run.chunks_done == 60 // chunk
    # then a chunk takes the same number of queries whatever its size, a small number, and
    # the run around it (open with the project's name frozen for the statements, plan, join,
    # advance, finish) a fixed few more
    per_chunk = counts[2] - counts[1]
    assert counts[0] == counts[1], counts
    assert per_chunk <= 20, counts
    assert counts[1] - per_chunk <= 36, counts


@pytest.mark.parametrize("rate", ["0.999999", "0.000001", "0.05"])
def test_the_commission_s_sql_is_exact_at_the_largest_pledge(
    make_user: Any, project: Any, settings: Any, rate: str
) -> None:
    # given the largest pledges a member can make (100,000.00 EUR, and one cent under it)
    settings.SAKA_PLATFORM_COMMISSION_RATE = rate
    member = make_user()
    deposit(member, 2 * MAX_PLEDGE_CENTS)
    campaign = open_campaign(project)
    for amount in (MAX_PLEDGE_CENTS, MAX_PLEDGE_CENTS - 1):
        pledge_create(member_id=member.pk, project_id=project.pk, amount=amount)
    close(campaign)
    # when the campaign is settled (the commission is computed in SQL, integer arithmetic)
    run = settle(campaign)
    # then each pledge's commission is floor(amount x rate), exactly, as in Python
    for row in Pledge.objects.filter(campaign=campaign):
        assert row.commission_cents == commission_of(row.amount_cents, Decimal(rate))
        assert row.commission_cents == int(Fraction(row.amount_cents) * Fraction(rate))
    assert run.commission_done == sum(
        commission_of(a, Decimal(rate)) for a in (MAX_PLEDGE_CENTS, MAX_PLEDGE_CENTS - 1)
    )


def test_a_settlement_logs_each_chunk_once_and_its_end_once(
    pledged: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # given a succeeded campaign with 12 held pledges
    campaign, _, _ = pledged
    close(campaign, CampaignStatus.SUCCEEDED)
    caplog.set_level(logging.INFO, logger="saka")
    # when it is settled in chunks of 5
    run = settle(campaign, chunk_size=5)

    # then each chunk logged one line (the engine's), with what it booked
    def of_run(event: str) -> list[Any]:
        return [r for r in caplog.records if getattr(r, "event", None) == event]

    chunks = of_run("run.chunk")
    planned = SettlementChunk.objects.filter(run_id=run.pk).values_list("lo", "hi")
    assert sorted((r.lo, r.hi) for r in chunks) == sorted(planned)
    assert {(r.run, r.run_id, r.campaign_id) for r in chunks} == {
        ("settlement", run.pk, campaign.pk)
    }
    assert sum(r.counts["pledges"] for r in chunks) == 12
    assert sum(r.counts["commission"] for r in chunks) == run.commission_done
    # and the run one line at its end, with its totals
    (done,) = of_run("run.done")
    assert done.counts == {
        "pledges": 12,
        "skipped": 0,
        "amount": run.amount_done,
        "commission": run.commission_done,
        "net": run.net_done,
        "refunded": 0,
    }
    assert (done.kind, done.outcome, done.duration_ms) == ("release", "completed", run.duration_ms)
