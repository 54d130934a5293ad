"""EUR writes, one topic per module: ``pockets`` (create, update, close, transfer),
``campaigns`` (open, close), ``members`` (member checks, KYC), ``pledges`` (pledge, cancel,
refund), ``escrow`` (taking pledges out of escrow, for pledges and the settlement) and
``notifications`` (the signals sent after commit); ``inputs`` holds the input rules they share.

Each service owns its transaction (``durable()``), takes its locks through
``saka.euro.lock_objects`` in the documented order before checking what they protect, books
balanced entries and returns a small result. Building blocks that run inside a caller's
transaction (``pledges_exit``) say so and check it. Side effects run in
``transaction.on_commit``.

These modules may import ``saka.core``, ``saka.ledger``, ``saka.projects`` and the EUR
app's own modules (models, accounts, lock_objects, booking, splits, conf, errors, signals);
never ``saka.grains``, the API or the jobs.
"""
