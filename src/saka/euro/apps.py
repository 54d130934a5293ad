from django.apps import AppConfig


class EuroConfig(AppConfig):
    name = "saka.euro"
    label = "euro"
    verbose_name = "EUR wallets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from saka.euro.accounts import register
        from saka.euro.conf import load_settings

        load_settings()  # refuse to start on a bad setting, with a clear message
        register()
