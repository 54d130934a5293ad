"""Three Celery worker processes share one settlement of 20,000 held pledges sent as the
``settlement_run`` task; one is SIGKILLed while it holds a chunk lease; every pledge is
released (or refunded) exactly once and the run books exactly what an uninterrupted one
would (spec 4, 6, 8).

The pledges (1,000 members, 20 pledges each to campaign A, interleaved in id order with 2,000
pledges to campaign B that stay held) are seeded with set-based SQL, booked as the services
book them: a deposit (with its webhook event) per member, one pledge entry per member and
campaign moving the money from the wallet into each pledge's escrow -- ``reconcile`` is clean
before the settlement.

The kill lands as in the compost test: the test holds one pledge of each of three middle
chunks (``FOR UPDATE``), so each worker in turn claims one of them and waits inside its
chunk's transaction; the workers claim in key order, one chunk at a time, so every chunk
before those three is done by then."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Count, Sum

from saka.core.clock import now
from saka.euro.accounts import accounts_ensure, system_account_id
from saka.euro.conf import get_settings
from saka.euro.models import (
    AccountKind,
    Campaign,
    CampaignStatus,
    EuroPosting,
    Pledge,
    PledgeStatus,
    SettlementChunk,
    SettlementRun,
    SettlementStatus,
    SettlementStep,
)
from saka.euro.settlement import chunk_bounds
from saka.euro.splits import commission_of
from saka.jobs.schedule import SETTLEMENT_TASK
from saka.ledger.reconcile import reconcile
from saka.projects.services import project_create
from tests.support.celery_workers import (
    HeldRows,
    done_by,
    live_leases,
    send,
    wait_for,
    wait_for_row,
    wait_until,
)
from tests.support.euro import account_balance, close, open_campaign

MEMBERS = 1_000
PLEDGES = 20_000  # campaign A's: 40 chunks of 500
OTHER_EVERY = 11  # every 11th seeded pledge is campaign B's (2,000 of 22,000)
SEEDED = PLEDGES * OTHER_EVERY // (OTHER_EVERY - 1)
FUNDS = 1_000_000  # cents deposited by each member (at most 22 pledges of 99.99)
CHUNK = 500
HELD = (18, 19, 20)  # one held pledge in each: chunks 0..17 are done before the kill

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


# --- the seeded book ----------------------------------------------------------------------------

_MEMBERS = """
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                       is_staff, is_active, date_joined)
SELECT '!', false, 'settle-' || k, '', '', '', false, true, %(at)s
FROM generate_series(1, %(members)s) AS k;

INSERT INTO euro_account (kind, member_id, project_id, balance, created_at)
SELECT 'wallet', u.id, NULL, 0, %(at)s
FROM generate_series(1, %(members)s) AS k JOIN auth_user u ON u.username = 'settle-' || k
ORDER BY k
"""

# one fee-free deposit per member, booked as the webhook books it: the provider debited, the
# wallet credited, the event stored with its entry
_DEPOSITS = """
WITH d AS (
    INSERT INTO euro_entry (created_at, kind, amount, member_id, project_id, campaign_id,
                            run_id, reference)
    SELECT %(at)s, 'deposit', %(funds)s, w.member_id, NULL, NULL, NULL, 'pi_seed_' || w.id
    FROM euro_account w WHERE w.kind = 'wallet' ORDER BY w.id
    RETURNING id, member_id, amount, reference
), postings AS (
    INSERT INTO euro_posting (entry_id, account_id, amount)
    SELECT d.id, w.id, d.amount
    FROM d JOIN euro_account w ON w.kind = 'wallet' AND w.member_id = d.member_id
    UNION ALL
    SELECT d.id, %(provider)s, -d.amount FROM d
)
INSERT INTO euro_webhook_event (event_id, type, payload_hash, status, payment_id, member_id,
                                amount_cents, entry_id, result, received_at)
SELECT 'evt_seed_' || d.id, 'payment_intent.succeeded', md5(d.reference) || md5(d.reference),
       'booked', d.reference, d.member_id, d.amount, d.id, '{}'::jsonb, %(at)s
FROM d
"""

# pledge i (1..SEEDED) by member ((i - 1) mod MEMBERS) + 1, of 100 + (i * 7919 mod 9900)
# cents, to B when i is a multiple of OTHER_EVERY, else to A; each with its own escrow holding
# its amount
_PLEDGES = """
WITH src AS MATERIALIZED (
    SELECT s.i, nextval(pg_get_serial_sequence('euro_account', 'id')) AS escrow_id,
           w.member_id, w.id AS wallet_id,
           CASE WHEN s.i %% %(other_every)s = 0 THEN %(other)s ELSE %(campaign)s END
               AS campaign_id,
           100 + (s.i * 7919) %% 9900 AS amount
    FROM generate_series(1, %(pledges)s) AS s(i)
    JOIN auth_user u ON u.username = 'settle-' || ((s.i - 1) %% %(members)s + 1)
    JOIN euro_account w ON w.kind = 'wallet' AND w.member_id = u.id
), escrows AS (
    INSERT INTO euro_account (id, kind, member_id, project_id, balance, created_at)
    SELECT escrow_id, 'escrow', member_id, NULL, amount, %(at)s FROM src
)
INSERT INTO euro_pledge (member_id, campaign_id, project_id, kind, amount_cents, status,
                         escrow_id, wallet_id, created_at, settled_at, settlement_run_id,
                         commission_cents, net_cents)
