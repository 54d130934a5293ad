"""The batch engine: one lifecycle for every run (compost, redistribution, campaign settlement),
shared by any number of threads, processes and machines.

A run kind supplies only a :class:`~saka.engine.spec.RunSpec`: its run and chunk models (made
from :class:`~saka.engine.models.BatchRun` and :class:`~saka.engine.models.BatchChunk`), its
steps -- chunked (a set of key ranges planned once, each done in its own short transaction by
whichever worker claims it) or single (done once, under the run's row lock) -- and its outcome.
The engine owns the rest: opening a run (one per key, bounded retries), fan-out (leases on
chunk rows claimed with ``FOR UPDATE SKIP LOCKED``), the exactly-once record of every chunk,
phase changes, finishing, interruptions, stalled runs and their resumption.

Nothing here holds session state in the database (no session advisory lock, no plain ``SET``,
no cursor kept across transactions), so it works through PgBouncer in transaction pooling.
May import ``saka.core`` only.
"""
