"""Typed domain errors with stable codes.

Every error a client can see has a stable ``code`` (clients branch on it), a human message,
a JSON-serialisable ``data`` dict and the HTTP status it maps to. Interfaces render them as
``{"code", "message", "data"}``; nothing is ever swallowed into a generic failure.

``data`` speaks the API's vocabulary, made so in one place (``DomainError.__init__``):

- money is written as the API writes it: a raise site passes EUR amounts as ``Cents(n)``
  (``saka.core.money``), shown as ``"5.00"``; SAKA amounts stay integer grains;
- a key named ``*_id`` is an integer id and ``*_ids`` a list of them: a digit string becomes an
  integer, a value that is no id (the caller's garbage) is left out, never echoed as a string
  (the payment provider's own references, ``event_id`` and ``payment_id``, stay strings);
- a balance that is too low says ``available`` and ``requested`` in both currencies.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Protocol, runtime_checkable


class ErrorCode(StrEnum):
    # generic
    VALIDATION_ERROR = "validation_error"
    NOT_FOUND = "not_found"
    PERMISSION_DENIED = "permission_denied"
    NOT_AUTHENTICATED = "not_authenticated"
    THROTTLED = "throttled"
    PARSE_ERROR = "parse_error"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    NOT_ACCEPTABLE = "not_acceptable"
    INVALID_CURSOR = "invalid_cursor"
    SERVER_ERROR = "server_error"
    # staff
    SELF_ACTION_FORBIDDEN = "self_action_forbidden"
    # log-in and tokens (saka.api.common.auth)
    INVALID_CREDENTIALS = "invalid_credentials"
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 (an error code, not a secret)
    LOGIN_LOCKED_OUT = "login_locked_out"
    # ledger
    INVALID_AMOUNT = "invalid_amount"
    UNBALANCED_ENTRY = "unbalanced_entry"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    BALANCE_LIMIT_EXCEEDED = "balance_limit_exceeded"
    LOCK_TIMEOUT = "lock_timeout"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"
    # saka
    SAKA_DISABLED = "saka_disabled"
    UNKNOWN_REASON = "unknown_reason"
    DAILY_LIMIT_REACHED = "daily_limit_reached"
    ADJUSTMENT_CAP_REACHED = "adjustment_cap_reached"
    MEMBER_NOT_FOUND = "member_not_found"
    NOT_A_MEMBER = "not_a_member"
    PROJECT_NOT_FOUND = "project_not_found"
    RUN_NOT_FOUND = "run_not_found"
    SEASON_NOT_FOUND = "season_not_found"
    SEASON_OVERLAPS = "season_overlaps"
    WHATIF_NOT_FOUND = "whatif_not_found"
    WHATIF_STALE = "whatif_stale"
    SIMULATION_TOO_LARGE = "simulation_too_large"
    STATEMENT_NOT_FOUND = "statement_not_found"
    # polls
    POLL_NOT_FOUND = "poll_not_found"
    POLL_CLOSED = "poll_closed"
    INVALID_BALLOT = "invalid_ballot"
    # runs (the batch engine)
    EARLIER_RUN_UNFINISHED = "earlier_run_unfinished"
    RUN_CONFLICT = "run_conflict"
    RUN_CHUNK_FAILED = "run_chunk_failed"
    # euro
    WEBHOOK_NOT_CONFIGURED = "webhook_not_configured"
    INVALID_SIGNATURE = "invalid_signature"
    INVALID_EVENT = "invalid_event"
    UNSUPPORTED_CURRENCY = "unsupported_currency"
    EVENT_CONFLICT = "event_conflict"
    POCKET_NOT_FOUND = "pocket_not_found"
    POCKET_LIMIT_REACHED = "pocket_limit_reached"
    ALLOCATION_EXCEEDED = "allocation_exceeded"
    CAMPAIGN_NOT_FOUND = "campaign_not_found"
    CAMPAIGN_NOT_OPEN = "campaign_not_open"
    CAMPAIGN_NOT_CLOSED = "campaign_not_closed"
    CAMPAIGN_ALREADY_OPEN = "campaign_already_open"
    PLEDGE_NOT_FOUND = "pledge_not_found"
    PLEDGE_NOT_HELD = "pledge_not_held"
    EQUITY_PLEDGES_DISABLED = "equity_pledges_disabled"
    KYC_REQUIRED = "kyc_required"
    SETTLEMENT_NOT_FOUND = "settlement_not_found"


@runtime_checkable
class ErrorDatum(Protocol):
    """A value that knows how an error's ``data`` shows it (``saka.core.money.Cents``)."""

    def as_error_data(self) -> Any: ...


_ID_MAX = 2**63 - 1
_DROP = object()
# The payment provider's references: strings it chose ("evt_...", "pi_..."), not our ids.
PROVIDER_REFERENCES = frozenset({"event_id", "payment_id"})


def _as_id(value: Any) -> Any:
    if isinstance(value, bool):
        return _DROP
    if isinstance(value, int):
        return int(value) if 0 < value <= _ID_MAX else _DROP
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        return _as_id(int(value))
    return _DROP


def _datum(key: str, value: Any) -> Any:
    if isinstance(value, ErrorDatum):
        return value.as_error_data()
    if key in PROVIDER_REFERENCES:
        return value
    if key.endswith("_id") and value is not None:
        return _as_id(value)
    if key.endswith("_ids") and isinstance(value, list | tuple):
        return [i for i in map(_as_id, value) if i is not _DROP]
    if isinstance(value, dict):
        return error_data(value)
    return value


def error_data(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` in the API's vocabulary (see the module's docstring)."""
    out = {}
    for key, value in data.items():
        shown = _datum(str(key), value)
        if shown is not _DROP:
            out[key] = shown
    return out


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    code: ClassVar[ErrorCode] = ErrorCode.VALIDATION_ERROR
    http_status: ClassVar[int] = 400
    default_message: ClassVar[str] = "The request is not valid."

    def __init__(self, message: str | None = None, **data: Any) -> None:
        self.message = message or self.default_message
        self.data: dict[str, Any] = error_data(data)
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {"code": str(self.code), "message": self.message, "data": self.data}


class ValidationError(DomainError):
    code = ErrorCode.VALIDATION_ERROR
    http_status = 400
    default_message = "The request is not valid."


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND
    http_status = 404
    default_message = "Not found."


class InvalidAmount(DomainError):
    code = ErrorCode.INVALID_AMOUNT
    http_status = 400
    default_message = "The amount is not valid."


class LockTimeout(DomainError):
    """A row lock could not be taken in time; the caller may retry later."""

    code = ErrorCode.LOCK_TIMEOUT
    http_status = 503
    default_message = "The resource is busy, try again."


class MemberNotFound(DomainError):
    code = ErrorCode.MEMBER_NOT_FOUND
    http_status = 404
    default_message = "No such active member."


class NotAMember(DomainError):
    """The account is staff, a superuser or a service account (``saka.core.members``)."""

    code = ErrorCode.NOT_A_MEMBER
    http_status = 409
    default_message = "This account is an operator (staff or service) account, not a member."
