"""Error pages for panel paths: HTML for pages, the JSON shape for ``.json``.

What a visitor sees is the error's own client-safe message, never a stack
trace; anything unexpected is logged and shown as a plain 500 page.
"""

from __future__ import annotations

import logging

from sanic import HTTPResponse, Request
from sanic.exceptions import SanicException

from hostmgr.api.errors import error_response
from hostmgr.errors import ApiError, RateLimited
from hostmgr.panel import auth
from hostmgr.panel.pages import render

logger = logging.getLogger(__name__)

TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed",
    409: "Busy",
    413: "Too large",
    422: "Not valid",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def _describe(request: Request, exception: Exception) -> tuple[int, str]:
    if isinstance(exception, RateLimited):
        minutes = max(1, round(exception.retry_after / 60))
        return 429, f"Too many attempts. Try again in {minutes} minute(s)."
    if isinstance(exception, ApiError) and exception.status_code < 600:
        return exception.status_code, exception.message
    if isinstance(exception, SanicException) and exception.status_code < 500:
        if exception.status_code == 404:
            return 404, "There is no page at this address."
        return exception.status_code, str(exception) or "The request was refused."
    logger.exception(
        "unhandled panel error on %s %s",
        request.method,
        request.path,
        exc_info=exception,
    )
    return 500, "The panel could not finish this request. Try again in a moment."


def handle_error(request: Request, exception: Exception) -> HTTPResponse:
    status, message = _describe(request, exception)
    headers = exception.headers if isinstance(exception, ApiError) else None
    if request.path.endswith(".json"):
        return error_response(status, message, headers=headers)
    if status == 401:
        back = request.path if request.method == "GET" else "/"
        return auth.login_page(
            request, status=401, heading="Not signed in", next_path=back
        )
    response = render(
        request,
        "error.html",
        title=TITLES.get(status, "Error"),
        status=status,
        message=message,
    )
    if headers:
        response.headers.update(headers)
    return response
