"""SQL shared by the runs' apply chunks on PostgreSQL."""

from __future__ import annotations

# The end of an apply chunk, after its statement booked the wallets' side and returned their
# leaves' preimages, in the same transaction: the chunk's statement leaf (none for a chunk that
# booked nothing), the system account's side (the silo gains what the compost took, the pool
# loses what the redistribution credited), the chunk done and the run's progress. These are the
# rows every chunk of the run updates: taken here, last, they are held only until the chunk
# commits, never while a chunk's wallets are updated or its leaf is hashed.
CHUNK_END_PG = """
WITH leaf AS (
    INSERT INTO grains_run_statement_chunk (run_id, lo, hi, count, total, root)
    SELECT %(run)s, %(lo)s, %(hi)s, %(n)s, %(s)s, %(root)s WHERE %(root)s::text IS NOT NULL
), account AS (
    UPDATE grains_account SET balance = balance + %(delta)s
    WHERE id = %(account)s AND %(n)s > 0
), chunk AS (
    UPDATE grains_run_chunk SET wallets = %(n)s, amount = %(s)s, done_at = %(now)s,
        worker = %(worker)s, lease_until = NULL
    WHERE run_id = %(run)s AND step = 0 AND lo = %(lo)s
)
UPDATE grains_run SET cursor = GREATEST(cursor, %(hi)s), chunks_done = chunks_done + 1,
    wallets_done = wallets_done + %(n)s, amount_done = amount_done + %(s)s,
    updated_at = %(now)s
WHERE id = %(run)s
"""
