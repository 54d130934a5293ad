"""The OpenAPI document and the interactive pages (served offline from the sidecar)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse
from drf_spectacular.validation import validate_schema

from saka.api import urls as api_urls
from saka.grains.models import EntryKind

pytestmark = pytest.mark.django_db

WRITE_OPERATIONS = {
    ("/api/v1/me/saka/plant/", "post"),
    ("/api/v1/projects/{project_id}/boost/", "post"),
    ("/api/v1/platform/saka/harvests/", "post"),
    ("/api/v1/staff/saka/adjustments/", "post"),
}


@pytest.fixture
def schema(api: Any) -> dict[str, Any]:
    response = api(None).get(reverse("saka_api:schema"), {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _v1_paths_of_the_urlconf() -> set[str]:
    prefix = reverse("saka_api:schema").removesuffix("schema/")
    paths = set()

    def walk(patterns: list[Any], base: str) -> None:
        for pattern in patterns:
            route = base + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):  # an include()
                walk(pattern.url_patterns, route)
            elif route.startswith("v1/"):
                paths.add(prefix + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))

    walk(api_urls.urlpatterns, "")
    return paths


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def test_schema_is_a_valid_openapi_document(schema: dict[str, Any]) -> None:
    # given the schema served to anonymous clients
    # when it is validated against the OpenAPI 3 meta-schema
    validate_schema(schema)
    # then it is OpenAPI 3 and says what it is
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "SAKA wallets API"


def test_schema_default_format_is_yaml(api: Any) -> None:
    # given an anonymous client that asks for no format
    # when it fetches the schema
    response = api(None).get(reverse("saka_api:schema"))
    # then it gets the OpenAPI YAML
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert response.content.startswith(b"openapi: 3.")


def test_schema_lists_every_v1_path(schema: dict[str, Any]) -> None:
    # given the v1 routes of the urlconf
    expected = _v1_paths_of_the_urlconf()
    assert len(expected) >= 9
    # then the schema documents exactly those paths
    assert set(schema["paths"]) == expected


def test_schema_documents_the_right_method_per_path(schema: dict[str, Any]) -> None:
    # given the schema
    # when the operations are listed
    methods = {
        (path, method)
        for path, method, _ in _operations(schema)
        if "/euro/" not in path
        and "/webhooks/" not in path  # tests/api/euro/test_views.py
        and "/polls/" not in path  # tests/api/polls/test_poll_views.py
    }
    # then each endpoint has exactly its method
    assert methods == {
        ("/api/v1/auth/token/", "post"),
        ("/api/v1/auth/logout/", "post"),
        ("/api/v1/me/saka/wallet/", "get"),
        ("/api/v1/me/saka/history/", "get"),
        ("/api/v1/me/saka/statements/", "get"),
        ("/api/v1/me/saka/statements/{run_id}/proof/", "get"),
        ("/api/v1/projects/", "get"),
        ("/api/v1/projects/{project_id}/", "get"),
        ("/api/v1/me/saka/compost-preview/", "get"),
        ("/api/v1/staff/saka/runs/", "get"),
        ("/api/v1/staff/saka/runs/", "post"),
        ("/api/v1/staff/saka/runs/{run_id}/", "get"),
        ("/api/v1/staff/saka/runs/{run_id}/resume/", "post"),
        ("/api/v1/staff/saka/silo/", "get"),
        ("/api/v1/staff/saka/statements/{seq}/", "get"),
        ("/api/v1/staff/saka/stats/", "get"),
        ("/api/v1/staff/saka/simulations/", "post"),
        ("/api/v1/saka/seasons/", "get"),
        ("/api/v1/staff/saka/seasons/", "get"),
        ("/api/v1/staff/saka/seasons/", "post"),
        ("/api/v1/staff/saka/seasons/{season_id}/activate/", "post"),
        ("/api/v1/staff/audit/", "get"),
        ("/api/v1/me/assets/", "get"),
        ("/api/v1/config/", "get"),
        ("/api/v1/staff/alerts/", "get"),
        ("/api/v1/staff/saka/policy/", "get"),
        ("/api/v1/staff/saka/policy/", "post"),
        ("/api/v1/staff/saka/policy/whatifs/", "post"),
        ("/api/v1/staff/saka/policy/whatifs/{whatif_id}/", "get"),
        *WRITE_OPERATIONS,
    }


def test_operation_ids_are_unique(schema: dict[str, Any]) -> None:
    # given the schema
    ids = [op["operationId"] for _, _, op in _operations(schema)]
    # then clients can generate one method per operation
    assert len(ids) == len(set(ids))


def test_error_envelope_is_documented(schema: dict[str, Any]) -> None:
    # given the schema
    error = schema["components"]["schemas"]["Error"]
    # then the error body is {"code", "message", "data"}, all required
    assert set(error["properties"]) == {"code", "message", "data"}
    assert set(error["required"]) == {"code", "message", "data"}


@pytest.mark.parametrize("operation", sorted(WRITE_OPERATIONS))
def test_write_operations_document_idempotency_and_errors(
    operation: tuple[str, str], schema: dict[str, Any]
) -> None:
    # given a write operation
    path, method = operation
    op = schema["paths"][path][method]
    # then it takes an Idempotency-Key header
    headers = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
    assert "Idempotency-Key" in headers
    # and documents 201 and its errors with the Error envelope
    assert "201" in op["responses"]
    for status in ("400", "401", "403", "404", "409", "429"):
        ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/Error"


def test_every_protected_operation_documents_401_and_429(schema: dict[str, Any]) -> None:
    # given every operation but the public ones
    public = {
        "/api/v1/auth/token/",
        "/api/v1/webhooks/payments/",
        "/api/v1/webhooks/helloasso/",
        "/api/v1/config/",
    }
    missing = [
        (path, method, status)
        for path, method, op in _operations(schema)
        # public: the token exchange, the payment webhooks (authenticated by signature) and
        # the configuration (reads no credential)
        if path not in public
        for status in ("401", "429")
        if status not in op["responses"]
    ]
    # then each documents the errors every protected endpoint can answer
    assert missing == []


def test_history_kind_enum_matches_the_entry_kinds(schema: dict[str, Any]) -> None:
    # given the history operation
    params = schema["paths"]["/api/v1/me/saka/history/"]["get"]["parameters"]
    by_name = {p["name"]: p for p in params}
    # then the kind filter offers exactly the entry kinds, and cursor pagination is documented
    assert set(by_name["kind"]["schema"]["enum"]) == set(EntryKind.values)
    assert {"cursor", "page_size"} <= set(by_name)


def test_amounts_are_documented_as_integers(schema: dict[str, Any]) -> None:
    # given the request bodies that carry an amount
    schemas = schema["components"]["schemas"]
    for name in ("PlantInRequest", "BoostInRequest", "AdjustmentInRequest"):
        amount = schemas[name]["properties"]["amount"]
        # then the amount is a positive integer, never a number with a fraction
        assert amount["type"] == "integer", name
        assert amount["minimum"] == 1, name


def test_adjustment_amount_maximum_is_documented_as_500(schema: dict[str, Any]) -> None:
    # given the staff adjustment request body
    amount = schema["components"]["schemas"]["AdjustmentInRequest"]["properties"]["amount"]
    # then it documents the real per-grant maximum
    assert amount["maximum"] == 500


# --- interactive pages -----------------------------------------------------------------------


def _asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_docs_page_renders_with_sidecar_assets_only(api: Any) -> None:
    # given an anonymous client
    # when it opens the interactive docs
    response = api(None).get(reverse("saka_api:docs"))
    # then the page renders
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    # and every asset comes from the sidecar app's static files, none from the internet
    assets = _asset_urls(html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    sidecar = f"{settings.STATIC_URL.rstrip('/')}/drf_spectacular_sidecar/"
    if not sidecar.startswith("/"):
        sidecar = "/" + sidecar
    for asset in assets:
        assert asset.startswith(sidecar), asset
        assert finders.find(asset.removeprefix(settings.STATIC_URL).lstrip("/")), asset
    assert not re.search(r"https?://", html)
    # and the page points at the schema endpoint
    assert reverse("saka_api:schema") in html


def test_redoc_page_renders(api: Any) -> None:
    # given an anonymous client
    # when it opens the Redoc page
    response = api(None).get(reverse("saka_api:redoc"))
    # then it renders with the sidecar's Redoc bundle
    assert response.status_code == 200
    assert any(a.endswith("redoc.standalone.js") for a in _asset_urls(response.content.decode()))


def test_redoc_page_fetches_nothing_from_the_internet(api: Any) -> None:
    # given the Redoc page
    html = api(None).get(reverse("saka_api:redoc")).content.decode()
    # then it references no external URL
    assert re.findall(r"https?://[^\s\"'<>]+", html) == []


# --- the schema tells the truth (issue 16, defect 11; saka.api.common.schema) ----------------


def _request_components(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: component
        for name, component in schema["components"]["schemas"].items()
        if name.endswith("Request")
    }


def test_every_request_body_refuses_unknown_properties(schema: dict[str, Any]) -> None:
    # given every request component (the server refuses unknown fields: validation.validated)
    components = _request_components(schema)
    assert len(components) >= 10
    # then none allows extra properties
    loose = sorted(n for n, c in components.items() if c.get("additionalProperties") is not False)
    assert loose == []


def test_request_bodies_are_documented_as_json_only(schema: dict[str, Any]) -> None:
    # given every operation with a request body
    media = {
        (path, method): set(op["requestBody"]["content"])
        for path, method, op in _operations(schema)
        if "requestBody" in op
    }
    assert media
    # then JSON is the one documented media type (a form cannot say true or 10)
    assert {k: v for k, v in media.items() if v != {"application/json"}} == {}


def test_a_patch_body_must_change_something(schema: dict[str, Any]) -> None:
    # given the pocket PATCH body
    patched = schema["components"]["schemas"]["PatchedPocketUpdateInRequest"]
    # then {} is schema-invalid, as the server refuses it, and so is no body at all
    assert patched["minProperties"] == 1
    patches = [op for _, method, op in _operations(schema) if method == "patch"]
    assert patches
    assert all(op["requestBody"]["required"] is True for op in patches)


def test_the_idempotency_header_documents_what_the_server_accepts(schema: dict[str, Any]) -> None:
    from saka.api.common.schema import IDEMPOTENCY_KEY_PATTERN
    from saka.core.errors import DomainError
    from saka.ledger.idempotency import validate_key

    # given every Idempotency-Key parameter
    headers = [
        p["schema"]
        for _, _, op in _operations(schema)
        for p in op.get("parameters", [])
        if p["in"] == "header" and p["name"] == "Idempotency-Key"
    ]
    assert len(headers) >= 6
    # then it is 1..200 characters of the documented pattern
    for header in headers:
        assert (header["minLength"], header["maxLength"]) == (1, 200)
        assert header["pattern"] == IDEMPOTENCY_KEY_PATTERN
    # and the pattern accepts exactly the keys the server accepts (no outer space: HTTP strips)
    for key in ["a", "k-1", "a b", "~" * 200, "", " a", "a ", "é", "a\tb", "x" * 201, "\x7f"]:
        try:
            validate_key(key)
            accepted = True
        except DomainError:
            accepted = False
        assert bool(re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key)) == (
            accepted and key == key.strip()
        ), key


def test_page_size_and_path_ids_are_bounded(schema: dict[str, Any]) -> None:
    from saka.api.common.pagination import NewestFirst

    # given every query and path parameter
    params = [(path, p) for path, _, op in _operations(schema) for p in op.get("parameters", [])]
    page_sizes = [p["schema"] for _, p in params if p["in"] == "query" and p["name"] == "page_size"]
    path_ids = [p["schema"] for _, p in params if p["in"] == "path"]
    assert len(page_sizes) >= 4
    assert path_ids
    # then page_size is 1..max_page_size (the server refuses the rest) and ids are positive
    for page_size in page_sizes:
        assert (page_size["minimum"], page_size["maximum"]) == (1, NewestFirst.max_page_size)
    for path_id in path_ids:
        assert path_id["type"] == "integer"
        assert (path_id["minimum"], path_id["maximum"]) == (1, 2**63 - 1)


def test_optional_query_parameters_may_be_sent_empty(schema: dict[str, Any]) -> None:
    # given every query parameter (validated_query and the paginator read an empty one as
    # absent)
    params = [p for _, _, op in _operations(schema) for p in op.get("parameters", [])]
    query = [p for p in params if p["in"] == "query" and not p.get("required")]
    assert len(query) >= 10
    # then each says so, so that the fuzzer does not take ?status= for a violation
    assert [p["name"] for p in query if not p.get("allowEmptyValue")] == []


def test_id_filters_are_bounded_like_path_ids(schema: dict[str, Any]) -> None:
    # given the id filters of the lists (the server refuses 0 and negative ids)
    ops = {op["operationId"]: op for _, _, op in _operations(schema)}
    filters = {
        (op_id, p["name"]): p["schema"]
        for op_id in ("euro_campaigns_list", "staff_audit_list")
        for p in ops[op_id]["parameters"]
        if p["name"] in ("project", "actor")
    }
    # then each is a positive id, as documented for path ids
    assert set(filters) == {("euro_campaigns_list", "project"), ("staff_audit_list", "actor")}
    for bounds in filters.values():
        assert (bounds["type"], bounds["minimum"], bounds["maximum"]) == ("integer", 1, 2**63 - 1)


def test_every_operation_documents_the_errors_of_the_shared_machinery(
    schema: dict[str, Any],
) -> None:
    # given every operation
    missing = []
    for path, method, op in _operations(schema):
        expected = {"400", "406"}
        if "requestBody" in op:
            expected.add("415")
        if op.get("security"):
            expected |= {"401", "429"}
        missing += [(path, method, status) for status in sorted(expected - set(op["responses"]))]
        # then every documented error is the {code, message, data} body
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Error", (path, method, status)
    assert missing == []


def test_the_token_endpoint_documents_its_refusals(schema: dict[str, Any]) -> None:
    # given the token exchange
    op = schema["paths"][reverse("saka_api:token")]["post"]
    # then a refused log-in (400 today, 401 for bad credentials) and a throttle are documented
    assert {"200", "400", "401", "429"} <= set(op["responses"])


def test_the_harvest_reason_is_the_enum_of_the_configured_rewards(
    schema: dict[str, Any],
) -> None:
    from saka.grains.conf import HARVEST_RULES

    # given the platform harvest body
    body = schema["components"]["schemas"]["HarvestInRequest"]
    reason = body["properties"]["reason"]
    ref = reason["allOf"][0]["$ref"] if "allOf" in reason else reason["$ref"]
    enum = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["enum"]
    # then it offers exactly the configured rewards, and no amount (the rewards are fixed)
    assert enum == list(HARVEST_RULES)
    assert "amount" not in body["properties"]


def test_eur_amounts_document_their_range(schema: dict[str, Any]) -> None:
    from saka.euro.conf import MAX_DEPOSIT_CENTS, MAX_PLEDGE_CENTS

    # given the EUR amounts of the request bodies
    schemas = schema["components"]["schemas"]
    cases = {
        ("PledgeInRequest", "amount"): MAX_PLEDGE_CENTS,
        ("TransferInRequest", "amount"): MAX_DEPOSIT_CENTS,
    }
    for (name, field), maximum in cases.items():
        pattern = schemas[name]["properties"][field]["pattern"]
        top = f"{maximum // 100}"
        # then the pattern takes 0.01 .. the maximum, as the server does, and nothing else
        for text in ["0.01", "0.1", "1", "12.34", top, f"{top}.00"]:
            assert re.fullmatch(pattern, text), (name, text)
        for text in ["0", "0.00", "00.5", "1.234", "-1", f"{top}.01", f"{int(top) + 1}"]:
            assert not re.fullmatch(pattern, text), (name, text)


@pytest.mark.parametrize("name", [0, 12.5, True, ["x"]])
def test_a_pocket_name_that_is_not_a_json_string_is_refused(
    name: Any, api: Any, member: Any, schema: dict[str, Any]
) -> None:
    # given the schema's pocket name (a string) and a name that is a JSON number or other
    assert schema["components"]["schemas"]["PocketCreateInRequest"]["properties"]["name"][
        "type"
    ] == ("string")
    # when a member opens or renames a pocket with it
    client = api(member)
    created = client.post(reverse("saka_api:euro-pockets"), {"name": name}, format="json")
    opened = client.post(reverse("saka_api:euro-pockets"), {"name": "Rent"}, format="json")
    renamed = client.patch(
        reverse("saka_api:euro-pocket-detail", args=[opened.json()["id"]]),
        {"name": name},
        format="json",
    )
    # then both are refused as the schema says, nothing is renamed
    assert (created.status_code, renamed.status_code) == (400, 400)
    assert created.json()["code"] == renamed.json()["code"] == "validation_error"
    pockets = client.get(reverse("saka_api:euro-pockets")).json()
    assert [p["name"] for p in pockets] == ["Rent"]


# --- rules the schema states as patterns are the server's own --------------------------------


_NAMES = [
    "Holidays",
    "  Holidays  ",  # trimmed
    "x" * 60,
    " " + "x" * 60 + " ",  # 60 once trimmed
    "x" * 61,
    "",
    "   ",
    "@\u0080",  # a C1 control character (found by the fuzzer)
    "a\x00b",
    "a\nb",
    "a\u2028b",
    "caf\u00e9 \u00e0 la \u200bplage",  # a zero-width space is no control character
    "\U0001f3d6 Beach",
]


@pytest.mark.parametrize("name", _NAMES)
def test_the_pocket_name_pattern_is_the_service_s_rule(
    schema: dict[str, Any], member: Any, name: str
) -> None:
    from saka.core.errors import ValidationError
    from saka.euro.services.pockets import pocket_create

    pattern = schema["components"]["schemas"]["PocketCreateInRequest"]["properties"]["name"][
        "pattern"
    ]
    documented = re.fullmatch(pattern, name) is not None
    try:
        pocket_create(member_id=member.pk, name=name, percentage="0")
        accepted = True
    except ValidationError:
        accepted = False
    assert documented == accepted, (name, documented, accepted)


def test_the_log_in_fields_document_the_nul_character_refusal(
    api: Any, schema: dict[str, Any]
) -> None:
    body = schema["components"]["schemas"]["LoginRequest"]["properties"]
    for field in ("username", "password"):
        assert re.fullmatch(body[field]["pattern"], "a\x00b") is None
        assert re.fullmatch(body[field]["pattern"], "anything else") is not None
    response = api(None).post(
        reverse("saka_api:token"), {"username": "u", "password": "a\x00b"}, format="json"
    )
    assert response.status_code == 400
