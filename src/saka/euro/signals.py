"""Notifications of the EUR book, sent only after the booking committed
(``transaction.on_commit``). Receivers send mail, push notifications or enqueue tasks;
a failing receiver is logged and never undoes a booking (``send_robust``).

- ``deposit_booked(result=DepositResult)``
- ``pledges_settled(outcome="released"|"refunded"|"cancelled", pledge_ids=[...])``
- ``settlement_finished(run_id=..., campaign_id=..., outcome=...)``
"""

from django.dispatch import Signal

deposit_booked = Signal()
pledges_settled = Signal()
settlement_finished = Signal()
