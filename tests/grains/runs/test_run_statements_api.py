"""The run statements' endpoints: the chain (members), a member's own proof, one statement
with its chunks (staff); typed 404s; query counts pinned."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from saka.grains.merkle import proof_verify
from saka.grains.runs.compost import compost_run_start
from tests.support.clock import A
from tests.support.run_api import assert_error
from tests.support.run_rules import member_of
from tests.support.runs_reference import DAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def composted(make_wallet: Any) -> dict[str, Any]:
    """Two weeks of composts: idle wallets composted, one active wallet not."""
    idle = [make_wallet(1000 * (i + 1), A - 100 * DAY) for i in range(3)]
    active = make_wallet(1000, A - DAY)
    first = compost_run_start(as_of=A, chunk_size=2)
    second = compost_run_start(as_of=A + 7 * DAY, chunk_size=2)
    return {"idle": idle, "active": active, "first": first, "second": second}


def _member(account_id: int) -> Any:
    return get_user_model().objects.get(pk=member_of(account_id))


def test_the_chain_is_listed_newest_first(
    composted: dict[str, Any], api: Any, member: Any, django_assert_max_num_queries: Any
) -> None:
    client = api(member)
    with django_assert_max_num_queries(6):
        body = client.get(reverse("saka_api:saka-statements")).json()
    assert [r["seq"] for r in body["results"]] == [2, 1]
    first = body["results"][1]
    assert first["run_id"] == composted["first"].pk
    assert body["results"][0]["prev_hash"] == first["hash"]
    assert "chunks" not in first
    assert first["body"]["wallets_composted"] == 3


def test_a_member_gets_their_own_proof_and_it_verifies(
    composted: dict[str, Any], api: Any, django_assert_max_num_queries: Any
) -> None:
    # given a composted member
    client = api(_member(composted["idle"][1]))
    url = reverse("saka_api:saka-statement-proof", kwargs={"run_id": composted["first"].pk})
    # when they ask for their proof
    with django_assert_max_num_queries(8):
        response = client.get(url)
    # then it is theirs, with the amount and a proof that verifies
    body = response.json()
    assert response.status_code == 200
    assert (body["status"], body["amount"]) == ("composted", 200)
    assert body["proof"]["account_id"] == composted["idle"][1]
    assert proof_verify(body["proof"])


def test_a_member_not_composted_gets_the_parameters_and_no_proof(
    composted: dict[str, Any], api: Any
) -> None:
    client = api(_member(composted["active"]))
    url = reverse("saka_api:saka-statement-proof", kwargs={"run_id": composted["first"].pk})
    body = client.get(url).json()
    assert (body["status"], body["proof"]) == ("not_composted", None)
    assert body["parameters"]["inactivity_days"] >= 1


def test_a_run_without_a_statement_is_a_typed_404(
    composted: dict[str, Any], api: Any, member: Any
) -> None:
    dry = compost_run_start(as_of=A + 14 * DAY, dry_run=True)
    client = api(member)
    for run_id in (dry.pk, 10**9):
        url = reverse("saka_api:saka-statement-proof", kwargs={"run_id": run_id})
        assert_error(client.get(url), 404, "statement_not_found")


def test_staff_see_one_statement_with_its_chunks_and_members_do_not(
    composted: dict[str, Any], api: Any, make_user: Any, member: Any
) -> None:
    staff = make_user(staff=True, roles=["auditor"])
    url = reverse("saka_api:staff-statement-detail", kwargs={"seq": 1})
    body = api(staff).get(url).json()
    assert body["run_id"] == composted["first"].pk
    assert sum(c[2] for c in body["chunks"]) == 3
    missing = reverse("saka_api:staff-statement-detail", kwargs={"seq": 99})
    assert_error(api(staff).get(missing), 404, "statement_not_found")
    assert api(member).get(url).status_code == 403
