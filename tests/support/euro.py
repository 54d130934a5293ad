"""Helpers of the EUR tests: signed webhook deliveries (and ``handle``, a payload with any
signature), campaigns, snapshots of the book."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db.models import Sum

from saka.core.clock import now
from saka.euro import settlement
from saka.euro.accounts import EURO_BOOK
from saka.euro.models import (
    AccountKind,
    Campaign,
    CampaignStatus,
    EuroAccount,
    EuroEntry,
    EuroPosting,
    Pledge,
    SettlementRun,
    WebhookEvent,
)
from saka.euro.payments.webhooks import PAYMENT_SUCCEEDED, WebhookOutcome, payment_webhook_handle
from saka.euro.payments.webhooks import signature_header as _signature_header
from saka.euro.services.campaigns import campaign_create, campaign_set_status
from saka.ledger.models import IdempotencyRecord
from saka.ledger.posting import account_balances

SECRET = "whsec_test_0123456789abcdef"
_ids = itertools.count(1)


def payment_event(
    *,
    member_id: Any,
    amount: Any,
    fee: Any = 0,
    donation: Any = None,
    tip: Any = None,
    project_id: Any = None,
    event_id: str | None = None,
    payment_id: str | None = None,
    currency: Any = "eur",
    event_type: str = PAYMENT_SUCCEEDED,
) -> dict[str, Any]:
    """A ``payment_intent.succeeded`` event as the provider sends it (metadata as strings)."""
    n = next(_ids)
    metadata: dict[str, Any] = {"member_id": str(member_id)}
    if donation is not None:
        metadata["donation_cents"] = str(donation)
    if tip is not None:
        metadata["tip_cents"] = str(tip)
    if project_id is not None:
        metadata["project_id"] = str(project_id)
    return {
        "id": event_id or f"evt_test_{n}_{time.monotonic_ns()}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {
            "object": {
                "id": payment_id or f"pi_test_{n}_{time.monotonic_ns()}",
                "object": "payment_intent",
                "amount": amount,
                "currency": currency,
                "fee": fee,
                "metadata": metadata,
            }
        },
    }


def body_of(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


def sign(body: bytes, *, secret: str = SECRET, at: datetime | None = None) -> str:
    return _signature_header(payload=body, secret=secret, timestamp=int((at or now()).timestamp()))


def deliver(event: dict[str, Any] | bytes, *, secret: str = SECRET) -> WebhookOutcome:
    """Deliver one correctly signed event through the Python API."""
    body = event if isinstance(event, bytes) else body_of(event)
    return payment_webhook_handle(payload=body, signature=sign(body, secret=secret))


def deposit(member: Any, amount: int, **kwargs: Any) -> WebhookOutcome:
    return deliver(payment_event(member_id=member.pk, amount=amount, **kwargs))


def open_campaign(project: Any, *, goal: int = 100_000, days: int = 30) -> Campaign:
    return campaign_create(project_id=project.pk, goal=goal, deadline=now() + timedelta(days=days))


def close(campaign: Campaign, status: str = CampaignStatus.SUCCEEDED) -> Campaign:
    return campaign_set_status(campaign_id=campaign.pk, status=status)


def euro_balance(member: Any) -> int:
    """The member's main EUR balance in cents (0 before any deposit)."""
    return int(
        EuroAccount.objects.filter(kind=AccountKind.WALLET, member_id=member.pk)
        .values_list("balance", flat=True)
        .first()
        or 0
    )


def account_balance(kind: AccountKind, **filters: Any) -> int:
    """Σ balances of the accounts of ``kind`` as the selectors read them (cached + pending
    credits of the rolled-up project and commission accounts)."""
    ids = list(EuroAccount.objects.filter(kind=kind, **filters).values_list("id", flat=True))
    return sum(account_balances(book=EURO_BOOK, account_ids=ids).values())


def external_total(kind: AccountKind) -> int:
    total = EuroPosting.objects.filter(account__kind=kind).aggregate(s=Sum("amount"))["s"]
    return int(total or 0)


