"""SAKA endpoints: the member's wallet, history, plant and compost preview, the platform's
harvests, staff adjustments (``views``); the staff runs, silo and statistics (``run_views``);
their ``serializers`` and ``urls``.

May import ``saka.api.common``, ``saka.grains``, ``saka.core`` and ``saka.jobs.enqueue`` (a
live run is enqueued); never another domain package of ``saka.api``.
"""