SELECT src.member_id, src.campaign_id, c.project_id, 'donation', src.amount, 'held',
       src.escrow_id, src.wallet_id, %(at)s, NULL, NULL, 0, 0
FROM src JOIN euro_campaign c ON c.id = src.campaign_id
ORDER BY src.i
"""

# one pledge entry per member and campaign, as ``seed_pledges`` books them: the wallet
# debited the total, each escrow credited its pledge; then the wallets' cached balances
_PLEDGE_ENTRIES = """
WITH per AS MATERIALIZED (
    SELECT member_id, campaign_id, project_id, wallet_id, SUM(amount_cents) AS total
    FROM euro_pledge GROUP BY member_id, campaign_id, project_id, wallet_id
), e AS (
    INSERT INTO euro_entry (created_at, kind, amount, member_id, project_id, campaign_id,
                            run_id, reference)
    SELECT %(at)s, 'pledge', total, member_id, project_id, campaign_id, NULL, 'pledges:seed'
    FROM per ORDER BY member_id, campaign_id
    RETURNING id, member_id, campaign_id, amount
)
INSERT INTO euro_posting (entry_id, account_id, amount)
SELECT e.id, per.wallet_id, -e.amount FROM e JOIN per USING (member_id, campaign_id)
UNION ALL
SELECT e.id, p.escrow_id, p.amount_cents
FROM e JOIN euro_pledge p USING (member_id, campaign_id);

