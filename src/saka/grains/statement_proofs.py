"""Selectors of the verifiable run statements: the chain, one statement, and a member's proof
that a run credited (or composted) their wallet -- or why it did not.

A proof (``StatementProof.proof``) is plain JSON that ``saka.grains.merkle.proof_verify``
checks with sha256 alone::

    {"account_id", "amount", "leaf", "chunk": {"lo", "hi", "count", "total", "root"},
     "chunk_path": [{"side": "L"|"R", "hash"}...], "top_path": [...],
     "statement": {"seq", "prev_hash", "hash", "body"}}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet, Sum

from saka.grains.errors import StatementNotFound
from saka.grains.merkle import leaf_hash, merkle_path
from saka.grains.models import (
    AccountKind,
    EntryKind,
    RunFrozen,
    RunKind,
    RunStatement,
    SakaAccount,
    SakaPosting,
)
from saka.grains.run_statements import SIGN, ChunkLeaf, chunk_postings, chunk_range_of

# Outcomes of a redistribution that credited nobody (its plan refused: see rules.py).
_REFUSED = ("nothing_to_redistribute", "no_eligible_wallets", "share_rounds_to_zero")


@dataclass(frozen=True)
class StatementProof:
    """What a run did to one member's wallet: ``credited``/``composted`` with the amount and
    the proof, or ``not_counted``/``at_ceiling``/``not_credited``/``not_composted`` with the
    reason (when it can be told) and the statement's parameters."""

    run_id: int
    seq: int
    kind: str
    status: str
    amount: int = 0
    reason: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    proof: dict[str, Any] | None = None


def statement_list() -> QuerySet[RunStatement]:
    """The chain, newest first."""
    return RunStatement.objects.order_by("-seq")


def statement_get(*, seq: int) -> RunStatement:
    found = RunStatement.objects.filter(seq=seq).first()
    if found is None:
        raise StatementNotFound(seq=seq)
    return found


def _parameters(statement: RunStatement) -> dict[str, Any]:
    body = statement.body
    if statement.kind == RunKind.REDISTRIBUTION:
        return dict(body["eligibility"]) | {"share": body["share"], "rate": body["rate"]}
    names = ("rate", "min_balance", "min_amount", "inactivity_days", "cutoff")
    return {n: body[n] for n in names}


def _proof(statement: RunStatement, account_id: int, amount: int) -> dict[str, Any]:
    run = statement.run
    lo, hi = chunk_range_of(run, account_id)
    postings = chunk_postings(run, lo, hi)  # at most chunk_size rows
    leaves = [leaf_hash(a, x) for a, x in postings]
    index = next(i for i, (a, _) in enumerate(postings) if a == account_id)
    chunks = [ChunkLeaf.of_list(c) for c in statement.chunks]
    top = next((i for i, c in enumerate(chunks) if c.lo == lo), None)
    chunk = chunks[top] if top is not None else ChunkLeaf(lo, hi, 0, 0, "")
    return {
        "account_id": account_id,
        "amount": amount,
        "leaf": leaves[index].hex(),
        "chunk": {
            "lo": chunk.lo,
            "hi": chunk.hi,
            "count": chunk.count,
            "total": chunk.total,
            "root": chunk.root,
        },
        "chunk_path": merkle_path(leaves, index),
        "top_path": [] if top is None else merkle_path([c.leaf() for c in chunks], top),
        "statement": {
            "seq": statement.seq,
            "prev_hash": statement.prev_hash,
            "hash": statement.hash,
            "body": statement.body,
        },
    }


def _not_counted_reason(statement: RunStatement, account: SakaAccount) -> str:
    """Why a redistribution did not count the wallet, from the rule's parameters: harvested
    by ``as_of`` below ``min_harvested``, else no activity in the window."""
    run = statement.run
    harvested = SakaPosting.objects.filter(
        account_id=account.pk, entry__kind=EntryKind.HARVEST, entry__created_at__lte=run.as_of
    ).aggregate(x=Sum("amount"))["x"]
    if int(harvested or 0) < int(statement.body["eligibility"]["min_harvested"]):
        return "min_harvested_not_reached"
    return "no_activity_in_window"


def statement_proof(*, run_id: int, member_id: int) -> StatementProof:
    """What run ``run_id``'s statement says of the member's wallet, with the proof when it
    moved grains. Raises ``StatementNotFound`` when the run has no statement (a dry run, an
    unfinished run, no such run). At most chunk_size postings read."""
    statement = RunStatement.objects.select_related("run").filter(run_id=run_id).first()
    if statement is None:
        raise StatementNotFound(run_id=run_id)
    kind = statement.kind
    base: dict[str, Any] = {"run_id": run_id, "seq": statement.seq, "kind": kind}
    params = _parameters(statement)
    account = SakaAccount.objects.filter(kind=AccountKind.WALLET, member_id=member_id).first()
    missed = "not_composted" if kind == RunKind.COMPOST else "not_counted"
    if account is None:
        return StatementProof(**base, status=missed, reason="no_wallet", parameters=params)
    posted = (
        SakaPosting.objects.filter(run_id=run_id, account_id=account.pk)
        .values_list("amount", flat=True)
        .first()
    )
    if posted is not None:
        amount = SIGN[kind] * int(posted)
        return StatementProof(
            **base,
            status="composted" if kind == RunKind.COMPOST else "credited",
            amount=amount,
            parameters=params,
            proof=_proof(statement, account.pk, amount),
        )
    if kind == RunKind.COMPOST:  # CompostRule.refusal needs the wallet as it was: not kept
        return StatementProof(**base, status=missed, parameters=params)
    if _counted(run_id, account.pk):
        if statement.body["outcome"] in _REFUSED:
            status, reason = "not_credited", statement.body["outcome"]
        else:  # counted, but its share would have taken it above MAX_BALANCE (or it vanished)
            status, reason = "at_ceiling", "share_above_max_balance"
        return StatementProof(**base, status=status, reason=reason, parameters=params)
    reason = _not_counted_reason(statement, account)
    return StatementProof(**base, status=missed, reason=reason, parameters=params)


def _counted(run_id: int, account_id: int) -> bool:
    """Whether the redistribution ``run_id`` counted (froze) the wallet ``account_id``."""
    frozen = (
        RunFrozen.objects.filter(run_id=run_id, lo__lt=account_id, hi__gte=account_id)
        .values_list("ids", flat=True)
        .first()
    )
    return frozen is not None and account_id in frozen
