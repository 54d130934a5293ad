"""Fixtures of the EUR tests: a webhook secret, fast passwords, a member with money."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.euro import SECRET, deposit


@pytest.fixture(autouse=True)
def _euro_settings(settings: Any) -> None:
    settings.SAKA_PAYMENT_WEBHOOK_SECRET = SECRET


@pytest.fixture
def funded(make_user: Callable[..., Any]) -> Callable[..., Any]:
    """``funded(cents)``: a new member whose main balance is ``cents`` (one fee-free deposit)."""

    def make(cents: int = 100_00, **kwargs: Any) -> Any:
        user = make_user(**kwargs)
        if cents:
            deposit(user, cents)
        return user

    return make
