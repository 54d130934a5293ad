"""The SAKA statement: every line of a member's history carries a sentence and its figures,
stored when it was booked (saka.grains.statements), and never changes afterwards."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import override_settings
from django.urls import reverse

from saka.grains.models import EntryKind, SakaEntry, SakaPosting
from saka.grains.runs.compost import _compost_params, compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.grains.selectors import wallet_history
from saka.grains.services import project_boost
from saka.grains.sql.compost import COMPOST_CHUNK_PG
from saka.grains.sql.redistribution import REDISTRIBUTION_CHUNK_PG
from saka.grains.statements import postings_explained
from saka.grains.votes import poll_vote
from saka.ledger import append_only
from saka.ledger.reconcile import reconcile
from tests.support.clock import T0, A
from tests.support.polls import option_ids
from tests.support.run_rules import fill_silo, member_of
from tests.support.runs_reference import DAY
from tests.support.saka import harvest, manual

pytestmark = pytest.mark.django_db


@contextmanager
def _append_only_lifted():
    """Edit ledger rows behind the ledger's back, as a tamperer or an old release would: on
    PostgreSQL the append-only triggers are skipped for this transaction (superuser only); on
    SQLite the entries' trigger is dropped for the edit."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = origin")
    else:  # SQLite: the trigger is dropped and made again (DDL is transactional there)
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER grains_entry_append_only")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(append_only._sqlite("grains_entry").strip())


def _lines(member_id: int) -> list[tuple[str, str, dict | None]]:
    postings = list(wallet_history(member_id=member_id))
    return [
        (p.entry.kind, e.explanation, e.calculation)
        for p, e in zip(postings, postings_explained(postings=postings), strict=True)
    ]


def test_a_harvest_says_its_reason_its_rank_today_and_the_balance(member):
    # given two content reads the same day
    harvest(member.pk)
    harvest(member.pk, as_of=T0 + timedelta(minutes=5))
    # when the member reads their history
    newest = _lines(member.pk)[0]
    # then the newest line says which of the day's three it was and what the balance became
    assert newest[1] == "Harvested 10 grains for reading content (2nd of 3 today); balance 20."
    assert newest[2] == {
        "reason": "content_read",
        "amount": 10,
        "balance_after": 20,
        "used": 2,
        "limit": 3,
        "granted_by": None,
    }


def test_a_manual_adjustment_counts_against_its_24_hour_cap(member, make_user):
    staff = make_user(staff=True, roles=["saka_adjuster"])
    manual(member.pk, 120, staff.pk)
    (line,) = _lines(member.pk)
    assert line[1] == (
        "Harvested 120 grains for a manual adjustment by staff "
        "(120 of 1,000 grains granted in 24 hours); balance 120."
    )
    assert line[2]["granted_by"] == staff.pk


def test_a_boost_names_the_project(member, make_user, project):
    staff = make_user(staff=True, roles=["saka_adjuster"])
    manual(member.pk, 50, staff.pk)
    project_boost(member_id=member.pk, project_id=project.pk, as_of=T0)
    line = _lines(member.pk)[0]
    assert line[0] == EntryKind.PLANT
    assert line[1] == "Planted 10 grains to boost project «Community garden»; balance 40."
    assert line[2]["project_id"] == project.pk


def test_a_poll_vote_explains_its_spend_and_its_harvest(member, poll, make_user):
    # given a member with 50 grains voting at intensity 3 with SAKA
    staff = make_user(staff=True, roles=["saka_adjuster"])
    manual(member.pk, 50, staff.pk, as_of=T0 - timedelta(days=2))
    ids = option_ids(poll)
    poll_vote(
        member_id=member.pk,
        poll_id=poll.pk,
        ballots=[{"option_id": ids[0], "points": 100}],
        intensity=3,
        use_saka=True,
        as_of=T0,
    )
    # then the spend says the intensity and its cost, the harvest the balance after both
    harvested, planted = _lines(member.pk)[:2]
    assert planted[1] == (
        f"Planted 15 grains on your vote in «{poll.title}» (intensity 3 x 5 grains); balance 35."
    )
    assert planted[2]["poll_id"] == poll.pk
    assert harvested[1] == "Harvested 5 grains for voting in a poll (1st of 10 today); balance 40."


