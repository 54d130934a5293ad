"""The staff dashboard's pages: who may see them (anonymous: the log-in page; a member or a
staff user without ``audit.view_staff_data``: 403; an auditor: the page), the page's panels
and its pinned query count, the live runs' JSON, a run's per-wallet CSV, Chart.js served."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client

from saka.core.clock import now
from saka.grains import economy
from saka.grains.models import Run, RunChunk, RunKind, RunStatus, RunTrigger, SakaPosting
from saka.grains.runs.compost import compost_run_start
from saka.ledger.reconcile import reconcile
from saka.ledger.reconcile_results import reconcile_result_record
from tests.support.clock import A
from tests.support.runs_reference import build_wallet, new_member

pytestmark = pytest.mark.django_db

PAGE = "/dashboard/"
LIVE = "/dashboard/runs/live.json"
PANELS = (
    "silo",
    "compost",
    "redistribution",
    "compost_share",
    "runs",
    "balances",
    "daily",
    "projects",
    "deposits",
    "pockets",
    "campaigns",
    "settlements",
    "books",
    "whatif",
    "policy_versions",
)


@pytest.fixture
def auditor(make_user):
    return make_user(staff=True, roles=["auditor"])


def client_of(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("url", [PAGE, LIVE, "/dashboard/runs/1/wallets.csv"])
def test_an_anonymous_visitor_is_sent_to_the_log_in_page(url):
    response = client_of(None).get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


@pytest.mark.parametrize("who", ["member", "staff_without_role", "adjuster"])
@pytest.mark.parametrize("url", [PAGE, LIVE, "/dashboard/runs/1/wallets.csv"])
def test_a_user_without_the_view_permission_gets_403(make_user, who, url):
    # given a member, a staff user with no role, a staff user whose role cannot read staff data
    user = {
        "member": lambda: make_user(),
        "staff_without_role": lambda: make_user(staff=True),
        "adjuster": lambda: make_user(staff=True, roles=["saka_adjuster"]),
    }[who]()
    # when they ask for a dashboard page
    response = client_of(user).get(url)
    # then 403, naming the permission
    assert response.status_code == 403
    assert b"audit.view_staff_data" in response.content


def test_an_auditor_sees_every_panel_with_its_data(
    auditor, staff_user, django_assert_max_num_queries
):
    # given a wallet, a finished compost, a snapshot and a reconciliation recorded
    member = new_member("seen")
    build_wallet(
        member_id=member.pk, balance=600, at=A - timedelta(days=100), staff_id=staff_user.pk
    )
    run = compost_run_start(as_of=A)
    economy.economy_snapshot_refresh()
    reconcile_result_record(report=reconcile(), source="command")
    client = client_of(auditor)
    client.get(PAGE)  # the session and the content types are warm
    # when the page is fetched (the panels' reads, the policy lab's versions among them)
    with django_assert_max_num_queries(26):
        response = client.get(PAGE)
    # then every panel is there, the data in the page, Chart.js and the script referenced
    assert response.status_code == 200
    html = response.content.decode()
    for name in PANELS:
        assert f'data-panel="{name}"' in html, name
    data = response.context["panels"]
    assert data["compost"] == [{"period": run.period, "wallets": 1, "grains": 60}]
    assert data["balances"]["wallets"] == 1
    assert data["books"]["reconcile"]["ok"] is True
    assert 'id="dashboard-data"' in html
    assert "/static/vendor/chartjs/chart.umd.js" in html
    assert "/static/saka_dashboard/dashboard.js" in html
    assert f"/dashboard/runs/{run.pk}/wallets.csv" in html


def test_the_page_renders_on_an_empty_database(auditor):
    response = client_of(auditor).get(PAGE)
    assert response.status_code == 200
    assert b"No snapshot yet" in response.content
    assert b"No reconciliation recorded yet" in response.content


def test_the_live_json_shows_a_running_runs_chunks_per_worker(
    auditor, django_assert_max_num_queries
):
    # given a compost under way: 4 chunks planned, 2 done by w1, 1 by w2
    run = Run.objects.create(
        kind=RunKind.COMPOST,
        period="2026-W10",
        as_of=A,
        trigger=RunTrigger.PYTHON,
        status=RunStatus.RUNNING,
        max_id=40,
        chunk_size=10,
        chunks_done=3,
        started_at=now(),
    )
    for lo, worker in [(0, "w1"), (10, "w1"), (20, "w2"), (30, "")]:
        RunChunk.objects.create(
            run_id=run.pk,
            step=0,
            lo=lo,
            hi=lo + 10,
            worker=worker,
            done_at=now() if worker else None,
        )
    client = client_of(auditor)
    client.get(LIVE)  # the session and the content types are warm
    # when the live JSON is polled (a few queries per run under way, whatever its size)
    with django_assert_max_num_queries(10):
        response = client.get(LIVE)
    # then the run, 3 of 4 chunks, per worker
    assert response.status_code == 200
    (live,) = response.json()["running"]
    assert (live["id"], live["status"], live["done"], live["total"]) == (run.pk, "running", 3, 4)
    assert live["workers"] == {"w1": 2, "w2": 1}
    assert response.json()["settlements"] == []


def test_the_csv_export_is_the_runs_wallet_postings(auditor, staff_user):
    # given a compost of three wallets
    for i, balance in enumerate([600, 1000, 6000]):
        member = new_member(f"csv{i}")
        build_wallet(
            member_id=member.pk, balance=balance, at=A - timedelta(days=100), staff_id=staff_user.pk
        )
    run = compost_run_start(as_of=A)
    # when the export is downloaded
    response = client_of(auditor).get(f"/dashboard/runs/{run.pk}/wallets.csv")
    # then a streamed CSV whose rows are exactly the run's wallet postings
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header == ["wallet_id", "member_id", "amount", "basis", "idle_days"]
    expected = sorted(
        [str(p.account_id), str(p.account.member_id), str(p.amount), str(p.basis), "100"]
        for p in SakaPosting.objects.filter(run_id=run.pk).select_related("account")
    )
    assert rows == expected
    assert sorted(int(r[2]) for r in rows) == [-600, -100, -60]
    assert sorted(int(r[3]) for r in rows) == [600, 1000, 6000]


def test_the_csv_of_an_unknown_run_is_404(auditor):
    assert client_of(auditor).get("/dashboard/runs/999999/wallets.csv").status_code == 404


def test_chart_js_is_served_from_the_npm_package():
    response = Client().get("/static/vendor/chartjs/chart.umd.js")
    assert response.status_code == 200
    assert b"Chart" in b"".join(response.streaming_content)
