"""The API's one root (namespace ``saka_api``): the schema and its docs, log-in and log-out,
and each domain's routes under ``v1/``."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from saka.api.common.auth import LoginView, LogoutView

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
    path("v1/auth/token/", LoginView.as_view(), name="token"),
    path("v1/auth/logout/", LogoutView.as_view(), name="logout"),
    path("v1/", include("saka.api.saka.urls")),
    path("v1/", include("saka.api.projects.urls")),
    path("v1/", include("saka.api.euro.urls")),
    path("v1/", include("saka.api.audit.urls")),
]
