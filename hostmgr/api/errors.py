"""The one JSON error shape, for every error the server answers."""

from __future__ import annotations

import logging
from typing import Any

from sanic import HTTPResponse, Request, json
from sanic.exceptions import SanicException
from sanic.handlers import ErrorHandler

from hostmgr.errors import ApiError, ValidationFailed

logger = logging.getLogger(__name__)


def error_response(
    status: int,
    message: str,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> HTTPResponse:
    body: dict[str, Any] = {"status": "error", "message": message}
    if errors is not None:
        body["errors"] = errors
    return json(body, status=status, headers=headers)


class JsonErrorHandler(ErrorHandler):
    """Answers every error as JSON; a client never sees a stack trace."""

    def default(self, request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, ValidationFailed):
            return error_response(
                exception.status_code, exception.message, exception.errors
            )
        if isinstance(exception, ApiError):
            return error_response(
                exception.status_code, exception.message, headers=exception.headers
            )
        if isinstance(exception, SanicException) and exception.status_code < 500:
            # Routing and protocol errors: 404, 405, 413 and the like.
            message = str(exception) or "Request could not be handled"
            if exception.status_code == 404:
                message = "Not found"
            return error_response(exception.status_code, message)
        logger.exception(
            "unhandled error on %s %s", request.method, request.path, exc_info=exception
        )
        return error_response(500, "Internal server error")
