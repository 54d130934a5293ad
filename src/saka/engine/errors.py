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


class ChunkFailed(DomainError):
    """A chunk's statement was refused by the database (a constraint or a value out of range)
    that its run kind did not turn into its own typed error. The chunk's transaction rolled
    back and its lease was given up: the run is interrupted with this error and resumes from
    the chunk once the cause is fixed. Never retried in a loop (it would fail the same way)."""

    code = ErrorCode.RUN_CHUNK_FAILED
    http_status = 409
    default_message = "A chunk of the run was refused by the database; the run is interrupted."
