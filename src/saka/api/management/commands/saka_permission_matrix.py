"""Print the permission matrix of ``docs/security.md`` (generated from the code)."""

from typing import Any

from django.core.management.base import BaseCommand

from saka.api.security_matrix import BEGIN, END, permission_matrix_markdown


class Command(BaseCommand):
    help = "Print the staff permission matrix (paste it between the markers of docs/security.md)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{BEGIN}\n{permission_matrix_markdown()}\n{END}")
