"""EUR postings explained (``saka.ledger.statements``): the sentence and calculation of each
line of a member's history, from what was stored when it was booked.

The booking code (deposits, pocket transfers, pledges, cancellations, refunds, settlement
chunks) builds the entry's ``calculation`` with the ``*_calculation`` functions here and its
``explanation`` with :func:`entry_sentence`, both written in the entry's own insert. A line
is explained from that stored calculation only (and, for the lines of a settlement chunk,
from the per-pledge figures frozen on the :class:`~saka.euro.models.Pledge` rows at
settlement), never from the accounts, pockets, projects or settings as they are today: a
statement printed today and in a year says the same thing.

Calculations hold integers in cents, percentages and rates as decimal strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Q, Subquery

from saka.core.money import format_cents, format_percentage
from saka.euro.models import EntryKind, EuroAccount, EuroEntry, EuroPosting, Pledge
from saka.euro.splits import PaymentSplit
from saka.ledger.statements import Explained

PROVIDER_WAYS = {"stripe": "by card (Stripe)", "helloasso": "via HelloAsso"}
SETTLEMENT_KINDS = frozenset({EntryKind.RELEASE.value, EntryKind.REFUND.value})


def _eur(cents: int) -> str:
    return f"{format_cents(cents)} EUR"


def rate_percent(rate: str) -> str:
    """``"0.05"`` -> ``"5%"``, ``"0.025"`` -> ``"2.5%"`` (exact: the rate is a decimal)."""
    percent = (Decimal(rate) * 100).normalize()
    return f"{percent:f}%"


def _and(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


# --- what the booking code stores -------------------------------------------------------------


def deposit_calculation(
    *,
    provider: str,
    payment_id: str,
    split: PaymentSplit,
    project_id: int | None,
    project_name: str | None,
    pockets: Sequence[tuple[int, int, str, int, int]],
    main: int,
) -> dict[str, Any]:
    """A deposit's figures; ``pockets``: ``(pocket id, account id, name, percentage in
    hundredths of a percent, cents)`` of each pocket that received a share."""
    return {
        "provider": provider,
        "payment_id": payment_id,
        "gross": split.amount,
        "fee": split.fee,
        "fee_split": {
            "wallet": split.wallet_fee,
            "donation": split.donation_fee,
            "tip": split.tip_fee,
        },
        "donation": (
            {
                "project_id": project_id,
                "project": project_name,
                "gross": split.donation_gross,
                "fee": split.donation_fee,
                "net": split.donation_net,
            }
            if split.donation_gross
            else None
        ),
        "tip": (
            {"gross": split.tip_gross, "fee": split.tip_fee, "net": split.tip_net}
            if split.tip_gross
            else None
        ),
        "credited": split.wallet_net,
        "pockets": [
            {
                "pocket_id": pocket_id,
                "account_id": account_id,
                "name": name,
                "percentage": format_percentage(bp),
                "cents": cents,
            }
            for pocket_id, account_id, name, bp, cents in pockets
        ],
        "main": main,
    }


def transfer_calculation(
    *,
    pocket_id: int,
    pocket_name: str,
    direction: str,
    amount: int,
    main_after: int,
    pocket_after: int,
    closing: bool,
) -> dict[str, Any]:
    return {
        "pocket_id": pocket_id,
        "pocket": pocket_name,
        "direction": direction,
        "amount": amount,
        "main_after": main_after,
        "pocket_after": pocket_after,
        "closing": closing,
    }


def pledge_calculation(
    *,
    pledge_id: int,
    pledge_kind: str,
    project_id: int,
    project_name: str,
    campaign_id: int,
    amount: int,
    available_after: int | None = None,
) -> dict[str, Any]:
    """A pledge's, a cancellation's or a single refund's figures (``available_after``: the
    main balance after a pledge)."""
    out: dict[str, Any] = {
        "pledge_id": pledge_id,
        "pledge_kind": pledge_kind,
        "project_id": project_id,
        "project": project_name,
        "campaign_id": campaign_id,
        "amount": amount,
    }
    if available_after is not None:
        out["available_after"] = available_after
    return out


def settlement_calculation(
    *,
    run_id: int,
    campaign_id: int,
    campaign_status: str,
    project_id: int,
    project_name: str,
    commission_rate: str,
    pledges: int,
    amount: int,
    commission: int,
    net: int,
    refunded: int,
) -> dict[str, Any]:
    """A settlement chunk's frozen figures (the per-pledge ones are on the Pledge rows)."""
    return {
        "run_id": run_id,
        "campaign_id": campaign_id,
        "campaign_status": campaign_status,
        "project_id": project_id,
        "project": project_name,
        "commission_rate": commission_rate,
        "chunk": {
            "pledges": pledges,
            "amount": amount,
            "commission": commission,
            "net": net,
            "refunded": refunded,
        },
    }


