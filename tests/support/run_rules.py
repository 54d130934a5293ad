"""Helpers of the run rule tests: a second and a microsecond, a run's compost amounts and
credits by wallet, a wallet's member, a silo filled by composting migrated wallets."""

from __future__ import annotations

from datetime import datetime, timedelta

from saka.grains.models import Run, SakaAccount
from saka.grains.runs.compost import compost_run_start
from tests.support.runs_reference import run_postings

SECOND = timedelta(seconds=1)
MICRO = timedelta(microseconds=1)


def composted(run: Run) -> dict[int, int]:
    return {acc: -amount for acc, amount in run_postings(run.pk).items()}


def member_of(account_id: int) -> int:
    return SakaAccount.objects.values_list("member_id", flat=True).get(pk=account_id)


def fill_silo(make_wallet, balances: list[int], *, at: datetime) -> int:
    """Wallets that never had activity, composted at ``at`` (10%): the silo then holds their
    amounts. (Migrated wallets: one entry each, however large the balance.)"""
    for b in balances:
        make_wallet(b, None)
    run = compost_run_start(as_of=at)
    return run.amount_done


def credits(run: Run) -> dict[int, int]:
    return run_postings(run.pk)
