"""Fixtures of the member pages' tests: a browser-session client logged in as a user, the
webhook secret (the EUR scenarios deposit through signed webhooks) and a fixed clock for the
pages (``saka.portal.views.now``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.test import Client

from tests.support.euro import SECRET


@pytest.fixture(autouse=True)
def _secret(settings: Any) -> None:
    settings.SAKA_PAYMENT_WEBHOOK_SECRET = SECRET


@pytest.fixture
def browser() -> Callable[[Any], Client]:
    """``browser(user)``: a Django test client holding ``user``'s session (``None``: anonymous)."""

    def client_for(user: Any) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return client_for


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """``clock(at)``: the pages read ``at`` as now."""

    def freeze(at: datetime) -> None:
        monkeypatch.setattr("saka.portal.views.now", lambda: at)

    return freeze
