"""What the endpoints of every domain share.

- ``base``: the documented error responses, the idempotency header, the caller's id and key,
  the member/staff base views.
- ``errors``: the one exception handler and the ``{"code", "message", "data"}`` body
  (``ErrorSerializer`` documents it).
- ``fields``: generic serializer fields (amounts, ids, instants, strict booleans, EUR money
  and percentages).
- ``permissions``, ``throttling``, ``pagination``: DRF policies.
- ``validation``: the request-body and query validators (``validated``, ``validated_query``).

May import DRF, drf-spectacular and ``saka.core`` only: never a domain, nor another package of
``saka.api``.
"""
