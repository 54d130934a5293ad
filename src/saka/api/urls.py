from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token

from saka.api import views

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
    path("v1/me/saka/wallet/", views.SakaWalletView.as_view(), name="saka-wallet"),
    path("v1/me/saka/history/", views.SakaHistoryView.as_view(), name="saka-history"),
    path("v1/me/saka/plant/", views.SakaPlantView.as_view(), name="saka-plant"),
    path(
        "v1/me/saka/compost-preview/",
        views.SakaCompostPreviewView.as_view(),
        name="saka-compost-preview",
    ),
    path("v1/projects/", views.ProjectListView.as_view(), name="project-list"),
    path("v1/projects/<int:project_id>/", views.ProjectDetailView.as_view(), name="project-detail"),
    path(
        "v1/projects/<int:project_id>/boost/",
        views.ProjectBoostView.as_view(),
        name="project-boost",
    ),
    path(
        "v1/platform/saka/harvests/", views.PlatformHarvestView.as_view(), name="platform-harvest"
    ),
    path(
        "v1/staff/saka/adjustments/", views.StaffAdjustmentView.as_view(), name="staff-adjustment"
    ),
    path("v1/staff/saka/runs/", views.StaffRunListView.as_view(), name="staff-run-list"),
    path(
        "v1/staff/saka/runs/<int:run_id>/",
        views.StaffRunDetailView.as_view(),
        name="staff-run-detail",
    ),
    path("v1/staff/saka/silo/", views.StaffSiloView.as_view(), name="staff-silo"),
    path("v1/staff/saka/stats/", views.StaffStatsView.as_view(), name="staff-stats"),
    path("v1/", include("saka.api.euro_urls")),
]
