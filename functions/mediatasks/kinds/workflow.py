"""workflow: one input, a tree of steps. A step is a task of a kind in the registry, written as the
vendor's SDK types it: `{kind, ref?, next?: [step, ...], <the kind's options>}` (options at the
step's top level or under `options`), or `{kind: "conditions", conditions: [{prop, value}], next}`.
The whole tree is validated when the task is created, each step against its kind's options model;
an error names the step's path (`workflow[2].next[0].width`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from mediatasks.domain.conditions import CONDITIONS, ConditionInvalid, parse_condition
from mediatasks.domain.errors import ErrorKind
from mediatasks.domain.requests import NoOptions, Ref, TaskRequest, rejection_from_validation
from mediatasks.domain.tasks import HTTP
from mediatasks.kinds.base import Output
from mediatasks.kinds.registry import KINDS, PLANNED_KINDS, kind_names, kind_of

# Each step is a nested execution (and a child task): the bounds keep a workflow's cost, its
# parent's record and its state machine's payloads (256 KiB) small.
MAX_STEPS = 25
MAX_DEPTH = 4
MAX_CONDITIONS = 10

MAX_URL_LENGTH = 2048
# the request fields of a step; any other key is one of its kind's options
_STEP_FIELDS = ("kind", "ref", "next", "options", "conditions")
# the kinds a step may be: those that make a file, which a later step can read
STEP_KINDS = tuple(name for name, kind in KINDS.items() if kind.output is Output.made_file)


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prop: str = Field(description="A fact of the input File: duration, width, height, filesize, ...")
    value: str | float | int | bool = Field(
        description='An exact match, or a comparison written into it: ">60", "<=1080", "!=audio"'
    )


class WorkflowStep(BaseModel):
    """A step as stored: its options validated by its kind and gathered under `options`."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description=f"One of: {', '.join((*STEP_KINDS, CONDITIONS, HTTP))}")
    ref: Ref | None = Field(default=None, description="Names the step's output in the workflow's output")
    options: dict[str, Any] = Field(default_factory=dict, description="The kind's options")
    conditions: list[Condition] | None = Field(
        default=None, description="A conditions step's conditions: its next runs when every one passed"
    )
    next: list[WorkflowStep] = Field(
        default_factory=list, description="Steps run after this one succeeds, on its output"
    )


@dataclass
class _Walk:
    """What validating a workflow has seen so far: the steps counted and the refs used."""

    steps: int = 0
    refs: set[str] = field(default_factory=set)


def _refused(kind: ErrorKind, path: str, message: str) -> PydanticCustomError:
    # the path is carried whole: the request's own error mapping cannot tell list positions apart
    return PydanticCustomError(
        "workflow_step", "{message}", {"kind": kind.value, "field": path, "message": message}
    )


def normalized_workflow(raw: Any) -> list[dict[str, Any]]:
    """The workflow's steps in their stored form; raises a `workflow_step` error naming the step."""
    return _steps(raw, "workflow", 1, _Walk())


def _steps(raw: Any, path: str, depth: int, walk: _Walk) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise _refused(ErrorKind.invalid_option, path, f"{path} must be a non-empty list of steps")
    if depth > MAX_DEPTH:
        raise _refused(ErrorKind.invalid_option, path, f"{path}: a workflow nests at most {MAX_DEPTH} levels")
    return [_step(item, f"{path}[{position}]", depth, walk) for position, item in enumerate(raw)]


def _step(raw: Any, path: str, depth: int, walk: _Walk) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _refused(ErrorKind.invalid_option, path, f"{path} must be a step object")
    walk.steps += 1
    if walk.steps > MAX_STEPS:
        raise _refused(ErrorKind.invalid_option, path, f"{path}: a workflow has at most {MAX_STEPS} steps")
    step: dict[str, Any] = {"kind": _step_kind(raw.get("kind"), f"{path}.kind")}
    if raw.get("ref") is not None:
        step["ref"] = _ref(raw["ref"], f"{path}.ref", walk)
    flat = {name: value for name, value in raw.items() if name not in _STEP_FIELDS}
    if step["kind"] == CONDITIONS:
        for name in (*flat, *(["options"] if "options" in raw else [])):
            raise _refused(ErrorKind.invalid_option, f"{path}.{name}", f"unknown field {path}.{name}")
        step["conditions"] = _conditions(raw.get("conditions"), f"{path}.conditions")
    elif step["kind"] == HTTP:
        given = raw.get("options")
        step["options"] = {"url": _http_url({**(given if isinstance(given, dict) else {}), **flat}, path)}
    else:
        if "conditions" in raw:
            field_path = f"{path}.conditions"
            raise _refused(
                ErrorKind.invalid_option, field_path, f"{field_path}: only a conditions step has them"
            )
        step["options"] = _options(step["kind"], raw.get("options"), flat, path)
    if raw.get("next") is not None:
        step["next"] = _steps(raw["next"], f"{path}.next", depth + 1, walk)
    return step


