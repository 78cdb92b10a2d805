"""The one list of kinds. The API's request union and OpenAPI document, the state machine's branches,
the trigger rules' checks and the pipeline's dispatch are all read from it: a new kind is a module
beside this one and a line in KINDS."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Annotated, Any, Union

from pydantic import AfterValidator, Discriminator, Tag, TypeAdapter, ValidationError

from mediatasks.domain.errors import RequestRejected
from mediatasks.domain.requests import KindNames, TaskRequest, output_kind, rejection_from_validation
from mediatasks.kinds import (
    adaptive_video,
    animation,
    audio,
    chapters,
    description,
    export,
    image,
    ingest,
    nsfw,
    outline,
    probe,
    prompt,
    speech,
    subtitles,
    thumbnails,
    video,
)
from mediatasks.kinds.base import Family, Kind

KINDS: dict[str, Kind] = {
    module.KIND.name: module.KIND
    for module in (
        video,
        audio,
        image,
        animation,
        adaptive_video,
        probe,
        ingest,
        export,
        thumbnails,
        chapters,
        subtitles,
        speech,
        nsfw,
        outline,
        description,
        prompt,
    )
}
# The kinds a task may be that are not a Kind: a workflow is a tree of other kinds' tasks (workflow.py).
COMPOSITE_KINDS = ("workflow",)
# The contract's kinds that are not built yet: refused with kind_unsupported, never accepted.
PLANNED_KINDS: Mapping[str, Family] = {
    "conditions": Family.composition,
    "http": Family.composition,
}


def kind_of(name: str) -> Kind:
    """The kind a task or request names (by its name or an alias)."""
    for kind in KINDS.values():
        if name in kind.names:
            return kind
    raise KeyError(name)


def media_kinds() -> dict[str, Kind]:
    """The kinds ffmpeg makes a new file for."""
    return {name: kind for name, kind in KINDS.items() if kind.encoding is not None}


def kind_names() -> KindNames:
    return KindNames(
        implemented=tuple(name for kind in KINDS.values() for name in kind.names),
        planned=tuple(PLANNED_KINDS),
        composite=COMPOSITE_KINDS,
    )


def _tag(data: Any) -> Any:
    """The union's tag: the kind's own name for an alias (pydantic reports a tag it does not know
    as union_tag_invalid)."""
    name = output_kind(data) if isinstance(data, dict) else getattr(data, "kind", None)
    try:
        return kind_of(name).name if isinstance(name, str) else name
    except KeyError:
        return name


def _own_name(request: TaskRequest) -> TaskRequest:
    """An alias resolved once, at the request: the task is stored, branched on by the state
    machine and shown under its kind's own name (`summary` is a description task)."""
    name = kind_of(request.kind).name
    return request if request.kind == name else request.model_copy(update={"kind": name})


@cache
def request_union() -> Any:
    """`POST /tasks`' body: one request model per kind, told apart by `kind`."""
    # imported here: the workflow's steps are validated against this module's kinds
    from mediatasks.kinds.workflow import WorkflowTaskRequest

    members = (
        *(Annotated[kind.request, AfterValidator(_own_name), Tag(kind.name)] for kind in KINDS.values()),
        Annotated[WorkflowTaskRequest, Tag("workflow")],
    )
    return Annotated[Union[members], Discriminator(_tag)]  # noqa: UP007 - built from the registry


@cache
def _request_adapter() -> TypeAdapter[TaskRequest]:
    adapter: TypeAdapter[TaskRequest] = TypeAdapter(request_union())
    return adapter


def parse_request(body: Any) -> TaskRequest:
    """A create-task body (as JSON data) as its kind's request; raises RequestRejected."""
    try:
        return _request_adapter().validate_python(body)
    except ValidationError as error:
        raise rejection_from(error.errors()) from None


def rejection_from(errors: Sequence[Mapping[str, Any]]) -> RequestRejected:
    """The one error to tell a caller about a request that failed validation."""
    return rejection_from_validation(errors, kind_names())
