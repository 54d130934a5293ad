"""SAKA routes, included under ``api/v1/`` by ``saka.api.urls``."""

from django.urls import path

from saka.api.saka import (
    policy_views,
    run_views,
    season_views,
    simulation_views,
    statement_views,
    views,
)

urlpatterns = [
    path("me/saka/wallet/", views.SakaWalletView.as_view(), name="saka-wallet"),
    path("me/saka/history/", views.SakaHistoryView.as_view(), name="saka-history"),
    path("me/saka/plant/", views.SakaPlantView.as_view(), name="saka-plant"),
    path(
        "me/saka/compost-preview/",
        views.SakaCompostPreviewView.as_view(),
        name="saka-compost-preview",
    ),
    path(
        "me/saka/statements/",
        statement_views.SakaStatementListView.as_view(),
        name="saka-statements",
    ),
    path(
        "me/saka/statements/<int:run_id>/proof/",
        statement_views.SakaStatementProofView.as_view(),
        name="saka-statement-proof",
    ),
    path("platform/saka/harvests/", views.PlatformHarvestView.as_view(), name="platform-harvest"),
    path("staff/saka/adjustments/", views.StaffAdjustmentView.as_view(), name="staff-adjustment"),
    path("staff/saka/runs/", run_views.StaffRunListView.as_view(), name="staff-run-list"),
    path(
        "staff/saka/runs/<int:run_id>/",
        run_views.StaffRunDetailView.as_view(),
        name="staff-run-detail",
    ),
    path(
        "staff/saka/runs/<int:run_id>/resume/",
        run_views.StaffRunResumeView.as_view(),
        name="staff-run-resume",
    ),
    path(
        "staff/saka/statements/<int:seq>/",
        statement_views.StaffStatementDetailView.as_view(),
        name="staff-statement-detail",
    ),
    path("staff/saka/silo/", run_views.StaffSiloView.as_view(), name="staff-silo"),
    path("staff/saka/stats/", run_views.StaffStatsView.as_view(), name="staff-stats"),
    path("saka/seasons/", season_views.SeasonListView.as_view(), name="saka-seasons"),
    path(
        "staff/saka/seasons/",
        season_views.StaffSeasonListView.as_view(),
        name="staff-seasons",
    ),
    path(
        "staff/saka/seasons/<int:season_id>/activate/",
        season_views.StaffSeasonActivateView.as_view(),
        name="staff-season-activate",
    ),
    path("staff/saka/policy/", policy_views.StaffPolicyView.as_view(), name="staff-policy"),
    path(
        "staff/saka/policy/whatifs/",
        policy_views.StaffWhatIfView.as_view(),
        name="staff-policy-whatifs",
    ),
    path(
        "staff/saka/policy/whatifs/<int:whatif_id>/",
        policy_views.StaffWhatIfDetailView.as_view(),
        name="staff-policy-whatif-detail",
    ),
    path(
        "staff/saka/simulations/",
        simulation_views.StaffSimulationView.as_view(),
        name="staff-simulations",
    ),
]
