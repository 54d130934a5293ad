"""The seeds' "optimised" compost and redistribution, re-implemented faithfully on our schema.

Source: ``/work/shared/seeds/000_907c2c89a01e7a5c.txt`` (``run_saka_compost_cycle`` and
``redistribute_saka_silo`` "APRÈS (OPTIMISÉ)"). This is the yardstick the project must beat;
it keeps the seeds' defects on purpose (spec §10: 1, 3, 4, 5, 7, 10) and must never be used
for anything else. It lives in ``bench/``, not in ``src/``.

Kept as in the seeds:

- one ``transaction.atomic`` around the whole run ("chunking" inside one transaction);
- a queryset of eligible wallets without ``select_for_update`` and without ``order_by``,
  paged with ``qs[offset:offset + BATCH]`` (OFFSET/LIMIT over rows that leave the filter as
  they are updated: about half of the eligible wallets are skipped);
- compost: ``.only("id", "balance", "lifetime_composted", "member_id")``, the amount computed
  in Python per wallet from a float rate, the new balance written back with ``bulk_update``
  of ``balance``, ``lifetime_composted`` and the last-activity date (read-modify-write, no
  lock), ``bulk_create`` of the ledger rows, ``batch_size=500``;
- redistribution: the eligible wallets counted once, then ``values_list("id", "member_id")``
  pages of 1000, one ``F()`` ``UPDATE`` per page that also raises the lifetime harvest and
  sets the last-activity date, ``bulk_create`` of the ledger rows, silo locked for the run.

Deviations (our schema; documented in docs/benchmarks.md):

- the seeds' ``timezone.now()`` is the bench's ``as_of`` (the population is seeded relative
  to it; a real clock far from ``as_of`` would change which rows leave the filter);
- the seeds wrote one ``SakaTransaction`` row per wallet. Our ledger is double-entry: one
  entry per page, one posting per wallet (same row count as the seeds' table) plus one silo
  posting per page, and one ``F()`` update of the silo per page;
- model fields map: ``total_composted`` -> ``lifetime_composted``, ``total_harvested`` ->
  ``lifetime_harvested``, ``last_activity_date`` -> ``last_activity_at``, ``user_id`` ->
  ``member_id``;
- Django's PostgreSQL connection has JIT off (the project's settings); the seeds ran with the
  server default (JIT on makes ``bulk_update`` about twice slower again, spec §7).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F

from saka.grains.accounts import system_account_id
from saka.grains.conf import get_settings
from saka.grains.models import AccountKind, EntryKind, SakaAccount, SakaEntry, SakaPosting

COMPOST_BATCH_SIZE = 500
REDISTRIBUTION_BATCH_SIZE = 1000


@dataclass(frozen=True)
class SeedsResult:
    wallets: int
    amount: int
    chunks: int
    counted: int = 0  # redistribution: the eligible count taken at the start
    per_wallet: int = 0


def run_saka_compost_cycle(*, as_of: datetime) -> SeedsResult:
    """The seeds' compost (``run_saka_compost_cycle`` after its "optimisation")."""
    cfg = get_settings()
    rate = float(cfg.compost_rate)  # the seeds' float rate (spec §10.10)
    cutoff = as_of - timedelta(days=cfg.compost_inactivity_days)
    silo_id = system_account_id(AccountKind.SILO)
    composted = total = chunks = 0
    with transaction.atomic():
        qs = SakaAccount.objects.filter(  # no select_for_update(), no order_by()
            kind=AccountKind.WALLET,
            balance__gte=cfg.compost_min_balance,
            last_activity_at__lte=cutoff,
        )
        offset = 0
        while True:
            chunk = list(
                qs[offset : offset + COMPOST_BATCH_SIZE].only(
                    "id", "balance", "lifetime_composted", "member_id"
                )
            )
            if not chunk:
                break
            chunks += 1
            wallets_to_update = []
            amounts = []
            for wallet in chunk:
                amount = int(wallet.balance * rate)
                if amount < cfg.compost_min_amount:
                    continue
                wallet.balance -= amount
                wallet.lifetime_composted += amount
                wallet.last_activity_at = as_of  # the seeds' last_activity_date = now
                wallets_to_update.append(wallet)
                amounts.append(amount)
            SakaAccount.objects.bulk_update(
                wallets_to_update,
                ["balance", "lifetime_composted", "last_activity_at"],
                batch_size=COMPOST_BATCH_SIZE,
            )
            chunk_total = sum(amounts)
            if wallets_to_update:
                entry = SakaEntry.objects.create(
                    kind=EntryKind.COMPOST, reason="seeds", amount=chunk_total, created_at=as_of
                )
                postings = [
                    SakaPosting(entry_id=entry.pk, account_id=wallet.pk, amount=-amount)
                    for wallet, amount in zip(wallets_to_update, amounts, strict=True)
                ]
                postings.append(
                    SakaPosting(entry_id=entry.pk, account_id=silo_id, amount=chunk_total)
                )
                SakaPosting.objects.bulk_create(postings, batch_size=COMPOST_BATCH_SIZE)
                SakaAccount.objects.filter(pk=silo_id).update(balance=F("balance") + chunk_total)
            composted += len(wallets_to_update)
            total += chunk_total
            offset += COMPOST_BATCH_SIZE
    return SeedsResult(wallets=composted, amount=total, chunks=chunks)


