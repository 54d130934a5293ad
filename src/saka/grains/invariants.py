"""The SAKA book's own invariants, checked by ``saka_reconcile`` beside the ledger's: wallet
counters, the global identity, the silo's flows, project scores and poll votes' entries."""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import connection

from saka.core.money import floor_share
from saka.grains.conf import POLL_VOTE
from saka.grains.merkle import GENESIS, statement_hash
from saka.grains.models import (
    AccountKind,
    Run,
    RunStatement,
    RunStatus,
    SakaAccount,
    SakaEntry,
    SakaPosting,
)
from saka.grains.run_statements import ChunkLeaf, run_chunk_leaves, statement_body
from saka.ledger.reconcile import Discrepancy, fetch, fetch_first, table
from saka.polls.models import Vote
from saka.projects.models import Project, ProjectScoreDelta


def wallet_counters_match_postings(limit: int) -> Iterable[Discrepancy]:
    """lifetime_harvested/planted/composted/redistributed equal the wallet's postings by kind."""
    acc, ent, pst = table(SakaAccount), table(SakaEntry), table(SakaPosting)
    rows = fetch_first(
        f"""
        SELECT a.id, a.lifetime_harvested, COALESCE(s.h, 0) AS h, a.lifetime_planted,
               COALESCE(s.pl, 0) AS pl, a.lifetime_composted, COALESCE(s.c, 0) AS c,
               a.lifetime_redistributed, COALESCE(s.r, 0) AS r
        FROM {acc} a LEFT JOIN (
            SELECT p.account_id,
                   SUM(CASE WHEN e.kind = 'harvest' THEN p.amount ELSE 0 END) AS h,
                   SUM(CASE WHEN e.kind = 'plant' THEN -p.amount ELSE 0 END) AS pl,
                   SUM(CASE WHEN e.kind = 'compost' THEN -p.amount ELSE 0 END) AS c,
                   SUM(CASE WHEN e.kind = 'redistribution' THEN p.amount ELSE 0 END) AS r
            FROM {pst} p JOIN {ent} e ON e.id = p.entry_id GROUP BY p.account_id
        ) s ON s.account_id = a.id
        WHERE a.kind = %s AND (a.lifetime_harvested <> COALESCE(s.h, 0)
            OR a.lifetime_planted <> COALESCE(s.pl, 0) OR a.lifetime_composted <> COALESCE(s.c, 0)
            OR a.lifetime_redistributed <> COALESCE(s.r, 0))
        """,
        [AccountKind.WALLET.value],
        order_by="id",
        limit=limit,
    )
    names = (
        "lifetime_harvested",
        "lifetime_planted",
        "lifetime_composted",
        "lifetime_redistributed",
    )
    for row in rows:
        pairs = {n: (int(row[1 + 2 * i]), int(row[2 + 2 * i])) for i, n in enumerate(names)}
        off = {n: {"counter": c, "postings": p} for n, (c, p) in pairs.items() if c != p}
        yield Discrepancy(
            "saka",
            "wallet_counters_match_postings",
            f"wallet {row[0]}: counters disagree with postings: {off}",
            {"account_id": row[0], **off},
        )


def global_identity(limit: int) -> Iterable[Discrepancy]:
    """Σ wallets + silo (+ pool in transit) = Σ issued - Σ planted (external postings)."""
    acc, pst = table(SakaAccount), table(SakaPosting)
    (held,) = fetch(
        f"SELECT COALESCE(SUM(balance), 0) FROM {acc} WHERE kind IN (%s, %s, %s)",
        [AccountKind.WALLET.value, AccountKind.SILO.value, AccountKind.POOL.value],
    )[0]
    issued, planted = fetch(
        f"SELECT COALESCE(SUM(CASE WHEN a.kind = %s THEN -p.amount ELSE 0 END), 0), "
        f"COALESCE(SUM(CASE WHEN a.kind = %s THEN p.amount ELSE 0 END), 0) "
        f"FROM {pst} p JOIN {acc} a ON a.id = p.account_id WHERE a.kind IN (%s, %s)",
        [
            AccountKind.ISSUANCE.value,
            AccountKind.PLANTED.value,
            AccountKind.ISSUANCE.value,
            AccountKind.PLANTED.value,
        ],
    )[0]
    if int(held) != int(issued) - int(planted):
        yield Discrepancy(
            "saka",
            "global_identity",
            f"wallets + silo = {held} but issued - planted = {issued} - {planted}",
            {"held": int(held), "issued": int(issued), "planted": int(planted)},
        )


