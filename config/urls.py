from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

# Every status under /api/ is the {code, message, data} JSON body; Django's pages elsewhere.
handler400 = "saka.api.common.errors.handler400"
handler403 = "saka.api.common.errors.handler403"
handler404 = "saka.api.common.errors.handler404"
handler500 = "saka.api.common.errors.handler500"

urlpatterns = [
    path("", RedirectView.as_view(url="/api/docs/", permanent=False)),
    path("admin/", admin.site.urls),
    path("dashboard/", include("saka.dashboard.urls")),  # staff pages (docs/dashboard.md)
    path("", include("saka.ops.urls")),  # /healthz, /metrics (docs/observability.md)
    # the API, its last route a JSON 404 for any other URL under api/ (saka.api.urls)
    path("api/", include("saka.api.urls")),
]
