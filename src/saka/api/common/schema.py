"""The OpenAPI document tells the truth: a drf-spectacular post-processing hook that states,
once for every operation, what the API's shared machinery enforces on every request.

- Request bodies are strict: every request component refuses unknown properties
  (``additionalProperties: false``, as ``validation.validated`` does), and a PATCH body must
  be there and change something (``required``, ``minProperties: 1``).
- The ``Idempotency-Key`` header is 1-200 printable ASCII characters (what
  ``saka.ledger.idempotency`` accepts; HTTP strips a header's outer spaces, so none there).
- ``page_size`` is 1..``NewestFirst.max_page_size``; integer path ids are 1..2^63-1.
- An optional query parameter sent empty (``?status=``) counts as absent, as
  ``validation.validated_query`` and the paginator read it: ``allowEmptyValue``.
- The error statuses every request can meet, in the ``{code, message, data}`` body: 400
  (a body or parameter that does not parse or validate), 401 and 429 wherever a credential is
  read (authentication and throttling), 406 (an ``Accept`` the API cannot render), 415 (a
  request body that is not JSON). Views document their own statuses on top (``ERRORS``).

Registered in ``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``; tests/api/test_schema.py
checks each rule on the served document.
"""

from __future__ import annotations

from typing import Any

from saka.api.common.pagination import NewestFirst

ERROR_REF = {"$ref": "#/components/schemas/Error"}
IDEMPOTENCY_HEADER_NAME = "Idempotency-Key"
# 1..200 printable ASCII (0x20-0x7e), neither starting nor ending with a space
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]{0,198}[!-~])?$"
PATH_ID_MAXIMUM = 2**63 - 1
METHODS = ("get", "post", "put", "patch", "delete")


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


BASELINE_ERRORS = {
    "400": "The request (body, parameters, headers) does not parse or validate.",
    "401": "No credentials, or credentials that are wrong, expired or revoked.",
    "406": "The Accept header names no representation the API renders (JSON).",
    "415": "The request body is not JSON.",
    "429": "Throttled: retry after the Retry-After header's seconds.",
}


def _strict_request_components(schemas: dict[str, Any]) -> None:
    for name, component in schemas.items():
        if not name.endswith("Request") or component.get("type") != "object":
            continue
        component["additionalProperties"] = False
        if name.startswith("Patched"):  # drf-spectacular's name of a PATCH body
            component["minProperties"] = 1


def _parameters(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        schema = parameter.setdefault("schema", {})
        where, name = parameter.get("in"), parameter.get("name")
        if where == "query" and not parameter.get("required"):
            parameter["allowEmptyValue"] = True
        if where == "header" and name == IDEMPOTENCY_HEADER_NAME:
            schema.update(
                type="string", minLength=1, maxLength=200, pattern=IDEMPOTENCY_KEY_PATTERN
            )
        elif where == "query" and name == NewestFirst.page_size_query_param:
            schema.update(type="integer", minimum=1, maximum=NewestFirst.max_page_size)
        elif where == "path" and schema.get("type") == "integer":
            schema.update(minimum=1, maximum=PATH_ID_MAXIMUM)


def _baseline_errors(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    statuses = ["400", "406"]
    if operation.get("requestBody"):
        statuses.append("415")
    if operation.get("security"):  # the view reads a credential: authentication, throttling
        statuses += ["401", "429"]
    for status in statuses:
        responses.setdefault(status, _error(BASELINE_ERRORS[status]))


def postprocess_schema(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular post-processing hook (see the module docstring)."""
    _strict_request_components(result.get("components", {}).get("schemas", {}))
    for item in result.get("paths", {}).values():
        for method in METHODS:
            if method in item:
                _parameters(item[method])
                _baseline_errors(item[method])
        if "requestBody" in item.get("patch", {}):  # no body changes nothing: refused
            item["patch"]["requestBody"]["required"] = True
    return result


def _positive_below(number: str) -> list[str]:
    """Regex alternatives for the integers 1 <= n < ``number`` (decimal, no leading zeros)."""
    size = len(number)
    alternatives = [f"[1-9][0-9]{{0,{size - 2}}}"] if size >= 2 else []  # fewer digits
    for k, digit in enumerate(number):  # as many digits: the first k equal, then one below
        low, high = (1 if k == 0 else 0), int(digit) - 1
        if high < low:
            continue
        rest = size - k - 1
        alternatives.append(
            number[:k]
            + (str(low) if high == low else f"[{low}-{high}]")
            + (f"[0-9]{{{rest}}}" if rest else "")
        )
    return alternatives


def money_pattern(maximum_cents: int) -> str:
    """The pattern of a EUR amount in 0.01 .. ``maximum_cents`` (a whole number of euros):
    a decimal string, no leading zeros, at most two decimals (``saka.core.money.parse_cents``)."""
    if maximum_cents < 100 or maximum_cents % 100:
        raise ValueError("maximum_cents must be a whole number of euros (>= 1.00)")
    top = str(maximum_cents // 100)
    alternatives = [r"0\.(0[1-9]|[1-9][0-9]?)"]  # 0.01 .. 0.99
    below = _positive_below(top)
    if below:
        alternatives.append(f"({'|'.join(below)})(\\.[0-9]{{1,2}})?")
    alternatives.append(f"{top}(\\.00?)?")
    return f"^({'|'.join(alternatives)})$"
