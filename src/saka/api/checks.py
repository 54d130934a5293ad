"""System checks of what the API needs from the host project's settings (``manage.py check``,
run by ``runserver`` and ``migrate`` too), so a project that embeds the apps is told at start-up
rather than by a wrong answer (``docs/embedding.md``). Warnings can be silenced one by one with
``SILENCED_SYSTEM_CHECKS`` by a project that means it.

- ``saka_api.E001``: ``USE_TZ`` is off (the apps work in aware UTC datetimes).
- ``saka_api.W001``: ``REST_FRAMEWORK["EXCEPTION_HANDLER"]`` is not the API's: its errors lose
  the ``{code, message, data}`` body clients branch on.
- ``saka_api.W002``: no ``ExpiringTokenAuthentication`` among the authentication classes: the
  tokens of ``auth/token/`` are refused.
- ``saka_api.W003``: the schema class is not drf-spectacular's: ``schema/`` cannot be served.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from saka.api.settings import EXCEPTION_HANDLER, TOKEN_AUTHENTICATION

HINT = "Use REST_FRAMEWORK = saka.api.settings.rest_framework(...) (docs/embedding.md)."


@register()
def api_settings_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from drf_spectacular.openapi import AutoSchema
    from rest_framework.settings import api_settings

    from saka.api.common.authentication import ExpiringTokenAuthentication
    from saka.api.common.errors import exception_handler

    messages: list[CheckMessage] = []
    if not settings.USE_TZ:
        messages.append(
            Error(
                "USE_TZ is False: the SAKA apps work in aware UTC datetimes.",
                hint="Set USE_TZ = True.",
                id="saka_api.E001",
            )
        )
    if api_settings.EXCEPTION_HANDLER is not exception_handler:
        messages.append(
            Warning(
                f"REST_FRAMEWORK['EXCEPTION_HANDLER'] is not {EXCEPTION_HANDLER}: the API's "
                "errors lose their {code, message, data} body.",
                hint=HINT,
                id="saka_api.W001",
            )
        )
    classes: list[Any] = list(api_settings.DEFAULT_AUTHENTICATION_CLASSES)
    if not any(
        isinstance(cls, type) and issubclass(cls, ExpiringTokenAuthentication) for cls in classes
    ):
        messages.append(
            Warning(
                f"{TOKEN_AUTHENTICATION} is not in REST_FRAMEWORK['DEFAULT_AUTHENTICATION_"
                "CLASSES']: the tokens of auth/token/ are refused.",
                hint=HINT,
                id="saka_api.W002",
            )
        )
    schema_class = api_settings.DEFAULT_SCHEMA_CLASS
    if not (isinstance(schema_class, type) and issubclass(schema_class, AutoSchema)):
        messages.append(
            Warning(
                "REST_FRAMEWORK['DEFAULT_SCHEMA_CLASS'] is not drf-spectacular's AutoSchema: "
                "the API's schema/ cannot be served.",
                hint=HINT,
                id="saka_api.W003",
            )
        )
    return messages
