from saka.core.errors import DomainError, ErrorCode


class SakaDisabled(DomainError):
    code = ErrorCode.SAKA_DISABLED
    http_status = 503
    default_message = "SAKA is switched off on this platform."


class UnknownReason(DomainError):
    code = ErrorCode.UNKNOWN_REASON
    http_status = 400
    default_message = "Unknown harvest reason."


class DailyLimitReached(DomainError):
    code = ErrorCode.DAILY_LIMIT_REACHED
    http_status = 409
    default_message = "The daily limit for this reason is reached."


class AdjustmentCapReached(DomainError):
    code = ErrorCode.ADJUSTMENT_CAP_REACHED
    http_status = 409
    default_message = "Manual adjustments are capped per member over a rolling 24 hours."


class NotAllowed(DomainError):
    code = ErrorCode.PERMISSION_DENIED
    http_status = 403
    default_message = "You are not allowed to do this."


class RunNotFound(DomainError):
    code = ErrorCode.RUN_NOT_FOUND
    http_status = 404
    default_message = "No such run."


class StatementNotFound(DomainError):
    code = ErrorCode.STATEMENT_NOT_FOUND
    http_status = 404
    default_message = "No statement is published for this run (yet)."
