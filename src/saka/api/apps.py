from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "saka.api"
    label = "saka_api"
    verbose_name = "SAKA REST API"

    def ready(self) -> None:
        from saka.api import checks  # noqa: F401 - registers the settings checks