UPDATE euro_account w SET balance = t.total
FROM (SELECT account_id, SUM(amount) AS total FROM euro_posting GROUP BY account_id) t
WHERE w.id = t.account_id AND w.kind = 'wallet'
"""


def seed_pledges(a: Campaign, b: Campaign) -> None:
    """The members, their deposits and their held pledges to ``a`` and ``b`` (both open)."""
    accounts_ensure(project_id=a.project_id)
    params = {
        "at": now(),
        "members": MEMBERS,
        "funds": FUNDS,
        "provider": system_account_id(AccountKind.PROVIDER),
        "pledges": SEEDED,
        "other_every": OTHER_EVERY,
        "campaign": a.pk,
        "other": b.pk,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        for script in (_MEMBERS, _DEPOSITS, _PLEDGES, _PLEDGE_ENTRIES):
            for statement in script.split(";\n"):
                cursor.execute(statement, params)
        for table in ("auth_user", "euro_account", "euro_entry", "euro_posting", "euro_pledge"):
            cursor.execute(f"ANALYZE {table}")


# --- what an uninterrupted settlement books -----------------------------------------------------


@dataclass(frozen=True)
class Figures:
    pledges: int
    amount: int
    commission: int
    net: int
    refunded: int


def expected_figures(campaign: Campaign, rate: Decimal) -> Figures:
    """What settling the campaign's held pledges books: ``floor(amount x rate)`` per pledge
    to the platform on a release, every cent back to the members on a refund."""
    amounts = list(
        Pledge.objects.filter(campaign=campaign, status=PledgeStatus.HELD).values_list(
            "amount_cents", flat=True
        )
    )
    amount = sum(amounts)
    if campaign.status != CampaignStatus.SUCCEEDED:
        return Figures(len(amounts), amount, 0, 0, amount)
    commission = sum(commission_of(x, rate) for x in amounts)
    return Figures(len(amounts), amount, commission, amount - commission, 0)


def booked_figures(run: SettlementRun) -> Figures:
    return Figures(
        run.pledges_done, run.amount_done, run.commission_done, run.net_done, run.refunded_done
    )


def held_pledges(campaign: Campaign, chunks: list[tuple[int, int]]) -> dict[int, int]:
    """``{chunk number: pledge id}``: a held pledge of the campaign from the middle of each of
    the ``HELD`` chunks ``(lo, hi]``."""
    held = {}
    for k in HELD:
        lo, hi = chunks[k]
        ids = list(
            Pledge.objects.filter(campaign=campaign, id__gt=lo, id__lte=hi)
            .order_by("id")
            .values_list("id", flat=True)
        )
        held[k] = ids[len(ids) // 2]
    return held


# --- the test -----------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", [CampaignStatus.SUCCEEDED, CampaignStatus.FAILED])
def test_three_workers_share_a_settlement_and_survive_one_killed(
    workers: Any, make_user: Any, outcome: str
) -> None:
    # given 20,000 held pledges to campaign A (and 2,000 to B), A closed, the books clean
    owner = make_user()
    a = open_campaign(project_create(owner_id=owner.pk, title="A"))
    b = open_campaign(project_create(owner_id=owner.pk, title="B"))
    seed_pledges(a, b)
    a = close(a, outcome)
    assert reconcile().ok
    # and what an uninterrupted settlement books, and its 40 chunks (planned once it opens)
    rate = get_settings().commission_rate
    expected = expected_figures(a, rate)
    assert expected.pledges == PLEDGES
    bounds = chunk_bounds(campaign_id=a.pk, size=CHUNK)
    chunks = list(zip([0, *bounds], bounds, strict=False))
    assert len(chunks) == PLEDGES // CHUNK
    held = held_pledges(a, chunks)
    pool = workers(3)
    with HeldRows("euro_pledge", held.values()) as rows:
        # when the settlement task reaches the workers
        send(SETTLEMENT_TASK, campaign_id=a.pk, chunk_size=CHUNK)
        # then each of the three waits in one of the held chunks, holding its lease
        wait_until(lambda: len(rows.waiters()) == 3, what="three blocked workers", workers=pool)
        run = wait_for_row(SettlementRun.objects.filter(campaign=a), workers=pool)
        planned = SettlementChunk.objects.filter(run_id=run.pk).order_by("lo")
        assert list(planned.values_list("lo", "hi")) == chunks
        leases = live_leases(SettlementChunk, run.pk, SettlementStep.SETTLE)
        assert len({leases[chunks[k][0]] for k in HELD}) == 3
        assert (
            SettlementChunk.objects.filter(run_id=run.pk, done_at__isnull=False).count()
            == (HELD[0])
        )
        # when the worker holding the middle one is SIGKILLed (then the rows are let go)
        victim = pool.by_lease(leases[chunks[HELD[1]][0]])
        pool.kill(victim)
    # then the run finishes with exactly the figures of an uninterrupted settlement
    run = wait_for(SettlementRun, run.pk, [SettlementStatus.DONE], workers=pool)
    assert (run.outcome, run.commission_rate, run.pledges_total) == (
        "completed",
        str(rate),
        PLEDGES,
    )
    assert booked_figures(run) == expected
    assert run.pledges_skipped == 0
    # and every pledge of A was settled once, by this run; none of B's
    settled = PledgeStatus.RELEASED if outcome == CampaignStatus.SUCCEEDED else "refunded"
    statuses = Pledge.objects.values("campaign_id", "status").annotate(n=Count("id"))
    assert {(s["campaign_id"], s["status"]): s["n"] for s in statuses} == {
        (a.pk, settled): PLEDGES,
        (b.pk, PledgeStatus.HELD): SEEDED - PLEDGES,
    }
    assert Pledge.objects.filter(campaign=a, settlement_run=run).count() == PLEDGES
    # and each pledge's escrow was debited exactly once (its credit, then one debit, empty)
    debits = EuroPosting.objects.filter(pledge_id__isnull=False, amount__lt=0)
    assert debits.count() == debits.filter(entry__run=run).count() == PLEDGES
    assert debits.values("pledge_id").distinct().count() == PLEDGES
    escrows = Pledge.objects.filter(campaign=a).values("escrow_id")
    per_escrow = (
        EuroPosting.objects.filter(account_id__in=escrows)
        .values("account_id")
        .annotate(n=Count("id"), total=Sum("amount"))
    )
    assert Counter((e["n"], e["total"]) for e in per_escrow) == {(2, 0): PLEDGES}
    # and the ledger holds the run's totals
    assert account_balance(AccountKind.PROJECT, project_id=a.project_id) == expected.net
    assert account_balance(AccountKind.COMMISSION) == expected.commission
    b_held = Pledge.objects.filter(campaign=b).aggregate(s=Sum("amount_cents"))["s"]
    pledged = expected.amount - expected.refunded + b_held
    assert account_balance(AccountKind.WALLET) == MEMBERS * FUNDS - pledged
    # and the chunks were done by at least two distinct worker processes, the killed worker's
    # by another one, after its lease was taken over
    assert SettlementChunk.objects.filter(run_id=run.pk, done_at__isnull=True).count() == 0
    assert len(done_by(SettlementChunk, run.pk)) >= 2
    chunk = SettlementChunk.objects.get(
        run_id=run.pk, step=SettlementStep.SETTLE, lo=chunks[HELD[1]][0]
    )
    assert chunk.worker != victim.lease_name
    assert chunk.claims >= 2
    # and the books reconcile
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]
