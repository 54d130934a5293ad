"""The example's fixtures. First of all: the saka apps under test are the installed package
(a wheel in a virtualenv's site-packages), never the repository's ``src/`` tree."""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

import saka

SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"]).resolve()
REPOSITORY_SRC = Path(__file__).resolve().parents[3] / "src"
SAKA_DIR = Path(saka.__file__).resolve().parent


def pytest_report_header() -> str:
    return f"saka under test: {SAKA_DIR}"


def pytest_configure() -> None:
    if SAKA_DIR.parent != SITE_PACKAGES or REPOSITORY_SRC in SAKA_DIR.parents:
        raise pytest.UsageError(
            f"saka is imported from {SAKA_DIR}, not from this environment's site-packages "
            f"({SITE_PACKAGES}): run scripts/embed_test.sh, which installs the wheel"
        )


API = "/wallets/api/v1"
PASSWORD = "correct horse battery"


def post_json(client: APIClient, url: str, data: Any, **headers: Any) -> Any:
    return client.post(url, data=json.dumps(data), content_type="application/json", **headers)


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    """The throttles count in the default cache: every test starts with none used up."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def user_model() -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model()


@pytest.fixture
def member(user_model: Any) -> Any:
    return user_model.objects.create_user("ada@example.org", PASSWORD)


@pytest.fixture
def platform(user_model: Any) -> Any:
    """The platform's service account: it grants harvests on behalf of members."""
    user = user_model.objects.create_user("harvester@example.org", PASSWORD)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="grains", codename="harvest_on_behalf")
    )
    return user


@pytest.fixture
def superuser(user_model: Any) -> Any:
    return user_model.objects.create_superuser("root@example.org", PASSWORD)


def token_of(api: APIClient, email: str, password: str = PASSWORD) -> str:
    response = post_json(api, f"{API}/auth/token/", {"username": email, "password": password})
    assert response.status_code == 200, response.content
    return str(response.json()["token"])


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_of(client, user.email)}")
    return client
