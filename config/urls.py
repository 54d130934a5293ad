from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from saka.api.common.errors import api_not_found

# Every status under /api/ is the {code, message, data} JSON body; Django's pages elsewhere.
handler400 = "saka.api.common.errors.handler400"
handler403 = "saka.api.common.errors.handler403"
handler404 = "saka.api.common.errors.handler404"
handler500 = "saka.api.common.errors.handler500"

urlpatterns = [
    path("", RedirectView.as_view(url="/api/docs/", permanent=False)),
    path("admin/", admin.site.urls),
    path("", include("saka.ops.urls")),  # /healthz, /metrics (docs/observability.md)
    path("api/", include("saka.api.urls")),
    # last: any other URL under api/ is a JSON 404 (with DEBUG on too), whatever the method
    re_path(r"^api/", api_not_found),
]
