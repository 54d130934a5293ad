from saka.core.errors import DomainError, ErrorCode


class RoleRequired(DomainError):
    """The actor lacks the staff permission of the action (``data.permission`` names it)."""

    code = ErrorCode.PERMISSION_DENIED
    http_status = 403
    default_message = "Your staff role does not allow this."


class SelfActionForbidden(DomainError):
    """Staff never adjust or refund their own wallet."""

    code = ErrorCode.SELF_ACTION_FORBIDDEN
    http_status = 403
    default_message = "Staff may not do this to their own wallet."
