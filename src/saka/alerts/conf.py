"""The alerts' settings, validated when read (at start-up too: ``AlertsConfig.ready``).

``SAKA_ALERT_EMAILS`` (``[]``): the addresses an alert is e-mailed to when it opens (or opens
again after it was resolved); none, no e-mail. A list or tuple of valid addresses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email


@dataclass(frozen=True)
class AlertSettings:
    emails: tuple[str, ...]


def _emails() -> tuple[str, ...]:
    value: Any = getattr(settings, "SAKA_ALERT_EMAILS", [])
    if not isinstance(value, list | tuple) or not all(isinstance(a, str) for a in value):
        raise ImproperlyConfigured(
            f"SAKA_ALERT_EMAILS must be a list of e-mail addresses, got {value!r}."
        )
    for address in value:
        try:
            validate_email(address)
        except DjangoValidationError:
            raise ImproperlyConfigured(
                f"SAKA_ALERT_EMAILS holds an invalid address: {address!r}."
            ) from None
    return tuple(value)


def get_settings() -> AlertSettings:
    """Read on every call (cheap), so ``override_settings`` needs no cache reset."""
    return AlertSettings(emails=_emails())
