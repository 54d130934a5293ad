"""Expiring tokens: DRF's ``Authorization: Token <key>``, valid for ``SAKA_TOKEN_TTL_SECONDS``
after log-in (default ``TOKEN_TTL_SECONDS``, 7 days; this module imports no DRF view: DRF loads
it while its views are imported)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from saka.api.common.auth_errors import TokenExpired
from saka.core.clock import now

TOKEN_TTL_SECONDS = 7 * 24 * 3600


def token_ttl() -> timedelta:
    value = getattr(settings, "SAKA_TOKEN_TTL_SECONDS", TOKEN_TTL_SECONDS)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ImproperlyConfigured(
            f"SAKA_TOKEN_TTL_SECONDS must be a positive integer, got {value!r}."
        )
    return timedelta(seconds=value)


def token_expires_at(token: Token) -> datetime:
    return token.created + token_ttl()


class ExpiringTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, valid for ``SAKA_TOKEN_TTL_SECONDS`` after log-in."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user, token = super().authenticate_credentials(key)
        if token_expires_at(token) <= now():
            Token.objects.filter(pk=token.pk).delete()
            raise TokenExpired()
        return user, token
