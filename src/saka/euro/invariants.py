"""The EUR book's own invariants: the reconcile checks ``saka_reconcile`` runs after the
generic ones (escrows, pockets, settlement runs, deposits against webhook events)."""

from __future__ import annotations

from collections.abc import Iterable

from saka.euro.conf import MAX_POCKETS
from saka.euro.models import (
    BOOK,
    AccountKind,
    EntryKind,
    EuroAccount,
    EuroEntry,
    EuroPosting,
    Pledge,
    PledgeStatus,
    Pocket,
    SettlementKind,
    SettlementRun,
    WebhookEvent,
    WebhookEventStatus,
)
from saka.ledger.reconcile import Discrepancy, fetch, fetch_first, table


def escrows_match_pledges(limit: int) -> Iterable[Discrepancy]:
    """A held pledge's escrow holds exactly its amount; a settled pledge's escrow is empty;
    every escrow account belongs to exactly one pledge of the same member."""
    acc, pl = table(EuroAccount), table(Pledge)
    rows = fetch(
        f"SELECT p.id, p.status, p.amount_cents, a.id, a.kind, a.balance, a.member_id, p.member_id "
        f"FROM {pl} p LEFT JOIN {acc} a ON a.id = p.escrow_id "
        f"WHERE a.id IS NULL OR a.kind <> %s OR a.member_id <> p.member_id "
        f"OR (p.status = %s AND a.balance <> p.amount_cents) "
        f"OR (p.status <> %s AND a.balance <> 0) ORDER BY p.id LIMIT %s",
        [AccountKind.ESCROW.value, PledgeStatus.HELD.value, PledgeStatus.HELD.value, limit],
    )
    for r in rows:
        yield Discrepancy(
            BOOK,
            "escrows_match_pledges",
            f"pledge {r[0]} ({r[1]}, {r[2]} cents): escrow {r[3]} ({r[4]}) holds {r[5]}",
            {
                "pledge_id": r[0],
                "status": r[1],
                "amount": int(r[2]),
                "escrow_id": r[3],
                "escrow_balance": None if r[5] is None else int(r[5]),
            },
        )
    rows = fetch(
        f"SELECT a.id, a.balance FROM {acc} a WHERE a.kind = %s AND NOT EXISTS "
        f"(SELECT 1 FROM {pl} p WHERE p.escrow_id = a.id) ORDER BY a.id LIMIT %s",
        [AccountKind.ESCROW.value, limit],
    )
    for r in rows:
        yield Discrepancy(
            BOOK,
            "escrows_match_pledges",
            f"escrow account {r[0]} belongs to no pledge (balance {r[1]})",
            {"account_id": r[0], "balance": int(r[1])},
        )


def pockets_within_limits(limit: int) -> Iterable[Discrepancy]:
    """Per member: open pockets' percentages sum to at most 100, at most 100 open pockets;
    a pocket's account is a pocket account of the same member; a closed pocket is empty."""
    acc, pk = table(EuroAccount), table(Pocket)
    rows = fetch(
        f"SELECT member_id, SUM(percentage_bp), COUNT(*) FROM {pk} WHERE closed_at IS NULL "
        f"GROUP BY member_id HAVING SUM(percentage_bp) > 10000 OR COUNT(*) > %s "
        f"ORDER BY member_id LIMIT %s",
        [MAX_POCKETS, limit],
    )
    for r in rows:
        yield Discrepancy(
            BOOK,
            "pockets_within_limits",
            f"member {r[0]}: {r[2]} open pockets with {int(r[1]) / 100}% in total",
            {"member_id": r[0], "percentage_bp": int(r[1]), "pockets": int(r[2])},
        )
    rows = fetch(
        f"SELECT k.id, a.id, a.kind, a.member_id, k.member_id, a.balance, k.closed_at "
        f"FROM {pk} k LEFT JOIN {acc} a ON a.id = k.account_id "
        f"WHERE a.id IS NULL OR a.kind <> %s OR a.member_id <> k.member_id "
        f"OR (k.closed_at IS NOT NULL AND a.balance <> 0) ORDER BY k.id LIMIT %s",
        [AccountKind.POCKET.value, limit],
    )
    for r in rows:
        yield Discrepancy(
            BOOK,
            "pockets_within_limits",
            f"pocket {r[0]}: account {r[1]} ({r[2]}, member {r[3]}) of member {r[4]}, "
            f"balance {r[5]}, closed {r[6]}",
            {"pocket_id": r[0], "account_id": r[1]},
        )


