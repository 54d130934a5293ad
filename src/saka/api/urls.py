"""The API's one root (namespace ``saka_api``): the schema and its docs, log-in and log-out,
each domain's routes under ``v1/``, and last a JSON 404 for any other URL under the API.

A project mounts it under a prefix of its choice: ``path("api/", include("saka.api.urls"))``.
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from saka.api.common.auth import LoginView, LogoutView
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
    path("v1/auth/token/", LoginView.as_view(), name="token"),
    path("v1/auth/logout/", LogoutView.as_view(), name="logout"),
    path("v1/", include("saka.api.saka.urls")),
    path("v1/", include("saka.api.projects.urls")),
    path("v1/", include("saka.api.euro.urls")),
    path("v1/", include("saka.api.polls.urls")),
    path("v1/", include("saka.api.audit.urls")),
    path("v1/", include("saka.api.overview.urls")),
    path("v1/", include("saka.api.alerts.urls")),
    # last: any other URL under the API is a JSON 404 (with DEBUG on too), whatever the method;
    # reversed with rest="" it is the API's prefix (saka.api.common.errors.api_prefix)
    re_path(r"^(?P<rest>.*)$", api_not_found, name="not-found"),
]
