"""The policy lab's staff endpoints: the parameters in force, a what-if, a change with it;
bad input is a typed 4xx that records nothing. (Roles: tests/api/test_roles.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from saka.grains.models import PolicyVersion, PolicyWhatIf

pytestmark = pytest.mark.django_db

POLICY = reverse("saka_api:staff-policy")
WHATIFS = reverse("saka_api:staff-policy-whatifs")


@pytest.fixture
def maker(make_user: Any) -> Any:
    return make_user(staff=True, roles=["policy_maker"])


def test_a_whatif_then_a_change_with_it(api: Any, maker: Any) -> None:
    # given the defaults in force
    before = api(maker).get(POLICY).json()
    assert before["in_force"]["version_id"] is None
    assert before["in_force"]["parameters"]["compost_rate"] == "0.10"
    assert before["bounds"]["compost_inactivity_days"] == [1, 365]
    # when a what-if of a 20 % compost over 60 idle days is asked
    response = api(maker).post(
        WHATIFS, {"compost_rate": "0.20", "compost_inactivity_days": 60}, format="json"
    )
    assert response.status_code == 201, response.content
    whatif = response.json()
    assert whatif["parameters"]["compost_rate"] == "0.20"
    assert whatif["baseline"]["compost_inactivity_days"] == 90
    assert set(whatif["result"]) == {"as_of", "wallets", "baseline", "candidate", "difference"}
    # and it is put in force with a reason
    changed = api(maker).post(
        POLICY, {"whatif_id": whatif["whatif_id"], "reason": "spring season"}, format="json"
    )
    assert changed.status_code == 201, changed.content
    # then the parameters in force are the what-if's, with who and why
    after = api(maker).get(POLICY).json()
    assert after["in_force"]["version_id"] == changed.json()["version_id"]
    assert after["in_force"]["parameters"] == whatif["parameters"]
    assert (after["in_force"]["reason"], after["in_force"]["changed_by"]) == (
        "spring season",
        maker.pk,
    )
    assert len(after["versions"]) == 1
    # and the recorded what-if can be read again
    detail = api(maker).get(
        reverse("saka_api:staff-policy-whatif-detail", kwargs={"whatif_id": whatif["whatif_id"]})
    )
    assert detail.json() == whatif


@pytest.mark.parametrize(
    "body",
    [
        {"compost_rate": "0"},
        {"compost_rate": "1.5"},
        {"compost_rate": 0.2},
        {"compost_inactivity_days": "90"},
        {"compost_inactivity_days": 0},
        {"compost_inactivity_days": True},
        {"redistribution_active_days": 3651},
        {"silo_rate": "0.1"},
        {"as_of": "yesterday"},
    ],
)
def test_a_bad_whatif_is_a_400_that_records_nothing(
    api: Any, maker: Any, body: dict[str, Any], assert_error: Any
) -> None:
    assert_error(api(maker).post(WHATIFS, body, format="json"), 400, "validation_error")
    assert not PolicyWhatIf.objects.exists()


def test_a_stale_whatif_is_a_409(api: Any, maker: Any, assert_error: Any) -> None:
    # given two what-ifs, the first put in force
    first = api(maker).post(WHATIFS, {"compost_rate": "0.20"}, format="json").json()
    second = api(maker).post(WHATIFS, {"compost_rate": "0.30"}, format="json").json()
    api(maker).post(POLICY, {"whatif_id": first["whatif_id"], "reason": "a"}, format="json")
    # when the second is put in force
    response = api(maker).post(
        POLICY, {"whatif_id": second["whatif_id"], "reason": "b"}, format="json"
    )
    # then it is refused as stale, and the first stays in force
    assert_error(response, 409, "whatif_stale")
    assert PolicyVersion.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"whatif_id": 424242, "reason": "x"}, 404, "whatif_not_found"),
        ({"whatif_id": 1}, 400, "validation_error"),
        ({"whatif_id": "one", "reason": "x"}, 400, "validation_error"),
        ({"whatif_id": 1, "reason": "x", "effective_at": "2001-01-01T00:00:00Z"}, 400, None),
    ],
)
def test_a_bad_change_is_refused_typed(
    api: Any, maker: Any, body: dict[str, Any], status: int, code: str | None, assert_error: Any
) -> None:
    # given a what-if (id 1 or later)
    api(maker).post(WHATIFS, {"compost_rate": "0.20"}, format="json")
    if body.get("whatif_id") == 1:
        body["whatif_id"] = PolicyWhatIf.objects.get().pk
    response = api(maker).post(POLICY, body, format="json")
    assert_error(response, status, code or "validation_error")
    assert not PolicyVersion.objects.exists()


def test_an_unknown_whatif_is_a_404(api: Any, maker: Any, assert_error: Any) -> None:
    url = reverse("saka_api:staff-policy-whatif-detail", kwargs={"whatif_id": 99999})
    assert_error(api(maker).get(url), 404, "whatif_not_found")


def test_reading_the_policy_costs_the_same_however_many_versions(
    api: Any, maker: Any, django_assert_max_num_queries: Any
) -> None:
    # given three versions
    for rate in ("0.11", "0.12", "0.13"):
        whatif = api(maker).post(WHATIFS, {"compost_rate": rate}, format="json").json()
        api(maker).post(POLICY, {"whatif_id": whatif["whatif_id"], "reason": rate}, format="json")
    # when the policy is read: the session's user and permissions, then the versions
    client = api(maker)
    with django_assert_max_num_queries(4):
        body = client.get(POLICY).json()
    assert [v["parameters"]["compost_rate"] for v in body["versions"]] == ["0.13", "0.12", "0.11"]
