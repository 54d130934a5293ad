"""SQL of the SAKA runs, one module per run kind (``compost``, ``redistribution``). Values
are always bound parameters; only fixed fragments are joined. May import nothing of SAKA.

Every chunk statement is bounded by a primary-key range (``id > lo AND id <= hi``), never by
OFFSET or LIMIT, so the planner walks the primary key for exactly that slice.
"""
