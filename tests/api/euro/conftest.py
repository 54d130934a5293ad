"""Fixtures of the EUR endpoint tests: the webhook secret (autouse) and a member with money."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.euro import SECRET, deposit


@pytest.fixture(autouse=True)
def _secret(settings: Any) -> None:
    settings.SAKA_PAYMENT_WEBHOOK_SECRET = SECRET


@pytest.fixture
def rich(make_user: Any) -> Any:
    user = make_user()
    deposit(user, 100_000)
    return user
