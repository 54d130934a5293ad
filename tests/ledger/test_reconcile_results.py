"""Each reconciliation is kept (the dashboard's last verdict): ``saka_reconcile`` and the
nightly books check each record one row, with the discrepancies they found."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from saka.core.clock import now
from saka.jobs.alerts import books_check
from saka.ledger.models import ReconcileResult
from saka.ledger.reconcile import Discrepancy, ReconcileReport
from saka.ledger.reconcile_results import (
    KEPT_DISCREPANCIES,
    reconcile_result_last,
    reconcile_result_record,
)

pytestmark = pytest.mark.django_db


def test_the_command_records_its_verdict():
    # when the books are reconciled by the command
    call_command("saka_reconcile")
    # then its verdict is the last one recorded
    last = reconcile_result_last()
    assert last is not None
    assert (last.ok, last.source, last.discrepancy_count, last.discrepancies) == (
        True,
        "command",
        0,
        [],
    )
    assert last.checks > 10


def test_the_nightly_check_records_its_verdict():
    at = now()
    books_check(at=at)
    last = reconcile_result_last()
    assert last is not None
    assert (last.ok, last.source, last.at) == (True, "beat", at)


def test_a_failed_reconciliation_keeps_the_count_and_the_first_discrepancies():
    # given a report of 25 discrepancies
    found = [Discrepancy(book="saka", check="c", message=f"m{i}") for i in range(25)]
    report = ReconcileReport(ok=False, discrepancies=found, checks=["saka.c"], elapsed_ms=7)
    # when it is recorded
    row = reconcile_result_record(report=report, source="command")
    # then the whole count, the first ones kept
    assert (row.ok, row.discrepancy_count, row.duration_ms) == (False, 25, 7)
    assert [d["message"] for d in row.discrepancies] == [f"m{i}" for i in range(KEPT_DISCREPANCIES)]
    assert ReconcileResult.objects.count() == 1


def test_an_unknown_source_is_refused():
    report = ReconcileReport(ok=True, discrepancies=[], checks=[], elapsed_ms=0)
    with pytest.raises(ValueError, match="source"):
        reconcile_result_record(report=report, source="cron")
