"""Alert routes, included under ``api/v1/`` by ``saka.api.urls``."""

from django.urls import path

from saka.api.alerts import views as v

urlpatterns = [
    path("staff/alerts/", v.StaffAlertListView.as_view(), name="staff-alerts"),
]