def _http_url(options: Mapping[str, Any], path: str) -> str:
    """An http step's one option: where it POSTs (the address is checked when the task is created,
    and again after DNS on every delivery)."""
    for name in options:
        if name != "url":
            raise _refused(ErrorKind.invalid_option, f"{path}.{name}", f"unknown field {path}.{name}")
    url = options.get("url")
    parts = urlsplit(url) if isinstance(url, str) and len(url) <= MAX_URL_LENGTH else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refused(
            ErrorKind.invalid_option, f"{path}.url", f"{path}.url must be an http(s) URL with a host"
        )
    return str(url)


def _step_kind(name: Any, path: str) -> str:
    if name in (CONDITIONS, HTTP):
        return str(name)
    if not isinstance(name, str):
        raise _refused(ErrorKind.invalid_option, path, f"{path} is required: one of {', '.join(STEP_KINDS)}")
    try:
        kind = kind_of(name).name
    except KeyError:
        supported = ", ".join((*STEP_KINDS, CONDITIONS, HTTP))
        known = "is not supported yet" if name in PLANNED_KINDS else "is not a kind"
        raise _refused(
            ErrorKind.kind_unsupported, path, f"{path}: {name!r} {known}; steps: {supported}"
        ) from None
    if kind not in STEP_KINDS:
        raise _refused(
            ErrorKind.kind_unsupported,
            path,
            f"{path}: {name!r} makes no file a later step could read; steps: {', '.join(STEP_KINDS)}",
        )
    return kind


def _ref(value: Any, path: str, walk: _Walk) -> str:
    try:
        ref = _REF.validate_python(value)
    except ValidationError:
        raise _refused(
            ErrorKind.invalid_option, path, f"{path}: up to 64 letters, digits, . _ or -"
        ) from None
    if ref in walk.refs:
        raise _refused(ErrorKind.invalid_option, path, f"{path}: ref {ref!r} names another step already")
    walk.refs.add(ref)
    return ref


_REF: TypeAdapter[str] = TypeAdapter(Ref)


def _options(kind_name: str, options: Any, flat: Mapping[str, Any], path: str) -> dict[str, Any]:
    if options is not None and not isinstance(options, dict):
        raise _refused(ErrorKind.invalid_option, f"{path}.options", f"{path}.options must be an object")
    given = dict(options or {})
    for name, value in flat.items():
        if name in given:
            raise _refused(ErrorKind.invalid_option, f"{path}.{name}", f"{path}.{name} is given twice")
        given[name] = value
    model = KINDS[kind_name].options
    try:
        validated = model.model_validate(given)
    except ValidationError as error:
        # the kind's own error, classified as for a task of the kind, at the step's path
        errors = [{**detail, "loc": ("options", *detail["loc"])} for detail in error.errors()]
        rejection = rejection_from_validation(errors, kind_names())
        inner = (rejection.field or "options").removeprefix("options").removeprefix(".")
        step_field = f"{path}.{inner}" if inner else path
        message = rejection.message.replace(rejection.field or "options", step_field, 1)
        if step_field not in message:
            message = f"{step_field}: {message}"
        raise _refused(rejection.kind, step_field, message) from None
    return validated.model_dump(mode="json", exclude_unset=True)


def _conditions(raw: Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw or len(raw) > MAX_CONDITIONS:
        raise _refused(
            ErrorKind.invalid_option, path, f"{path} must list 1 to {MAX_CONDITIONS} {{prop, value}}"
        )
    checked = []
    for position, item in enumerate(raw):
        item_path = f"{path}[{position}]"
        try:
            condition = Condition.model_validate(item)
            parse_condition(condition.prop, condition.value)
        except ValidationError as error:
            detail = error.errors()[0]
            where = ".".join([item_path, *(str(part) for part in detail["loc"][:1])])
            raise _refused(ErrorKind.invalid_option, where, f"{where}: {detail['msg']}") from None
        except ConditionInvalid as invalid:
            where = f"{item_path}.{invalid.field}"
            raise _refused(ErrorKind.invalid_option, where, f"{where}: {invalid}") from None
        checked.append(condition.model_dump(mode="json"))
    return checked


class WorkflowTaskRequest(TaskRequest):
    kind: Literal["workflow"]
    options: NoOptions = Field(default_factory=NoOptions)
    workflow: list[WorkflowStep] = Field(
        description=f"The steps run on the input (in parallel); at most {MAX_STEPS}, nested {MAX_DEPTH} deep"
    )

    @field_validator("workflow", mode="before")
    @classmethod
    def _validated_steps(cls, value: Any) -> Any:
        return normalized_workflow(value)

    @field_validator("output")
    @classmethod
    def _no_destination(cls, value: str | None) -> str | None:
        if value is not None:
            raise PydanticCustomError("invalid_output", "a workflow's steps write to managed storage")
        return value
