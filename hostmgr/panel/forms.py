"""Reading panel forms into validated models, with errors per field."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, TypeVar

from pydantic import BaseModel, Field, ValidationError
from sanic import Request

from hostmgr.api.schemas import RequestBody
from hostmgr.api.validation import field_errors
from hostmgr.errors import ValidationFailed

Model = TypeVar("Model", bound=BaseModel)


class PackageForm(RequestBody):
    """The same bounds as ``hostmgr package create``."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    cpu_cores: Annotated[float, Field(ge=0.01, le=256)]
    ram_gb: Annotated[float, Field(ge=0.03, le=4096)]
    disk_gb: Annotated[int, Field(ge=1, le=65536)]


def form_value(request: Request, name: str) -> str:
    """The submitted text of one field, stripped; empty when missing."""
    form = request.form
    if form is None:
        return ""
    return str(form.get(name) or "").strip()


def values_of(request: Request, fields: Iterable[str]) -> dict[str, str]:
    """The submitted text of ``fields``, stripped; missing ones are empty."""
    return {name: form_value(request, name) for name in fields}


def parse_form(
    model: type[Model], values: dict[str, str], *, blank_is_none: Iterable[str] = ()
) -> Model:
    """Validate ``values``; a blank field is left out, or None if in ``blank_is_none``.

    Raises ValidationFailed with one list of messages per field.
    """
    keep_none = set(blank_is_none)
    data: dict[str, object] = {}
    for name, value in values.items():
        if value:
            data[name] = value
        elif name in keep_none:
            data[name] = None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc)) from None