def silo_matches_flows(limit: int) -> Iterable[Discrepancy]:
    """Silo + redistribution pool hold exactly Σ composted - Σ redistributed over all wallets."""
    acc = table(SakaAccount)
    silo, composted, redistributed = fetch(
        f"SELECT COALESCE(SUM(CASE WHEN kind IN (%s, %s) THEN balance ELSE 0 END), 0), "
        f"COALESCE(SUM(lifetime_composted), 0), COALESCE(SUM(lifetime_redistributed), 0) "
        f"FROM {acc}",
        [AccountKind.SILO.value, AccountKind.POOL.value],
    )[0]
    if int(silo) != int(composted) - int(redistributed):
        yield Discrepancy(
            "saka",
            "silo_matches_flows",
            f"silo {silo} != composted {composted} - redistributed {redistributed}",
            {"silo": int(silo), "composted": int(composted), "redistributed": int(redistributed)},
        )


def project_scores_match_plants(limit: int) -> Iterable[Discrepancy]:
    """A project's SAKA score and distinct supporters (rolled-up columns + pending boosts)
    equal its plant entries; every pending boost belongs to an existing project."""
    prj, ent, dlt = table(Project), table(SakaEntry), table(ProjectScoreDelta)
    rows = fetch_first(
        f"SELECT pr.id, pr.saka_score + COALESCE(d.score, 0) AS cached_score, "
        f"COALESCE(s.score, 0) AS score, "
        f"pr.saka_supporters + COALESCE(d.supporters, 0) AS cached_supporters, "
        f"COALESCE(s.supporters, 0) AS supporters FROM {prj} pr LEFT JOIN ("
        f"  SELECT project_id, SUM(amount) AS score, COUNT(DISTINCT member_id) AS supporters "
        f"  FROM {ent} WHERE kind = 'plant' AND project_id IS NOT NULL GROUP BY project_id"
        f") s ON s.project_id = pr.id LEFT JOIN ("
        f"  SELECT project_id, SUM(score) AS score, SUM(supporters) AS supporters "
        f"  FROM {dlt} GROUP BY project_id"
        f") d ON d.project_id = pr.id "
        f"WHERE pr.saka_score + COALESCE(d.score, 0) <> COALESCE(s.score, 0) "
        f"OR pr.saka_supporters + COALESCE(d.supporters, 0) <> COALESCE(s.supporters, 0)",
        [],
        order_by="id",
        limit=limit,
    )
    for r in fetch(
        f"SELECT d.id, d.project_id FROM {dlt} d LEFT JOIN {prj} pr ON pr.id = d.project_id "
        f"WHERE pr.id IS NULL ORDER BY d.id LIMIT %s",
        [limit],
    ):
        yield Discrepancy(
            "saka",
            "project_scores_match_plants",
            f"pending boost {r[0]} of a missing project {r[1]}",
            {"delta_id": r[0], "project_id": r[1]},
        )
    for r in rows:
        yield Discrepancy(
            "saka",
            "project_scores_match_plants",
            f"project {r[0]}: score {r[1]} vs plants {r[2]}, supporters {r[3]} vs {r[4]}",
            {
                "project_id": r[0],
                "score": int(r[1]),
                "planted": int(r[2]),
                "supporters": int(r[3]),
                "distinct_planters": int(r[4]),
            },
        )


