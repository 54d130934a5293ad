"""Throttle scopes: rates in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``; a scope the host's
settings do not name has its default rate (``saka.api.settings.THROTTLE_RATES``), so a project
with its own ``REST_FRAMEWORK`` still throttles the API instead of failing on every request."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle

from saka.api.settings import THROTTLE_RATES


class DefaultRateThrottle(SimpleRateThrottle):
    """The settings' rate of the scope, else the API's default rate of that scope."""

    def get_rate(self) -> str | None:
        try:
            return super().get_rate()
        except ImproperlyConfigured:
            if self.scope in THROTTLE_RATES:
                return THROTTLE_RATES[self.scope]
            raise


class MemberThrottle(DefaultRateThrottle, UserRateThrottle):
    scope = "member"


class PlatformThrottle(DefaultRateThrottle, UserRateThrottle):
    scope = "platform"
