"""Helpers of the EUR endpoint tests: the ``/api/v1`` prefix and the webhook URL, JSON posts
and patches, the type of the ``assert_error`` fixture."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rest_framework.test import APIClient

V1 = "/api/v1"
WEBHOOK = f"{V1}/webhooks/payments/"
AssertError = Callable[[Any, int, str], dict[str, Any]]


def post_json(client: APIClient, url: str, data: Any, **headers: Any) -> Any:
    return client.post(url, data=json.dumps(data), content_type="application/json", **headers)


def patch_json(client: APIClient, url: str, data: Any) -> Any:
    return client.patch(url, data=json.dumps(data), content_type="application/json")