def poll_votes_match_entries(limit: int) -> Iterable[Discrepancy]:
    """A poll vote that spent grains names its plant: a ``poll_vote`` PLANT of the voter, of
    exactly ``spent``; a vote that spent nothing names none; a vote's harvest, when it names
    one, is a ``poll_vote`` HARVEST of the voter (``saka.grains.votes``)."""
    vote, ent = table(Vote), table(SakaEntry)
    rows = fetch_first(
        f"SELECT v.id AS id, v.spent, v.plant_entry_id, pl.amount AS planted, "
        f"v.harvest_entry_id, hv.id AS harvest_found "
        f"FROM {vote} v "
        f"LEFT JOIN {ent} pl ON pl.id = v.plant_entry_id AND pl.kind = 'plant' "
        f"  AND pl.reason = %s AND pl.member_id = v.member_id "
        f"LEFT JOIN {ent} hv ON hv.id = v.harvest_entry_id AND hv.kind = 'harvest' "
        f"  AND hv.reason = %s AND hv.member_id = v.member_id "
        f"WHERE (v.spent > 0 AND (pl.id IS NULL OR pl.amount <> v.spent)) "
        f"OR (v.spent = 0 AND v.plant_entry_id IS NOT NULL) "
        f"OR (v.harvest_entry_id IS NOT NULL AND hv.id IS NULL)",
        [POLL_VOTE, POLL_VOTE],
        order_by="id",
        limit=limit,
    )
    for r in rows:
        yield Discrepancy(
            "saka",
            "poll_votes_match_entries",
            f"vote {r[0]}: spent {r[1]} but plant entry {r[2]} of {r[3]}, "
            f"harvest entry {r[4]} ({'found' if r[5] else 'missing'})",
            {
                "vote_id": r[0],
                "spent": int(r[1]),
                "plant_entry_id": r[2],
                "planted": None if r[3] is None else int(r[3]),
                "harvest_entry_id": r[4],
            },
        )


def compost_statements_match_postings(limit: int) -> Iterable[Discrepancy]:
    """A compost posting's statement agrees with its amount: amount = floor(basis x rate), the
    rate the one its entry's calculation states (saka.grains.statements). A tampered basis,
    rate or amount is named. Exact: numeric on PostgreSQL, Decimal elsewhere."""
    ent, pst = table(SakaEntry), table(SakaPosting)
    if connection.vendor == "postgresql":
        rows = fetch_first(
            f"SELECT p.id AS id, -p.amount, p.basis, e.calculation->>'rate' "
            f"FROM {pst} p JOIN {ent} e ON e.id = p.entry_id "
            f"WHERE p.basis IS NOT NULL AND e.kind = 'compost' "
            f"AND -p.amount <> floor(p.basis::numeric * (e.calculation->>'rate')::numeric)",
            [],
            order_by="id",
            limit=limit,
        )
    else:
        found = []
        for pid, amount, basis, calculation in fetch(
            f"SELECT p.id, -p.amount, p.basis, e.calculation FROM {pst} p "
            f"JOIN {ent} e ON e.id = p.entry_id "
            f"WHERE p.basis IS NOT NULL AND e.kind = 'compost' ORDER BY p.id"
        ):
            rate = json.loads(calculation).get("rate") if calculation else None
            if rate is None or int(amount) != floor_share(int(basis), Decimal(rate)):
                found.append((pid, amount, basis, rate))
        rows = found[:limit]
    for r in rows:
        yield Discrepancy(
            "saka",
            "compost_statements_match_postings",
            f"compost posting {r[0]}: {r[1]} grains, but its statement says floor({r[2]} x {r[3]})",
            {"posting_id": r[0], "amount": int(r[1]), "basis": int(r[2]), "rate": r[3]},
        )


