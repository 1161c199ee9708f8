"""Every error hostmgr raises on purpose.

HostmgrError
├── ConfigError            a setting is missing or has a bad value
├── SchemaError            the database schema is behind the code
└── ApiError               answered to a client in the one JSON error shape
    ├── BadRequest           400: the request cannot be understood
    ├── Unauthenticated      401: no token, or a bad or expired one
    ├── Forbidden            403: role, ownership, IP allow-list or suspension
    ├── NotFound             404: no such resource, or not one the caller may see
    ├── Conflict             409: the resource is in a state that forbids this
    ├── PayloadTooLarge      413: the body is over the server's hard limit
    ├── ValidationFailed     422: the body broke one or more field rules
    ├── RateLimited          429: too many requests for this token
    └── ServiceUnavailable   503: a backend (engine, proxy) is down

The ``message`` of an ApiError is what the client sees; it never carries secrets
or internal detail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class HostmgrError(Exception):
    """Root of every error hostmgr raises on purpose."""


class ConfigError(HostmgrError):
    """A setting is missing or has a bad value."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"config {key}: {problem}")
        self.key = key


class SchemaError(HostmgrError):
    """The database schema is behind the code."""


class ApiError(HostmgrError):
    """An error answered to an API client."""

    status_code = 500
    default_message = "Internal server error"

    def __init__(
        self, message: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> None:
        self.message = message or self.default_message
        self.headers = dict(headers or {})
        super().__init__(self.message)


class BadRequest(ApiError):
    """The request cannot be understood."""

    status_code = 400
    default_message = "Bad request"


class Unauthenticated(ApiError):
    """No token was sent, or it is unknown, revoked or expired."""

    status_code = 401
    default_message = "Unauthenticated"


class Forbidden(ApiError):
    """The caller is known but may not do this."""

    status_code = 403
    default_message = "This action is unauthorized"


class NotFound(ApiError):
    """No such resource, or none the caller may see."""

    status_code = 404
    default_message = "Not found"


class Conflict(ApiError):
    """The resource is in a state that forbids this action."""

    status_code = 409
    default_message = "Conflict"


class PayloadTooLarge(ApiError):
    """The body is over the server's hard size limit."""

    status_code = 413
    default_message = "Request body too large"


class ValidationFailed(ApiError):
    """One or more fields broke their rules."""

    status_code = 422
    default_message = "The given data was invalid"

    def __init__(
        self, errors: Mapping[str, Sequence[str]], message: str | None = None
    ) -> None:
        super().__init__(message)
        self.errors = {field: list(problems) for field, problems in errors.items()}


class RateLimited(ApiError):
    """Too many requests for this token in the current window."""

    status_code = 429
    default_message = "Too many requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class ServiceUnavailable(ApiError):
    """A backend the request needs is down."""

    status_code = 503
    default_message = "Service unavailable"
