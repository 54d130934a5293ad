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


class SeasonNotFound(DomainError):
    code = ErrorCode.SEASON_NOT_FOUND
    http_status = 404
    default_message = "No such season."


class SeasonOverlaps(DomainError):
    code = ErrorCode.SEASON_OVERLAPS
    http_status = 409
    default_message = "Seasons may not overlap: this range meets another season's."


class WhatIfNotFound(DomainError):
    code = ErrorCode.WHATIF_NOT_FOUND
    http_status = 404
    default_message = "No such what-if."


class WhatIfStale(DomainError):
    """A parameter change must carry a what-if computed against the parameters it replaces."""

    code = ErrorCode.WHATIF_STALE
    http_status = 409
    default_message = (
        "The what-if was computed against other parameters, or too long ago: run it again."
    )


class SimulationTooLarge(DomainError):
    """A season simulation asked of the API beyond its bounds (``saka_simulate`` has none)."""

    code = ErrorCode.SIMULATION_TOO_LARGE
    http_status = 422
    default_message = (
        "This simulation is too large for a request; run manage.py saka_simulate instead."
    )


class StatementNotFound(DomainError):
    code = ErrorCode.STATEMENT_NOT_FOUND
    http_status = 404
    default_message = "No statement is published for this run (yet)."
