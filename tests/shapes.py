"""Exact shape checks: the keys and JSON types of a body against a response model."""

from __future__ import annotations

import types
import typing
from typing import Any, Literal

from pydantic import BaseModel

_JSON_TYPES: dict[type, tuple[type, ...]] = {
    str: (str,),
    int: (int,),
    float: (float, int),
    bool: (bool,),
}


def _check(value: Any, annotation: Any, where: str) -> None:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return
        (inner,) = [option for option in options if option is not type(None)]
        _check(value, inner, where)
    elif origin is Literal:
        assert value in typing.get_args(annotation), f"{where}: {value!r}"
    elif origin is list:
        assert isinstance(value, list), f"{where}: expected a list, got {value!r}"
        (inner,) = typing.get_args(annotation)
        for index, item in enumerate(value):
            _check(item, inner, f"{where}[{index}]")
    elif origin is dict:
        assert isinstance(value, dict), f"{where}: expected an object"
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        assert_shape(value, annotation, where)
    else:
        allowed = _JSON_TYPES[annotation]
        is_bool = isinstance(value, bool) and annotation is not bool
        assert isinstance(value, allowed) and not is_bool, (
            f"{where}: expected {annotation.__name__}, got {value!r}"
        )


def assert_shape(body: Any, model: type[BaseModel], where: str = "body") -> None:
    """Fail unless ``body`` has exactly the model's keys, each of its type."""
    assert isinstance(body, dict), f"{where}: expected an object, got {body!r}"
    fields = {
        (info.alias or name): info.annotation
        for name, info in model.model_fields.items()
    }
    assert set(body) == set(fields), f"{where}: keys {sorted(body)} != {sorted(fields)}"
    for key, annotation in fields.items():
        _check(body[key], annotation, f"{where}.{key}")
