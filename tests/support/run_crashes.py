"""The reference of the crash tests: the seeded population of spec 7 and its model, the
compost postings it expects, the checks every crash scenario ends with (each wallet posted
exactly once, the chunks done, an interrupted run left clean), and how a test makes a step of
a run kind crash (``patch_step``: a spec holds its steps' functions themselves)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from saka.demo.seed import expected_compost, seed_balance, seed_idle_days
from saka.engine.spec import RunSpec
from saka.grains.models import AccountKind, Run, RunChunk, RunChunkStep, RunStatus, SakaAccount
from saka.ledger.reconcile import reconcile
from tests.support.clock import A
from tests.support.runs_reference import (
    DAY,
    CompostRules,
    RedistributionRules,
    Wallet,
    compost_plan,
    redistribution_plan,
    run_postings,
    system_balance,
)

# --- the reference: the seeded population of spec 7 -------------------------------------------


def seed_accounts() -> dict[int, int]:
    """``{seed index i: account id}`` of the seeded wallets."""
    rows = SakaAccount.objects.filter(kind=AccountKind.WALLET).values_list("id", "member__username")
    return {int(name.removeprefix("seed-")): acc for acc, name in rows}


def seed_model(n: int) -> dict[int, Wallet]:
    accounts = seed_accounts()
    assert len(accounts) == n
    return {
        accounts[i]: Wallet(
            balance=seed_balance(i),
            last_activity_at=A - seed_idle_days(i) * DAY,
            lifetime_harvested=seed_balance(i),
        )
        for i in range(1, n + 1)
    }


def expected_compost_postings(n: int) -> dict[int, int]:
    plan = compost_plan(seed_model(n), CompostRules(), A)
    assert (len(plan), sum(plan.values())) == expected_compost(wallets=n)
    return {acc: -amount for acc, amount in plan.items()}


def assert_compost_exactly_once(run: Run, n: int) -> None:
    expected = expected_compost_postings(n)
    assert run.status == RunStatus.DONE
    assert run_postings(run.pk) == expected  # each eligible wallet once, with its amount
    assert (run.wallets_done, run.amount_done) == expected_compost(wallets=n)
    assert run.chunks_done == math.ceil(run.max_id / run.chunk_size)
    assert system_balance(AccountKind.SILO) == run.amount_done
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]


def assert_redistribution_exactly_once(run: Run, n: int, silo_before: int) -> None:
    model = seed_model(n)
    plan = redistribution_plan(model, silo_before, RedistributionRules(), A)
    assert plan.reason == ""
    assert run.status == RunStatus.DONE
    assert run.outcome == "completed"
    assert (run.silo_before, run.pot, run.eligible_wallets, run.per_wallet) == (
        plan.silo_before,
        plan.pot,
        len(plan.eligible),
        plan.per_wallet,
    )
    # the credited set is the counted set, each credited once with the same share
    assert run_postings(run.pk) == dict.fromkeys(plan.eligible, plan.per_wallet)
    assert (run.wallets_done, run.amount_done) == (len(plan.eligible), plan.total)
    assert system_balance(AccountKind.SILO) == run.silo_after == plan.silo_after
    assert system_balance(AccountKind.POOL) == 0
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]


def chunk_of(account_id: int, chunk_size: int) -> int:
    """Runs walk (k * size, (k + 1) * size] from 0."""
    return (account_id - 1) // chunk_size


def done(run_id: int, step: int) -> Any:
    """The chunk rows of ``step`` marked done (the engine plans every chunk of a step when the
    step begins, with ``done_at`` null: a row alone says nothing)."""
    return RunChunk.objects.filter(run_id=run_id, step=step, done_at__isnull=False)


def done_chunks(run: Run) -> set[int]:
    """The chunk numbers the run recorded as applied (parallel workers finish them in any
    order), after checking that the run row's progress says the same."""
    his = list(done(run.pk, RunChunkStep.APPLY).values_list("hi", flat=True))
    run.refresh_from_db()
    assert run.chunks_done == len(his)
    assert run.cursor == max(his, default=0)
    return {math.ceil(hi / run.chunk_size) - 1 for hi in his}


def assert_interrupted_cleanly(run: Run, expected: dict[int, int], crashed: int | None) -> None:
    """After a crash: the crashed chunk left nothing, and the run's postings are exactly the
    expected postings of the chunks it recorded as done."""
    done = done_chunks(run)
    assert crashed not in done
    assert run_postings(run.pk) == {
        acc: amount for acc, amount in expected.items() if chunk_of(acc, run.chunk_size) in done
    }


def patch_step(monkeypatch: Any, spec: RunSpec, name: str, work: Callable[..., Any]) -> Any:
    """Make the step ``name`` of ``spec`` do ``work`` (undone with ``monkeypatch``); returns
    the step's real work. The spec holds the function itself, so patching the module
    attribute would change nothing."""
    for i, step in enumerate(spec.steps):
        if step.name == name:
            monkeypatch.setitem(_Items(spec.steps), i, dataclasses.replace(step, work=work))
            return step.work
    raise KeyError(name)


class _Items:
    """A list as ``monkeypatch.setitem`` wants it (``get`` and item assignment)."""

    def __init__(self, items: Any) -> None:
        self.items = items

    def get(self, index: int, default: Any = None) -> Any:
        return self.items[index]

    def __setitem__(self, index: int, value: Any) -> None:
        self.items[index] = value
