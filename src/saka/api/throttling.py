from rest_framework.throttling import UserRateThrottle


class MemberThrottle(UserRateThrottle):
    scope = "member"


class PlatformThrottle(UserRateThrottle):
    scope = "platform"
