"""SAKA postings explained (``saka.ledger.statements``): the sentence and calculation of each
line of a member's history, from what was stored when it was booked.

- A member's own entry (harvest, plant, boost, poll vote, manual adjustment) stores its
  sentence and figures when it is booked (``harvest_statement``, ``plant_statement``, called
  by the booking building blocks of ``saka.grains.services``).
- A run books one entry per chunk for thousands of wallets: the entry stores the run's
  figures (``compost_calculation``, ``redistribution_calculation``: parameters, period, pot,
  members counted, share, remainder), and each compost posting its own (``basis``: the
  balance the amount was taken from, ``idle_days``). The line's sentence is written from
  those stored figures when it is read; nothing is read from the wallet, the settings or the
  run row, so it never changes.

Figures are integers (grains), rates decimal strings, instants ISO 8601 (docs/statements.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from saka.grains.models import EntryKind, SakaPosting
from saka.ledger.statements import Explained

REASONS = {
    "content_read": "reading content",
    "poll_vote": "voting in a poll",
    "invite_accepted": "an accepted invitation",
    "invest_bonus": "an investment bonus",
    "manual_adjust": "a manual adjustment by staff",
    "project_boost": "boosting a project",
    "plant": "planting",
}


def _grains(n: int) -> str:
    return f"{n:,} grain{'s' if abs(n) != 1 else ''}"


def _percent(rate: str) -> str:
    """``"0.10"`` -> ``"10%"``, ``"0.125"`` -> ``"12.5%"`` (exact, no float)."""
    text = format((Decimal(rate) * 100).normalize(), "f")
    return f"{text}%"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _reason(reason: str) -> str:
    return REASONS.get(reason, reason.replace("_", " "))


# --- written when a member's entry is booked ------------------------------------------------


def harvest_statement(
    *,
    reason: str,
    grant: int,
    balance_after: int,
    used_today: int | None,
    daily_limit: int | None,
    granted_by_id: int | None,
) -> tuple[str, dict[str, Any]]:
    """The sentence and calculation of a harvest, as booked."""
    calc: dict[str, Any] = {
        "reason": reason,
        "amount": grant,
        "balance_after": balance_after,
        "used": used_today,
        "limit": daily_limit,
        "granted_by": granted_by_id,
    }
    sentence = f"Harvested {_grains(grant)} for {_reason(reason)}"
    if reason == "manual_adjust" and used_today is not None and daily_limit is not None:
        sentence += f" ({used_today:,} of {daily_limit:,} grains granted in 24 hours)"
    elif used_today is not None and daily_limit is not None:
        sentence += f" ({_ordinal(used_today)} of {daily_limit} today)"
    sentence += f"; balance {balance_after:,}."
    return sentence, calc


def plant_statement(
    *,
    reason: str,
    grains: int,
    balance_after: int,
    project_id: int | None,
    project_name: str | None,
    details: Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The sentence and calculation of a plant (a boost, a poll vote's spend), as booked."""
    calc: dict[str, Any] = {
        "reason": reason,
        "amount": grains,
        "balance_after": balance_after,
        "project_id": project_id,
        "project_name": project_name,
        **(details or {}),
    }
    if project_id is not None:
        sentence = f"Planted {_grains(grains)} to boost project «{project_name}»"
    elif reason == "poll_vote" and "poll_title" in calc:
        sentence = (
            f"Planted {_grains(grains)} on your vote in «{calc['poll_title']}» "
            f"(intensity {calc.get('intensity')} x {calc.get('cost_per_intensity')} grains)"
        )
    elif reason == "plant":  # the default reason says nothing more than "planted"
        sentence = f"Planted {_grains(grains)}"
    else:
        sentence = f"Planted {_grains(grains)} for {_reason(reason)}"
    return f"{sentence}; balance {balance_after:,}.", calc


# --- written once per run chunk ---------------------------------------------------------------


