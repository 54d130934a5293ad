"""The run statements' chain tail is serialised (PostgreSQL: a transaction-scoped advisory
lock): a second publisher waits for the first to commit, so two runs finishing at once get
consecutive ``seq`` and the second links to the first."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections, transaction

from saka.grains.lock_objects import statement_chain_lock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_second_publisher_waits_for_the_chain_lock_until_the_first_commits():
    # given a transaction holding the chain's lock for 0.4 s
    held, errors = threading.Event(), []

    def first() -> None:
        try:
            with transaction.atomic():
                statement_chain_lock()
                held.set()
                time.sleep(0.4)
        except BaseException as exc:  # handed to the test's thread
            errors.append(exc)
            held.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=first)
    thread.start()
    assert held.wait(5)
    # when another transaction takes it
    started = time.monotonic()
    with transaction.atomic():
        statement_chain_lock()
        waited = time.monotonic() - started
    thread.join()
    # then it waited for the first to commit
    assert not errors
    assert waited >= 0.3
