"""EUR writes: idempotency compares the normalised request (``"5"``, ``"5.00"`` and ``5.00``
name the same cents) and a replay carries ``Idempotent-Replayed: true``."""

from __future__ import annotations

from typing import Any

import pytest

from saka.euro.services.pockets import pocket_create
from tests.support.euro import open_campaign
from tests.support.euro_api import V1, post_json

pytestmark = pytest.mark.django_db

REPLAYED = "Idempotent-Replayed"


def test_a_transfer_of_5_and_of_5_00_are_one_request(api: Any, rich: Any) -> None:
    # given a pocket and a transfer of "5.00" with a key
    pocket = pocket_create(member_id=rich.pk, name="Rent", percentage="0")
    client = api(rich)
    url = f"{V1}/me/euro/transfers/"
    body = {"pocket_id": pocket.pocket_id, "direction": "to_pocket", "amount": "5.00"}
    first = post_json(client, url, body, HTTP_IDEMPOTENCY_KEY="t-5")
    # when it is retried as "5"
    again = post_json(client, url, {**body, "amount": "5"}, HTTP_IDEMPOTENCY_KEY="t-5")
    # then it replays the first, once booked
    assert (first.status_code, again.status_code) == (201, 201), again.content
    assert REPLAYED not in first
    assert again[REPLAYED] == "true"
    assert again.json() == first.json()
    assert first.json()["pocket_balance"] == "5.00"


def test_a_pocket_and_a_pledge_replay_say_they_are_one(api: Any, rich: Any, project: Any) -> None:
    client = api(rich)
    pocket = {"name": "Trip", "percentage": "10"}
    first = post_json(client, f"{V1}/me/euro/pockets/", pocket, HTTP_IDEMPOTENCY_KEY="pk")
    again = post_json(
        client,
        f"{V1}/me/euro/pockets/",
        {**pocket, "percentage": "10.00"},
        HTTP_IDEMPOTENCY_KEY="pk",
    )
    assert (first.status_code, again.status_code, again[REPLAYED]) == (201, 201, "true")
    assert again.json() == first.json()
    open_campaign(project)
    pledge = {"project_id": project.pk, "amount": "1.50"}
    first = post_json(client, f"{V1}/me/euro/pledges/", pledge, HTTP_IDEMPOTENCY_KEY="pl")
    again = post_json(
        client, f"{V1}/me/euro/pledges/", {**pledge, "amount": "1.5"}, HTTP_IDEMPOTENCY_KEY="pl"
    )
    assert (first.status_code, again.status_code) == (201, 201), again.content
    assert REPLAYED not in first
    assert again[REPLAYED] == "true"
    assert again.json() == first.json()
