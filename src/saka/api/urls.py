"""The API's one root (namespace ``saka_api``): the schema and its docs, the token exchange,
and each domain's routes under ``v1/``."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token

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
    path("v1/", include("saka.api.audit.urls")),
]
