"""A kind's command-line flags, made from its options model: one definition of every option, its
allowed values (a Literal becomes a choice listed in --help), its default and its description."""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import click
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from mediatasks.kinds.registry import rejection_from


def _members(annotation: Any) -> Iterator[Any]:
    """The plain types and Literals a field's annotation allows (unions and Annotated unwrapped)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        yield from _members(get_args(annotation)[0])
    elif origin in (Union, types.UnionType):
        for member in get_args(annotation):
            yield from _members(member)
    elif annotation is not type(None):
        yield annotation


def _description(field: FieldInfo) -> str | None:
    """The field's description, or the one its annotated type carries (e.g. Dimension's)."""
    if field.description:
        return field.description
    pending = [field.annotation]
    while pending:
        annotation = pending.pop()
        if get_origin(annotation) is Annotated:
            _, *metadata = get_args(annotation)
            for item in metadata:
                if isinstance(item, FieldInfo) and item.description:
                    return item.description
        pending.extend(get_args(annotation))
    return None


def _param_type(field: FieldInfo) -> click.ParamType[Any]:
    members = list(_members(field.annotation))
    if all(get_origin(member) is Literal for member in members):
        return click.Choice([str(value) for member in members for value in get_args(member)])
    if members == [int]:
        return click.INT
    if set(members) <= {int, float}:
        return click.FLOAT
    return click.STRING  # the options model parses it (e.g. 640 or "50%" for a width)


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def option_flags(model: type[BaseModel]) -> list[click.Option]:
    """One flag per field of the options model. Flags default to unset, so the model's own defaults
    (shown in the help) apply and only what the caller gave is sent."""
    flags = []
    for name, field in model.model_fields.items():
        help_text = _description(field) or ""
        if field.default is not PydanticUndefined and field.default is not None:
            help_text += f"  [default: {field.default}]"
        elif field.is_required():
            help_text += "  [required]"
        flags.append(
            click.Option(
                [flag_name(name), f"option_{name}"],
                type=_param_type(field),
                default=None,
                help=help_text.strip(),
            )
        )
    return flags


def given_options(values: Mapping[str, Any]) -> dict[str, Any]:
    """The option values the caller gave, by field name, from a command's parameters."""
    return {
        name.removeprefix("option_"): value
        for name, value in values.items()
        if name.startswith("option_") and value is not None
    }


def parse_options(model: type[BaseModel], given: Mapping[str, Any]) -> BaseModel:
    """The options, validated as the API validates them; raises RequestRejected (as the API would)."""
    try:
        return model.model_validate(dict(given))
    except ValidationError as error:
        located = [{**detail, "loc": ("options", *detail["loc"])} for detail in error.errors()]
        raise rejection_from(located) from None


def options_body(options: BaseModel) -> dict[str, Any]:
    """The options as the request's JSON: what the caller set, in the model's types."""
    body: dict[str, Any] = options.model_dump(mode="json", exclude_unset=True)
    return body