def settlements_match_bookings(limit: int) -> Iterable[Discrepancy]:
    """A settlement run's reported counts and totals equal its pledges and its postings:
    pledges settled, cents out of escrow, commission, net to the project, refunds."""
    acc, ent, pst, pl, run = (
        table(EuroAccount),
        table(EuroEntry),
        table(EuroPosting),
        table(Pledge),
        table(SettlementRun),
    )
    rows = fetch(
        f"""
        SELECT r.id, r.kind, r.pledges_done, r.amount_done, r.commission_done, r.net_done,
               r.refunded_done,
               COALESCE(pl.n, 0), COALESCE(pl.amount, 0), COALESCE(pl.commission, 0),
               COALESCE(pl.net, 0), COALESCE(pl.wrong_status, 0),
               COALESCE(bk.escrow, 0), COALESCE(bk.commission, 0), COALESCE(bk.project, 0),
               COALESCE(bk.wallet, 0)
        FROM {run} r
        LEFT JOIN (
            SELECT p.settlement_run_id AS run_id, COUNT(*) AS n, SUM(p.amount_cents) AS amount,
                   SUM(p.commission_cents) AS commission, SUM(p.net_cents) AS net,
                   SUM(CASE WHEN p.status = (CASE WHEN r2.kind = %s THEN %s ELSE %s END)
                       THEN 0 ELSE 1 END) AS wrong_status
            FROM {pl} p JOIN {run} r2 ON r2.id = p.settlement_run_id
            GROUP BY p.settlement_run_id
        ) pl ON pl.run_id = r.id
        LEFT JOIN (
            SELECT e.run_id,
                   SUM(CASE WHEN a.kind = %s THEN -s.amount ELSE 0 END) AS escrow,
                   SUM(CASE WHEN a.kind = %s THEN s.amount ELSE 0 END) AS commission,
                   SUM(CASE WHEN a.kind = %s THEN s.amount ELSE 0 END) AS project,
                   SUM(CASE WHEN a.kind = %s THEN s.amount ELSE 0 END) AS wallet
            FROM {ent} e JOIN {pst} s ON s.entry_id = e.id JOIN {acc} a ON a.id = s.account_id
            WHERE e.run_id IS NOT NULL GROUP BY e.run_id
        ) bk ON bk.run_id = r.id
        ORDER BY r.id
        """,
        [
            SettlementKind.RELEASE.value,
            PledgeStatus.RELEASED.value,
            PledgeStatus.REFUNDED.value,
            AccountKind.ESCROW.value,
            AccountKind.COMMISSION.value,
            AccountKind.PROJECT.value,
            AccountKind.WALLET.value,
        ],
    )
    found = 0
    for r in rows:
        (run_id, kind, n, amount, commission, net, refunded) = (r[0], r[1], *map(int, r[2:7]))
        p_n, p_amount, p_commission, p_net, wrong = map(int, r[7:12])
        b_escrow, b_commission, b_project, b_wallet = map(int, r[12:16])
        expected_refund = p_amount if kind == SettlementKind.REFUND else 0
        pairs = {
            "pledges": (n, p_n),
            "amount_vs_pledges": (amount, p_amount),
            "amount_vs_escrow_postings": (amount, b_escrow),
            "commission_vs_pledges": (commission, p_commission),
            "commission_vs_postings": (commission, b_commission),
            "net_vs_pledges": (net, p_net),
            "net_vs_project_postings": (net, b_project),
            "refunded_vs_wallet_postings": (refunded, b_wallet),
            "refunded_vs_pledges": (refunded, expected_refund),
            "pledges_with_wrong_status": (0, wrong),
        }
        off = {k: {"reported": a, "actual": b} for k, (a, b) in pairs.items() if a != b}
        if off:
            found += 1
            yield Discrepancy(
                BOOK,
                "settlements_match_bookings",
                f"settlement run {run_id} ({kind}) disagrees with the ledger: {off}",
                {"run_id": run_id, **off},
            )
            if found >= limit:
                return


def deposits_match_events(limit: int) -> Iterable[Discrepancy]:
    """Every booked webhook event has its deposit entry, whose provider posting is the
    payment's amount; every deposit entry comes from exactly one booked event."""
    acc, ent, pst, ev = (
        table(EuroAccount),
        table(EuroEntry),
        table(EuroPosting),
        table(WebhookEvent),
    )
    rows = fetch_first(
        f"SELECT w.id AS webhook_id, w.event_id, w.amount_cents, e.id AS booked_entry_id, e.kind, "
        f"e.amount, COALESCE(pp.total, 0) AS provider_total "
        f"FROM {ev} w LEFT JOIN {ent} e ON e.id = w.entry_id LEFT JOIN ("
        f"  SELECT s.entry_id, SUM(s.amount) AS total FROM {pst} s "
        f"  JOIN {acc} a ON a.id = s.account_id WHERE a.kind = %s GROUP BY s.entry_id"
        f") pp ON pp.entry_id = w.entry_id "
        f"WHERE w.status = %s AND (e.id IS NULL OR e.kind <> %s OR w.amount_cents IS NULL "
        f"OR e.amount <> w.amount_cents OR COALESCE(pp.total, 0) <> -w.amount_cents)",
        [
            AccountKind.PROVIDER.value,
            WebhookEventStatus.BOOKED.value,
            EntryKind.DEPOSIT.value,
        ],
        order_by="webhook_id",
        limit=limit,
    )
    for r in rows:
        yield Discrepancy(
            BOOK,
            "deposits_match_events",
            f"event {r[1]} ({r[2]} cents): entry {r[3]} ({r[4]}, {r[5]}), provider {r[6]}",
            {"event_id": r[1], "entry_id": r[3]},
        )
    rows = fetch(
        f"SELECT e.id, e.amount FROM {ent} e WHERE e.kind = %s AND NOT EXISTS "
        f"(SELECT 1 FROM {ev} w WHERE w.entry_id = e.id AND w.status = %s) ORDER BY e.id LIMIT %s",
        [EntryKind.DEPOSIT.value, WebhookEventStatus.BOOKED.value, limit],
    )
    for r in rows:
        yield Discrepancy(
            BOOK,
            "deposits_match_events",
            f"deposit entry {r[0]} ({r[1]} cents) has no booked webhook event",
            {"entry_id": r[0]},
        )


CHECKS = (
    escrows_match_pledges,
    pockets_within_limits,
    settlements_match_bookings,
    deposits_match_events,
)
