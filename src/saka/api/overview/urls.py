"""Overview routes, included under ``api/v1/`` by ``saka.api.urls``."""

from django.urls import path

from saka.api.overview import views as v

urlpatterns = [
    path("me/assets/", v.MemberAssetsView.as_view(), name="me-assets"),
    path("config/", v.PublicConfigView.as_view(), name="config"),
]
