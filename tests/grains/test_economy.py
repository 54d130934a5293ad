"""The SAKA panels' selectors (saka.grains.economy) on a small population whose figures are
known: the histogram, what a compost now would take (the dry run's own numbers), the silo's
series, the runs' flows, the share of supply composted, the daily series split between the
snapshot and today, the export rows and the chunks per worker."""

from __future__ import annotations

from datetime import timedelta

import pytest

from saka.grains import economy
from saka.grains.models import EconomySnapshot, Run, RunChunk, SakaPosting
from saka.grains.runs.compost import compost_run_start
from tests.support.clock import A
from tests.support.runs_reference import build_wallet, new_member, wallet_id

pytestmark = pytest.mark.django_db

IDLE = A - timedelta(days=100)  # idle for the compost (90 days)
ACTIVE = A - timedelta(days=1)


@pytest.fixture
def population(staff_user):
    """Five wallets: 60 idle (10 % is 6, below the 10-grain minimum), 600 idle (60), 6,000
    idle (600), 600 active yesterday (kept), 7 idle (below the 50-grain minimum balance)."""
    ids = {}
    for name, balance, at in [
        ("idle60", 60, IDLE),
        ("idle600", 600, IDLE),
        ("idle6000", 6000, IDLE),
        ("active600", 600, ACTIVE),
        ("idle7", 7, IDLE),
    ]:
        member = new_member(name)
        build_wallet(member_id=member.pk, balance=balance, at=at, staff_id=staff_user.pk)
        ids[name] = wallet_id(member.pk)
    return ids


def test_next_compost_is_the_dry_runs_figures_and_writes_no_run(population):
    # given the population, and the dry run's own answer at A
    dry = compost_run_start(as_of=A, dry_run=True)
    runs_before = Run.objects.count()
    # when the dashboard asks what a compost at A would take
    found = economy.next_compost(as_of=A)
    # then the two idle wallets above both minimums, 60 + 600 grains, as the dry run says
    assert (found.wallets, found.grains) == (2, 660)
    assert (found.wallets, found.grains) == (dry.wallets_done, dry.amount_done)
    assert Run.objects.count() == runs_before


def test_the_histogram_counts_wallets_and_grains_per_band(
    population, django_assert_max_num_queries
):
    # when the histogram is read
    with django_assert_max_num_queries(1):
        bands = {b["band"]: (b["wallets"], b["grains"]) for b in economy.balance_histogram()}
    # then each wallet is in its band, every band listed
    assert bands["1-9"] == (1, 7)
    assert bands["50-99"] == (1, 60)
    assert bands["500-999"] == (2, 1200)
    assert bands["5k+"] == (1, 6000)
    assert bands["0"] == bands["10-49"] == bands["100-499"] == bands["1k-5k"] == (0, 0)


def test_the_snapshot_keeps_the_full_scan_figures(population):
    # when the snapshot is taken at A
    snap = economy.economy_snapshot_refresh(as_of=A)
    # then it holds the wallets, the supply, the next compost and the histogram
    assert (snap.wallets, snap.supply) == (5, 7267)
    assert (snap.next_compost_wallets, snap.next_compost_grains) == (2, 660)
    assert economy.economy_snapshot_last() == snap
    assert sum(b["wallets"] for b in snap.histogram) == 5


def test_a_compost_shows_in_the_silo_series_the_flows_the_share_and_the_export(population):
    # given a snapshot early in the month (the supply the share is measured on), then a compost
    economy.economy_snapshot_refresh(as_of=A - timedelta(hours=1))
    run = compost_run_start(as_of=A, chunk_size=2)
    # when the panels are read after it
    series = economy.system_balance_series(as_of=A + timedelta(hours=1))
    flows = economy.run_flows()
    share = economy.compost_share_by_month(as_of=A + timedelta(hours=1))
    rows = list(economy.run_wallet_rows(run_id=run.pk, chunk=1))
    # then the silo ends the day at 660 grains, started from 0, the pool never moved
    assert series["silo"][-1] == {"day": A.date().isoformat(), "balance": 660}
    assert series["silo"][0]["balance"] == 0
    assert [r["balance"] for r in series["pool"]] == [0]
    # the weekly flow is the run's; March's share is 660 of 7,267 grains (908 bp)
    assert flows["compost"] == [{"period": run.period, "wallets": 2, "grains": 660}]
    assert flows["redistribution"] == []
    assert share == [{"month": "2026-03", "grains": 660, "supply": 7267, "share_bp": 908}]
    # the export (one row per query here) is exactly the run's wallet postings
    postings = sorted(
        (p.account_id, p.account.member_id, p.amount, p.basis, p.idle_days)
        for p in SakaPosting.objects.filter(run_id=run.pk).select_related("account")
    )
    assert rows == postings
    assert {r[0] for r in rows} == {population["idle600"], population["idle6000"]}
    assert sorted(r[2] for r in rows) == [-600, -60]
    assert sorted(r[3] for r in rows) == [600, 6000]  # the balances the amounts came from


