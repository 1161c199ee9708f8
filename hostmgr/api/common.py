"""Small helpers every integration handler uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from sanic import HTTPResponse, Request, json
from sanic_ext.extensions.openapi import openapi

from hostmgr.api import schemas
from hostmgr.api.validation import parse_body
from hostmgr.auth import Principal
from hostmgr.config import Settings

Model = TypeVar("Model", bound=BaseModel)
Handler = TypeVar("Handler", bound=Callable[..., Any])

ERROR_RESPONSES = {
    401: "Missing, invalid or expired token",
    403: "Role, ownership, suspension or IP allow-list refused the call",
    429: "Rate limit exceeded; see Retry-After",
}


def principal_of(request: Request) -> Principal:
    principal: Principal = request.ctx.principal
    return principal


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.ctx.settings
    return settings


def body_of(request: Request, model: type[Model]) -> Model:
    return parse_body(request, model, settings_of(request).max_body_bytes)


def success(status: int = 200, **fields: Any) -> HTTPResponse:
    return json({"status": "success", **fields}, status=status)


def document(
    summary: str,
    response: type[BaseModel],
    *,
    body: type[BaseModel] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
) -> Callable[[Handler], Handler]:
    """The OpenAPI definition of an integration endpoint.

    Models go in as components, described by pydantic's own JSON schema: exact
    (aliases included) and built once, not once per route.
    """
    ref = openapi.definitions.Component
    responses = [
        openapi.definitions.Response({"application/json": ref(response)}, status)
    ]
    for code in (*ERROR_RESPONSES, *errors):
        responses.append(
            openapi.definitions.Response(
                {"application/json": ref(schemas.ErrorBody)},
                code,
                ERROR_RESPONSES.get(code, "Error"),
            )
        )
    decorator: Callable[[Handler], Handler] = openapi.definition(
        summary=summary,
        tag="integration",
        secured={"token": []},
        body={"application/json": ref(body)} if body is not None else None,
        response=responses,
    )
    return decorator
