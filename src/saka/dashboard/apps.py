from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "saka.dashboard"
    label = "saka_dashboard"
    verbose_name = "SAKA staff dashboard"
