"""Helpers of the run endpoint tests: the URLs of the runs, a run, the silo, the statistics and
the compost preview, and the error-envelope check they use."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

RUNS = reverse("saka_api:staff-run-list")
SILO = reverse("saka_api:staff-silo")
STATS = reverse("saka_api:staff-stats")
PREVIEW = reverse("saka_api:saka-compost-preview")


def detail(run_id: int) -> str:
    return reverse("saka_api:staff-run-detail", args=[run_id])


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"code", "message", "data"}, body
    assert body["code"] == code, body
    assert body["message"]
    return body
