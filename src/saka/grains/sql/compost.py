"""SQL of the compost run: the eligibility predicate, the PostgreSQL chunk statement, the
portable selection and the dry-run totals (the rule's Python reference: ``grains.rules``).

Arithmetic is exact at every balance: ``floor(balance::numeric * %(rate)s::numeric)``, the
rate a fixed-point string (``saka.core.money.sql_rate``). Never the bare parameter: a rate
of integral value reaches PostgreSQL as an integer literal, and ``floor(bigint)`` resolves to
``floor(double precision)``, which rounds balances above 2**53.
"""

from __future__ import annotations

# floor(balance x rate), exact (numeric): the one expression every statement below uses.
COMPOST_AMOUNT = "floor(balance::numeric * %(rate)s::numeric)"

# Eligible at ``as_of``: balance >= min, and neither activity nor compost since ``cutoff``.
COMPOST_ELIGIBLE = """
    kind = 'wallet' AND id > %(lo)s AND id <= %(hi)s
    AND balance >= %(min_balance)s
    AND (last_activity_at IS NULL OR last_activity_at <= %(cutoff)s)
    AND (last_composted_at IS NULL OR last_composted_at <= %(cutoff)s)
"""

# PostgreSQL: one statement per chunk. The UPDATE takes the row locks and, for rows changed
# since the snapshot, re-checks the WHERE on the new version (READ COMMITTED), so eligibility
# and amount always come from the locked, current balance. The amount is captured in the SET
# list (``last_compost_amount``) because RETURNING sees new values only before PostgreSQL 18;
# the statement's figures (docs/statements.md) follow from it: the balance it was taken from
# (new balance + amount) and the whole days since the last activity (not changed by compost).
# It also returns the chunk's leaves' preimages ("id:amount,...", by id): the caller hashes
# them into the chunk's statement leaf, then ends the chunk with ``CHUNK_END_PG`` in the same
# transaction. The rows every chunk updates (the silo, the run) are taken there, last: another
# worker's chunk never waits on them while this one's leaf is being hashed.
COMPOST_CHUNK_PG = (
    """
WITH upd AS (
    UPDATE grains_account SET
        last_compost_amount = {amount}::bigint,
        balance = balance - {amount}::bigint,
        lifetime_composted = lifetime_composted + {amount}::bigint,
        last_composted_at = %(as_of)s
    WHERE """
    + COMPOST_ELIGIBLE
    + """
      AND {amount} >= %(min_amount)s
    RETURNING id, last_compost_amount AS amount,
        balance + last_compost_amount AS basis,
        floor(extract(epoch FROM (%(as_of)s - last_activity_at)) / 86400)::int AS idle_days
), tot AS (
    SELECT count(*) AS n, COALESCE(sum(amount), 0)::bigint AS s FROM upd
), ent AS (
    INSERT INTO grains_entry (kind, reason, amount, memo, created_at, run_id, calculation)
    SELECT 'compost', '', tot.s, '', %(as_of)s, %(run)s, %(calculation)s::jsonb
    FROM tot WHERE tot.n > 0
    RETURNING id
), wallet_postings AS (
    INSERT INTO grains_posting (entry_id, account_id, amount, run_id, basis, idle_days)
    SELECT ent.id, upd.id, -upd.amount, %(run)s, upd.basis, upd.idle_days
    FROM upd CROSS JOIN ent
), silo_posting AS (
    INSERT INTO grains_posting (entry_id, account_id, amount, run_id)
    SELECT ent.id, %(silo)s, tot.s, NULL FROM ent CROSS JOIN tot
)
SELECT n, s, (SELECT string_agg(id::text || ':' || amount::text, ',' ORDER BY id) FROM upd)
FROM tot
"""
).replace("{amount}", COMPOST_AMOUNT)

# Portable: the chunk's eligible wallets with their balance and last activity (the amount and
# the idle days are computed in Python).
COMPOST_SELECT = (
    "SELECT id, balance, last_activity_at FROM grains_account WHERE "
    + COMPOST_ELIGIBLE
    + " ORDER BY id"
)

# Dry run / preview totals over the whole scope (no lock, no write).
COMPOST_DRY_PG = (
    f"SELECT count(*), COALESCE(sum({COMPOST_AMOUNT}), 0)::bigint FROM grains_account "
    f"WHERE {COMPOST_ELIGIBLE} AND {COMPOST_AMOUNT} >= %(min_amount)s"
)

# The wallets eligible before the minimum amount, over the whole scope: counted when a compost
# composted none (``runs.compost._compost_finished``), for the alert that compares them.
COMPOST_ELIGIBLE_COUNT = "SELECT count(*) FROM grains_account WHERE " + COMPOST_ELIGIBLE
