from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "saka.portal"
    label = "saka_portal"
    verbose_name = "SAKA member pages"
