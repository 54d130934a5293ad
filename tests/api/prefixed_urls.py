"""A host project's URLconf: the API under its own prefix, the host's page elsewhere, a crash
outside DRF under the prefix (for the 500 handler)."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from config.urls import handler400, handler403, handler404, handler500


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


urlpatterns = [
    path("wallets/api/boom/", boom),
    path("wallets/api/", include("saka.api.urls")),
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
