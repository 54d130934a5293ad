"""The operations routes, at the project's root: ``path("", include("saka.ops.urls"))``."""

from __future__ import annotations

from django.urls import path

from saka.ops.health import healthz
from saka.ops.metrics import metrics

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
]
