"""Money coming in from the payment provider: ``webhooks`` (signature verification, event
parsing, handling a delivery), ``deposits`` (booking a parsed payment into the member's
wallet, pockets, the project and the platform) and ``sender`` (building, signing and delivering
events as the provider does: ``saka_webhook_send`` and the demo).

These modules may import ``saka.core``, ``saka.ledger``, ``saka.projects`` and the EUR
app's own modules (models, accounts, lock_objects, booking, splits, conf, errors, services);
never ``saka.grains``, the API or the jobs (``sender`` talks HTTP with the stdlib's urllib).
"""
