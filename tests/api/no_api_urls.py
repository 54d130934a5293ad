"""A URLconf without the API (its error handlers named all the same)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500


def page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("page")


urlpatterns = [path("page/", page)]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
