"""The API's one root (namespace ``saka_api``): the schema and its docs, the token exchange,
each domain's routes under ``v1/``, and a last catch-all: an unknown URL is a JSON 404."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token

from saka.api.common.errors import api_not_found

app_name = "saka_api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="saka_api:schema"), name="docs"),
    path(
        "redoc/",
        SpectacularRedocView.as_view(
            url_name="saka_api:schema", template_name="saka_api/redoc.html"
        ),
        name="redoc",
    ),
    path("v1/auth/token/", obtain_auth_token, name="token"),
    path("v1/", include("saka.api.saka.urls")),
    path("v1/", include("saka.api.projects.urls")),
    path("v1/", include("saka.api.euro.urls")),
    # last: any other URL under api/ is a JSON 404 (with DEBUG on too), whatever the method
    re_path(r"^", api_not_found, name="not-found"),
]