def test_a_compost_line_says_balance_rate_idle_days_run_and_period(make_wallet):
    # given a wallet of 1000 grains idle for 100 days
    wallet = make_wallet(1000, A - 100 * DAY)
    member_id = member_of(wallet)
    # when the weekly compost runs
    run = compost_run_start(as_of=A)
    # then its line explains the amount from the stored figures
    line = _lines(member_id)[0]
    assert line[0] == EntryKind.COMPOST
    assert line[1] == (
        f"Composted 100 grains: 10% of your balance of 1,000, after 100 days without activity "
        f"(weekly compost {run.period}, run {run.pk}; balances under 50 grains and amounts "
        f"under 10 are never composted, and only after 90 idle days)."
    )
    assert line[2] == {
        "run": run.pk,
        "period": run.period,
        "as_of": A.isoformat(),
        "rate": "0.10",
        "min_balance": 50,
        "min_amount": 10,
        "inactivity_days": 90,
        "amount": 100,
        "basis": 1000,
        "idle_days": 100,
    }


def test_a_wallet_never_active_says_so(make_wallet):
    wallet = make_wallet(500, None)
    compost_run_start(as_of=A)
    line = _lines(member_of(wallet))[0]
    assert "a wallet that never had any activity" in line[1]
    assert line[2]["idle_days"] is None
    assert line[2]["basis"] == 500


def test_a_redistribution_line_says_pot_members_share_and_remainder(make_wallet):
    # given a silo of 1000 grains (10% of 10,000) and three active members
    fill_silo(make_wallet, [10_000], at=A)
    active = [make_wallet(100, A + 20 * DAY) for _ in range(3)]
    # when the month's redistribution runs (5% of 1000 = 50 grains, 16 each, 2 left)
    run = redistribution_run_start(as_of=A + 25 * DAY)
    # then each credited member reads the same plan
    line = _lines(member_of(active[0]))[0]
    assert line[0] == EntryKind.REDISTRIBUTION
    assert line[1] == (
        f"Received 16 grains: an equal share of the 50 grains redistributed from the silo "
        f"(5% of 1,000) to 3 active members; 2 grains stayed in the silo "
        f"(monthly redistribution {run.period}, run {run.pk})."
    )
    assert {k: line[2][k] for k in ("pot", "members", "share", "remainder", "silo_before")} == {
        "pot": 50,
        "members": 3,
        "share": 16,
        "remainder": 2,
        "silo_before": 1000,
    }


def test_lines_never_change_when_the_wallet_or_the_settings_do(make_wallet):
    # given a composted wallet and its statement
    wallet = make_wallet(1000, A - 100 * DAY)
    member_id = member_of(wallet)
    compost_run_start(as_of=A)
    before = _lines(member_id)
    # when the member acts again and the operators change the rules
    harvest(member_id, as_of=A + DAY)
    with override_settings(SAKA_COMPOST_RATE="0.25", SAKA_COMPOST_MIN_BALANCE=10):
        after = _lines(member_id)
    # then the earlier lines read exactly as before
    assert after[1:] == before


def test_explaining_a_page_costs_no_query(make_wallet, django_assert_num_queries):
    wallet = make_wallet(1000, A - 100 * DAY)
    compost_run_start(as_of=A)
    postings = list(wallet_history(member_id=member_of(wallet)))
    with django_assert_num_queries(0):
        explained = postings_explained(postings=postings)
    assert len(explained) == len(postings) >= 2


def test_a_line_booked_before_statements_gets_a_plain_sentence(member):
    harvest(member.pk)
    with _append_only_lifted():
        SakaEntry.objects.filter(member_id=member.pk).update(explanation="", calculation=None)
    (line,) = _lines(member.pk)
    assert line[1] == "Received 10 grains (harvest for reading content)."
    assert line[2] is None


