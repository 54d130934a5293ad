"""Fixtures of the REST API tests.

- Every test gets its own empty local-memory cache: throttling counts live in the cache and
  user ids repeat between tests on SQLite, so a shared cache would make tests depend on each
  other (and a ``REDIS_URL`` in the environment must never be wiped by a test).
- ``books()`` snapshots what a request could have booked, to assert that a refused request
  booked nothing.
- ``fund(user, times)`` gives a member grains through the Python API (50 grains a time).
- ``assert_error(response, status, code)`` checks the error envelope and returns its body.
- ``call(endpoint, ...)`` sends one bad request to a write endpoint as its caller, checks the
  error and that nothing was booked (the bad-input tests).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse

from saka.grains.models import AccountKind, ProjectSupporter, SakaAccount, SakaEntry, SakaPosting
from saka.grains.services import wallet_harvest
from saka.ledger.models import IdempotencyRecord
from saka.projects.selectors import projects_with_totals
from tests.support.saka import saka_balance


@pytest.fixture(autouse=True)
def _own_cache(settings: Any) -> Iterator[None]:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"saka-api-tests-{uuid.uuid4().hex}",
        }
    }
    cache.clear()
    yield
    cache.clear()


@dataclass(frozen=True)
class Books:
    entries: int
    postings: int
    balances: dict[int, int]
    projects: dict[int, tuple[int, int]]
    supporters: int
    idempotency_records: int


def _snapshot() -> Books:
    return Books(
        entries=SakaEntry.objects.count(),
        postings=SakaPosting.objects.count(),
        balances=dict(
            SakaAccount.objects.filter(kind=AccountKind.WALLET).values_list("member_id", "balance")
        ),
        projects={
            pk: (score, supporters)
            for pk, score, supporters in projects_with_totals().values_list(
                "pk", "score_total", "supporters_total"
            )
        },
        supporters=ProjectSupporter.objects.count(),
        idempotency_records=IdempotencyRecord.objects.count(),
    )


@pytest.fixture
def books() -> Callable[[], Books]:
    """``books()``: entry/posting counts, wallet balances, project figures, idempotency keys."""
    return _snapshot


@pytest.fixture
def fund() -> Callable[..., None]:
    def give(user: Any, times: int = 1) -> None:
        for _ in range(times):
            wallet_harvest(member_id=user.pk, reason="invite_accepted")

    return give


def _assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"code", "message", "data"}, body
    assert body["code"] == code, body
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["data"], dict)
    return body


@pytest.fixture
def assert_error() -> Callable[[Any, int, str], dict[str, Any]]:
    return _assert_error


CALLER = {
    "saka-plant": "member",
    "project-boost": "member",
    "platform-harvest": "platform_user",
    "staff-adjustment": "staff_user",
}


@pytest.fixture
def call(
    request: pytest.FixtureRequest,
    api: Any,
    member: Any,
    project: Any,
    fund: Any,
    books: Any,
    assert_error: Any,
) -> Any:
    """``call(endpoint, body=..., raw=..., status=..., code=...)``: send, check, prove no booking.

    ``body`` may use ``"{member}"`` for the funded member's id. ``raw`` sends bytes as
    ``application/json`` (or ``content_type``). ``project_id`` overrides the boost URL's id.
    """
    fund(member)

    def send(
        endpoint: str,
        *,
        status: int,
        code: str,
        body: Any = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
        project_id: Any = None,
        headers: dict[str, str] | None = None,
        method: str = "post",
    ) -> dict[str, Any]:
        caller = request.getfixturevalue(CALLER[endpoint])
        if endpoint == "project-boost":
            url = reverse("saka_api:project-boost", args=[project_id or project.pk])
        else:
            url = reverse(f"saka_api:{endpoint}")
        if isinstance(body, dict):
            body = {k: member.pk if v == "{member}" else v for k, v in body.items()}
        before, before_balance = books(), saka_balance(member.pk)
        client = api(caller)
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
        if raw is not None:
            response = client.generic(method.upper(), url, raw, content_type, **extra)
        else:
            response = getattr(client, method)(url, body, format="json", **extra)
        error = assert_error(response, status, code)
        assert books() == before
        assert saka_balance(member.pk) == before_balance == 50
        return error

    return send
