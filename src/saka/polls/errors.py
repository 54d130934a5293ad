from saka.core.errors import DomainError, ErrorCode


class PollNotFound(DomainError):
    code = ErrorCode.POLL_NOT_FOUND
    http_status = 404
    default_message = "No such poll."


class PollClosed(DomainError):
    code = ErrorCode.POLL_CLOSED
    http_status = 409
    default_message = "This poll is not open for votes."


class InvalidBallot(DomainError):
    code = ErrorCode.INVALID_BALLOT
    http_status = 400
    default_message = "This ballot is not valid for this poll."
