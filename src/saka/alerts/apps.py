from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "saka.alerts"
    label = "alerts"
    verbose_name = "Alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from saka.alerts.conf import get_settings

        get_settings()  # a wrong SAKA_ALERT_EMAILS refuses to start
