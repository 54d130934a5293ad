"""The EUR pledge and campaign endpoints: a member's pledge (idempotency key, refusals) and the
staff's campaign lifecycle, settlement and refund of one pledge."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from saka.core.clock import now
from saka.euro.models import Pledge
from saka.euro.services.pledges import pledge_create
from tests.support.euro import open_campaign
from tests.support.euro_api import V1, AssertError, post_json

pytestmark = pytest.mark.django_db


# --- pledges and campaigns ----------------------------------------------------------------------


def test_pledge_with_an_idempotency_key(
    api: Any, rich: Any, project: Any, assert_error: AssertError
) -> None:
    campaign = open_campaign(project)
    client = api(rich)
    data = {"project_id": project.pk, "amount": "25.00"}
    first = post_json(client, f"{V1}/me/euro/pledges/", data, HTTP_IDEMPOTENCY_KEY="p-1")
    again = post_json(client, f"{V1}/me/euro/pledges/", data, HTTP_IDEMPOTENCY_KEY="p-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    body = first.json()
    assert (body["amount"], body["available"], body["status"], body["campaign_id"]) == (
        "25.00",
        "975.00",
        "held",
        campaign.pk,
    )
    assert Pledge.objects.filter(member=rich).count() == 1
    assert_error(
        post_json(
            client,
            f"{V1}/me/euro/pledges/",
            {**data, "amount": "26.00"},
            HTTP_IDEMPOTENCY_KEY="p-1",
        ),
        409,
        "idempotency_conflict",
    )
    # list and filter
    listed = client.get(f"{V1}/me/euro/pledges/", {"status": "held"}).json()
    assert [(p["id"], p["amount"], p["status"]) for p in listed["results"]] == [
        (body["pledge_id"], "25.00", "held")
    ]
    assert client.get(f"{V1}/me/euro/pledges/", {"status": "released"}).json()["results"] == []
    # campaign detail
    view = client.get(f"{V1}/euro/campaigns/{campaign.pk}/").json()
    assert view["pledged"]["held"] == {"count": 1, "amount": "25.00"}
    assert view["goal"] == "1000.00"
    # cancel
    cancelled = client.post(f"{V1}/me/euro/pledges/{body['pledge_id']}/cancel/")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert_error(
        client.post(f"{V1}/me/euro/pledges/{body['pledge_id']}/cancel/"), 409, "pledge_not_held"
    )


def test_pledge_refusals(api: Any, rich: Any, project: Any, assert_error: AssertError) -> None:
    client = api(rich)
    url = f"{V1}/me/euro/pledges/"
    assert_error(
        post_json(client, url, {"project_id": project.pk, "amount": "1.00"}),
        409,
        "campaign_not_open",
    )
    open_campaign(project)
    assert_error(
        post_json(client, url, {"project_id": project.pk, "amount": "1000.01"}),
        409,
        "insufficient_balance",
    )
    assert_error(
        post_json(client, url, {"project_id": project.pk, "amount": "100000.01"}),
        400,
        "invalid_amount",
    )
    assert_error(
        post_json(client, url, {"project_id": 999_999_999, "amount": "1.00"}),
        404,
        "project_not_found",
    )
    assert_error(
        post_json(client, url, {"project_id": project.pk, "amount": "1.00", "kind": "equity"}),
        403,
        "equity_pledges_disabled",
    )


# --- staff --------------------------------------------------------------------------------------


def test_staff_campaign_lifecycle_and_settlement(
    api: Any,
    staff_user: Any,
    rich: Any,
    project: Any,
    assert_error: AssertError,
    django_capture_on_commit_callbacks: Any,
) -> None:
    staff = api(staff_user)
    deadline = (now() + timedelta(days=10)).isoformat()
    created = post_json(
        staff,
        f"{V1}/staff/euro/campaigns/",
        {"project_id": project.pk, "goal": "500.00", "deadline": deadline},
    )
    assert created.status_code == 201, created.content
    campaign_id = created.json()["id"]
    assert (created.json()["status"], created.json()["goal"]) == ("open", "500.00")
    pledge_create(member_id=rich.pk, project_id=project.pk, amount=10_000)
    settle_url = f"{V1}/staff/euro/campaigns/{campaign_id}/settlement/"
    assert_error(staff.get(settle_url), 404, "settlement_not_found")
    assert_error(post_json(staff, settle_url, {}), 409, "campaign_not_closed")
    closed = post_json(
        staff, f"{V1}/staff/euro/campaigns/{campaign_id}/status/", {"status": "succeeded"}
    )
    assert closed.status_code == 200
    assert closed.json()["status"] == "succeeded"
    # settling: the settlement opens, the request answers 202 and its workers (a Celery task,
    # eager here) settle it once the request's work commits
    with django_capture_on_commit_callbacks(execute=True):
        started = post_json(staff, settle_url, {"chunk_size": 10})
    assert started.status_code == 202, started.content
    assert started["Location"].endswith(f"/staff/euro/campaigns/{campaign_id}/settlement/")
    assert (started.json()["status"], started.json()["kind"]) == ("queued", "release")
    run = staff.get(started["Location"]).json()
    assert (
        run["id"],
        run["status"],
        run["amount"],
        run["commission"],
        run["net_to_project"],
    ) == (started.json()["id"], "done", "100.00", "5.00", "95.00")
    # asking again returns the finished settlement as it is
    again = post_json(staff, settle_url, {})
    assert again.status_code == 200
    assert again.json() == run
    assert_error(
        post_json(staff, f"{V1}/staff/euro/campaigns/{campaign_id}/status/", {"status": "failed"}),
        409,
        "campaign_not_open",
    )


def test_staff_refund_of_one_pledge(api: Any, staff_user: Any, rich: Any, project: Any) -> None:
    open_campaign(project)
    made = pledge_create(member_id=rich.pk, project_id=project.pk, amount=300)
    response = api(staff_user).post(f"{V1}/staff/euro/pledges/{made.pledge_id}/refund/")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["available"]) == ("refunded", "1000.00")
