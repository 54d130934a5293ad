"""The staff dashboard's pages, mounted at ``/dashboard/`` by the reference project."""

from django.urls import path

from saka.dashboard import policy, views

app_name = "saka_dashboard"

urlpatterns = [
    path("", views.dashboard, name="index"),
    path("runs/live.json", views.runs_live, name="runs-live"),
    path("runs/<int:run_id>/wallets.csv", views.run_wallets_csv, name="run-wallets-csv"),
    path("policy/whatif.json", policy.whatif, name="policy-whatif"),
    path("policy/change.json", policy.change, name="policy-change"),
]
