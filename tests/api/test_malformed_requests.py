"""Malformed requests on every write endpoint: missing fields, bodies that are not a JSON
object, unsupported media types and methods, bad idempotency keys; a 4xx with a stable code,
nothing booked, never a 500 (checked by the ``call`` fixture)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import _valid_body

pytestmark = pytest.mark.django_db

WRITE_ENDPOINTS = ["saka-plant", "project-boost", "platform-harvest", "staff-adjustment"]


# --- missing fields --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "body", "missing"),
    [
        pytest.param("saka-plant", {}, "amount", id="plant-empty"),
        pytest.param("saka-plant", {"reason": "plant"}, "amount", id="plant-no-amount"),
        pytest.param("platform-harvest", {}, "member_id", id="harvest-empty"),
        pytest.param(
            "platform-harvest", {"reason": "content_read"}, "member_id", id="harvest-no-member"
        ),
        pytest.param("platform-harvest", {"member_id": "{member}"}, "reason", id="harvest-no-why"),
        pytest.param("staff-adjustment", {}, "member_id", id="adjust-empty"),
        pytest.param("staff-adjustment", {"amount": 10}, "member_id", id="adjust-no-member"),
        pytest.param("staff-adjustment", {"member_id": "{member}"}, "amount", id="adjust-no-amt"),
    ],
)
def test_missing_field_is_validation_error(
    endpoint: str, body: dict[str, Any], missing: str, call: Any
) -> None:
    # given a body without a required field
    # when it is sent, then it is a 400 naming the field, and nothing is booked
    error = call(endpoint, body=body, status=400, code="validation_error")
    assert missing in error["data"]["fields"]


# --- bodies that are not a JSON object ----------------------------------------------------

MALFORMED = [
    pytest.param(b"{bad", id="not-json"),
    pytest.param(b'{"amount": 10', id="truncated"),
    pytest.param(b'{"amount": 10}}', id="trailing"),
    pytest.param(b"\xff\xfe\x00", id="not-utf8"),
    pytest.param(b'{"amount": NaN}', id="nan"),
    pytest.param(b'{"amount": 1' + b"0" * 5000 + b"}", id="5000-digit-int"),
]


@pytest.mark.parametrize("endpoint", WRITE_ENDPOINTS)
@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_json_is_parse_error(endpoint: str, raw: bytes, call: Any) -> None:
    # given a body that is not valid JSON
    # when it is sent as application/json, then it is a 400 parse_error, nothing booked
    call(endpoint, raw=raw, status=400, code="parse_error")


NOT_OBJECTS = [b"[]", b'[{"amount": 10}]', b"null", b"0", b"42", b"false", b"true", b'""', b'"x"']


def _not_object_cases() -> list[Any]:
    return [
        pytest.param(endpoint, raw, id=f"{endpoint}-{raw.decode()}")
        for endpoint in WRITE_ENDPOINTS
        for raw in NOT_OBJECTS
    ]


@pytest.mark.parametrize(("endpoint", "raw"), _not_object_cases())
def test_json_that_is_not_an_object_is_validation_error(
    endpoint: str, raw: bytes, call: Any
) -> None:
    # given a JSON body that is an array or a scalar instead of an object
    # when it is sent, then it is a 400 validation_error and nothing is booked
    call(endpoint, raw=raw, status=400, code="validation_error")


@pytest.mark.parametrize("endpoint", WRITE_ENDPOINTS)
def test_unsupported_media_type(endpoint: str, call: Any) -> None:
    # given a body that is not JSON nor a form
    # when it is sent as text/plain, then it is a 415 and nothing is booked
    call(
        endpoint,
        raw=b"amount=10",
        content_type="text/plain",
        status=415,
        code="unsupported_media_type",
    )


@pytest.mark.parametrize("endpoint", WRITE_ENDPOINTS)
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_wrong_method_is_405(endpoint: str, method: str, call: Any) -> None:
    # given a write endpoint
    # when it is called with a method it does not serve, then 405 and nothing is booked
    call(
        endpoint,
        raw=b'{"amount": 10}',
        method=method,
        status=405,
        code="method_not_allowed",
    )


# --- idempotency keys ------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", WRITE_ENDPOINTS)
@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("k" * 201, id="too-long"),
        pytest.param("caf\u00e9", id="non-ascii"),
        pytest.param("tab\there", id="control-char"),
    ],
)
def test_bad_idempotency_key_is_refused(endpoint: str, key: str, call: Any) -> None:
    # given a valid body with a bad Idempotency-Key header
    # when it is sent, then 400 invalid_idempotency_key and nothing is booked
    call(
        endpoint,
        body=_valid_body(endpoint),
        headers={"Idempotency-Key": key},
        status=400,
        code="invalid_idempotency_key",
    )
