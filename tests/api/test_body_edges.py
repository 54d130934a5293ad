"""Request bodies at the edge: writes take JSON only, live work is always named explicitly, and no
view reads ``request.body`` after the body was consumed.

- A form or multipart body on any write endpoint is 415 ``unsupported_media_type``: a form
  client can no longer start a live run by omitting ``dry_run`` (an absent HTML boolean reads
  as ``False``).
- ``dry_run`` is required in every content type (``StrictBooleanField``).
- A boost sent with a session and a multipart body (DRF's browsable API) is a 415, not a 500
  ``RawPostDataException``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.http import QueryDict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

import saka.api
from saka.api.saka.serializers import RunStartInSerializer
from saka.grains.models import Run

pytestmark = pytest.mark.django_db

RUNS = "/api/v1/staff/saka/runs/"
API_SOURCE = Path(saka.api.__file__).parent
RAW_BODY = re.compile(r"\brequest(?:\._request)?\.body\b(?!`)")  # code, not ``a mention``


@pytest.fixture
def superuser(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("edge-su", "su@example.org", "pw")


def test_a_form_body_without_dry_run_starts_no_live_run(
    superuser: Any, api: Any, assert_error: Any
) -> None:
    # when a staff client posts the form body kind=compost (no dry_run)
    response = api(superuser).post(RUNS, {"kind": "compost"}, format="multipart")
    # then 415 and no run exists (it was a 202 and a live run before)
    assert_error(response, 415, "unsupported_media_type")
    assert not Run.objects.exists()


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain"])
def test_other_content_types_are_415(
    content_type: str, superuser: Any, api: Any, assert_error: Any
) -> None:
    response = api(superuser).generic("POST", RUNS, "kind=compost", content_type)
    assert_error(response, 415, "unsupported_media_type")
    assert not Run.objects.exists()


def test_json_without_dry_run_is_400(superuser: Any, api: Any, assert_error: Any) -> None:
    error = assert_error(
        api(superuser).post(RUNS, {"kind": "compost"}, format="json"), 400, "validation_error"
    )
    assert "dry_run" in error["data"]["fields"]
    assert not Run.objects.exists()


@pytest.mark.parametrize(
    "body", ["kind=compost", "kind=compost&dry_run=", "kind=compost&dry_run=1"]
)
def test_dry_run_is_required_whatever_the_content_type(body: str) -> None:
    # the serializer alone, fed a form QueryDict (as a form parser would): no default to False
    serializer = RunStartInSerializer(data=QueryDict(body))
    assert not serializer.is_valid()
    assert "dry_run" in serializer.errors


def _routes(resolver: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            yield from _routes(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield "/" + prefix + str(p.pattern), p.callback


# The webhooks read their raw body (the signature covers it); the token exchange is DRF's form.
NOT_JSON_ONLY = {"/api/v1/webhooks/payments/", "/api/v1/webhooks/helloasso/", "/api/v1/auth/token/"}


def write_routes() -> list[tuple[str, str]]:
    routes = []
    for route, callback in _routes(get_resolver()):
        view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        if view is None or not route.startswith("/api/") or route in NOT_JSON_ONLY:
            continue
        routes.extend((m, route) for m in ("post", "put", "patch") if hasattr(view, m))
    return sorted(routes)


WRITES = write_routes()


def _url(route: str, project: Any) -> str:
    # path arguments: an existing project (boost), and ids that exist nowhere else
    route = route.replace("<int:project_id>", str(project.pk))
    return re.sub(r"<[^>]+>", "999999", route)


def test_the_known_writes_are_found() -> None:
    for write in [("post", RUNS), ("post", "/api/v1/projects/<int:project_id>/boost/")]:
        assert write in WRITES


@pytest.mark.parametrize(("method", "route"), WRITES)
def test_no_write_accepts_a_form_body(
    method: str, route: str, superuser: Any, project: Any, api: Any, books: Any
) -> None:
    before = books()
    response = getattr(api(superuser), method)(
        _url(route, project), {"kind": "compost", "amount": "1"}, format="multipart"
    )
    # every write is 415, also one whose handler reads no body (cancel, refund, resume)
    assert response.status_code == 415, (route, response.status_code, response.content)
    assert response.json()["code"] == "unsupported_media_type"
    assert books() == before
    assert not Run.objects.exists()


def test_no_view_reads_the_raw_body() -> None:
    # the class of the boost 500: request.body after the CSRF check or the parser read it.
    # Only the webhook reads its raw body (the signature covers it; no session, no parser).
    readers = {
        str(path.relative_to(API_SOURCE))
        for path in API_SOURCE.rglob("*.py")
        if RAW_BODY.search(path.read_text())
    }
    assert readers == {"euro/views.py"}
    assert len(RAW_BODY.findall((API_SOURCE / "euro" / "views.py").read_text())) == 1


@pytest.mark.parametrize("enforce_csrf", [False, True])
def test_boost_with_a_session_and_a_multipart_body_is_415_not_500(
    enforce_csrf: bool, member: Any, project: Any, fund: Any, books: Any, assert_error: Any
) -> None:
    # given a member logged in with a session (the browsable API), with grains
    fund(member)
    client = Client(enforce_csrf_checks=enforce_csrf)
    client.force_login(member)
    url = reverse("saka_api:project-boost", args=[project.pk])
    data: dict[str, str] = {"amount": "5"}
    if enforce_csrf:
        client.get("/admin/login/")  # sets the CSRF cookie
        data["csrfmiddlewaretoken"] = client.cookies["csrftoken"].value
    before = books()
    # when it boosts with a multipart body
    response = client.post(url, data)
    # then 415 (it was a 500 RawPostDataException), nothing booked
    assert_error(response, 415, "unsupported_media_type")
    assert books() == before


def test_boost_with_an_empty_body_still_uses_the_default_cost(
    member: Any, project: Any, fund: Any, api: Any
) -> None:
    fund(member)
    response = api(member).post(reverse("saka_api:project-boost", args=[project.pk]))
    assert response.status_code == 201, response.content
