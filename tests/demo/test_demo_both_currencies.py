"""The demo books both currencies through the real code paths: EUR deposits by signed webhook,
pockets, pledges in every status, a settled and a refunded campaign; SAKA weeks of composts and
a redistribution that pays; the books reconcile and a second run changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Sum

from saka.core.clock import now
from saka.euro import selectors as euro_selectors
from saka.euro.models import (
    AccountKind,
    Campaign,
    CampaignStatus,
    EuroAccount,
    MemberProfile,
    Pledge,
    PledgeStatus,
    Pocket,
    SettlementKind,
    SettlementRun,
    WebhookEvent,
)
from saka.grains.models import Run, RunKind, SakaAccount, SakaEntry, SakaPosting, Season
from saka.grains.runs.periods import period_of
from saka.grains.seasons.selectors import season_stats
from saka.grains.statements import postings_explained
from saka.ledger.reconcile import reconcile
from saka.polls.models import Poll, PollMethod, Vote
from saka.polls.selectors import poll_results
from tests.support.euro import snapshot

pytestmark = pytest.mark.django_db

MEMBERS = 60


def _other_books() -> dict[str, Any]:
    """What else a run of the demo could change: the SAKA book and runs, campaigns, KYC."""
    return {
        "entries": SakaEntry.objects.count(),
        "balances": dict(SakaAccount.objects.exclude(balance=0).values_list("id", "balance")),
        "runs": list(Run.objects.order_by("id").values_list("kind", "period", "status")),
        "campaigns": list(Campaign.objects.order_by("id").values_list("id", "status")),
        "profiles": list(MemberProfile.objects.order_by("id").values_list("id", "updated_at")),
        "votes": list(Vote.objects.order_by("id").values_list("id", "spent", "updated_at")),
    }


def test_the_demo_books_both_currencies_and_a_second_run_changes_nothing(settings: Any) -> None:
    # given no webhook secret configured (CI's demo step): the demo signs with its own
    settings.SAKA_PAYMENT_WEBHOOK_SECRET = ""
    # when the demo is built
    call_command("saka_demo", members=MEMBERS, verbosity=0)

    # then members hold euros, in their main balance and in pockets, from signed deposits
    wallets = EuroAccount.objects.filter(kind=AccountKind.WALLET)
    assert wallets.filter(balance__gt=0).count() > MEMBERS // 2
    assert Pocket.objects.filter(account__balance__gt=0).exists()
    assert MemberProfile.objects.filter(kyc_verified=True).exists()
    assert WebhookEvent.objects.filter(event_id__startswith="evt_demo_", status="booked").exists()
    # and pledges exist in every status
    statuses = set(Pledge.objects.values_list("status", flat=True))
    assert statuses == set(PledgeStatus.values)
    # and a succeeded campaign is settled (released minus commission), a failed one refunded
    succeeded = Campaign.objects.get(status=CampaignStatus.SUCCEEDED)
    failed = Campaign.objects.get(status=CampaignStatus.FAILED)
    release = SettlementRun.objects.get(campaign=succeeded)
    refund = SettlementRun.objects.get(campaign=failed)
    assert (release.kind, release.status, refund.kind, refund.status) == (
        SettlementKind.RELEASE,
        "done",
        SettlementKind.REFUND,
        "done",
    )
    assert release.pledges_done > 0
    assert release.commission_done > 0
    assert not Pledge.objects.filter(campaign__in=[succeeded, failed], status="held").exists()
    assert euro_selectors.project_account_balance(project_id=succeeded.project_id) > 0
    assert euro_selectors.platform_balance() > 0
    # and members can pledge to open campaigns
    assert Campaign.objects.filter(status=CampaignStatus.OPEN, deadline__gt=now()).count() >= 1

    # and SAKA has weeks of composts and a redistribution of last month that paid members
    composts = Run.objects.filter(kind=RunKind.COMPOST, dry_run=False, status="done")
    assert composts.count() >= 4
    assert composts.filter(wallets_done__gt=0).exists()
    (paid,) = Run.objects.filter(kind=RunKind.REDISTRIBUTION, dry_run=False)
    assert (paid.status, paid.outcome) == ("done", "completed")
    assert paid.per_wallet is not None
    assert paid.per_wallet > 0
    assert paid.wallets_done > 0
    assert paid.amount_done == paid.per_wallet * paid.wallets_done
    credited = SakaAccount.objects.aggregate(s=Sum("lifetime_redistributed"))["s"]
    assert credited == paid.amount_done
    # and one active season covers them all, its figures counting the runs' grains
    (season,) = Season.objects.filter(is_active=True)
    assert not Run.objects.exclude(season=season).exists()
    figures = season_stats(season)
    assert figures.redistributed == paid.amount_done
    assert figures.composted == sum(composts.values_list("amount_done", flat=True))
    assert figures.harvested > 0
    # and a quadratic poll boosted by SAKA and a single-choice poll have votes and results
    quadratic = Poll.objects.get(method=PollMethod.QUADRATIC)
    assert Poll.objects.filter(method=PollMethod.SINGLE).count() == 1
    assert Vote.objects.filter(poll=quadratic, spent__gt=0).exists()
    assert SakaEntry.objects.filter(reason="poll_vote", kind="plant").exists()
    assert any(row.score > 0 for row in poll_results(poll_id=quadratic.pk))
    # and the current week and month are left to the operator
    today = now()
    periods = set(Run.objects.values_list("period", flat=True))
    assert period_of(RunKind.COMPOST, today) not in periods
    assert period_of(RunKind.REDISTRIBUTION, today) not in periods
    # and every line of the members' SAKA history is explained from figures stored at booking
    lines = list(SakaPosting.objects.filter(account__kind="wallet").select_related("entry"))
    explained = postings_explained(postings=lines)
    assert lines
    assert [p.pk for p, e in zip(lines, explained, strict=True) if e.calculation is None] == []
    # and the books reconcile
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]

    # when the demo runs again
    euro_before, others_before = snapshot(), _other_books()
    call_command("saka_demo", members=MEMBERS, verbosity=0)
    # then nothing changed in either book
    assert snapshot() == euro_before
    assert _other_books() == others_before
