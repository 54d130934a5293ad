"""Every status under ``/api/`` is the ``{code, message, data}`` JSON body: unknown URLs (with
``DEBUG`` on too, where Django would answer a 12 KB HTML page listing every route), wrong
methods, and errors raised outside DRF's views (Django's 400/500 handlers). Elsewhere Django's
own pages stay."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

UNKNOWN = [
    "/api/",
    "/api/nope/",
    "/api/v1/",
    "/api/v1/nope/",
    "/api/v2/me/saka/wallet/",
    "/api/v1/me/saka/wallet/extra/",
    "/api/v1/me/saka/wallet",  # no trailing slash
    "/api/v1/projects/abc/",
    "/api/v1/staff/saka/runs/abc/",
]


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("url", UNKNOWN)
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options"])
def test_unknown_urls_under_api_are_json_404(
    url: str, method: str, debug: bool, settings: Any, member: Any, assert_error: Any
) -> None:
    settings.DEBUG = debug
    client = Client(enforce_csrf_checks=True)  # a session client's POST is no CSRF page either
    client.force_login(member)
    response = getattr(client, method)(url)
    assert response["Content-Type"] == "application/json"
    assert_error(response, 404, "not_found")


def test_unknown_urls_elsewhere_keep_django_pages(settings: Any) -> None:
    settings.DEBUG = False
    response = Client().get("/nope/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("method", ["delete", "put", "patch"])
def test_a_wrong_method_is_json_405(method: str, member: Any, api: Any, assert_error: Any) -> None:
    response = getattr(api(member), method)("/api/v1/me/saka/wallet/")
    assert_error(response, 405, "method_not_allowed")


@pytest.mark.urls("tests.api.boom_urls")
def test_a_crash_outside_drf_under_api_is_json_500(assert_error: Any) -> None:
    response = Client(raise_request_exception=False).get("/api/boom/")
    assert response["Content-Type"] == "application/json"
    assert_error(response, 500, "server_error")


@pytest.mark.urls("tests.api.boom_urls")
def test_a_crash_elsewhere_is_django_page() -> None:
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.urls("tests.api.boom_urls")
def test_a_suspicious_request_under_api_is_json_400(assert_error: Any) -> None:
    response = Client(raise_request_exception=False).get("/api/suspicious/")
    assert_error(response, 400, "validation_error")
