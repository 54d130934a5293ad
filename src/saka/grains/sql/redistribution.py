"""SQL of the redistribution run: the eligibility predicate frozen at ``as_of``, the freeze
and credit chunk statements (PostgreSQL and portable) and the dry-run count."""

from __future__ import annotations

# Eligible at ``as_of``: lifetime harvest >= min and real activity in (active_cutoff, as_of].
# A wallet untouched since ``as_of`` is judged on its row; a wallet that acted after ``as_of``
# (during the run) is judged on its append-only history up to ``as_of``. The set is therefore
# frozen at ``as_of``: whatever members do during the run, it neither grows nor shrinks.
_HIST_HARVESTED = """(
    SELECT COALESCE(SUM(e.amount), 0) FROM grains_entry e
    WHERE e.member_id = grains_account.member_id AND e.kind = 'harvest'
      AND e.created_at <= %(as_of)s)"""
_HIST_ACTIVE = """EXISTS (
    SELECT 1 FROM grains_entry e
    WHERE e.member_id = grains_account.member_id AND e.kind IN ('harvest', 'plant')
      AND e.created_at > %(active_cutoff)s AND e.created_at <= %(as_of)s)"""


def redistribution_eligible(*, activity_condition: bool) -> str:
    """The eligibility predicate; without an activity condition (active_days = 0) only the
    lifetime harvest counts."""
    active_now = "last_activity_at > %(active_cutoff)s" if activity_condition else "1 = 1"
    active_hist = _HIST_ACTIVE if activity_condition else "1 = 1"
    return f"""
    kind = 'wallet' AND id > %(lo)s AND id <= %(hi)s AND (CASE
        WHEN last_activity_at IS NULL OR last_activity_at <= %(as_of)s
        THEN (lifetime_harvested >= %(min_harvested)s AND {active_now})
        ELSE ({_HIST_HARVESTED} >= %(min_harvested)s AND {active_hist})
    END)
"""


def redistribution_count(*, activity_condition: bool) -> str:
    return "SELECT count(*) FROM grains_account WHERE " + redistribution_eligible(
        activity_condition=activity_condition
    )


def redistribution_freeze(*, activity_condition: bool) -> str:
    """PostgreSQL: one chunk of the freeze. Write the chunk's eligible wallets as the run's
    frozen set, one sorted array per credit chunk key range ``(lo, hi]`` inside it (the credit
    chunks are ``size`` ids, the freeze chunk a whole number of them, both planned from the
    run's ``chunk_size``), record the chunk and the run's progress (``updated_at``: a run whose
    chunks are being done is never stalled), in one statement: the frozen set every credit
    chunk credits. The count is taken from the chunks once every chunk is frozen, in the
    transaction that moves the pot."""
    return (
        """
WITH frz AS (
    INSERT INTO grains_run_frozen (run_id, lo, hi, ids)
    SELECT %(run)s, %(lo)s + g * %(size)s, LEAST(%(lo)s + (g + 1) * %(size)s, %(hi)s),
        array_agg(id ORDER BY id)
    FROM (SELECT id, (id - %(lo)s - 1) / %(size)s AS g FROM grains_account WHERE """
        + redistribution_eligible(activity_condition=activity_condition)
        + """) eligible
    GROUP BY g
    RETURNING cardinality(ids) AS n
), tot AS (
    SELECT COALESCE(sum(n), 0)::bigint AS n FROM frz
), chunk AS (
    UPDATE grains_run_chunk SET wallets = tot.n, done_at = %(now)s, worker = %(worker)s,
        lease_until = NULL
    FROM tot WHERE run_id = %(run)s AND step = 1 AND lo = %(lo)s
), run AS (
    UPDATE grains_run SET updated_at = %(now)s WHERE id = %(run)s
)
SELECT n FROM tot
"""
    )


# Portable: the eligible wallets of a freeze chunk's key range, by id (grouped into the credit
# chunks' arrays in Python).
def redistribution_freeze_portable(*, activity_condition: bool) -> str:
    return (
        "SELECT id FROM grains_account WHERE "
        + redistribution_eligible(activity_condition=activity_condition)
        + " ORDER BY id"
    )


# Portable: the wallets of a credit chunk's key range that can take their share (at most
# ``credit_limit``), intersected in Python with the chunk's frozen ids.
REDISTRIBUTION_CREDITABLE = """
    SELECT id FROM grains_account
    WHERE id > %(lo)s AND id <= %(hi)s AND balance <= %(credit_limit)s ORDER BY id
"""


def redistribution_count_at_ceiling(*, activity_condition: bool) -> str:
    """Dry run: the eligible wallets a share would take above ``MAX_BALANCE`` (not credited)."""
    return redistribution_count(activity_condition=activity_condition) + (
        " AND balance > %(credit_limit)s"
    )


# PostgreSQL: one statement per chunk, crediting exactly the chunk's frozen wallets: the
# range's one array, probed in the primary key (bounded by the key range too, so the planner
# never scans the table); a range with no array credits nothing (``= ANY(NULL)``). A
# target whose credit would take it above MAX_BALANCE (``credit_limit = MAX_BALANCE - per``)
# is not credited: its share stays in the pool and the settle step returns it to the silo.
# It also returns the credited ids ("id,...", by id): the caller hashes the chunk's statement
# leaf and ends the chunk with ``sql.chunks.CHUNK_END_PG`` (the pool's side, the chunk done, the
# run's progress) in the same transaction.
REDISTRIBUTION_CHUNK_PG = """
WITH upd AS (
    UPDATE grains_account a SET balance = a.balance + %(per)s,
        lifetime_redistributed = a.lifetime_redistributed + %(per)s
    WHERE a.id > %(lo)s AND a.id <= %(hi)s
      AND a.id = ANY((
          SELECT ids FROM grains_run_frozen WHERE run_id = %(run)s AND lo = %(lo)s)::bigint[])
      AND a.balance <= %(credit_limit)s
    RETURNING a.id
), tot AS (
    SELECT count(*) AS n FROM upd
), ent AS (
    INSERT INTO grains_entry (kind, reason, amount, memo, created_at, run_id, calculation)
    SELECT 'redistribution', '', tot.n * %(per)s, '', %(as_of)s, %(run)s, %(calculation)s::jsonb
    FROM tot WHERE tot.n > 0
    RETURNING id
), wallet_postings AS (
    INSERT INTO grains_posting (entry_id, account_id, amount, run_id)
    SELECT ent.id, upd.id, %(per)s, %(run)s FROM upd CROSS JOIN ent
), pool_posting AS (
    INSERT INTO grains_posting (entry_id, account_id, amount, run_id)
    SELECT ent.id, %(pool)s, -(tot.n * %(per)s), NULL FROM ent CROSS JOIN tot
)
SELECT n, n * %(per)s, (SELECT string_agg(id::text, ',' ORDER BY id) FROM upd) FROM tot
"""
