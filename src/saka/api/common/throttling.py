"""Throttle scopes (rates in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``)."""

from rest_framework.throttling import UserRateThrottle


class MemberThrottle(UserRateThrottle):
    scope = "member"


class PlatformThrottle(UserRateThrottle):
    scope = "platform"
