from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "saka.jobs"
    label = "saka_jobs"
    verbose_name = "SAKA jobs"

    def ready(self) -> None:
        # Register the tasks in every process (web, worker, beat), so that a task sent by
        # name (beat's schedule) resolves to the real task (and honours eager mode).
        from saka.jobs import tasks  # noqa: F401
