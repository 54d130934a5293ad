from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "saka.api"
    label = "saka_api"
    verbose_name = "SAKA REST API"