# --- sentences ---------------------------------------------------------------------------------


def _deposit_head(calc: dict[str, Any]) -> str:
    way = PROVIDER_WAYS.get(calc["provider"], f"via {calc['provider']}")
    return f"Deposit of {_eur(calc['gross'])} {way}"


def _deposit_sentence(calc: dict[str, Any]) -> str:
    parts: list[str] = []
    donation, tip = calc["donation"], calc["tip"]
    if calc["fee"]:
        fees = _eur(calc["fee"]) + " fees"
        if donation or tip:
            split = calc["fee_split"]
            on = [f"{_eur(split['wallet'])} on your part"] if calc["credited"] else []
            if donation:
                on.append(f"{_eur(split['donation'])} on the donation")
            if tip:
                on.append(f"{_eur(split['tip'])} on the tip")
            fees += f" ({', '.join(on)})"
        parts.append(fees)
    else:
        parts.append("no fees")
    if donation:
        parts.append(f"{_eur(donation['net'])} donation to «{donation['project']}»")
    if tip:
        parts.append(f"{_eur(tip['net'])} tip")
    pockets = calc["pockets"]
    if not calc["credited"]:
        credited = "nothing credited to your wallet"
    elif pockets:
        shares = [
            f"{_eur(p['cents'])} to pocket «{p['name']}» ({p['percentage']}%)" for p in pockets
        ]
        if calc["main"]:
            shares.append(f"{_eur(calc['main'])} to your main balance")
        credited = f"{_eur(calc['credited'])} credited, of which {_and(shares)}"
    else:
        credited = f"{_eur(calc['credited'])} credited to your main balance"
    return f"{_deposit_head(calc)}: {', '.join(parts)}; {credited}."


def _pocket_share_sentence(calc: dict[str, Any], pocket: dict[str, Any]) -> str:
    return (
        f"{_deposit_head(calc)}: {_eur(pocket['cents'])} to pocket «{pocket['name']}» "
        f"({pocket['percentage']}% of the {_eur(calc['credited'])} credited)."
    )


def _transfer_sentence(calc: dict[str, Any]) -> str:
    amount, pocket = _eur(calc["amount"]), calc["pocket"]
    if calc["closing"]:
        return f"Pocket «{pocket}» closed: its {amount} went back to your main balance."
    if calc["direction"] == "to_pocket":
        return f"Moved {amount} from your main balance to pocket «{pocket}»."
    return f"Moved {amount} from pocket «{pocket}» back to your main balance."


def _pledge_sentence(kind: str, calc: dict[str, Any]) -> str:
    what = (
        f"pledge of {_eur(calc['amount'])} to «{calc['project']}» (campaign {calc['campaign_id']})"
    )
    if kind == EntryKind.PLEDGE:
        return (
            f"Your {what} is held in escrow until the campaign closes; "
            f"{_eur(calc['available_after'])} left available."
        )
    if kind == EntryKind.CANCEL:
        return f"You cancelled your {what}: {_eur(calc['amount'])} back to your main balance."
    return f"Your {what} was refunded: {_eur(calc['amount'])} back to your main balance."


def _settlement_context(calc: dict[str, Any]) -> str:
    return (
        f"campaign {calc['campaign_id']} {calc['campaign_status']}, settlement run {calc['run_id']}"
    )


def _chunk_sentence(kind: str, calc: dict[str, Any]) -> str:
    chunk, n = calc["chunk"], calc["chunk"]["pledges"]
    pledges = f"{n} pledge{'' if n == 1 else 's'} ({_eur(chunk['amount'])})"
    if kind == EntryKind.RELEASE:
        return (
            f"Settlement of {pledges} released to «{calc['project']}»: "
            f"{_eur(chunk['commission'])} commission ({rate_percent(calc['commission_rate'])}), "
            f"{_eur(chunk['net'])} to the project ({_settlement_context(calc)})."
        )
    return f"Settlement of {pledges} refunded to their members ({_settlement_context(calc)})."


def entry_sentence(*, kind: str, calculation: dict[str, Any]) -> str:
    """The entry's sentence (stored as its ``explanation``)."""
    if kind == EntryKind.DEPOSIT:
        return _deposit_sentence(calculation)
    if kind == EntryKind.TRANSFER:
        return _transfer_sentence(calculation)
    if "run_id" in calculation:
        return _chunk_sentence(kind, calculation)
    return _pledge_sentence(kind, calculation)


