"""The host's URLs: its admin, its own pages, and the SAKA API under its own prefix."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("the host's own page")


# JSON {code, message, data} for errors under the API's prefix; Django's pages elsewhere.
handler400 = "saka.api.common.errors.handler400"
handler403 = "saka.api.common.errors.handler403"
handler404 = "saka.api.common.errors.handler404"
handler500 = "saka.api.common.errors.handler500"

urlpatterns = [
    path("", home),
    path("backoffice/", admin.site.urls),
    path("wallets/api/", include("saka.api.urls")),
]
