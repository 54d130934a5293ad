"""One exception handler: every error is ``{"code", "message", "data"}`` with a stable code
(``ErrorSerializer`` documents that body in the schema)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import NoReverseMatch, reverse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from saka.api.common.auth_errors import InvalidCredentials, LoginLockedOut, TokenExpired
from saka.core.errors import DomainError, ErrorCode

logger = logging.getLogger("saka.api")


class InvalidCursor(DomainError):
    """A list's ``cursor`` parameter is not one the server issued (a 400, never a 500)."""

    code = ErrorCode.INVALID_CURSOR
    http_status = 400
    default_message = "Invalid cursor: send back the next or previous link of a page."


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


# --- outside DRF's views: unknown URLs and Django's error handlers --------------------------------
# (the project's root URLconf names them: handler400 = "saka.api.common.errors.handler400", ...)

# The name of the last route of saka.api.urls (every unknown URL under the API): reversed with
# no rest, it is where the project mounts the API (``/api/``, ``/wallets/api/``...).
NOT_FOUND_ROUTE = "saka_api:not-found"


def api_prefix() -> str | None:
    """The path the project mounts the API at (with the script prefix), or None when the URLconf
    does not include ``saka.api.urls``."""
    try:
        return reverse(NOT_FOUND_ROUTE, kwargs={"rest": ""})
    except NoReverseMatch:
        return None


def _is_api(request: HttpRequest) -> bool:
    prefix = api_prefix()
    return prefix is not None and request.path.startswith(prefix)


def _json_error(status: int, code: ErrorCode, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


@csrf_exempt  # a POST to an unknown URL is a 404, not the CSRF middleware's HTML 403
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """The last route of ``saka.api.urls``: every unknown URL under the API (any method) is a
    JSON 404, even with ``DEBUG`` on (Django's technical 404 page would list every route)."""
    hint = "" if request.path.endswith("/") else " API paths end with a slash."
    return _json_error(404, ErrorCode.NOT_FOUND, f"No such endpoint.{hint}")


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json_error(400, ErrorCode.VALIDATION_ERROR, "Bad request.")
    return defaults.bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json_error(403, ErrorCode.PERMISSION_DENIED, "Forbidden.")
    return defaults.permission_denied(request, exception)


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json_error(404, ErrorCode.NOT_FOUND, "No such endpoint.")
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return _json_error(500, ErrorCode.SERVER_ERROR, "Internal error.")
    return defaults.server_error(request)
