"""Fixtures of the overview endpoint tests: the webhook secret (autouse: the scenarios
deposit through signed webhooks)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.euro import SECRET


@pytest.fixture(autouse=True)
def _secret(settings: Any) -> None:
    settings.SAKA_PAYMENT_WEBHOOK_SECRET = SECRET
