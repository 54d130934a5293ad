from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "saka.projects"
    label = "projects"
    verbose_name = "Projects"
    default_auto_field = "django.db.models.BigAutoField"
