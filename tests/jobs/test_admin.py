"""The runs in the admin: read-only pages, a dry-run button, a live-run button that opens the
period's run at once and sends its workers (Celery tasks) only once the request's work
commits, a "stalled" filter and an action that resumes stalled runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from saka.engine import lifecycle as engine
from saka.grains.models import Run, RunKind, RunTrigger
from saka.grains.runs.compost import COMPOST, compost_run_start
from saka.grains.runs.periods import period_of
from saka.grains.selectors import wallet_summary
from saka.jobs.runs import live_run_request
from saka.jobs.tasks import run_work
from tests.support.run_scenarios import eager_tasks, idle

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:grains_run_changelist"


def dry_url(kind: str) -> str:
    return reverse("admin:grains_run_dry_run", args=[kind])


def start_url(kind: str) -> str:
    return reverse("admin:grains_run_start", args=[kind])


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def viewer(make_user: Any) -> Any:
    """A staff member with the run operator role (view, start and resume runs; nothing else)."""
    return make_user(staff=True, roles=["run_operator"])


@pytest.fixture
def client_of() -> Any:
    def make(user: Any, **kwargs: Any) -> Client:
        client = Client(**kwargs)
        client.force_login(user)
        return client

    return make


# --- pages ------------------------------------------------------------------------------------


def test_changelist_and_detail_render_for_staff(viewer: Any, client_of: Any) -> None:
    # given a run
    run = compost_run_start(dry_run=True)
    client = client_of(viewer)
    # when staff opens the list
    response = client.get(reverse(CHANGELIST))
    # then it shows the run and the four buttons, each a POST form with a CSRF token
    assert response.status_code == 200
    html = response.content.decode()
    assert f"{run.period}" in html
    now = timezone.now()
    for label in (
        "Dry run compost now",
        "Dry run redistribution now",
        f"Start live compost for {period_of(RunKind.COMPOST, now)}",
        f"Start live redistribution for {period_of(RunKind.REDISTRIBUTION, now)}",
    ):
        assert label in html
    assert html.count('name="csrfmiddlewaretoken"') >= 4
    for kind in ("compost", "redistribution"):
        assert f'action="{dry_url(kind)}"' in html
        assert f'action="{start_url(kind)}"' in html
    # and the filters work
    filtered = client.get(reverse(CHANGELIST), {"kind": "compost", "dry_run__exact": "1"})
    assert filtered.status_code == 200
    # and a run's page renders, read-only
    page = client.get(reverse("admin:grains_run_change", args=[run.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content


def test_superuser_sees_the_list(admin_client: Any) -> None:
    assert admin_client.get(reverse(CHANGELIST)).status_code == 200


def test_runs_cannot_be_added_changed_or_deleted(viewer: Any, client_of: Any) -> None:
    run = compost_run_start(dry_run=True)
    client = client_of(viewer)
    assert client.get(reverse("admin:grains_run_add")).status_code == 403
    assert client.post(reverse("admin:grains_run_delete", args=[run.pk])).status_code == 403
    client.post(reverse("admin:grains_run_change", args=[run.pk]), {"outcome": "x"})
    run.refresh_from_db()
    assert run.outcome == "nothing_to_compost"


def test_staff_without_the_view_permission_is_refused(make_user: Any, client_of: Any) -> None:
    client = client_of(make_user(staff=True))
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.post(dry_url("compost")).status_code == 403
    assert not Run.objects.exists()


def test_an_auditor_sees_the_runs_but_cannot_start_or_resume_one(
    make_user: Any, client_of: Any
) -> None:
    # given an auditor (read-only staff role) in the runs' admin
    client = client_of(make_user(staff=True, roles=["auditor"]))
    # when they open the list, press a run button and post the resume action
    listed = client.get(reverse(CHANGELIST))
    dry = client.post(dry_url("compost"))
    live = client.post(reverse("admin:grains_run_start", args=["compost"]))
    # then they see the list, without the resume action, and every start is refused
    assert listed.status_code == 200
    assert "resume_runs" not in listed.content.decode()
    assert (dry.status_code, live.status_code) == (403, 403)
    assert not Run.objects.exists()


def test_members_are_sent_to_the_login_page(member: Any, client_of: Any) -> None:
    response = client_of(member).post(dry_url("compost"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    assert not Run.objects.exists()


# --- dry run button ---------------------------------------------------------------------------


def test_dry_run_button_runs_and_reports_the_figures(
    member: Any, viewer: Any, client_of: Any
) -> None:
    # given a wallet of 100 grains idle for 120 days
    idle(member, 2, timezone.now())
    # when staff presses "Dry run compost now"
    response = client_of(viewer).post(dry_url("compost"), follow=True)
    # then a dry run is recorded as the admin's, and the message gives its figures
    assert response.status_code == 200
    run = Run.objects.get()
    assert (run.kind, run.dry_run, run.status) == ("compost", True, "done")
    assert (run.trigger, run.triggered_by_id) == (RunTrigger.ADMIN, viewer.pk)
    assert (run.wallets_done, run.amount_done) == (1, 10)
    assert any(
        f"run #{run.pk}" in m and "1 wallets would compost 10 grains" in m
        for m in messages_of(response)
    ), messages_of(response)
    # and nothing was booked
    assert wallet_summary(member_id=member.pk).balance == 100


def test_dry_run_redistribution_button(viewer: Any, client_of: Any) -> None:
    response = client_of(viewer).post(dry_url("redistribution"), follow=True)
    run = Run.objects.get()
    assert (run.kind, run.dry_run, run.outcome) == (
        "redistribution",
        True,
        "nothing_to_redistribute",
    )
    assert any("pot 0" in m and "nothing_to_redistribute" in m for m in messages_of(response))


def test_dry_run_refused_when_saka_is_off(viewer: Any, client_of: Any, settings: Any) -> None:
    from saka.grains.conf import load_settings

    settings.SAKA_ENABLED = False
    load_settings()
    try:
        response = client_of(viewer).post(dry_url("compost"), follow=True)
    finally:
        settings.SAKA_ENABLED = True
        load_settings()
    assert response.status_code == 200
    assert any("refused" in m for m in messages_of(response))
    assert not Run.objects.exists()


def test_buttons_need_post_and_a_known_kind(viewer: Any, client_of: Any) -> None:
    client = client_of(viewer)
    assert client.get(dry_url("compost")).status_code == 405
    assert client.get(start_url("compost")).status_code == 405
    assert client.post(dry_url("harvest")).status_code == 404
    assert client.post(start_url("harvest")).status_code == 404
    assert not Run.objects.exists()


def test_buttons_need_the_csrf_token(viewer: Any, client_of: Any) -> None:
    client = client_of(viewer, enforce_csrf_checks=True)
    assert client.post(dry_url("compost")).status_code == 403
    assert not Run.objects.exists()


# --- live run button ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["compost", "redistribution"])
def test_live_button_opens_the_run_and_sends_workers_on_commit(
    kind: str, viewer: Any, client_of: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_of(viewer)
    with mock.patch.object(run_work, "delay") as delay:
        # when staff presses "Start live ..."
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = client.post(start_url(kind), follow=True)
        # then the period's run is opened at once (queued, the admin's, by this user) and the
        # page names it, but no worker is sent before the commit
        assert response.status_code == 200
        run = Run.objects.get(kind=kind, dry_run=False)
        assert (run.status, run.trigger, run.triggered_by_id) == ("queued", "admin", viewer.pk)
        assert run.period == period_of(kind, timezone.now())
        assert any(
            f"Live {kind} run #{run.pk} of {run.period}: opened, workers sent" in m
            for m in messages_of(response)
        ), messages_of(response)
        delay.assert_not_called()
        assert len(callbacks) == settings.SAKA_RUN_WORKERS
        # when the work commits
        for callback in callbacks:
            callback()
    # then SAKA_RUN_WORKERS workers are sent to that run
    assert [c.kwargs for c in delay.call_args_list] == [
        {"spec": kind, "run_id": run.pk}
    ] * settings.SAKA_RUN_WORKERS


def test_live_button_again_shows_the_run_and_sends_no_more_workers(
    viewer: Any, client_of: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given this week's compost opened from the admin, its workers on their way
    client = client_of(viewer)
    with mock.patch.object(run_work, "delay"), django_capture_on_commit_callbacks(execute=True):
        client.post(start_url("compost"))
    run = Run.objects.get()
    # when staff presses the button again
    with (
        mock.patch.object(run_work, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = client.post(start_url("compost"), follow=True)
    # then the page shows the same run as it is, and no more workers are sent
    assert any(f"run #{run.pk}" in m and "already queued" in m for m in messages_of(response))
    assert callbacks == []
    delay.assert_not_called()
    assert Run.objects.get() == run


def test_live_button_refuses_while_an_earlier_run_is_unfinished(
    viewer: Any, client_of: Any
) -> None:
    # given last week's compost interrupted
    earlier, _ = live_run_request(
        kind="compost", at=timezone.now() - timedelta(days=7), trigger="admin", triggered_by_id=None
    )
    engine.interrupt(COMPOST, earlier.pk, RuntimeError("worker lost"))
    # when staff presses "Start live compost"
    response = client_of(viewer).post(start_url("compost"), follow=True)
    # then it is refused, naming the earlier run; nothing else is opened
    refused = [m for m in messages_of(response) if "refused" in m]
    assert refused, messages_of(response)
    assert f"'run_id': {earlier.pk}" in refused[0]
    assert list(Run.objects.all()) == [earlier]


def test_resume_action_sends_workers_to_stalled_runs_only(
    viewer: Any, client_of: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given an interrupted compost and a finished dry run
    interrupted, _ = live_run_request(
        kind="compost", at=timezone.now(), trigger="admin", triggered_by_id=None
    )
    engine.interrupt(COMPOST, interrupted.pk, RuntimeError("worker lost"))
    dry = compost_run_start(dry_run=True)
    client = client_of(viewer)
    # then the "stalled" filter lists the interrupted run only
    listed = client.get(reverse(CHANGELIST), {"stalled": "yes"})
    assert list(listed.context["cl"].result_list) == [interrupted]
    # when staff resumes both from the list
    with (
        mock.patch.object(run_work, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(
            reverse(CHANGELIST),
            {"action": "resume_runs", "_selected_action": [interrupted.pk, dry.pk]},
            follow=True,
        )
    # then workers went to the interrupted run only
    assert [c.kwargs for c in delay.call_args_list] == [
        {"spec": "compost", "run_id": interrupted.pk}
    ] * settings.SAKA_RUN_WORKERS
    assert any(f"[{interrupted.pk}]" in m and "1 left" in m for m in messages_of(response))


def test_live_button_runs_the_live_compost_when_the_workers_run(
    member: Any, viewer: Any, client_of: Any, django_capture_on_commit_callbacks: Any
) -> None:
    idle(member, 2, timezone.now())
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        client_of(viewer).post(start_url("compost"))
    run = Run.objects.get()
    assert (run.dry_run, run.status, run.trigger, run.amount_done) == (False, "done", "admin", 10)
    assert wallet_summary(member_id=member.pk).balance == 90
