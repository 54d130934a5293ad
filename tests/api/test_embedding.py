"""What a host project that embeds the apps relies on (docs/embedding.md): the API under any
prefix with its JSON errors there and Django's pages elsewhere, the settings helpers, defaults
for what the host does not set, the user model's log-in field."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse

from saka.api import settings as saka_api
from saka.api.common.auth import LOGIN_MAX_LENGTH
from saka.api.common.authentication import TOKEN_TTL_SECONDS, token_ttl
from saka.api.common.errors import api_prefix
from saka.api.common.throttling import MemberThrottle, PlatformThrottle
from saka.core.members import login_field, user_search_fields

pytestmark = pytest.mark.django_db


@pytest.mark.urls("tests.api.prefixed_urls")
def test_the_api_under_another_prefix_answers_there_with_json_errors(
    member: Any, assert_error: Any
) -> None:
    # given the API mounted under wallets/api/
    client = Client(raise_request_exception=False)
    client.force_login(member)
    # when a member reads its wallet, an unknown URL under the prefix, a crash there, a page
    # outside it
    wallet = client.get("/wallets/api/v1/me/saka/wallet/")
    unknown = client.post("/wallets/api/v1/nope/")
    crash = client.get("/wallets/api/boom/")
    outside = client.get("/api/v1/me/saka/wallet/")
    # then the API is there, its errors are the JSON body, and the old prefix is no API
    assert api_prefix() == "/wallets/api/"
    assert reverse("saka_api:saka-wallet") == "/wallets/api/v1/me/saka/wallet/"
    assert wallet.status_code == 200
    assert_error(unknown, 404, "not_found")
    assert_error(crash, 500, "server_error")
    assert outside.status_code == 404
    assert outside["Content-Type"].startswith("text/html")


@pytest.mark.urls("tests.api.no_api_urls")
def test_without_the_api_no_path_is_an_api_path() -> None:
    response = Client().get("/api/v1/me/saka/wallet/")
    assert api_prefix() is None
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_the_reference_project_mounts_the_api_under_api() -> None:
    assert api_prefix() == "/api/"


def test_rest_framework_helper_keeps_every_default_a_host_does_not_override() -> None:
    # when a host replaces one rate and one other key
    rf = saka_api.rest_framework(throttle_rates={"member": "5/min"}, NUM_PROXIES=2)
    # then the others keep the API's defaults
    assert rf["DEFAULT_THROTTLE_RATES"] == {**saka_api.THROTTLE_RATES, "member": "5/min"}
    assert rf["NUM_PROXIES"] == 2
    assert rf["EXCEPTION_HANDLER"] == "saka.api.common.errors.exception_handler"
    assert rf["DEFAULT_AUTHENTICATION_CLASSES"][0] == saka_api.TOKEN_AUTHENTICATION
    assert saka_api.spectacular(TITLE="T")["TITLE"] == "T"


@pytest.mark.skipif(
    any(k.startswith("SAKA_") and k.endswith("_THROTTLE") for k in os.environ)
    or "SAKA_NUM_PROXIES" in os.environ,
    reason="the environment sets throttle rates or proxies",
)
def test_the_reference_project_uses_the_helpers() -> None:
    assert saka_api.rest_framework() == django_settings.REST_FRAMEWORK
    assert saka_api.spectacular() == django_settings.SPECTACULAR_SETTINGS


@pytest.mark.parametrize("throttle", [MemberThrottle, PlatformThrottle])
def test_a_scope_the_host_settings_do_not_rate_has_the_api_default(throttle: Any) -> None:
    # given host settings whose DEFAULT_THROTTLE_RATES names no saka scope
    class HostRates(throttle):
        THROTTLE_RATES: dict[str, str] = {}

    # then the throttle uses the API's default rate of its scope
    assert HostRates().rate == saka_api.THROTTLE_RATES[throttle.scope]


def test_an_unknown_scope_without_a_rate_is_still_refused() -> None:
    class Unknown(MemberThrottle):
        scope = "nobody_rates_this"
        THROTTLE_RATES: dict[str, str] = {}

    with pytest.raises(ImproperlyConfigured):
        Unknown()


def test_the_token_ttl_defaults_to_7_days_when_the_host_sets_none(settings: Any) -> None:
    del settings.SAKA_TOKEN_TTL_SECONDS
    assert token_ttl() == timedelta(seconds=TOKEN_TTL_SECONDS) == timedelta(days=7)


@pytest.mark.parametrize("value", [0, -1, "3600", True, 1.5])
def test_a_bad_token_ttl_is_refused(settings: Any, value: Any) -> None:
    settings.SAKA_TOKEN_TTL_SECONDS = value
    with pytest.raises(ImproperlyConfigured, match="SAKA_TOKEN_TTL_SECONDS"):
        token_ttl()


def test_the_user_model_log_in_field_names_the_lookups() -> None:
    # Django's own user model here; examples/embed runs the same code with e-mail log-ins
    assert login_field() == "username"
    assert user_search_fields("member") == ("member__username", "member__email")
    assert LOGIN_MAX_LENGTH == 150


@pytest.mark.parametrize(
    "page", ["grains/sakaaccount", "grains/sakaentry", "euro/euroaccount", "euro/pocket"]
)
def test_the_admin_finds_members_by_the_user_model_fields(
    page: str, member: Any, admin_user: Any
) -> None:
    client = Client()
    client.force_login(admin_user)  # pytest-django's superuser
    response = client.get(f"/admin/{page}/", {"q": member.get_username()})
    assert response.status_code == 200


def _check_ids() -> set[str]:
    from saka.api.checks import api_settings_check

    return {m.id for m in api_settings_check() if m.id}


def test_the_reference_settings_pass_the_api_checks() -> None:
    assert _check_ids() == set()


def test_a_host_with_drf_defaults_is_told_what_the_api_misses(settings: Any) -> None:
    # given a host whose REST_FRAMEWORK is DRF's defaults, and USE_TZ off
    settings.REST_FRAMEWORK = {}
    settings.USE_TZ = False
    # then every missing piece is named
    assert _check_ids() == {"saka_api.E001", "saka_api.W001", "saka_api.W002", "saka_api.W003"}


def test_a_host_keeping_the_helper_s_keys_passes(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **saka_api.rest_framework(),
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "rest_framework.authentication.BasicAuthentication",
            saka_api.TOKEN_AUTHENTICATION,
        ],
    }
    assert _check_ids() == set()
