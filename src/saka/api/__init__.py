"""The REST API (DRF): thin views, one service or selector call per request.

- ``common``: what every domain's endpoints share (base views, error responses and handler,
  fields, permissions, throttles, pagination, request validators).
- ``saka``, ``projects``, ``polls``, ``euro``: one package per domain, each with its views,
  serializers and urls; ``overview``: the member's assets and the public configuration, across
  both currencies; ``urls`` is the one root that includes them (namespace ``saka_api``).

The top interface layer: it may import the domains (``saka.grains``, ``saka.euro``,
``saka.projects``, ``saka.polls``), ``saka.ledger``, ``saka.core`` and ``saka.jobs`` (to
enqueue tasks, through ``saka.jobs.enqueue`` only); nothing imports it.
"""
