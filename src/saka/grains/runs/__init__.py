"""The SAKA batch runs, compost and redistribution: one module per topic.

``periods`` (a run's period and parameters), ``chunks`` (key ranges, pending chunks, the
parallel worker pool, each chunk's transaction and record), ``lifecycle`` (validate, claim,
lease, finish or interrupt a live run; record a dry run), ``compost`` and ``redistribution``
(each kind's chunks, dry figures and start). The kinds use the lifecycle and the chunks, never
each other. May import ``saka.core``, ``saka.ledger`` and the rest of ``saka.grains``.
"""
