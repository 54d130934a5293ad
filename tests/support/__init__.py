"""Shared test support, defined once: fixed instants (``clock``), worker threads on their own
database connections (``threads``), SAKA and EUR helpers that book through the services
(``saka``, ``euro``), requests of the endpoint tests (``api``), the runs' plain-Python
reference model (``runs_reference``) and the books the run tests start from
(``run_scenarios``).

Support modules may import ``saka`` and ``config``; they never import a test module.
"""