def redistribute_saka_silo(*, as_of: datetime) -> SeedsResult:
    """The seeds' redistribution (``redistribute_saka_silo`` after its "optimisation")."""
    cfg = get_settings()
    rate = float(cfg.redistribution_rate)
    active_cutoff = as_of - timedelta(days=cfg.redistribution_active_days)
    silo_id = system_account_id(AccountKind.SILO)
    credited = total = chunks = 0
    with transaction.atomic():
        silo = SakaAccount.objects.select_for_update().get(pk=silo_id)  # held for the whole run
        eligible_qs = SakaAccount.objects.filter(
            kind=AccountKind.WALLET,
            lifetime_harvested__gte=cfg.redistribution_min_harvested,
            last_activity_at__gt=active_cutoff,
        )
        counted = eligible_qs.count()
        pot = int(silo.balance * rate)
        if counted == 0 or pot <= 0:
            return SeedsResult(wallets=0, amount=0, chunks=0, counted=counted)
        per_wallet = pot // counted
        if per_wallet <= 0:
            return SeedsResult(wallets=0, amount=0, chunks=0, counted=counted)
        offset = 0
        while True:
            chunk_data = list(
                eligible_qs[offset : offset + REDISTRIBUTION_BATCH_SIZE].values_list(
                    "id", "member_id"
                )
            )
            if not chunk_data:
                break
            chunks += 1
            chunk_wallet_ids = [row[0] for row in chunk_data]
            SakaAccount.objects.filter(id__in=chunk_wallet_ids).update(
                balance=F("balance") + per_wallet,
                lifetime_harvested=F("lifetime_harvested") + per_wallet,  # spec §10.7
                last_activity_at=as_of,
            )
            chunk_total = per_wallet * len(chunk_wallet_ids)
            entry = SakaEntry.objects.create(
                kind=EntryKind.REDISTRIBUTION, reason="seeds", amount=chunk_total, created_at=as_of
            )
            postings = [
                SakaPosting(entry_id=entry.pk, account_id=wallet_id, amount=per_wallet)
                for wallet_id in chunk_wallet_ids
            ]
            postings.append(SakaPosting(entry_id=entry.pk, account_id=silo_id, amount=-chunk_total))
            SakaPosting.objects.bulk_create(postings, batch_size=REDISTRIBUTION_BATCH_SIZE)
            SakaAccount.objects.filter(pk=silo_id).update(balance=F("balance") - chunk_total)
            credited += len(chunk_wallet_ids)
            total += chunk_total
            offset += REDISTRIBUTION_BATCH_SIZE
    return SeedsResult(
        wallets=credited, amount=total, chunks=chunks, counted=counted, per_wallet=per_wallet
    )
