"""Bad values on every write endpoint: amounts, reasons, project and member ids, and the reads'
kinds and cursors; a 4xx with a stable code, nothing booked, never a 500.

Every case starts from a member with 50 grains and a project (the ``call`` fixture), sends one
bad request, and checks the status, the exact error code, and that the books did not move
(entries, postings, wallet balances, project figures, idempotency keys)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tests.support.api import _valid_body

pytestmark = pytest.mark.django_db


# --- amounts -------------------------------------------------------------------------------

BAD_AMOUNTS = [
    pytest.param(-5, "invalid_amount", id="negative"),
    pytest.param(0, "invalid_amount", id="zero"),
    pytest.param(10**13, "invalid_amount", id="huge-10e13"),
    pytest.param(2**70, "invalid_amount", id="huge-2e70"),
    pytest.param(-(2**70), "invalid_amount", id="huge-negative"),
    pytest.param(1.5, "invalid_amount", id="float-1.5"),
    pytest.param(10.0, "invalid_amount", id="float-10.0"),
    pytest.param(True, "invalid_amount", id="bool-true"),
    pytest.param(False, "invalid_amount", id="bool-false"),
    pytest.param("abc", "invalid_amount", id="string-abc"),
    pytest.param("", "invalid_amount", id="string-empty"),
    pytest.param("10.0", "invalid_amount", id="string-decimal"),
    pytest.param("1e3", "invalid_amount", id="string-exponent"),
    pytest.param("-5", "invalid_amount", id="string-negative"),
    pytest.param("0", "invalid_amount", id="string-zero"),
    pytest.param("\u0661\u0662", "invalid_amount", id="string-arabic-digits"),
    pytest.param("10000000000000", "invalid_amount", id="string-huge"),
    pytest.param([10], "invalid_amount", id="list"),
    pytest.param({"value": 10}, "invalid_amount", id="object"),
    pytest.param(None, "validation_error", id="null"),
]
AMOUNT_ENDPOINTS = ["saka-plant", "project-boost", "staff-adjustment"]


@pytest.mark.parametrize("endpoint", AMOUNT_ENDPOINTS)
@pytest.mark.parametrize(("amount", "code"), BAD_AMOUNTS)
def test_bad_amount_is_refused(endpoint: str, amount: Any, code: str, call: Any) -> None:
    # given a valid body with a bad amount
    body = {**_valid_body(endpoint), "amount": amount}
    # when it is sent, then it is a 400 with a stable code and nothing is booked
    error = call(endpoint, body=body, status=400, code=code)
    # and the error names the field
    if code == "invalid_amount":
        assert error["data"]["field"] == "amount"
    else:
        assert "amount" in error["data"]["fields"]


@pytest.mark.parametrize("endpoint", AMOUNT_ENDPOINTS)
def test_amount_as_a_digit_string_longer_than_4300_digits_is_400(endpoint: str, call: Any) -> None:
    # given an amount that is a string of 5000 digits
    body = {**_valid_body(endpoint), "amount": "9" * 5000}
    # when it is sent, then it is refused like any other huge amount
    call(endpoint, body=body, status=400, code="invalid_amount")


def test_staff_adjustment_above_500_is_invalid_amount(call: Any) -> None:
    # given an adjustment one grain above the per-grant maximum
    body = {"member_id": "{member}", "amount": 501}
    # when it is sent, then it is refused, naming the maximum
    error = call("staff-adjustment", body=body, status=400, code="invalid_amount")
    assert error["data"]["maximum"] == 500


def test_plant_more_than_the_balance_is_insufficient_balance(call: Any) -> None:
    # given a member with 50 grains
    # when they plant 51, then it is a 409 and nothing is booked
    error = call("saka-plant", body={"amount": 51}, status=409, code="insufficient_balance")
    assert error["data"] == {"available": 50, "requested": 51}


def test_boost_more_than_the_balance_is_insufficient_balance(call: Any) -> None:
    # given a member with 50 grains
    # when they boost with 51, then it is a 409 and nothing is booked
    call("project-boost", body={"amount": 51}, status=409, code="insufficient_balance")


# --- reasons -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        pytest.param("not_a_reason", "unknown_reason", id="unknown"),
        pytest.param("CONTENT_READ", "unknown_reason", id="wrong-case"),
        pytest.param(5, "unknown_reason", id="number"),
        pytest.param("", "validation_error", id="empty"),
        pytest.param("x" * 65, "validation_error", id="too-long"),
        pytest.param(None, "validation_error", id="null"),
        pytest.param(["content_read"], "validation_error", id="list"),
        pytest.param({"reason": "content_read"}, "validation_error", id="object"),
    ],
)
def test_platform_harvest_bad_reason(reason: Any, code: str, call: Any) -> None:
    # given a harvest for a reason that does not exist
    body = {"member_id": "{member}", "reason": reason}
    # when it is sent, then it is a 400 with a stable code and nothing is booked
    call("platform-harvest", body=body, status=400, code=code)


def test_unknown_reason_lists_the_known_ones(call: Any) -> None:
    # given a harvest for an unknown reason
    # when it is sent
    error = call(
        "platform-harvest",
        body={"member_id": "{member}", "reason": "spam"},
        status=400,
        code="unknown_reason",
    )
    # then the error tells the client what it could have sent
    assert error["data"]["reason"] == "spam"
    assert "content_read" in error["data"]["known"]


@pytest.mark.parametrize(
    "reason",
    ["Bad Reason", "UPPER", "1starts_with_digit", "x" * 33, "", "semi;colon", 7, None],
)
def test_plant_bad_reason_is_validation_error(reason: Any, call: Any) -> None:
    # given a plant with a malformed reason
    body = {"amount": 5, "reason": reason}
    # when it is sent, then it is a 400 validation_error and nothing is booked
    error = call("saka-plant", body=body, status=400, code="validation_error")
    assert "reason" in error["data"]["fields"]


def test_manual_adjust_through_the_platform_endpoint_is_refused(call: Any) -> None:
    # given the platform asks for a manual adjustment (staff only, other endpoint)
    body = {"member_id": "{member}", "reason": "manual_adjust"}
    # when it is sent, then it is forbidden and nothing is booked
    call("platform-harvest", body=body, status=403, code="permission_denied")


def test_manual_adjust_through_the_platform_endpoint_is_refused_with_an_amount(call: Any) -> None:
    # given the platform asks for a manual adjustment with an amount
    body = {"member_id": "{member}", "reason": "manual_adjust", "amount": 100}
    # when it is sent, then it is forbidden and nothing is booked
    call("platform-harvest", body=body, status=403, code="permission_denied")


def test_manual_adjust_through_the_platform_endpoint_is_refused_even_for_staff(
    api: Any, staff_user: Any, member: Any, books: Any, assert_error: Any
) -> None:
    # given a staff account that is also the platform
    from django.contrib.auth.models import Permission

    staff_user.user_permissions.add(Permission.objects.get(codename="harvest_on_behalf"))
    before = books()
    # when it asks the platform endpoint for a manual adjustment
    response = api(staff_user).post(
        reverse("saka_api:platform-harvest"),
        {"member_id": member.pk, "reason": "manual_adjust", "amount": 100},
        format="json",
    )
    # then it is refused: adjustments go through the staff endpoint only
    assert_error(response, 403, "permission_denied")
    assert books() == before


def test_platform_harvest_with_an_amount_for_a_fixed_reward_is_refused(call: Any) -> None:
    # given the platform sends an amount for a reason whose reward is fixed
    body = {"member_id": "{member}", "reason": "content_read", "amount": 1000}
    # when it is sent, then it is refused rather than booked with another amount
    call("platform-harvest", body=body, status=400, code="invalid_amount")


# --- ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize("project_id", [999_999, 2**63 - 1, 10**30])
def test_boost_unknown_project_is_404(project_id: int, call: Any) -> None:
    # given a project id that does not exist (fits or overflows a bigint)
    # when a member boosts it, then 404 project_not_found and nothing is booked
    call(
        "project-boost",
        body={},
        project_id=project_id,
        status=404,
        code="project_not_found",
    )


def test_plant_on_unknown_project_is_404(call: Any) -> None:
    # given a plant on a project that does not exist
    # when it is sent, then 404 project_not_found and nothing is booked
    call(
        "saka-plant",
        body={"amount": 5, "project_id": 999_999},
        status=404,
        code="project_not_found",
    )


@pytest.mark.parametrize(
    "project_id", ["abc", "12abc", 1.5, True, 0, -1, 2**63, 10**30, [1], {"id": 1}]
)
def test_plant_on_malformed_project_id_is_validation_error(project_id: Any, call: Any) -> None:
    # given a plant whose project id is not a valid id
    body = {"amount": 5, "project_id": project_id}
    # when it is sent, then 400 validation_error naming the field, nothing booked
    error = call("saka-plant", body=body, status=400, code="validation_error")
    assert "project_id" in error["data"]["fields"]


def test_project_detail_unknown_is_404(api: Any, member: Any, assert_error: Any) -> None:
    # given no such project
    # when a member reads it, even with an id past a bigint
    for project_id in (999_999, 10**30):
        response = api(member).get(reverse("saka_api:project-detail", args=[project_id]))
        # then 404 project_not_found
        assert_error(response, 404, "project_not_found")


BAD_MEMBER_IDS = [
    pytest.param("abc", id="string"),
    pytest.param("12abc", id="digits-then-letters"),
    pytest.param("", id="empty"),
    pytest.param("1" * 1001, id="1001-digit-string"),
    pytest.param(1.5, id="float"),
    pytest.param(2.0, id="integral-float"),
    pytest.param(True, id="bool"),
    pytest.param(None, id="null"),
    pytest.param(0, id="zero"),
    pytest.param(-1, id="negative"),
    pytest.param(2**63, id="past-bigint"),
    pytest.param(2**70, id="huge"),
    pytest.param([1], id="list"),
    pytest.param({"id": 1}, id="object"),
]


@pytest.mark.parametrize("endpoint", ["platform-harvest", "staff-adjustment"])
@pytest.mark.parametrize("member_id", BAD_MEMBER_IDS)
def test_malformed_member_id_is_validation_error(endpoint: str, member_id: Any, call: Any) -> None:
    # given a grant whose member id is not a valid id
    body = {**_valid_body(endpoint), "member_id": member_id}
    # when it is sent, then 400 validation_error naming the field, nothing booked
    error = call(endpoint, body=body, status=400, code="validation_error")
    assert "member_id" in error["data"]["fields"]


@pytest.mark.parametrize("endpoint", ["platform-harvest", "staff-adjustment"])
def test_member_id_in_non_ascii_digits_is_validation_error(
    endpoint: str, call: Any, member: Any
) -> None:
    # given the member's id written with Arabic-Indic digits (U+0660..U+0669)
    arabic = str(member.pk).translate({ord("0") + d: 0x0660 + d for d in range(10)})
    body = {**_valid_body(endpoint), "member_id": arabic}
    # when it is sent, then it is refused like any other non-numeric id
    call(endpoint, body=body, status=400, code="validation_error")


@pytest.mark.parametrize("endpoint", ["platform-harvest", "staff-adjustment"])
def test_unknown_member_is_404(endpoint: str, call: Any) -> None:
    # given a grant to a member that does not exist
    body = {**_valid_body(endpoint), "member_id": 999_999}
    # when it is sent, then 404 member_not_found and nothing is booked
    call(endpoint, body=body, status=404, code="member_not_found")


@pytest.mark.parametrize("endpoint", ["platform-harvest", "staff-adjustment"])
def test_inactive_member_is_404(endpoint: str, call: Any, make_user: Any) -> None:
    # given a grant to a deactivated member
    inactive = make_user(is_active=False)
    body = {**_valid_body(endpoint), "member_id": inactive.pk}
    # when it is sent, then 404 member_not_found and nothing is booked
    call(endpoint, body=body, status=404, code="member_not_found")


# --- reads -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["bogus", "HARVEST", "harvest,plant", "1"])
def test_history_with_an_unknown_kind_is_validation_error(
    kind: str, api: Any, member: Any, fund: Any, assert_error: Any
) -> None:
    # given a member with history
    fund(member)
    # when they filter it by a kind that does not exist
    response = api(member).get(reverse("saka_api:saka-history"), {"kind": kind})
    # then 400 validation_error naming the parameter
    error = assert_error(response, 400, "validation_error")
    assert error["data"]["field"] == "kind"


def test_history_with_a_forged_cursor_is_invalid_cursor(
    api: Any, member: Any, fund: Any, assert_error: Any
) -> None:
    # given a member with history
    fund(member)
    # when they send a cursor the server never issued
    response = api(member).get(reverse("saka_api:saka-history"), {"cursor": "forged"})
    # then 400 invalid_cursor, never a 404 or a 500
    assert_error(response, 400, "invalid_cursor")
