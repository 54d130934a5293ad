"""One exception handler: every error is ``{"code", "message", "data"}`` with a stable code
(``ErrorSerializer`` documents that body in the schema)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from saka.api.common.auth_errors import InvalidCredentials, LoginLockedOut, TokenExpired
from saka.core.errors import DomainError, ErrorCode

logger = logging.getLogger("saka.api")


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    data = serializers.DictField()  # type: ignore[assignment]


# The first match wins: the log-in's own codes (saka.api.common.auth) come before their bases.
_DRF_CODES: list[tuple[type[exceptions.APIException], ErrorCode]] = [
    (InvalidCredentials, ErrorCode.INVALID_CREDENTIALS),
    (TokenExpired, ErrorCode.TOKEN_EXPIRED),
    (LoginLockedOut, ErrorCode.LOGIN_LOCKED_OUT),
    (exceptions.ValidationError, ErrorCode.VALIDATION_ERROR),
    (exceptions.ParseError, ErrorCode.PARSE_ERROR),
    (exceptions.NotAuthenticated, ErrorCode.NOT_AUTHENTICATED),
    (exceptions.AuthenticationFailed, ErrorCode.NOT_AUTHENTICATED),
    (exceptions.PermissionDenied, ErrorCode.PERMISSION_DENIED),
    (exceptions.NotFound, ErrorCode.NOT_FOUND),
    (exceptions.MethodNotAllowed, ErrorCode.METHOD_NOT_ALLOWED),
    (exceptions.NotAcceptable, ErrorCode.NOT_ACCEPTABLE),
    (exceptions.UnsupportedMediaType, ErrorCode.UNSUPPORTED_MEDIA_TYPE),
    (exceptions.Throttled, ErrorCode.THROTTLED),
]


def _message(detail: Any) -> str:
    if isinstance(detail, list | tuple) and detail:
        return _message(detail[0])
    if isinstance(detail, dict):
        return "The request is not valid."
    return str(detail)


def error_body(
    code: ErrorCode | str, message: str, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"code": str(code), "message": message, "data": data or {}}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.http_status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), ErrorCode.SERVER_ERROR)
        data: dict[str, Any] = {}
        if isinstance(exc, exceptions.ValidationError):
            data = {
                "fields": exc.detail
                if isinstance(exc.detail, dict)
                else {"non_field_errors": exc.detail}
            }
        elif isinstance(exc, exceptions.Throttled):
            data = {"wait_seconds": getattr(exc, "wait", None)}
        headers: dict[str, str] = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
        return Response(
            error_body(code, _message(exc.detail), data), status=exc.status_code, headers=headers
        )
    logger.exception("unhandled error in %s", context.get("view"))
    return Response(error_body(ErrorCode.SERVER_ERROR, "Internal error."), status=500)