def compost_calculation(
    *, run_id: int, period: str, as_of: datetime, parameters: Mapping[str, Any]
) -> dict[str, Any]:
    """A compost chunk entry's figures: the run's, frozen in its parameters."""
    return {
        "run": run_id,
        "period": period,
        "as_of": as_of.isoformat(),
        "rate": str(parameters["rate"]),
        "min_balance": int(parameters["min_balance"]),
        "min_amount": int(parameters["min_amount"]),
        "inactivity_days": int(parameters["inactivity_days"]),
    }


def redistribution_calculation(
    *,
    run_id: int,
    period: str,
    as_of: datetime,
    parameters: Mapping[str, Any],
    silo_before: int,
    pot: int,
    members: int,
    share: int,
) -> dict[str, Any]:
    """A redistribution chunk entry's figures: the run's frozen plan."""
    return {
        "run": run_id,
        "period": period,
        "as_of": as_of.isoformat(),
        "rate": str(parameters["rate"]),
        "min_harvested": int(parameters["min_harvested"]),
        "active_days": int(parameters["active_days"]),
        "silo_before": silo_before,
        "pot": pot,
        "members": members,
        "share": share,
        "remainder": pot - share * members,
    }


def _compost_line(posting: SakaPosting, run: Mapping[str, Any]) -> Explained:
    amount = -posting.amount
    calc = {**run, "amount": amount, "basis": posting.basis, "idle_days": posting.idle_days}
    idle = (
        "a wallet that never had any activity"
        if posting.idle_days is None
        else f"after {posting.idle_days:,} days without activity"
    )
    basis = f" of {posting.basis:,}" if posting.basis is not None else ""
    sentence = (
        f"Composted {_grains(amount)}: {_percent(run['rate'])} of your balance{basis}, {idle} "
        f"(weekly compost {run['period']}, run {run['run']}; balances under "
        f"{run['min_balance']:,} grains and amounts under {run['min_amount']:,} are never "
        f"composted, and only after {run['inactivity_days']} idle days)."
    )
    return Explained(sentence, calc)


def _redistribution_line(posting: SakaPosting, run: Mapping[str, Any]) -> Explained:
    calc = {**run, "amount": posting.amount}
    remainder = int(run["remainder"])
    sentence = (
        f"Received {_grains(posting.amount)}: an equal share of the {_grains(int(run['pot']))} "
        f"redistributed from the silo ({_percent(run['rate'])} of {int(run['silo_before']):,}) "
        f"to {int(run['members']):,} active members; {_grains(remainder)} stayed in the silo "
        f"(monthly redistribution {run['period']}, run {run['run']})."
    )
    return Explained(sentence, calc)


def _generic(posting: SakaPosting) -> Explained:
    """A line booked before statements existed: what the ledger itself says."""
    entry = posting.entry
    verb = "Received" if posting.amount > 0 else "Spent"
    what: str = {
        EntryKind.HARVEST.value: f"harvest for {_reason(entry.reason)}",
        EntryKind.PLANT.value: f"plant for {_reason(entry.reason)}",
    }.get(entry.kind, entry.kind)
    return Explained(f"{verb} {_grains(abs(posting.amount))} ({what}).", None)


def posting_explained(posting: SakaPosting) -> Explained:
    entry = posting.entry
    calc = entry.calculation
    if not calc:
        return _generic(posting)
    if entry.kind == EntryKind.COMPOST and posting.amount < 0:
        return _compost_line(posting, calc)
    if entry.kind == EntryKind.REDISTRIBUTION and posting.amount > 0:
        return _redistribution_line(posting, calc)
    if entry.explanation:
        return Explained(entry.explanation, calc)
    return _generic(posting)


def postings_explained(*, postings: Sequence[SakaPosting]) -> list[Explained]:
    """One :class:`Explained` per posting, in order; the postings come with their entry
    (``select_related("entry")``). No query: everything is on the entry and the posting."""
    return [posting_explained(p) for p in postings]
