"""Request ids and the one log line per request.

``RequestContextFilter`` also puts the Celery task's id (``task_id``) on the records made
while a task runs, in a worker or eagerly.

``RequestLogMiddleware`` (first in ``MIDDLEWARE``, after django-prometheus's "before"
middleware) takes the request's ``X-Request-ID`` when it is a sane one (a proxy or client
set it) or makes one, answers it in the response's ``X-Request-ID``, and logs one line
when the response is ready (logger ``saka.http``: method, path, status, duration_ms,
user_id, request_id). ``RequestContextFilter`` (on the log handlers) puts the id on every
log record made while the request is handled, whichever logger made it.

Probes (``/healthz``, ``/metrics``) are logged at DEBUG, so that a scrape every few
seconds does not drown the log; at INFO they appear only when they answer 5xx.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from celery import current_task
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
PROBE_PATHS = frozenset({"/healthz", "/metrics"})

logger = logging.getLogger("saka.http")
_request_id: ContextVar[str | None] = ContextVar("saka_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being handled in this context (``None`` outside a request)."""
    return _request_id.get()


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` to every record made while a request is handled, and ``task_id``
    to every record made while a Celery task runs (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = _request_id.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        task = current_task
        task_id = getattr(task.request, "id", None) if task else None
        if task_id is not None and not hasattr(record, "task_id"):
            record.task_id = task_id
        return True


def _request_id_of(request: HttpRequest) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex


def _user_id(request: HttpRequest) -> int | None:
    user = getattr(request, "user", None)  # DRF's authentication sets it on the request too
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return int(user.pk)


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = _request_id_of(request)
        token = _request_id.set(request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            self._log(request, response.status_code, started, request_id)
            return response
        finally:
            _request_id.reset(token)

    @staticmethod
    def _log(request: HttpRequest, status: int, started: float, request_id: str) -> None:
        if status >= 500:
            level = logging.ERROR
        elif request.path in PROBE_PATHS:
            level = logging.DEBUG
        else:
            level = logging.INFO
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        fields: dict[str, Any] = {
            "event": "http.request",
            "method": request.method,
            "path": request.path,
            "status": status,
            "duration_ms": duration_ms,
            "user_id": _user_id(request),
            "request_id": request_id,
        }
        logger.log(
            level,
            "%s %s %s %s ms",
            request.method,
            request.path,
            status,
            duration_ms,
            extra=fields,
        )
