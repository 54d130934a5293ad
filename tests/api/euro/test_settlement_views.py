"""The staff settlement endpoint on the batch engine: POST opens the campaign's settlement and
enqueues its workers (202, ``Location``: the settlement, its summary with its chunks), resumes
a stalled one (202), or returns the settlement as it is (200); GET shows its chunks pending,
leased and done, the leases, and whether it is stalled. Workers are enqueued only once the
request's work commits (they run eagerly here)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest

from saka.core.clock import now
from saka.engine import chunks
from saka.euro import settlement
from saka.euro.models import CampaignStatus, SettlementRun
from saka.euro.services.campaigns import campaign_set_status
from saka.jobs import tasks
from tests.support.euro import (
    deposit,
    open_campaign,
    seed_pledges,
    settlement_interrupted_in_second_chunk,
)
from tests.support.euro_api import V1, post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed(make_user: Any, project: Any) -> Any:
    """A campaign closed as failed an hour ago, with 12 held pledges by two members."""
    members = [make_user() for _ in range(2)]
    for m in members:
        deposit(m, 100_000)
    campaign = open_campaign(project)
    seed_pledges(campaign, members, [100 + i for i in range(12)])
    return campaign_set_status(
        campaign_id=campaign.pk, status=CampaignStatus.FAILED, as_of=now() - timedelta(hours=1)
    )


def _url(campaign: Any) -> str:
    return f"{V1}/staff/euro/campaigns/{campaign.pk}/settlement/"


def test_post_opens_the_settlement_and_enqueues_its_workers_on_commit(
    api: Any, staff_user: Any, closed: Any, django_capture_on_commit_callbacks: Any
) -> None:
    staff = api(staff_user)
    at = now() - timedelta(minutes=10)
    # when staff ask for the settlement (in chunks of 5, as of ten minutes ago)
    with mock.patch.object(tasks.settlement_run, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as on_commit:
            response = post_json(staff, _url(closed), {"chunk_size": 5, "as_of": at.isoformat()})
        delay.assert_not_called()  # nothing sent before the request's work commits
        for callback in on_commit:
            callback()  # the commit
    # then the answer is 202 with the settlement's Location and its summary: queued, planned
    assert response.status_code == 202, response.content
    assert response["Location"].endswith(f"/staff/euro/campaigns/{closed.pk}/settlement/")
    body = response.json()
    run = SettlementRun.objects.get(campaign=closed)
    assert (body["id"], body["status"], body["kind"], body["chunk_size"]) == (
        run.pk,
        "queued",
        "refund",
        5,
    )
    assert datetime.fromisoformat(body["as_of"]) == at == run.as_of
    assert (body["triggered_by_id"], body["trigger"]) == (staff_user.pk, "api")
    progress = body["progress"]
    assert (progress["step"], progress["total"], progress["pending"], progress["done"]) == (
        "settle",
        3,
        3,
        0,
    )
    assert (progress["leased"], progress["leases"], progress["stalled"]) == (0, [], False)
    # and once committed, one settlement task was sent for the campaign
    delay.assert_called_once_with(
        campaign_id=closed.pk, trigger="api", triggered_by_id=staff_user.pk
    )


def test_the_workers_settle_it_and_the_resource_shows_it_done(
    api: Any, staff_user: Any, closed: Any, django_capture_on_commit_callbacks: Any
) -> None:
    staff = api(staff_user)
    # given the settlement asked for, its workers run (eagerly) once the request commits
    with django_capture_on_commit_callbacks(execute=True):
        started = post_json(staff, _url(closed), {"chunk_size": 5})
    assert started.status_code == 202
    # when staff look at the Location
    body = staff.get(started["Location"]).json()
    # then it is done, every chunk done and no lease left
    assert (body["status"], body["outcome"], body["pledges_done"], body["chunks_done"]) == (
        "done",
        "completed",
        12,
        3,
    )
    assert body["refunded"] == f"{sum(100 + i for i in range(12)) / 100:.2f}"
    assert {k: body["progress"][k] for k in ("total", "done", "pending", "leased")} == {
        "total": 3,
        "done": 3,
        "pending": 0,
        "leased": 0,
    }
    assert (body["progress"]["leases"], body["progress"]["stalled"]) == ([], False)
    # and asking again answers 200 with the settlement as it is, sending nothing
    with (
        mock.patch.object(tasks.settlement_run, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        again = post_json(staff, _url(closed), {"chunk_size": 2})
    assert again.status_code == 200
    assert again.json() == body
    delay.assert_not_called()


def test_a_settlement_being_worked_on_is_returned_as_it_is(
    api: Any, staff_user: Any, closed: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given a settlement opened and a worker holding a lease on its first chunk
    run, _ = settlement.settlement_open(campaign_id=closed.pk, chunk_size=5)
    step = settlement.SETTLEMENT.chunked(0)
    assert chunks.claim(settlement.SETTLEMENT, run.pk, step, "host-b:42") is not None
    # when staff ask for it again
    with (
        mock.patch.object(tasks.settlement_run, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = post_json(api(staff_user), _url(closed), {})
    # then it is 200 (somebody works on it), with the lease shown
    assert response.status_code == 200
    delay.assert_not_called()
    progress = response.json()["progress"]
    assert (progress["leased"], progress["pending"], progress["stalled"]) == (1, 2, False)
    assert [(lease["worker"], lease["lo"]) for lease in progress["leases"]] == [("host-b:42", 0)]


def test_a_stalled_settlement_is_resumed(
    api: Any,
    staff_user: Any,
    closed: Any,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a settlement interrupted in its second chunk (its worker failed)
    run = settlement_interrupted_in_second_chunk(monkeypatch, closed.pk, 5)
    staff = api(staff_user)
    shown = staff.get(_url(closed)).json()
    assert (shown["status"], shown["progress"]["stalled"], shown["progress"]["done"]) == (
        "interrupted",
        True,
        1,
    )
    assert "worker lost" in shown["error"]
    # when staff ask for it again, its workers run once the request commits
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(staff, _url(closed), {})
    # then the answer is 202 (resumed, workers sent) and the settlement finished
    assert response.status_code == 202
    assert response["Location"].endswith(f"/staff/euro/campaigns/{closed.pk}/settlement/")
    run = SettlementRun.objects.get(campaign=closed)
    assert (run.status, run.attempts, run.pledges_done, run.chunks_done) == ("done", 2, 12, 3)


def test_an_as_of_before_the_close_is_refused(
    api: Any, staff_user: Any, closed: Any, assert_error: Any
) -> None:
    before = (closed.closed_at - timedelta(minutes=1)).isoformat()
    response = post_json(api(staff_user), _url(closed), {"as_of": before})
    assert_error(response, 400, "validation_error")
    assert not SettlementRun.objects.exists()


def test_the_old_batch_size_field_is_refused_by_name_and_opens_nothing(
    api: Any, staff_user: Any, closed: Any
) -> None:
    # when a client still sends the field's name from before the engine
    response = post_json(api(staff_user), _url(closed), {"batch_size": 5})
    # then it is told what it is called now, and no settlement is opened
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error"
    assert "batch_size" in str(body["data"])
    assert not SettlementRun.objects.filter(campaign=closed).exists()
