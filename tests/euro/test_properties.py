"""Property: no cent is created or lost across deposit -> pockets -> pledge -> release/refund.

Random sequences of deposits (with fees, donations, tips), pocket changes, transfers,
pledges and cancellations, then the campaign's outcome and its settlement in random
chunks, are run against the services and against a plain-Python model; after every
example each member's main balance, pockets and escrow, the project, the platform and the
processor hold exactly what the model says, and ``reconcile()`` is clean.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saka.core.errors import DomainError
from saka.euro import selectors, settlement
from saka.euro.models import AccountKind, CampaignStatus, Pledge, PledgeStatus
from saka.euro.services.pledges import pledge_cancel, pledge_create
from saka.euro.services.pockets import pocket_create, pocket_transfer
from saka.euro.splits import commission_of, payment_split, pocket_split
from saka.ledger.reconcile import reconcile
from saka.projects.services import project_create
from tests.support.euro import (
    account_balance,
    close,
    deposit,
    external_total,
    open_campaign,
)

pytestmark = pytest.mark.django_db

MEMBERS = 3
RATE = Decimal("0.05")


@dataclass(frozen=True)
class Deposit:
    member: int
    amount: int
    fee_permille: int
    donation_share: int
    tip_share: int


@dataclass(frozen=True)
class SetPocket:
    member: int
    bp: int


@dataclass(frozen=True)
class Transfer:
    member: int
    to_pocket: bool
    amount: int


@dataclass(frozen=True)
class MakePledge:
    member: int
    amount: int


@dataclass(frozen=True)
class Cancel:
    member: int


members = st.integers(min_value=0, max_value=MEMBERS - 1)
operations = st.lists(
    st.one_of(
        st.builds(
            Deposit,
            members,
            st.integers(min_value=1, max_value=500_000),
            st.integers(min_value=0, max_value=100),
            st.integers(min_value=0, max_value=60),
            st.integers(min_value=0, max_value=40),
        ),
        st.builds(SetPocket, members, st.integers(min_value=0, max_value=7_000)),
        st.builds(Transfer, members, st.booleans(), st.integers(min_value=1, max_value=50_000)),
        st.builds(MakePledge, members, st.integers(min_value=1, max_value=200_000)),
        st.builds(Cancel, members),
    ),
    min_size=1,
    max_size=25,
)


@dataclass
class Wallet:
    main: int = 0
    pockets: list[int] = field(default_factory=list)  # balances, in pocket order
    bps: list[int] = field(default_factory=list)
    pledges: list[int] = field(default_factory=list)  # held amounts (model order)


_example = itertools.count()


@pytest.mark.slow
@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ops=operations,
    outcome=st.sampled_from([CampaignStatus.SUCCEEDED, CampaignStatus.FAILED]),
    batch=st.integers(min_value=1, max_value=7),
)
def test_no_cent_is_created_or_lost(
    make_user: Any, ops: list[Any], outcome: str, batch: int
) -> None:
    # given fresh members and a project with an open campaign (examples share the database)
    n = next(_example)
    people = [make_user() for _ in range(MEMBERS)]
    project = project_create(owner_id=people[0].pk, title=f"P{n}")
    campaign = open_campaign(project)
    pockets: list[list[int]] = [[] for _ in range(MEMBERS)]  # pocket ids
    pledge_ids: list[list[int]] = [[] for _ in range(MEMBERS)]
    model = [Wallet() for _ in range(MEMBERS)]
    commission_before = account_balance(AccountKind.COMMISSION)
    fees_before = external_total(AccountKind.FEES)
    provider_before = external_total(AccountKind.PROVIDER)
    donations = tips = fees = paid_in = 0

    # when every operation runs against the services and the model
    for op in ops:
        user, w = people[op.member], model[op.member]
        if isinstance(op, Deposit):
            fee = op.amount * op.fee_permille // 1000
            donation = op.amount * op.donation_share // 100
            tip = op.amount * op.tip_share // 100
            deposit(user, op.amount, fee=fee, donation=donation, tip=tip, project_id=project.pk)
            split = payment_split(amount=op.amount, fee=fee, donation=donation, tip=tip)
            parts, main = pocket_split(split.wallet_net, [bp for bp in w.bps if bp])
            it = iter(parts)
            w.pockets = [
                b + (next(it) if bp else 0) for b, bp in zip(w.pockets, w.bps, strict=True)
            ]
            w.main += main
            donations += split.donation_net
            tips += split.tip_net
            fees += fee
            paid_in += op.amount
        elif isinstance(op, SetPocket):
            percentage = f"{op.bp // 100}.{op.bp % 100:02d}"
            if sum(w.bps) + op.bp > 10_000:
                with pytest.raises(DomainError):
                    pocket_create(member_id=user.pk, name="p", percentage=percentage)
                continue
            made = pocket_create(member_id=user.pk, name="p", percentage=percentage)
            pockets[op.member].append(made.pocket_id)
            w.pockets.append(0)
            w.bps.append(op.bp)
        elif isinstance(op, Transfer):
            if not pockets[op.member]:
                continue
            source = w.main if op.to_pocket else w.pockets[-1]
            call = functools.partial(
                pocket_transfer,
                member_id=user.pk,
                pocket_id=pockets[op.member][-1],
                direction="to_pocket" if op.to_pocket else "to_wallet",
                amount=op.amount,
            )
            if source < op.amount:
                with pytest.raises(DomainError):
                    call()
                continue
            call()
            sign = 1 if op.to_pocket else -1
            w.main -= sign * op.amount
            w.pockets[-1] += sign * op.amount
        elif isinstance(op, MakePledge):
            call = functools.partial(
                pledge_create, member_id=user.pk, project_id=project.pk, amount=op.amount
            )
            if w.main < op.amount:
                with pytest.raises(DomainError):
                    call()
                continue
            pledge_ids[op.member].append(call().pledge_id)
            w.main -= op.amount
            w.pledges.append(op.amount)
        elif isinstance(op, Cancel):
            if not pledge_ids[op.member]:
                continue
            pledge_cancel(member_id=user.pk, pledge_id=pledge_ids[op.member].pop())
            w.main += w.pledges.pop()

    # then every member's wallet, pockets and escrow are what the model says
    for user, w in zip(people, model, strict=True):
        view = selectors.wallet_summary(member_id=user.pk)
        assert (view.available, [p.balance for p in view.pockets], view.held) == (
            w.main,
            w.pockets,
            sum(w.pledges),
        )

    # when the campaign closes and is settled in random chunks
    close(campaign, outcome)
    run = settlement.settlement_start(campaign_id=campaign.pk, chunk_size=batch)

    # then the money went where the outcome says, to the cent
    held = [a for w in model for a in w.pledges]
    released = outcome == CampaignStatus.SUCCEEDED
    commission = sum(commission_of(a, RATE) for a in held) if released else 0
    assert run.amount_done == sum(held)
    assert run.pledges_done == len(held)
    assert run.commission_done == commission
    assert account_balance(AccountKind.PROJECT, project=project) == donations + (
        sum(held) - commission if released else 0
    )
    assert account_balance(AccountKind.COMMISSION) - commission_before == tips + commission
    assert external_total(AccountKind.FEES) - fees_before == fees
    assert external_total(AccountKind.PROVIDER) - provider_before == -paid_in
    for user, w in zip(people, model, strict=True):
        view = selectors.wallet_summary(member_id=user.pk)
        refunds = 0 if released else sum(w.pledges)
        assert (view.available, view.held) == (w.main + refunds, 0)
        assert view.pockets_total == sum(w.pockets)
    assert not Pledge.objects.filter(campaign=campaign, status=PledgeStatus.HELD).exists()
    # and what members hold + project + platform + fees = what was paid in
    members_total = sum(selectors.wallet_summary(member_id=u.pk).total for u in people)
    assert (
        members_total
        + account_balance(AccountKind.PROJECT, project=project)
        + tips
        + commission
        + fees
        == paid_in
    )
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]
