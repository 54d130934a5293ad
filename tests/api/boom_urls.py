"""The reference URLconf plus two views that fail outside DRF (for the 500 and 400 handlers)."""

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500
from config.urls import urlpatterns as base


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


def suspicious(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("nope")


urlpatterns = [
    path("api/boom/", boom),
    path("boom/", boom),
    path("api/suspicious/", suspicious),
    *base,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
