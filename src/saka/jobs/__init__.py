"""The Celery side of SAKA: an interface layer over ``saka.grains`` (domain code never imports
Celery).

- ``tasks``: thin Celery tasks of the runs (retried on lock timeouts and concurrent runs).
- ``enqueue``: the one place that enqueues a task, in ``transaction.on_commit``.
- ``heartbeat``: beat's and the workers' last sightings (the cache), read by ``/healthz``.
- ``alerts``: the checks that raise and resolve ``saka.alerts`` (beat tasks and the
  ``saka_alerts_check`` command); ``broker``: the broker ping (``/healthz`` and an alert).
- ``admin``: the Run admin (dry-run and live-run buttons; the live run goes through
  ``enqueue``).
- ``schedule``: task names and the default beat schedule; ``beat``: that schedule written as
  django-celery-beat periodic tasks (migration 0001), which beat reads from the database.
  A project that installs this app also installs ``django_celery_beat`` (start-up says so).

May import the domains (``saka.grains``), ``saka.alerts``, ``saka.ledger`` and ``saka.core``;
never ``saka.api`` (the API is the layer above: it enqueues through ``enqueue``).
"""
