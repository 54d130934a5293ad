"""The dashboard's policy lab endpoints: a what-if from the page (any staff reader), a change
from it (a policy maker only), typed errors as JSON, CSRF enforced."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from saka.grains.models import PolicyVersion, PolicyWhatIf

pytestmark = pytest.mark.django_db

WHATIF = "/dashboard/policy/whatif.json"
CHANGE = "/dashboard/policy/change.json"


def client_of(user: Any, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def _post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def test_an_auditor_asks_a_whatif_but_cannot_change(make_user: Any) -> None:
    # given an auditor on the page
    auditor = make_user(staff=True, roles=["auditor"])
    client = client_of(auditor)
    assert client.get("/dashboard/").context["panels"]["policy"]["can_change"] is False
    # when they ask a what-if of a 20 % compost
    response = _post(client, WHATIF, {"compost_rate": "0.20", "compost_min_amount": ""})
    # then both sides come back, recorded
    assert response.status_code == 201
    data = response.json()
    assert data["parameters"]["compost_rate"] == "0.20"
    assert data["parameters"]["compost_min_amount"] == 10  # "" is "as in force"
    assert "difference" in data["result"]
    # and putting it in force is refused, typed, naming the permission
    refused = _post(client, CHANGE, {"whatif_id": data["whatif_id"], "reason": "mine"})
    assert refused.status_code == 403
    assert refused.json()["data"]["permission"] == "audit.manage_policy"
    assert not PolicyVersion.objects.exists()


def test_a_policy_maker_puts_a_whatif_in_force(make_user: Any) -> None:
    maker = make_user(staff=True, roles=["policy_maker"])
    client = client_of(maker)
    assert client.get("/dashboard/").context["panels"]["policy"]["can_change"] is True
    whatif = _post(client, WHATIF, {"compost_inactivity_days": 60}).json()
    response = _post(client, CHANGE, {"whatif_id": whatif["whatif_id"], "reason": "winter"})
    assert response.status_code == 201
    version = PolicyVersion.objects.get()
    assert response.json()["version_id"] == version.pk
    page = client.get("/dashboard/").context["panels"]["policy"]
    assert page["in_force"]["version_id"] == version.pk
    assert page["versions"][0]["reason"] == "winter"


@pytest.mark.parametrize(
    ("url", "body", "status", "code"),
    [
        (WHATIF, {"compost_rate": "2"}, 400, "validation_error"),
        (WHATIF, ["compost_rate"], 400, "validation_error"),
        (WHATIF, "not json", 400, "validation_error"),
        (CHANGE, {"whatif_id": "1", "reason": "x"}, 400, "validation_error"),
        (CHANGE, {"whatif_id": 98765, "reason": "x"}, 404, "whatif_not_found"),
        (CHANGE, {"whatif_id": 1, "reason": "x", "effective_at": "soon"}, 400, "validation_error"),
    ],
)
def test_bad_input_is_a_typed_json_error(
    make_user: Any, url: str, body: Any, status: int, code: str
) -> None:
    client = client_of(make_user(staff=True, roles=["policy_maker"]))
    raw = body if isinstance(body, str) else json.dumps(body)
    response = client.post(url, raw, content_type="application/json")
    assert response.status_code == status
    assert response.json()["code"] == code
    assert not PolicyVersion.objects.exists()


def test_csrf_is_enforced(make_user: Any) -> None:
    client = client_of(make_user(staff=True, roles=["auditor"]), csrf=True)
    response = _post(client, WHATIF, {"compost_rate": "0.20"})
    assert response.status_code == 403
    assert not PolicyWhatIf.objects.exists()


def test_a_get_is_not_allowed(make_user: Any) -> None:
    client = client_of(make_user(staff=True, roles=["auditor"]))
    assert client.get(WHATIF).status_code == 405
