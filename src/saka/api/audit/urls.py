"""Audit routes, included under ``api/v1/`` by ``saka.api.urls``."""

from django.urls import path

from saka.api.audit import views as v

urlpatterns = [
    path("staff/audit/", v.StaffAuditListView.as_view(), name="staff-audit"),
]
