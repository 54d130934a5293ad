"""Money coming in from the payment provider: ``webhooks`` (signature verification, event
parsing, handling a delivery) and ``deposits`` (booking a parsed payment into the member's
wallet, pockets, the project and the platform).

These modules may import ``saka.core``, ``saka.ledger``, ``saka.projects`` and the EUR
app's own modules (models, accounts, lock_objects, booking, splits, conf, errors, services);
never ``saka.grains``, the API or the jobs.
"""
