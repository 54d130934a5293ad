"""Runs while members act (PostgreSQL, real threads, each on its own connection).

A run thread executes a compost or a redistribution in small chunks while member threads
harvest and plant for random members. Between chunks the run's progress callback waits until
the member threads have done a few more operations, so the two always interleave (whatever
the machine's speed), and once it lets scripted members act: members whose chunk is still to
come, and members whose chunk is done. Nothing is timed; the waits have a liveness guard.

Afterwards each wallet's postings, in id order, tell what happened to it: the wallet row lock
serialises a run's statement and a member's operation on that wallet, and each writes its
postings while holding it. So for the compost: a wallet composted after one of its members'
operations is a bug, and so is an amount that is not floor(balance before it x rate).

The population, its model and the member threads live in ``tests.support.run_races``."""

from __future__ import annotations

import random

import pytest
from django.db.models import Max
from django.test import override_settings

from saka.demo.seed import seed_population
from saka.grains import services
from saka.grains.models import AccountKind, SakaEntry
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.ledger.reconcile import reconcile
from tests.support.clock import A
from tests.support.run_races import (
    CHUNK,
    DURING,
    GUARD_SECONDS,
    History,
    Members,
    N,
    accounts_by_seed,
    chunk_of,
    interleaving,
    seed_model,
)
from tests.support.runs_reference import (
    DAY,
    CompostRules,
    RedistributionRules,
    compost_plan,
    db_wallets,
    redistribution_plan,
    run_postings,
    share,
    system_balance,
)
from tests.support.threads import Worker, settle

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, reset_sequences=True),
]


# --- compost while members act ----------------------------------------------------------------


def test_compost_while_members_harvest_and_plant():
    # given the seeded population and its compost-eligible set at A
    seed_population(wallets=N, as_of=A)
    seeded = accounts_by_seed()
    after_seed = SakaEntry.objects.aggregate(m=Max("id"))["m"]
    plan = compost_plan(seed_model(), CompostRules(), A)
    eligible = set(plan)
    member_of = dict(seeded.values())
    # scripted members: eligible ones whose chunk is still to come act after chunk 10 (they
    # must not be composted), eligible ones whose chunk is done act too (they were composted)
    late = sorted(a for a in eligible if chunk_of(a) > 20)[:25]
    early = sorted(a for a in eligible if chunk_of(a) < 10)[:25]
    rng = random.Random(7)

    def scripted() -> None:
        for acc in late + early:
            if rng.random() < 0.5:
                services.wallet_harvest(
                    member_id=member_of[acc], reason="content_read", as_of=DURING
                )
            else:
                services.wallet_plant(member_id=member_of[acc], amount=1, as_of=DURING)

    # (the member threads leave the scripted members alone, so their story is certain)
    unscripted = sorted(set(member_of) - set(late) - set(early))
    members = Members(
        member_ids=[member_of[a] for a in unscripted],
        favourites=[member_of[a] for a in unscripted if a in eligible],
    )
    members.start()
    # when the compost runs in chunks of 50 while they act
    runner = Worker(
        lambda: compost_run_start(
            as_of=A,
            chunk_size=CHUNK,
            workers=1,
            progress=interleaving(members, scripted, at_chunk=10),
        ),
        name="compost",
        guard_seconds=GUARD_SECONDS,
    )
    runner.start()
    try:
        run = settle(runner)
    finally:
        members.finish()
    # then the books hold (no lost update, no negative balance) ...
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]
    history = History(after_seed)
    composted = {
        acc: -p[1] for acc in member_of if (p := history.run_posting(acc, run.pk)) is not None
    }
    assert members.ops > run.chunks_done  # they did act during the run
    # ... only wallets eligible at A compost, never after one of their member's operations,
    # each by floor(balance just before x 10%) ...
    assert set(composted) <= eligible
    for acc, amount in composted.items():
        posting = history.run_posting(acc, run.pk)
        assert all(act[0] > posting[0] for act in history.acts(acc)), acc
        assert amount == share(history.balance_before(acc, posting[0]), "0.10") == plan[acc]
    # ... every eligible wallet whose members did not act composts, and one that did not
    # compost had a member operation booked before its chunk's statement
    chunk_entry = {chunk_of(acc): history.run_posting(acc, run.pk)[2] for acc in composted}
    for acc in eligible - set(composted):
        acts = history.acts(acc)
        assert acts, f"eligible wallet {acc} was skipped although nobody acted"
        if chunk_of(acc) in chunk_entry:
            assert min(a[2] for a in acts) < chunk_entry[chunk_of(acc)], acc
    # ... the scripted ones: acted before their chunk -> kept; after it -> composted first
    assert not set(late) & set(composted)
    assert set(early) <= set(composted)
    # ... and the run's figures are what it booked
    assert (run.wallets_done, run.amount_done) == (len(composted), sum(composted.values()))
    assert system_balance(AccountKind.SILO) == run.amount_done


# --- redistribution while members act ---------------------------------------------------------