def _released_sentence(calc: dict[str, Any], pledge: dict[str, Any]) -> str:
    return (
        f"Your pledge of {_eur(pledge['amount'])} to «{calc['project']}» was released to the "
        f"project: {_eur(pledge['commission'])} commission "
        f"({rate_percent(calc['commission_rate'])}), {_eur(pledge['net'])} to the project "
        f"({_settlement_context(calc)})."
    )


def _refunded_sentence(calc: dict[str, Any], pledges: list[dict[str, Any]]) -> str:
    if len(pledges) == 1:
        what = f"Your pledge of {_eur(pledges[0]['amount'])} to «{calc['project']}» was"
    else:
        amounts = _and([_eur(p["amount"]) for p in pledges])
        what = f"Your {len(pledges)} pledges to «{calc['project']}» ({amounts}) were"
    return (
        f"{what} refunded to your main balance: campaign {calc['campaign_id']} "
        f"{calc['campaign_status']} (settlement run {calc['run_id']})."
    )


# --- reading -----------------------------------------------------------------------------------


def _generic(posting: EuroPosting) -> Explained:
    entry = posting.entry
    verb = "credited" if posting.amount > 0 else "debited"
    return Explained(
        f"{entry.get_kind_display()}: {verb} {_eur(abs(posting.amount))}.", calculation=None
    )


def _settled_pledges(
    postings: Sequence[EuroPosting],
) -> dict[tuple[int, int], list[dict[str, Any]]]:
    """The per-pledge figures of the page's settlement lines, in one query: ``(entry id,
    account id) -> pledges`` (a release line is one pledge's escrow debit; a refund line is
    a wallet's credit for its pledges of the chunk)."""
    settled = [
        p
        for p in postings
        if p.entry.kind in SETTLEMENT_KINDS
        and p.entry.run_id is not None
        and p.entry.calculation is not None
    ]
    if not settled:
        return {}
    released = [p.pledge_id for p in settled if p.amount < 0 and p.pledge_id is not None]
    refunded = [p for p in settled if p.amount > 0]
    wanted = Q(pk__in=released)
    if refunded:
        accounts = sorted({p.account_id for p in refunded})
        wanted |= Q(
            settlement_run_id__in=sorted({p.entry.run_id for p in refunded}),
            wallet_id__in=accounts,
            # through the member index, not the whole run's pledges
            member_id__in=Subquery(EuroAccount.objects.filter(pk__in=accounts).values("member_id")),
        )
    exit_entry = EuroPosting.objects.filter(pledge_id=OuterRef("pk"), amount__lt=0).values(
        "entry_id"
    )[:1]
    rows = (
        Pledge.objects.filter(wanted)
        .annotate(exit_entry_id=Subquery(exit_entry))
        .order_by("id")
        .values_list(
            "id",
            "escrow_id",
            "wallet_id",
            "amount_cents",
            "commission_cents",
            "net_cents",
            "exit_entry_id",
        )
    )
    out: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for pledge_id, escrow_id, wallet_id, amount, commission, net, entry_id in rows:
        figures = {"pledge_id": pledge_id, "amount": amount}
        if commission or net:
            figures |= {"commission": commission, "net": net}
        out.setdefault((entry_id, escrow_id), []).append(figures)
        out.setdefault((entry_id, wallet_id), []).append(figures)
    return out


def _line(posting: EuroPosting, settled: dict[tuple[int, int], list[dict[str, Any]]]) -> Explained:
    entry: EuroEntry = posting.entry
    calc = entry.calculation
    if calc is None:
        return _generic(posting)
    if entry.kind == EntryKind.DEPOSIT:
        pocket = next((p for p in calc["pockets"] if p["account_id"] == posting.account_id), None)
        if pocket is not None:
            return Explained(_pocket_share_sentence(calc, pocket), calculation=calc)
    if entry.kind in SETTLEMENT_KINDS and "run_id" in calc:
        pledges = settled.get((entry.pk, posting.account_id))
        if not pledges:
            return _generic(posting)
        line = {k: v for k, v in calc.items() if k != "chunk"} | {"pledges": pledges}
        if entry.kind == EntryKind.RELEASE:
            return Explained(_released_sentence(calc, pledges[0]), calculation=line)
        return Explained(_refunded_sentence(calc, pledges), calculation=line)
    return Explained(entry.explanation or entry_sentence(kind=entry.kind, calculation=calc), calc)


def postings_explained(*, postings: Sequence[EuroPosting]) -> list[Explained]:
    """One :class:`Explained` per posting, in order; the postings come with their entry
    (``select_related("entry")``). Queries: at most one (the page's settled pledges)."""
    settled = _settled_pledges(postings)
    return [_line(posting, settled) for posting in postings]
