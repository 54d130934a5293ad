"""Fixtures of the run tests: ``make_wallet``, a new member's wallet with a balance and a last
activity."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.support.runs_reference import build_wallet, migrate_wallet, new_member, wallet_id


@pytest.fixture
def make_wallet(staff_user):
    """``make_wallet(balance, last_activity_at, planted=0)``: a new member's wallet whose last
    activity is that instant (``None``: a migrated wallet that never had activity)."""
    counter = {"n": 0}

    def make(balance: int, at: datetime | None, *, planted: int = 0) -> int:
        counter["n"] += 1
        member = new_member(f"w{counter['n']}")
        if at is None:
            migrate_wallet(member_id=member.pk, amount=balance)
        else:
            build_wallet(
                member_id=member.pk, balance=balance, at=at, staff_id=staff_user.pk, planted=planted
            )
        return wallet_id(member.pk)

    return make
