"""Alerts: rows an operator reads in the admin and the staff API, e-mailed when they open.

The checks that raise and resolve them (what they read: runs, the books, the broker) live in
``saka.jobs.alerts``; this app only stores them (``services.alert_raise`` /
``alert_resolve``) and lists them (``selectors``). ``docs/alerts.md``.

May import ``saka.audit`` (the admin's view permission) and ``saka.core``; never the domains
it alerts on, Celery or DRF (``saka.jobs.alerts`` and ``saka.api.alerts`` sit above).
"""
