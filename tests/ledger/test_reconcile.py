"""Reconciliation proves the books, and reports each kind of damage (spec section 2)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from saka.grains import services
from saka.grains.models import AccountKind, SakaAccount, SakaEntry, SakaPosting
from saka.ledger.reconcile import GENERIC_CHECKS, reconcile
from tests.support.clock import T0

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(member, other_member, staff_user, project):
    """A small, correct set of books: harvests, a manual grant, plants and boosts."""
    services.wallet_harvest(member_id=member.pk, reason="invest_bonus", as_of=T0)
    services.wallet_harvest(member_id=member.pk, reason="content_read", as_of=T0)
    services.wallet_harvest(
        member_id=other_member.pk,
        reason="manual_adjust",
        amount=40,
        granted_by_id=staff_user.pk,
        as_of=T0,
    )
    services.wallet_plant(member_id=member.pk, amount=5, as_of=T0)
    services.project_boost(member_id=member.pk, project_id=project.pk, as_of=T0)
    services.project_boost(member_id=other_member.pk, project_id=project.pk, amount=15, as_of=T0)
    return {"member": member, "other": other_member, "project": project}


def wallet_id(member):
    return SakaAccount.objects.get(kind=AccountKind.WALLET, member=member).pk


def execute(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def found(report, check):
    return [d for d in report.discrepancies if d.check == check]


def run_command(*args):
    """``saka_reconcile`` with ``args``: (exit code, stdout)."""
    out = StringIO()
    try:
        call_command("saka_reconcile", *args, stdout=out)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


# --- clean books -------------------------------------------------------------------------------


def test_clean_books_reconcile(books):
    # when
    report = reconcile()
    # then every check ran and found nothing
    assert report.ok, report.discrepancies
    assert report.discrepancies == []
    for check in [*GENERIC_CHECKS, "wallet_counters_match_postings", "global_identity"]:
        assert f"saka.{check}" in report.checks
    assert "saka.project_scores_match_plants" in report.checks
    assert "saka.silo_matches_flows" in report.checks


def test_command_exits_zero_on_clean_books(books):
    # when
    code, out = run_command("--json")
    # then
    assert code == 0
    payload = json.loads(out)
    assert payload["ok"] is True
    assert payload["discrepancies"] == []
    code, out = run_command()
    assert code == 0
    assert "saka_reconcile: OK" in out


def test_command_refuses_a_bad_limit(books):
    with pytest.raises(CommandError):
        call_command("saka_reconcile", "--limit", "0", stdout=StringIO())


# --- damage is reported ------------------------------------------------------------------------


@pytest.mark.corrupts_books
def test_a_corrupt_wallet_balance_is_reported(books):
    # given a wallet's cached balance one grain off its postings
    account_id = wallet_id(books["member"])
    execute("UPDATE grains_account SET balance = balance + 1 WHERE id = %s", [account_id])
    # when
    report = reconcile()
    # then
    assert not report.ok
    (bad,) = found(report, "balance_matches_postings")
    assert bad.book == "saka"
    assert bad.data == {"account_id": account_id, "kind": "wallet", "balance": 96, "postings": 95}
    # and the global identity no longer holds either
    (identity,) = found(report, "global_identity")
    assert identity.data["held"] == identity.data["issued"] - identity.data["planted"] + 1


@pytest.mark.corrupts_books
def test_the_command_fails_with_json_listing_the_discrepancy(books):
    # given
    account_id = wallet_id(books["other"])
    execute("UPDATE grains_account SET balance = balance + 1 WHERE id = %s", [account_id])
    # when
    code, out = run_command("--json")
    # then non-zero exit, one JSON object naming the discrepancy
    assert code == 1
    payload = json.loads(out)
    assert payload["ok"] is False
    checks = {d["check"]: d for d in payload["discrepancies"]}
    assert checks["balance_matches_postings"]["data"]["account_id"] == account_id
    assert checks["balance_matches_postings"]["data"]["balance"] == 26
    assert checks["balance_matches_postings"]["data"]["postings"] == 25
    assert "saka.balance_matches_postings" in payload["checks"]


@pytest.mark.corrupts_books
def test_the_command_fails_in_text_mode_too(books):
    execute(
        "UPDATE grains_account SET balance = balance + 1 WHERE id = %s", [wallet_id(books["other"])]
    )
    code, out = run_command()
    assert code == 1
    assert "[saka] balance_matches_postings:" in out
    assert "discrepancies" in out


@pytest.mark.corrupts_books
def test_a_corrupt_lifetime_counter_is_reported(books):
    # given lifetime_harvested raised without a posting
    account_id = wallet_id(books["member"])
    execute(
        "UPDATE grains_account SET lifetime_harvested = lifetime_harvested + 7 WHERE id = %s",
        [account_id],
    )
    # when
    report = reconcile()
    # then only the counters check fires, naming the counter
    assert [d.check for d in report.discrepancies] == ["wallet_counters_match_postings"]
    assert report.discrepancies[0].data == {
        "account_id": account_id,
        "lifetime_harvested": {"counter": 117, "postings": 110},
    }
    code, out = run_command("--json")
    assert code == 1
    assert json.loads(out)["discrepancies"][0]["check"] == "wallet_counters_match_postings"


@pytest.mark.corrupts_books
def test_a_corrupt_planted_counter_is_reported(books):
    account_id = wallet_id(books["other"])
    execute(
        "UPDATE grains_account SET lifetime_planted = lifetime_planted - 1 WHERE id = %s",
        [account_id],
    )
    (bad,) = found(reconcile(), "wallet_counters_match_postings")
    assert bad.data["lifetime_planted"] == {"counter": 14, "postings": 15}


@pytest.mark.corrupts_books
@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "UPDATE projects_project SET saka_score = saka_score + 5 WHERE id = %s",
            {"score": 30, "planted": 25, "supporters": 2, "distinct_planters": 2},
        ),
        (
            "UPDATE projects_project SET saka_supporters = saka_supporters + 1 WHERE id = %s",
            {"score": 25, "planted": 25, "supporters": 3, "distinct_planters": 2},
        ),
    ],
)
def test_a_corrupt_project_score_is_reported(books, sql, expected):
    # given a project's score or supporters off its plants
    project = books["project"]
    execute(sql, [project.pk])
    # when
    report = reconcile()
    # then
    assert [d.check for d in report.discrepancies] == ["project_scores_match_plants"]
    assert report.discrepancies[0].data == {"project_id": project.pk, **expected}
    assert run_command("--json")[0] == 1


@pytest.mark.corrupts_books
def test_an_external_account_with_a_balance_is_reported(books):
    issuance = SakaAccount.objects.get(kind=AccountKind.ISSUANCE)
    execute("UPDATE grains_account SET balance = 3 WHERE id = %s", [issuance.pk])
    (bad,) = found(reconcile(), "external_has_no_balance")
    assert bad.data == {"account_id": issuance.pk, "kind": "issuance", "balance": 3}


@pytest.mark.corrupts_books
def test_an_unbalanced_entry_is_reported(books):
    # given one more posting appended to a booked entry (inserts are allowed)
    entry = SakaEntry.objects.filter(kind="harvest").order_by("pk").first()
    wallet = SakaAccount.objects.get(member=books["member"])
    SakaPosting.objects.create(entry=entry, account=wallet, amount=4)
    # when
    report = reconcile()
    # then the entry is off, and so are the wallet's balance and counter against its postings
    (bad,) = found(report, "entry_sums_to_zero")
    assert bad.data == {"entry_id": entry.pk, "sum": 4}
    (balance,) = found(report, "balance_matches_postings")
    assert (balance.data["balance"], balance.data["postings"]) == (95, 99)
    assert found(report, "wallet_counters_match_postings")


@pytest.mark.corrupts_books
def test_an_entry_without_postings_is_reported(books, member):
    entry = SakaEntry.objects.create(kind="harvest", reason="poll_vote", amount=5, member=member)
    (bad,) = found(reconcile(), "entry_has_postings")
    assert bad.data == {"entry_id": entry.pk}


@pytest.mark.corrupts_books
def test_orphan_postings_are_reported(books):
    # given a balanced pair of postings on an entry that does not exist
    wallet = SakaAccount.objects.get(member=books["member"])
    missing = SakaEntry.objects.order_by("-pk").first().pk + 1000
    SakaPosting.objects.bulk_create(
        [
            SakaPosting(entry_id=missing, account=wallet, amount=1),
            SakaPosting(entry_id=missing, account=wallet, amount=-1),
        ]
    )
    # when
    bad = found(reconcile(), "posting_references_exist")
    # then both postings are listed
    assert {d.data["entry_id"] for d in bad} == {missing}
    assert len(bad) == 2


@pytest.mark.corrupts_books
def test_limit_caps_the_rows_listed_per_check(books, make_user):
    # given three corrupt wallets
    for member in (books["member"], books["other"]):
        execute(
            "UPDATE grains_account SET balance = balance + 1 WHERE id = %s", [wallet_id(member)]
        )
    extra = make_user()
    services.wallet_harvest(member_id=extra.pk, reason="poll_vote", as_of=T0)
    execute("UPDATE grains_account SET balance = balance + 1 WHERE id = %s", [wallet_id(extra)])
    # when / then
    assert len(found(reconcile(), "balance_matches_postings")) == 3
    assert len(found(reconcile(limit_per_check=2), "balance_matches_postings")) == 2
    code, out = run_command("--json", "--limit", "1")
    assert code == 1
    listed = [
        d for d in json.loads(out)["discrepancies"] if d["check"] == "balance_matches_postings"
    ]
    assert len(listed) == 1