@pytest.mark.corrupts_books
def test_reconcile_finds_a_tampered_compost_statement(make_wallet):
    # given a composted wallet (its postings are append-only: the trigger refuses an UPDATE)
    wallet = make_wallet(1000, A - 100 * DAY)
    compost_run_start(as_of=A)
    assert reconcile().ok
    posting = SakaPosting.objects.get(account_id=wallet, run_id__isnull=False)
    entry = SakaEntry.objects.get(pk=posting.entry_id)
    # when its entry's stated rate is changed behind the ledger's back
    with _append_only_lifted():
        SakaEntry.objects.filter(pk=entry.pk).update(
            calculation={**entry.calculation, "rate": "0.2"}
        )
    # then reconcile names the posting whose amount the statement no longer explains
    found = [d for d in reconcile().discrepancies if d.check == "compost_statements_match_postings"]
    assert [d.data["posting_id"] for d in found] == [posting.pk]
    with _append_only_lifted():
        SakaEntry.objects.filter(pk=entry.pk).update(calculation=entry.calculation)
    assert reconcile().ok


def test_the_history_api_returns_explanation_and_calculation(make_wallet, api):
    wallet = make_wallet(1000, A - 100 * DAY)
    compost_run_start(as_of=A)
    client = api(get_user_model().objects.get(pk=member_of(wallet)))
    body = client.get(reverse("saka_api:saka-history")).json()
    first = body["results"][0]
    assert first["kind"] == "compost"
    assert first["explanation"].startswith("Composted 100 grains: 10% of your balance of 1,000")
    assert first["calculation"]["basis"] == 1000


def _plan_without_seq_scans(statement: str, params: dict) -> str:
    """PostgreSQL's plan of ``statement`` with seq scans priced out (EXPLAIN runs nothing)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + statement, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
def test_the_compost_chunk_statement_still_walks_the_primary_key_range(make_wallet):
    # given a run over 40 wallets, their statistics taken (with one wallet and none, the
    # planner saw two index scans of the same cost and could take either), and a chunk of the
    # first few (its parameters give the statement's; EXPLAIN runs nothing)
    wallets = [make_wallet(1000, A - 100 * DAY) for _ in range(40)]
    run = compost_run_start(as_of=A)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE grains_account")
    params = {
        **_compost_params(run),
        "lo": 0,
        "hi": wallets[2],
        "silo": 1,
        "now": A,
        "worker": "explain",
        "calculation": "{}",
    }
    # when PostgreSQL plans the chunk statement with the figures it now writes (seq scans
    # priced out, so only a usable index can be chosen)
    plan = _plan_without_seq_scans(COMPOST_CHUNK_PG, params)
    # then the wallets are found by the primary key's range, never by a scan of the table
    assert "grains_account_pkey" in plan, plan
    assert "Seq Scan on grains_account" not in plan, plan


@pytest.mark.postgres
def test_the_credit_chunk_statement_probes_its_frozen_ids_in_the_primary_key(make_wallet):
    # given 40 active wallets, their statistics taken, a silo and a redistribution done (its
    # frozen arrays written), and the parameters of its first credit chunk
    wallets = [make_wallet(1000, A - DAY) for _ in range(40)]
    fill_silo(make_wallet, [100_000], at=A)
    run = redistribution_run_start(as_of=A)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE grains_account")
        cursor.execute("ANALYZE grains_run_frozen")
    params = {
        "run": run.pk,
        "lo": 0,
        "hi": wallets[-1],
        "per": 1,
        "credit_limit": 10**9,
        "pool": 1,
        "as_of": A,
        "calculation": "{}",
    }
    # when PostgreSQL plans the credit statement, seq scans priced out
    plan = _plan_without_seq_scans(REDISTRIBUTION_CHUNK_PG, params)
    # then the chunk's one array is read by its key, and its ids are looked up in the primary
    # key (bounded by the chunk's range), never by a scan of the table
    assert "grains_run_frozen_pkey" in plan, plan
    assert "Index Scan using grains_account_pkey" in plan, plan
    assert "= ANY" in plan, plan
    assert "Seq Scan on grains_account" not in plan, plan
