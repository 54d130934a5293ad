from saka.core.errors import DomainError, ErrorCode


class UnbalancedEntry(DomainError):
    code = ErrorCode.UNBALANCED_ENTRY
    http_status = 500
    default_message = "A journal entry must sum to zero."


class InsufficientBalance(DomainError):
    code = ErrorCode.INSUFFICIENT_BALANCE
    http_status = 409
    default_message = "The balance is too low for this operation."


class IdempotencyConflict(DomainError):
    code = ErrorCode.IDEMPOTENCY_CONFLICT
    http_status = 409
    default_message = "This idempotency key was already used with a different request."


class InvalidIdempotencyKey(DomainError):
    code = ErrorCode.INVALID_IDEMPOTENCY_KEY
    http_status = 400
    default_message = "Idempotency keys are 1 to 200 printable ASCII characters."


class BalanceLimitExceeded(DomainError):
    """The operation would push an account's balance above ``MAX_BALANCE``; nothing booked."""

    code = ErrorCode.BALANCE_LIMIT_EXCEEDED
    http_status = 409
    default_message = "This operation would take a balance above the largest accepted balance."
