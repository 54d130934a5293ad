"""The member pages, at the project's root: ``path("", include("saka.portal.urls"))``; the
log-in and log-out views are Django's (``config/urls.py``, ``/accounts/``)."""

from __future__ import annotations

from django.urls import path, re_path

from saka.portal import views

app_name = "portal"

urlpatterns = [
    path("accounts/home/", views.home, name="home"),  # LOGIN_REDIRECT_URL
    path("me/", views.me, name="me"),
    re_path(r"^me/statement/(?P<book>saka|eur)/$", views.statement, name="statement"),
    re_path(r"^me/statement/(?P<book>saka|eur)\.csv$", views.statement_csv, name="statement-csv"),
]
