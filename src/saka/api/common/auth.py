"""Log-in, expiring tokens and log-out.

- ``ExpiringTokenAuthentication`` (``saka.api.common.authentication``, apart because DRF
  imports authentication classes before its views): DRF's ``Authorization: Token <key>``,
  refused (401 ``token_expired``, the token deleted) once older than ``SAKA_TOKEN_TTL_SECONDS``.
- ``LoginView`` (``POST auth/token/``): username/password -> ``{"token", "expires_at"}`` (the
  ``username`` is the value of the user model's ``USERNAME_FIELD``, an e-mail or else); a
  wrong password or an inactive account is 401 ``invalid_credentials``; attempts are counted
  per username and per client address (``LoginUsernameThrottle``, ``LoginAddressThrottle``),
  past either limit the answer is 429 ``login_locked_out`` with ``Retry-After``.
- ``LogoutView`` (``POST auth/logout/``): deletes the caller's token (DRF keeps one token per
  user, so this signs every client of that user out).
"""

from __future__ import annotations

import hashlib
from typing import Any, NoReturn

from django.contrib.auth import authenticate, get_user_model
from django.db import transaction
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from saka.api.common.auth_errors import InvalidCredentials, LoginLockedOut
from saka.api.common.authentication import token_expires_at
from saka.api.common.base import BodyCheckedView, member_id_of
from saka.api.common.errors import ErrorSerializer
from saka.api.common.throttling import DefaultRateThrottle, MemberThrottle
from saka.core.clock import now
from saka.core.members import login_field


def _username(request: Request) -> str | None:
    try:
        data = request.data
    except exceptions.ParseError:
        return None
    value = data.get("username") if hasattr(data, "get") else None
    return value if isinstance(value, str) and value else None


class LoginAddressThrottle(DefaultRateThrottle):
    """Log-in attempts per client address (``REMOTE_ADDR``, or ``X-Forwarded-For`` behind
    ``NUM_PROXIES`` proxies, DRF's rule)."""

    scope = "login_address"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginUsernameThrottle(DefaultRateThrottle):
    """Log-in attempts per username, whichever address they come from."""

    scope = "login_username"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        username = _username(request)
        if username is None:
            return None  # refused as a validation error; the address throttle still counts it
        ident = hashlib.sha256(username.encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


# DRF's CharField refuses a NUL character (400 validation_error): the schema says so.
_NO_NUL = r"^[^\x00]*$"


def _login_max_length() -> int:
    """The longest log-in name the user model stores (its ``USERNAME_FIELD``: 150 for Django's
    ``username``, 254 for an ``EmailField``)."""
    field = get_user_model()._meta.get_field(login_field())
    return int(getattr(field, "max_length", None) or 254)


LOGIN_MAX_LENGTH = _login_max_length()


@extend_schema_field(
    {"type": "string", "minLength": 1, "maxLength": LOGIN_MAX_LENGTH, "pattern": _NO_NUL}
)
class _Username(serializers.CharField):
    """The value of the user model's ``USERNAME_FIELD`` (the JSON key stays ``username``)."""


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": 4096, "pattern": _NO_NUL})
class _Password(serializers.CharField):
    pass


class LoginSerializer(serializers.Serializer):
    username = _Username(max_length=LOGIN_MAX_LENGTH, trim_whitespace=False)
    password = _Password(max_length=4096, trim_whitespace=False)


_TOKEN_RESPONSE = inline_serializer(
    "TokenResponse",
    {"token": serializers.CharField(), "expires_at": serializers.DateTimeField()},
)


class LoginView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginAddressThrottle, LoginUsernameThrottle]

    def throttled(self, request: Request, wait: float | None) -> NoReturn:
        raise LoginLockedOut(wait)

    @extend_schema(
        request=LoginSerializer,
        responses={
            200: _TOKEN_RESPONSE,
            400: OpenApiResponse(ErrorSerializer, description="validation_error"),
            401: OpenApiResponse(ErrorSerializer, description="invalid_credentials"),
            429: OpenApiResponse(ErrorSerializer, description="login_locked_out"),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request=request._request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None or not user.is_active:
            raise InvalidCredentials()
        with transaction.atomic():
            token, _ = Token.objects.select_for_update().get_or_create(user=user)
            if token_expires_at(token) <= now():
                token.delete()
                token = Token.objects.create(user=user)
        return Response({"token": token.key, "expires_at": token_expires_at(token)})

    def get_authenticate_header(self, request: Request) -> str:
        return "Token"


class LogoutView(BodyCheckedView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [MemberThrottle]

    @extend_schema(
        request=None,
        responses={
            204: OpenApiResponse(description="the token is deleted"),
            401: OpenApiResponse(ErrorSerializer, description="not_authenticated"),
            429: OpenApiResponse(ErrorSerializer, description="throttled"),
        },
    )
    def post(self, request: Request) -> Response:
        Token.objects.filter(user_id=member_id_of(request)).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