def test_chunks_done_are_counted_per_worker(population):
    # given a finished compost in chunks of 2 wallet ids
    run = compost_run_start(as_of=A, chunk_size=2, workers=1)
    done = RunChunk.objects.filter(run_id=run.pk, done_at__isnull=False)
    # when its chunks are counted per worker
    found = economy.run_chunks_by_worker(run_id=run.pk)
    # then every chunk done (the compost's: each stored its statement leaf, the hash step has
    # none) is counted once, under the worker that did it
    assert sum(found.values()) == done.count() == run.chunks_done
    assert set(found) == set(done.values_list("worker", flat=True))


def test_the_daily_series_takes_closed_days_from_the_snapshot_and_today_live(staff_user):
    # given a harvest yesterday and one today before the snapshot, one today after it
    from tests.support.saka import manual

    member = new_member("daily")
    day = A.replace(hour=10)
    manual(member.pk, 30, staff_user.pk, as_of=day - timedelta(days=1))
    manual(member.pk, 20, staff_user.pk, as_of=day)
    economy.economy_snapshot_refresh(as_of=day + timedelta(hours=1))
    manual(member.pk, 5, staff_user.pk, as_of=day + timedelta(hours=2))
    # when the series is read later that day
    rows = economy.saka_daily(as_of=day + timedelta(hours=3))
    # then yesterday comes from the snapshot, today (both harvests) is counted live
    got = {(r["day"], r["kind"], r["reason"]): (r["entries"], r["grains"]) for r in rows}
    yesterday = (day - timedelta(days=1)).date().isoformat()
    assert got == {
        (yesterday, "harvest", "manual_adjust"): (1, 30),
        (day.date().isoformat(), "harvest", "manual_adjust"): (2, 25),
    }
    assert EconomySnapshot.objects.get().daily == [
        {"day": yesterday, "kind": "harvest", "reason": "manual_adjust", "entries": 1, "grains": 30}
    ]


def test_top_projects_by_grains_planted(project, make_user):
    from saka.grains.services import wallet_plant
    from saka.projects.services import project_create
    from tests.support.saka import harvest

    # given two projects, 5 and 3 grains planted by a member who harvested enough
    other = project_create(owner_id=make_user().pk, title="Repair café")
    member = make_user()
    for _ in range(3):
        harvest(member.pk)
    wallet_plant(member_id=member.pk, amount=5, project_id=project.pk, as_of=A)
    wallet_plant(member_id=member.pk, amount=3, project_id=other.pk, as_of=A)
    # when the top projects are read
    top = economy.top_projects()
    # then the larger score first
    assert [(p["id"], p["score"]) for p in top] == [(project.pk, 5), (other.pk, 3)]


def test_the_command_takes_a_snapshot(population):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("saka_economy_snapshot", stdout=out)
    snap = economy.economy_snapshot_last()
    assert snap is not None
    assert (snap.wallets, snap.supply) == (5, 7267)
    assert "5 wallets, 7267 grains" in out.getvalue()


@pytest.mark.postgres
def test_the_snapshot_pass_summarizes_the_entries_new_brin_ranges(member):
    # given entries appended since the BRIN indexes were built (an unsummarized range matches
    # every query: at 10M postings a day's range read the whole table, docs/dashboard.md)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from saka.grains.economy import ENTRY_BRIN_INDEXES, economy_snapshot_refresh
    from tests.support.saka import harvest

    harvest(member.pk)
    # when the snapshot pass runs
    with CaptureQueriesContext(connection) as ctx:
        economy_snapshot_refresh()
    # then it asked PostgreSQL to summarize both entry tables' new ranges
    summarized = [q["sql"] for q in ctx.captured_queries if "brin_summarize_new_values" in q["sql"]]
    assert len(summarized) == len(ENTRY_BRIN_INDEXES) == 2
    assert all(any(name in sql for sql in summarized) for name in ENTRY_BRIN_INDEXES)
