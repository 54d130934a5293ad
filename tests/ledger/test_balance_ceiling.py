"""The largest accepted balance (``MAX_BALANCE``, docs/security.md): a CHECK on every account
table backs it, the posting engine tells it apart from an overdraft by the constraint's name,
and every entry point that credits an account refuses to go above it with the typed
``BalanceLimitExceeded`` (409), nothing booked: harvest, manual adjustment, EUR deposit
(wallet, pocket and donation parts), through the Python API and the webhook endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from saka.core.money import MAX_AMOUNT, MAX_BALANCE
from saka.euro.accounts import accounts_ensure, project_account_id
from saka.euro.conf import MAX_DEPOSIT_CENTS, MAX_PLEDGE_CENTS
from saka.euro.models import AccountKind as EuroKind
from saka.euro.models import EntryKind as EuroEntryKind
from saka.euro.models import EuroAccount, EuroEntry, Pocket, WebhookEvent
from saka.euro.services.pockets import pocket_create
from saka.grains.accounts import system_account_id as saka_system_account_id
from saka.grains.models import AccountKind, EntryKind, SakaAccount, SakaEntry
from saka.ledger.errors import BalanceLimitExceeded, InsufficientBalance
from saka.ledger.posting import entry_post
from saka.ledger.reconcile import reconcile
from tests.support.euro import SECRET, body_of, deposit, payment_event, sign
from tests.support.euro_api import WEBHOOK
from tests.support.runs_reference import migrate_wallet
from tests.support.saka import harvest, manual

pytestmark = pytest.mark.django_db

CHECKS = {
    "grains_account": "grains_account_balance_lte_max",
    "euro_account": "euro_account_balance_lte_max",
}


@pytest.fixture(autouse=True)
def _webhook_secret(settings: Any) -> None:
    settings.SAKA_PAYMENT_WEBHOOK_SECRET = SECRET


def test_the_ceiling_is_far_above_any_operation_and_far_below_a_bigint():
    # then one operation can never reach it, it is above 2**53 (no float could hold every
    # balance) and a sum of 900 balances at the ceiling still fits a bigint
    assert max(MAX_DEPOSIT_CENTS, MAX_PLEDGE_CENTS) <= MAX_AMOUNT < MAX_BALANCE
    assert MAX_BALANCE > 2**53
    assert 900 * MAX_BALANCE < 2**63


@pytest.mark.parametrize(("table", "name"), list(CHECKS.items()))
def test_every_account_table_has_its_ceiling_check(table, name):
    # given an account of each book (the system accounts)
    saka_system_account_id(AccountKind.SILO)
    accounts_ensure()
    # when the database is asked
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    # then the CHECK exists, and it refuses a balance above the ceiling
    assert constraints[name]["check"] is True
    sql = f"UPDATE {table} SET balance = %s WHERE id = (SELECT min(id) FROM {table})"
    with pytest.raises(IntegrityError, match=name), transaction.atomic():
        connection.cursor().execute(sql, [MAX_BALANCE + 1])


def test_the_posting_engine_tells_the_ceiling_from_an_overdraft(member):
    # given a wallet at the ceiling and one empty wallet
    high = migrate_wallet(member_id=member.pk, amount=MAX_BALANCE)
    issuance = SakaAccount.objects.get(kind=AccountKind.ISSUANCE).pk

    def post(account: int, amount: int) -> None:
        with transaction.atomic():
            entry_post(
                book=_saka_book(),
                entry=SakaEntry(kind=EntryKind.HARVEST, reason="content_read", amount=abs(amount)),
                postings=[(issuance, -amount), (account, amount)],
                external_account_ids=frozenset({issuance}),
            )

    # when one more grain is credited, then it is the ceiling's typed error
    with pytest.raises(BalanceLimitExceeded) as above:
        post(high, 1)
    assert above.value.data == {"maximum": MAX_BALANCE}
    assert above.value.http_status == 409
    # and a debit below zero is still an overdraft
    with pytest.raises(InsufficientBalance):
        post(high, -(MAX_BALANCE + 1))
    assert SakaAccount.objects.get(pk=high).balance == MAX_BALANCE


def _saka_book() -> Any:
    from saka.grains.accounts import SAKA_BOOK

    return SAKA_BOOK


def test_a_harvest_above_the_ceiling_is_refused_and_books_nothing(member, staff_user):
    # given a wallet 5 grains under the ceiling
    wallet = migrate_wallet(member_id=member.pk, amount=MAX_BALANCE - 5)
    entries = SakaEntry.objects.count()
    # when a harvest (10) and a manual adjustment (6) are granted
    with pytest.raises(BalanceLimitExceeded):
        harvest(member.pk)
    with pytest.raises(BalanceLimitExceeded):
        manual(member.pk, 6, staff_user.pk)
    # then nothing is booked; a grant that fits still goes through, up to the ceiling itself
    assert SakaEntry.objects.count() == entries
    assert SakaAccount.objects.get(pk=wallet).balance == MAX_BALANCE - 5
    manual(member.pk, 5, staff_user.pk)
    assert SakaAccount.objects.get(pk=wallet).balance == MAX_BALANCE


@pytest.fixture
def near_ceiling() -> Iterator[Any]:
    """``near_ceiling(account_id, room)``: put an EUR account ``room`` cents under the ceiling
    for the test (no deposit can reach it: 10**8 deposits of the largest payment); the
    balance is restored, and the books reconciled, afterwards."""
    saved: dict[int, int] = {}

    def lift(account_id: int, room: int) -> None:
        row = EuroAccount.objects.filter(pk=account_id)
        saved.setdefault(account_id, row.values_list("balance", flat=True).get())
        row.update(balance=MAX_BALANCE - room)

    yield lift
    for account_id, balance in saved.items():
        EuroAccount.objects.filter(pk=account_id).update(balance=balance)
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]


@pytest.mark.corrupts_books  # lifted by ``near_ceiling``, restored and reconciled by it
def test_a_deposit_above_the_ceiling_is_refused_and_books_nothing(member, near_ceiling):
    # given a member whose main balance is 100 cents under the ceiling
    deposit(member, 500)
    wallet = EuroAccount.objects.get(kind=EuroKind.WALLET, member=member).pk
    near_ceiling(wallet, 100)
    events, entries = WebhookEvent.objects.count(), EuroEntry.objects.count()
    # when a payment of 1.01 EUR arrives
    with pytest.raises(BalanceLimitExceeded):
        deposit(member, 101)
    # then nothing is booked (a redelivery can book it once there is room)
    assert (WebhookEvent.objects.count(), EuroEntry.objects.count()) == (events, entries)
    assert EuroAccount.objects.get(pk=wallet).balance == MAX_BALANCE - 100


@pytest.mark.corrupts_books
def test_a_deposit_whose_pocket_or_donation_part_would_pass_the_ceiling_is_refused(
    member, project, near_ceiling
):
    # given a pocket of 50 % and a project account both 10 cents under the ceiling
    deposit(member, 500)
    pocket = pocket_create(member_id=member.pk, name="Holidays", percentage="50")
    accounts_ensure(project_id=project.pk)
    near_ceiling(Pocket.objects.get(pk=pocket.pocket_id).account_id, 10)
    near_ceiling(project_account_id(project_id=project.pk), 10)
    entries = EuroEntry.objects.filter(kind=EuroEntryKind.DEPOSIT).count()
    # when a payment's pocket part (50 of 100) and then a donation (20) would pass it
    with pytest.raises(BalanceLimitExceeded):
        deposit(member, 100)
    with pytest.raises(BalanceLimitExceeded):
        deposit(member, 30, donation=20, project_id=project.pk)
    # then nothing is booked
    assert EuroEntry.objects.filter(kind=EuroEntryKind.DEPOSIT).count() == entries


@pytest.mark.corrupts_books
def test_the_webhook_answers_the_typed_409(member, near_ceiling, client):
    # given a main balance 100 cents under the ceiling
    deposit(member, 500)
    near_ceiling(EuroAccount.objects.get(kind=EuroKind.WALLET, member=member).pk, 100)
    body = body_of(payment_event(member_id=member.pk, amount=101))
    # when the provider delivers the payment
    response = client.post(
        WEBHOOK, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body)
    )
    # then it is refused with the stable code (the provider will redeliver)
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "balance_limit_exceeded"
    assert response.json()["data"]["maximum"] == MAX_BALANCE
