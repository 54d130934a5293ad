"""Who may call what: every endpoint of ``saka.api.urls`` against every kind of caller.

The schema, docs, redoc and token endpoints are public and covered in ``test_schema.py``, the
configuration in ``tests/api/overview/test_views.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from saka.api import urls as api_urls
from saka.grains.models import AccountKind, SakaAccount, SakaPosting
from saka.grains.services import wallet_harvest, wallet_plant

pytestmark = pytest.mark.django_db

# "not-found": the catch-all JSON 404 of any other URL under the API (tests/api/test_error_edges.py)
PUBLIC = {"schema", "docs", "redoc", "token", "not-found", "config"}
# Endpoints whose permission matrix lives in another module.
COVERED_ELSEWHERE = {
    **dict.fromkeys(
        (
            "saka-compost-preview",
            "staff-run-list",
            "staff-run-detail",
            "staff-run-resume",
            "staff-silo",
            "staff-stats",
        ),
        "tests/api/saka/test_run_view_refusals.py",
    ),
    "staff-audit": "tests/api/test_roles.py",
    "staff-alerts": "tests/api/test_roles.py",
    "staff-simulations": "tests/api/test_roles.py",
    "staff-statement-detail": "tests/api/test_roles.py",
    **dict.fromkeys(
        ("saka-statements", "saka-statement-proof"),
        "tests/grains/runs/test_run_statements_api.py",
    ),
    **dict.fromkeys(
        (
            "euro-wallet",
            "euro-history",
            "euro-pockets",
            "euro-pocket-detail",
            "euro-transfers",
            "euro-pledges",
            "euro-pledge-cancel",
            "euro-campaigns",
            "euro-campaign-detail",
            "webhooks-payments",
            "webhooks-helloasso",
            "staff-euro-campaigns",
            "staff-euro-campaign-status",
            "staff-euro-settlement",
            "staff-euro-pledge-refund",
        ),
        "tests/api/euro/test_views.py",
    ),
    **dict.fromkeys(
        (
            "poll-list",
            "poll-detail",
            "poll-vote",
            "poll-results",
            "poll-my-vote",
            "staff-polls",
        ),
        "tests/api/polls/test_poll_views.py",
    ),
    **dict.fromkeys(
        ("saka-seasons", "staff-seasons", "staff-season-activate"),
        "tests/api/saka/test_season_views.py",
    ),
    "logout": "tests/api/test_auth.py",
    **dict.fromkeys(
        ("staff-policy", "staff-policy-whatifs", "staff-policy-whatif-detail"),
        "tests/api/test_roles.py",
    ),
}

# name -> (method, body); "{member}" in a body is replaced by the target member's id.
ENDPOINTS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "saka-wallet": ("get", None),
    "saka-history": ("get", None),
    "saka-plant": ("post", {"amount": 10}),
    "me-assets": ("get", None),
    "project-list": ("get", None),
    "project-detail": ("get", None),
    "project-boost": ("post", {}),
    "platform-harvest": ("post", {"member_id": "{member}", "reason": "content_read"}),
    "staff-adjustment": ("post", {"member_id": "{member}", "amount": 20}),
}
MEMBER_ENDPOINTS = {
    "saka-wallet": 200,
    "saka-history": 200,
    "saka-plant": 201,
    "me-assets": 200,
    "project-list": 200,
    "project-detail": 200,
    "project-boost": 201,
}
ACTORS = ["anonymous", "member", "other_member", "platform", "staff"]


def _expected(name: str, actor: str) -> tuple[int, str | None]:
    if actor == "anonymous":
        return 401, "not_authenticated"
    if name in ("saka-plant", "project-boost") and actor in ("platform", "staff"):
        return 409, "not_a_member"  # operator accounts hold no grains (saka.core.members)
    if name in MEMBER_ENDPOINTS:
        return MEMBER_ENDPOINTS[name], None
    if name == "platform-harvest":
        return (201, None) if actor == "platform" else (403, "permission_denied")
    if name == "staff-adjustment":
        return (201, None) if actor == "staff" else (403, "permission_denied")
    raise AssertionError(f"no expectation for {name}")


MATRIX = [
    pytest.param(name, actor, *_expected(name, actor), id=f"{name}-{actor}")
    for name in ENDPOINTS
    for actor in ACTORS
]


def _url(name: str, project_id: int) -> str:
    if name.startswith("project-") and name != "project-list":
        return reverse(f"saka_api:{name}", args=[project_id])
    return reverse(f"saka_api:{name}")


def _body(body: dict[str, Any] | None, member_id: int) -> dict[str, Any] | None:
    if body is None:
        return None
    return {k: member_id if v == "{member}" else v for k, v in body.items()}


def _flat(patterns: list[Any]) -> list[Any]:
    """The URL patterns, with included ones flattened."""
    out: list[Any] = []
    for pattern in patterns:
        out += _flat(pattern.url_patterns) if hasattr(pattern, "url_patterns") else [pattern]
    return out


def test_matrix_covers_every_endpoint_of_the_urlconf() -> None:
    # given the named routes of the API
    names = {p.name for p in _flat(api_urls.urlpatterns)}
    # then each non-public one is in the permission matrix, and nothing else is
    assert names - PUBLIC == set(ENDPOINTS) | set(COVERED_ELSEWHERE)


@pytest.mark.parametrize(("name", "actor", "status", "code"), MATRIX)
def test_permission_matrix(
    name: str,
    actor: str,
    status: int,
    code: str | None,
    request: pytest.FixtureRequest,
    api: Any,
    member: Any,
    project: Any,
    fund: Any,
    books: Any,
    assert_error: Any,
) -> None:
    # given an actor with grains to spend, and a member the privileged endpoints target
    user = (
        None
        if actor == "anonymous"
        else request.getfixturevalue(
            {"platform": "platform_user", "staff": "staff_user"}.get(actor, actor)
        )
    )
    if actor in ("member", "other_member"):
        fund(user)
    method, body = ENDPOINTS[name]
    before = books()
    # when the actor calls the endpoint
    response = getattr(api(user), method)(
        _url(name, project.pk), _body(body, member.pk), format="json"
    )
    # then the status (and on refusal, the code) is the expected one
    if code is None:
        assert response.status_code == status, response.content[:500]
    else:
        assert_error(response, status, code)
        # and a refused request books nothing
        assert books() == before


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_anonymous_is_told_how_to_authenticate(name: str, api: Any, project: Any) -> None:
    # given an anonymous client
    method, body = ENDPOINTS[name]
    # when it calls the endpoint
    response = getattr(api(None), method)(_url(name, project.pk), body, format="json")
    # then it gets 401 with the scheme to use
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_anonymous_with_the_wrong_method_still_gets_401(
    name: str, api: Any, project: Any, assert_error: Any
) -> None:
    # given an anonymous client and a method the endpoint does not serve
    method = "delete"
    # when it calls the endpoint
    response = getattr(api(None), method)(_url(name, project.pk))
    # then authentication is checked first: nothing about the endpoint leaks
    assert_error(response, 401, "not_authenticated")


def test_token_authentication_end_to_end(member: Any, assert_error: Any) -> None:
    # given a token obtained with the member's password
    client = APIClient()
    token = client.post(
        reverse("saka_api:token"), {"username": member.username, "password": "pw"}, format="json"
    )
    assert token.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    # when the member reads their wallet with it
    response = client.get(reverse("saka_api:saka-wallet"))
    # then they are the member
    assert response.status_code == 200
    assert response.json()["member_id"] == member.pk


def test_a_wrong_token_is_401(api: Any, assert_error: Any) -> None:
    # given a client with a token nobody has
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    # when it reads a wallet
    response = client.get(reverse("saka_api:saka-wallet"))
    # then it is not authenticated
    assert_error(response, 401, "not_authenticated")


def test_a_deactivated_members_token_is_401(member: Any, assert_error: Any) -> None:
    # given a member with a token, then deactivated
    token = Token.objects.create(user=member)
    member.is_active = False
    member.save(update_fields=["is_active"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    # when the token is used
    response = client.get(reverse("saka_api:saka-wallet"))
    # then it no longer works
    assert_error(response, 401, "not_authenticated")


def test_a_platform_account_that_loses_its_permission_is_refused(
    platform_user: Any, member: Any, api: Any, books: Any, assert_error: Any
) -> None:
    # given a platform account whose permission was withdrawn
    platform_user.user_permissions.clear()
    platform_user = type(platform_user).objects.get(pk=platform_user.pk)  # fresh perm cache
    before = books()
    # when it grants a harvest
    response = api(platform_user).post(
        reverse("saka_api:platform-harvest"),
        {"member_id": member.pk, "reason": "content_read"},
        format="json",
    )
    # then it is refused and nothing is booked
    assert_error(response, 403, "permission_denied")
    assert books() == before


def test_a_deactivated_platform_account_is_refused(
    platform_user: Any, member: Any, api: Any, books: Any, assert_error: Any
) -> None:
    # given a platform account that was deactivated (its session may still be alive)
    platform_user.is_active = False
    platform_user.save(update_fields=["is_active"])
    before = books()
    # when it grants a harvest
    response = api(platform_user).post(
        reverse("saka_api:platform-harvest"),
        {"member_id": member.pk, "reason": "content_read"},
        format="json",
    )
    # then it is refused and nothing is booked
    assert_error(response, 403, "permission_denied")
    assert books() == before


def test_a_superuser_without_staff_flag_cannot_adjust(
    make_user: Any, member: Any, api: Any, books: Any, assert_error: Any
) -> None:
    # given a superuser that is not staff (has every permission, but not the staff flag)
    superuser = make_user(is_superuser=True)
    before = books()
    # when they grant a manual adjustment
    response = api(superuser).post(
        reverse("saka_api:staff-adjustment"), {"member_id": member.pk, "amount": 10}, format="json"
    )
    # then it is refused: adjustments are for staff
    assert_error(response, 403, "permission_denied")
    assert books() == before


# --- members only ever see their own data -------------------------------------------------


def _posting_ids(user: Any) -> set[int]:
    wallet = SakaAccount.objects.get(kind=AccountKind.WALLET, member_id=user.pk)
    return set(SakaPosting.objects.filter(account=wallet).values_list("id", flat=True))


def test_wallet_shows_only_my_balance(api: Any, member: Any, other_member: Any) -> None:
    # given two members with different balances
    wallet_harvest(member_id=member.pk, reason="invite_accepted")
    for _ in range(3):
        wallet_harvest(member_id=other_member.pk, reason="content_read")
    # when member A reads their wallet, even asking for B's
    mine = api(member).get(reverse("saka_api:saka-wallet"))
    spoofed = api(member).get(
        reverse("saka_api:saka-wallet"), {"member_id": other_member.pk, "member": other_member.pk}
    )
    # then both answers are A's wallet
    for response in (mine, spoofed):
        assert response.status_code == 200
        body = response.json()
        assert body["member_id"] == member.pk
        assert body["balance"] == 50
        assert body["lifetime_harvested"] == 50
        assert body["harvests_today"]["content_read"]["used"] == 0
        assert body["harvests_today"]["invite_accepted"]["used"] == 1


def test_history_shows_only_my_postings(
    api: Any, member: Any, other_member: Any, project: Any
) -> None:
    # given two members who both harvested and planted, interleaved
    for _ in range(2):
        wallet_harvest(member_id=member.pk, reason="invite_accepted")
        wallet_harvest(member_id=other_member.pk, reason="invite_accepted")
    wallet_plant(member_id=other_member.pk, amount=7, project_id=project.pk)
    wallet_plant(member_id=member.pk, amount=3)
    # when each reads their history, A also trying to ask for B's
    a = api(member).get(reverse("saka_api:saka-history"))
    a_spoofed = api(member).get(
        reverse("saka_api:saka-history"), {"member_id": other_member.pk, "account": 1}
    )
    b = api(other_member).get(reverse("saka_api:saka-history"))
    # then each sees exactly their own postings
    assert {r["id"] for r in a.json()["results"]} == _posting_ids(member)
    assert {r["id"] for r in a_spoofed.json()["results"]} == _posting_ids(member)
    assert {r["id"] for r in b.json()["results"]} == _posting_ids(other_member)
    assert sorted(r["amount"] for r in a.json()["results"]) == [-3, 50, 50]
    assert sorted(r["amount"] for r in b.json()["results"]) == [-7, 50, 50]


def test_a_member_without_a_wallet_sees_an_empty_one_not_someone_elses(
    api: Any, member: Any, other_member: Any
) -> None:
    # given only the other member has grains
    wallet_harvest(member_id=other_member.pk, reason="invest_bonus")
    # when the member without a wallet reads wallet and history
    wallet = api(member).get(reverse("saka_api:saka-wallet"))
    history = api(member).get(reverse("saka_api:saka-history"))
    # then both are empty and theirs
    assert wallet.json()["member_id"] == member.pk
    assert wallet.json()["balance"] == 0
    assert history.json()["results"] == []


def test_platform_harvest_lands_in_the_members_history_not_the_platforms(
    api: Any, member: Any, platform_user: Any
) -> None:
    # given the platform grants the member a harvest
    response = api(platform_user).post(
        reverse("saka_api:platform-harvest"),
        {"member_id": member.pk, "reason": "poll_vote"},
        format="json",
    )
    assert response.status_code == 201
    # when both read their histories
    member_history = api(member).get(reverse("saka_api:saka-history")).json()["results"]
    platform_history = api(platform_user).get(reverse("saka_api:saka-history")).json()["results"]
    # then only the member has it
    assert [(r["entry_id"], r["amount"]) for r in member_history] == [
        (response.json()["entry_id"], 5)
    ]
    assert platform_history == []
