"""Fixtures of the REST API tests.

- Every test gets its own empty local-memory cache: throttling counts live in the cache and
  user ids repeat between tests on SQLite, so a shared cache would make tests depend on each
  other (and a ``REDIS_URL`` in the environment must never be wiped by a test).
- ``books()`` snapshots what a request could have booked, to assert that a refused request
  booked nothing.
- ``fund(user, times)`` gives a member grains through the Python API (50 grains a time).
- ``assert_error(response, status, code)`` checks the error envelope and returns its body.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache

from saka.grains.models import AccountKind, ProjectSupporter, SakaAccount, SakaEntry, SakaPosting
from saka.grains.services import wallet_harvest
from saka.ledger.models import IdempotencyRecord
from saka.projects.models import Project


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
            for pk, score, supporters in Project.objects.values_list(
                "pk", "saka_score", "saka_supporters"
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
