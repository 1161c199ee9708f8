"""Turning a request body into a validated model, or a 422 with per-field errors."""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sanic import Request

from hostmgr.errors import ValidationFailed

Model = TypeVar("Model", bound=BaseModel)


def field_errors(exc: ValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in error["loc"]) or "body"
        message = error["msg"]
        if error["type"] == "missing":
            message = f"The {field} field is required."
        errors.setdefault(field, []).append(message.removeprefix("Value error, "))
    return errors


def parse_body(request: Request, model: type[Model], max_bytes: int) -> Model:
    """Validate the JSON object in the body against ``model``.

    An empty body counts as ``{}``, so optional-only models accept a bare POST.
    """
    raw = request.body or b""
    if len(raw) > max_bytes:
        raise ValidationFailed(
            {"body": [f"The body may not be larger than {max_bytes} bytes."]}
        )
    if not raw.strip():
        data: object = {}
    else:
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ValidationFailed({"body": ["The body must be valid JSON."]}) from None
    if not isinstance(data, dict):
        raise ValidationFailed({"body": ["The body must be a JSON object."]})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc)) from None
