from saka.core.errors import DomainError, ErrorCode


class ProjectNotFound(DomainError):
    code = ErrorCode.PROJECT_NOT_FOUND
    http_status = 404
    default_message = "No such project."