@override_settings(SAKA_REDISTRIBUTION_MIN_HARVESTED=2500)
def test_redistribution_while_members_harvest_and_plant(staff_user):
    # given the seeded population composted into the silo, and the set eligible at A:
    # active within 90 days and lifetime harvest >= 2500
    seed_population(wallets=N, as_of=A)
    compost_run_start(as_of=A)
    after_seed = SakaEntry.objects.aggregate(m=Max("id"))["m"]
    seeded = accounts_by_seed()
    member_of = dict(seeded.values())
    model = db_wallets()
    silo = system_balance(AccountKind.SILO)
    plan = redistribution_plan(model, silo, RedistributionRules(min_harvested=2500), A)
    assert plan.reason == ""
    future = {a for a in member_of if chunk_of(a) > 12}
    idle = sorted(a for a in future - plan.eligible if model[a].lifetime_harvested >= 2500)
    below = sorted(
        a
        for a in future - plan.eligible
        if 2000 <= model[a].lifetime_harvested < 2500 and model[a].last_activity_at > A - 90 * DAY
    )
    active = sorted(future & plan.eligible)
    scripted_idle, scripted_below, scripted_active = idle[:20], below[:20], active[:20]

    def scripted() -> None:
        for acc in scripted_idle:  # becomes active during the run: must NOT be credited
            services.wallet_harvest(member_id=member_of[acc], reason="poll_vote", as_of=DURING)
        for acc in scripted_below:  # crosses 2500 during the run: must NOT be credited
            services.wallet_harvest(
                member_id=member_of[acc],
                reason="manual_adjust",
                amount=500,
                granted_by_id=staff_user.pk,
                as_of=DURING,
            )
        for acc in scripted_active:  # acts during the run: MUST be credited
            services.wallet_plant(member_id=member_of[acc], amount=3, as_of=DURING)

    scripted_all = set(scripted_idle) | set(scripted_below) | set(scripted_active)
    unscripted = sorted(set(member_of) - scripted_all)
    members = Members(
        member_ids=[member_of[a] for a in unscripted],
        favourites=[member_of[a] for a in unscripted if a in set(idle) | plan.eligible],
    )
    members.start()
    # when the redistribution runs in chunks of 50 while they act
    runner = Worker(
        lambda: redistribution_run_start(
            as_of=A,
            chunk_size=CHUNK,
            workers=1,
            progress=interleaving(members, scripted, at_chunk=5),
        ),
        name="redistribution",
        guard_seconds=GUARD_SECONDS,
    )
    runner.start()
    try:
        run = settle(runner)
    finally:
        members.finish()
    # then the credited set is exactly the set counted at the start, the model's set at A
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]
    credited = run_postings(run.pk)
    assert set(credited) == plan.eligible
    assert run.eligible_wallets == len(credited) == run.wallets_done
    assert set(credited.values()) == {run.per_wallet}
    assert run.amount_done == run.per_wallet * run.eligible_wallets
    assert (run.silo_before, run.pot, run.per_wallet) == (silo, plan.pot, plan.per_wallet)
    assert system_balance(AccountKind.SILO) == run.silo_after == plan.silo_after
    assert system_balance(AccountKind.POOL) == 0
    assert not set(scripted_idle) & set(credited)
    assert not set(scripted_below) & set(credited)
    assert set(scripted_active) <= set(credited)
    assert len(scripted_idle) == len(scripted_below) == len(scripted_active) == 20
    assert members.ops > run.chunks_done
    # and a credit is not activity: wallets nobody touched keep their last activity
    after = db_wallets()
    history = History(after_seed)
    for acc in credited:
        if not history.acts(acc):
            assert after[acc].last_activity_at == model[acc].last_activity_at


# --- parallel workers while members act --------------------------------------------------------


def test_parallel_workers_compost_and_credit_exactly_while_members_act():
    # given the seeded population, and member threads acting the whole time
    seed_population(wallets=N, as_of=A)
    seeded = accounts_by_seed()
    after_seed = SakaEntry.objects.aggregate(m=Max("id"))["m"]
    plan = compost_plan(seed_model(), CompostRules(), A)
    member_of = dict(seeded.values())
    members = Members(
        member_ids=sorted(member_of.values()), favourites=[member_of[a] for a in plan]
    )
    members.start()
    # when the compost, then the redistribution run with 4 workers on chunks of 50
    try:
        run = compost_run_start(
            as_of=A, chunk_size=CHUNK, workers=4, progress=lambda r: members.wait_for_more(1)
        )
        credit = redistribution_run_start(as_of=A, chunk_size=CHUNK, workers=4)
    finally:
        members.finish()
    # then the books hold, every chunk was done once, ...
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]
    assert run.chunks_done == credit.chunks_done == -(-run.max_id // CHUNK)
    history = History(after_seed)
    composted = {
        acc: -p[1] for acc in member_of if (p := history.run_posting(acc, run.pk)) is not None
    }
    # ... only eligible wallets composted, each once, never after one of its member's
    # operations, by floor(balance just before x 10%); an eligible wallet kept its grains only
    # if its member acted
    assert set(composted) <= set(plan)
    for acc, amount in composted.items():
        posting = history.run_posting(acc, run.pk)
        assert all(act[0] > posting[0] for act in history.acts(acc)), acc
        assert amount == share(history.balance_before(acc, posting[0]), "0.10") == plan[acc]
    for acc in set(plan) - set(composted):
        assert history.acts(acc), f"eligible wallet {acc} was skipped although nobody acted"
    assert (run.wallets_done, run.amount_done) == (len(composted), sum(composted.values()))
    # ... and the redistribution credited its counted set once, with one share each
    credited = run_postings(credit.pk)
    assert len(credited) == credit.eligible_wallets == credit.wallets_done
    assert set(credited.values()) == {credit.per_wallet}
    assert system_balance(AccountKind.POOL) == 0
