from django.apps import AppConfig


class GrainsConfig(AppConfig):
    name = "saka.grains"
    label = "grains"
    verbose_name = "SAKA grains"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from saka.grains.accounts import register
        from saka.grains.conf import load_settings

        load_settings()  # refuse to start on a bad setting, with a clear message
        register()
