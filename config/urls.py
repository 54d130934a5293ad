from django.contrib import admin
from django.contrib.auth import views as auth_views
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
    # the member pages' log-in and log-out (browser session; log-out by POST): Django's views
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("saka.portal.urls")),  # /me/ and the statements (docs/member-pages.md)
    path("dashboard/", include("saka.dashboard.urls")),  # staff pages (docs/dashboard.md)
    path("", include("saka.ops.urls")),  # /healthz, /metrics (docs/observability.md)
    # the API, its last route a JSON 404 for any other URL under api/ (saka.api.urls)
    path("api/", include("saka.api.urls")),
]