def run_statements_chain(limit: int) -> Iterable[Discrepancy]:
    """The run statements form one chain: ``seq`` 1..n without gaps, each ``prev_hash`` the
    previous statement's hash, each hash recomputed from ``prev_hash`` and the body, the body's
    ``seq``, run, kind and root those of its row. Streams the statements in ``seq`` order."""
    expected, prev, found = 1, GENESIS, 0
    rows = RunStatement.objects.order_by("seq").values_list(
        "seq", "run_id", "kind", "body", "merkle_root", "prev_hash", "hash"
    )
    for seq, run_id, kind, body, root, prev_hash, digest in rows.iterator(chunk_size=500):
        off: dict[str, Any] = {}
        if seq != expected:
            off["gap"] = {"expected": expected, "found": seq}
        if prev_hash != prev:
            off["prev_hash"] = {"expected": prev, "found": prev_hash}
        if statement_hash(prev_hash, body) != digest:
            off["hash"] = {"stored": digest, "recomputed": statement_hash(prev_hash, body)}
        column = {"seq": seq, "run_id": run_id, "kind": kind, "merkle_root": root}
        for name, value in column.items():
            if body.get(name) != value:
                off[f"body.{name}"] = {"column": value, "body": body.get(name)}
        if off and found < limit:
            found += 1
            yield Discrepancy(
                "saka",
                "run_statements_chain",
                f"statement {seq} (run {run_id}): {', '.join(off)} do not check out",
                {"seq": seq, "run_id": run_id, **off},
            )
        expected, prev = seq + 1, digest


def _differences(stored: dict[str, Any], recomputed: dict[str, Any]) -> dict[str, Any]:
    return {
        k: {"statement": stored.get(k), "books": recomputed.get(k)}
        for k in sorted(set(stored) | set(recomputed))
        if stored.get(k) != recomputed.get(k)
    }


def run_statements_match_books(limit: int) -> Iterable[Discrepancy]:
    """Each statement's figures equal its run's row, each chunk's count, total and root are
    recomputed from all the run's postings, and so is the top root; every live run finished
    since the first statement has one. Streams: one statement and one batch of postings at a
    time."""
    found = 0
    statements = RunStatement.objects.select_related("run").order_by("seq")
    for st in statements.iterator(chunk_size=100):
        run = st.run
        chunks = list(run_chunk_leaves(run))
        off = _differences(st.body, statement_body(run, seq=st.seq, chunks=chunks))
        books = {c.lo: c for c in chunks}
        stated = {c.lo: c for c in map(ChunkLeaf.of_list, st.chunks)}
        bad = sorted(lo for lo in set(books) | set(stated) if books.get(lo) != stated.get(lo))
        if bad:
            off["chunks"] = [
                {"lo": lo, "statement": _chunk(stated.get(lo)), "books": _chunk(books.get(lo))}
                for lo in bad[:10]
            ]
        if off and found < limit:
            found += 1
            yield Discrepancy(
                "saka",
                "run_statements_match_books",
                f"statement {st.seq} (run {run.pk}): {', '.join(off)} differ from the books",
                {"seq": st.seq, "run_id": run.pk, **off},
            )
    first = statements.order_by("seq").select_related("run").first()
    if first is None:
        return
    missing = (
        Run.objects.filter(
            dry_run=False, status=RunStatus.DONE, finished_at__gte=first.run.finished_at
        )
        .filter(statement__isnull=True)
        .order_by("pk")
        .values_list("pk", "kind", "period")[: max(limit - found, 0)]
    )
    for run_id, kind, period in missing:
        yield Discrepancy(
            "saka",
            "run_statements_match_books",
            f"run {run_id} ({kind} {period}) finished without a statement (deleted?)",
            {"run_id": run_id, "kind": kind, "period": period},
        )


def _chunk(chunk: ChunkLeaf | None) -> list[Any] | None:
    return None if chunk is None else chunk.as_list()
