from django.apps import AppConfig


class PollsConfig(AppConfig):
    name = "saka.polls"
    label = "polls"
    verbose_name = "Polls"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from saka.polls.conf import load_settings

        load_settings()  # refuse to start on a bad setting, with a clear message
