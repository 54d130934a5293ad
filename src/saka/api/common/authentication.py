"""Expiring tokens: DRF's ``Authorization: Token <key>``, valid for ``SAKA_TOKEN_TTL_SECONDS``
after log-in (this module imports no DRF view: DRF loads it while its views are imported)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from saka.api.common.auth_errors import TokenExpired
from saka.core.clock import now


def token_ttl() -> timedelta:
    return timedelta(seconds=int(settings.SAKA_TOKEN_TTL_SECONDS))


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
