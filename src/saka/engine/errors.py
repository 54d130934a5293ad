"""Typed errors of the batch engine."""

from __future__ import annotations

from saka.core.errors import DomainError, ErrorCode


class EarlierRunUnfinished(DomainError):
    """A run of an earlier period of the same kind must finish first (it is resumed, never
    skipped: its members would otherwise never be paid)."""

    code = ErrorCode.EARLIER_RUN_UNFINISHED
    http_status = 409
    default_message = "An earlier run of this kind is unfinished: resume it first."


class RunConflict(DomainError):
    """Opening a run kept conflicting with concurrent writers (bounded retries ran out)."""

    code = ErrorCode.RUN_CONFLICT
    http_status = 409
    default_message = "The run could not be opened; try again."