@dataclass(frozen=True)
class EuroBooks:
    entries: int
    postings: int
    balances: dict[int, int]
    events: int
    pledges: dict[int, str]
    runs: int
    idempotency_records: int


def snapshot() -> EuroBooks:
    """What any EUR operation could have changed (to assert a refusal booked nothing)."""
    return EuroBooks(
        entries=EuroEntry.objects.count(),
        postings=EuroPosting.objects.count(),
        # non-zero balances: an empty platform account created on first use books nothing
        balances=dict(EuroAccount.objects.exclude(balance=0).values_list("id", "balance")),
        events=WebhookEvent.objects.count(),
        pledges=dict(Pledge.objects.values_list("id", "status")),
        runs=SettlementRun.objects.count(),
        idempotency_records=IdempotencyRecord.objects.count(),
    )


def seed_pledges(campaign: Campaign, members: list[Any], amounts: list[int]) -> list[int]:
    """Bulk-create held pledges (pledge ``i`` by ``members[i % len(members)]``), booked
    like ``pledge_create`` books them: one entry per member moving the money from their
    wallet into each pledge's escrow. For large scenarios (thousands of pledges); the
    members' wallets must hold enough."""
    from collections import defaultdict

    from django.db import transaction
    from django.db.models import F

    from saka.euro.models import EntryKind

    with transaction.atomic():
        wallets = dict(
            EuroAccount.objects.filter(
                kind=AccountKind.WALLET, member_id__in=[m.pk for m in members]
            ).values_list("member_id", "id")
        )
        owners = [members[i % len(members)].pk for i in range(len(amounts))]
        escrows = EuroAccount.objects.bulk_create(
            [
                EuroAccount(kind=AccountKind.ESCROW, member_id=m, balance=a)
                for m, a in zip(owners, amounts, strict=True)
            ],
            batch_size=5000,
        )
        pledges = Pledge.objects.bulk_create(
            [
                Pledge(
                    member_id=m,
                    campaign=campaign,
                    project_id=campaign.project_id,
                    amount_cents=a,
                    escrow_id=e.pk,
                    wallet_id=wallets[m],
                )
                for m, a, e in zip(owners, amounts, escrows, strict=True)
            ],
            batch_size=5000,
        )
        by_member: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for m, a, e in zip(owners, amounts, escrows, strict=True):
            by_member[m].append((e.pk, a))
        postings = []
        for m, lines in by_member.items():
            total = sum(a for _, a in lines)
            entry = EuroEntry.objects.create(
                kind=EntryKind.PLEDGE, amount=total, member_id=m, campaign=campaign
            )
            postings.append(EuroPosting(entry=entry, account_id=wallets[m], amount=-total))
            postings += [EuroPosting(entry=entry, account_id=e, amount=a) for e, a in lines]
            EuroAccount.objects.filter(pk=wallets[m]).update(balance=F("balance") - total)
        EuroPosting.objects.bulk_create(postings, batch_size=5000)
    return [p.pk for p in pledges]


def handle(body: bytes, signature: str | None) -> Any:
    return payment_webhook_handle(payload=body, signature=signature)


def settlement_interrupted_in_second_chunk(
    monkeypatch: Any, campaign_id: int, chunk_size: int
) -> SettlementRun:
    """Start a settlement whose second chunk fails ("worker lost"): it stays interrupted, its
    first chunk done. Returns its run."""
    real_exit = settlement.pledges_exit
    calls = {"n": 0}

    def failing_exit(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker lost")
        return real_exit(**kwargs)

    monkeypatch.setattr(settlement, "pledges_exit", failing_exit)
    with pytest.raises(RuntimeError):
        settlement.settlement_start(campaign_id=campaign_id, chunk_size=chunk_size)
    monkeypatch.setattr(settlement, "pledges_exit", real_exit)
    return SettlementRun.objects.get(campaign_id=campaign_id)
