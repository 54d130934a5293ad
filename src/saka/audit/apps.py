from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender: Any, **kwargs: Any) -> None:
    from saka.audit.roles import roles_sync

    roles_sync(using=kwargs.get("using", "default"))


class AuditConfig(AppConfig):
    name = "saka.audit"
    label = "audit"
    verbose_name = "Staff audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # After every migrate the groups hold exactly the permissions of the role table.
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="saka.audit.roles_sync")
