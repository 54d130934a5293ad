"""The dashboard's benchmark end to end at a tiny size (PostgreSQL: the synthetic postings are
SQL): every panel timed, the export's rows are the compost's wallets, the books reconcile
after the synthetic postings (the autouse check), the Markdown table is written."""

from __future__ import annotations

import pytest

from bench.dashboard import dashboard_bench
from saka.grains.models import SakaPosting

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_dashboard_bench_times_every_panel_and_the_export():
    # when the benchmark runs on 300 wallets and 2,000 synthetic postings
    result = dashboard_bench(wallets=300, postings=2_000, repeat=2)
    # then the postings were added, every panel timed, the export is the run's wallets
    assert result.postings == 2_000
    assert len(result.panels_ms) == 13
    assert all(ms >= 0 for ms in result.panels_ms.values())
    export = result.export
    assert export["rows"] == export["expected_rows"] > 0
    assert export["rows"] == SakaPosting.objects.filter(run_id=export["run_id"]).count()
    table = result.markdown()
    assert "| the whole page's data (panels.panels) |" in table
    assert f"| {export['rows']:,} |" in table
