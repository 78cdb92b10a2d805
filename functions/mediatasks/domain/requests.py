"""The create-task request every kind's request extends, the request forms of the older API versions
it also reads, and how validation errors become the SPEC's error kinds."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from mediatasks.constants import FILES_PREFIX, UPLOADS_PREFIX
from mediatasks.domain.errors import ErrorKind, RequestRejected

INPUT_SCHEMES = ("http", "https", "s3")

FileId = Annotated[str, StringConstraints(pattern=r"^file_[A-Za-z0-9_-]{8,64}$")]
MediaId = Annotated[str, StringConstraints(pattern=r"^med_[A-Za-z0-9_-]{8,64}$")]
Filename = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
Folder = Annotated[str, StringConstraints(max_length=256, pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+){0,7}$")]
Ref = Annotated[str, StringConstraints(max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _no_control_characters(value: str) -> str:
    if _CONTROL_CHARACTER.search(value):
        raise PydanticCustomError("control_character", "may not contain control characters (NUL, newlines)")
    return value


MetadataKey = Annotated[
    str, StringConstraints(min_length=1, max_length=64), AfterValidator(_no_control_characters)
]


def _storable_number(value: float) -> float:
    """A number DynamoDB can hold (38 significant digits, magnitude 1e-130 to 1e126): anything
    else would be refused by the table after the request was accepted."""
    too_many_digits = isinstance(value, int) and len(str(abs(value))) > 38
    if too_many_digits or (value != 0 and not 1e-130 <= abs(value) < 1e126):
        raise ValueError("a metadata number must have at most 38 digits and a magnitude of 1e-130 to 1e125")
    return value


MetadataValue = (
    Annotated[str, StringConstraints(max_length=1024)]
    | Annotated[int, AfterValidator(_storable_number)]
    | Annotated[float, AfterValidator(_storable_number)]
    | bool
    | None
)


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, key) of an `s3://bucket/key` URL; raises ValueError when either part is missing
    or the key has control characters (they would fail only when the object is written).
    The key is taken verbatim, as the AWS CLI does: `?`, `#`, `%` and spaces are part of it."""
    bucket, _, key = url.removeprefix("s3://").partition("/")
    if not url.startswith("s3://") or not _BUCKET_NAME.match(bucket) or not key:
        raise ValueError("must look like s3://bucket/key")
    if _CONTROL_CHARACTER.search(key):
        raise ValueError("may not have control characters (NUL, newlines) in its key")
    return bucket, key


_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class InputBuckets:
    """Where a project's s3:// inputs may come from: the buckets ops allowed, the project's own
    published files and uploads, and the watched bucket's prefixes whose trigger rules belong to
    the project."""

    media_bucket: str
    allowed: tuple[str, ...] = ()
    trigger_bucket: str = ""
    trigger_prefixes: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def allows(self, url: str, project_id: str) -> bool:
        bucket, key = parse_s3_url(url)
        if bucket in self.allowed:
            return True
        if bucket == self.media_bucket:
            return key.startswith((f"{FILES_PREFIX}{project_id}/", f"{UPLOADS_PREFIX}{project_id}/"))
        return bucket == self.trigger_bucket and any(
            key.startswith(prefix) for prefix in self.trigger_prefixes.get(project_id, ())
        )


def _check_input_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in INPUT_SCHEMES:
        raise PydanticCustomError("invalid_input", "input must be an http://, https:// or s3:// URL")
    if parts.scheme == "s3":
        try:
            parse_s3_url(url)
        except ValueError:
            raise PydanticCustomError("invalid_input", "an s3 input must look like s3://bucket/key") from None
        return url
    try:
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        host = None
    if not host or parts.username or parts.password:
        raise PydanticCustomError(
            "invalid_input", "input must be an absolute URL with a host and no credentials"
        )
    return url


def _one_input_source(data: dict[str, Any]) -> dict[str, Any]:
    """Exactly one input: `input` (a URL, a file id, or a File object from an earlier task), its
    alias `url`, `file_id` (a file an earlier task stored) or `media_id` (a media's original)."""
    data = dict(data)
    source = data.get("input")
    if isinstance(source, dict):  # seed 000 composition: an earlier task's File object
        if not isinstance(source.get("url"), str):
            raise PydanticCustomError("invalid_input", "an input object must carry the file's url")
        data["input"] = source["url"]
        if isinstance(source.get("id"), str) and _FILE_ID.match(source["id"]):
            data["input_file_ref"] = source["id"]
    elif isinstance(source, str) and _FILE_ID.match(source) and data.get("file_id") is None:
        data["file_id"] = data.pop("input")  # seed 004: the input is the id of a stored file
    given = [name for name in ("input", "url", "file_id", "media_id") if data.get(name) not in (None, "")]
    if len(given) > 1:
        raise PydanticCustomError(
            "invalid_input", "give the input once: one of input, url, file_id or media_id"
        )
    if not given:
        raise PydanticCustomError("input_required", "input is required: the URL of the file to process")
    if given == ["url"]:
        data["input"] = data.pop("url")
    data.pop("url", None)
    return data


_FILE_ID = re.compile(r"^file_[A-Za-z0-9_-]{8,64}$")
# What seed 004's `output` object may name besides the kind and its options.
_NAMING_FIELDS = ("filename", "folder", "ref")


def output_kind(data: Mapping[str, Any]) -> Any:
    """The kind a request names: `kind`, or seed 004's `output.kind`."""
    output = data.get("output")
    if data.get("kind") is None and isinstance(output, dict):
        return output.get("kind")
    return data.get("kind")


def _unfold_output_object(data: dict[str, Any]) -> dict[str, Any]:
    """Seed 004's `output: {kind, filename, width, ...}` as this API's kind, naming and options."""
    output = data.get("output")
    if not isinstance(output, dict):
        return data
    data, output = dict(data), dict(output)
    del data["output"]
    kind = output.pop("kind", None)
    if kind is not None and data.setdefault("kind", kind) != kind:
        raise PydanticCustomError("conflicting_field", "kind and output.kind differ", {"field": "kind"})
    for name in _NAMING_FIELDS:
        if name in output:
            if data.get(name) not in (None, output[name]):
                raise PydanticCustomError("conflicting_field", "{field} is given twice", {"field": name})
            data[name] = output.pop(name)
    data.update(_merge_options(data, output))
    return data


def _merge_options(data: Mapping[str, Any], flat: Mapping[str, Any]) -> dict[str, Any]:
    """`options` with `flat` options added; an option given both ways is refused."""
    options = data.get("options")
    if flat and options is not None and not isinstance(options, dict):
        return {}  # the options field reports its own type error
    merged = dict(options or {})
    for name, value in flat.items():
        if name in merged:
            raise PydanticCustomError("conflicting_field", "{field} is given twice", {"field": name})
        merged[name] = value
    return {"options": merged} if flat else {}


class TaskRequest(BaseModel):
    """POST /tasks (seed 001): one input, a kind with its options, an optional destination. Each
    kind's request (kinds/) narrows `kind` and `options`."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    options: BaseModel

    input: str | None = Field(
        default=None, max_length=4096, description="Source URL: http://, https:// or s3://"
    )
    file_id: FileId | None = Field(
        default=None, description="A file an earlier task stored, instead of input"
    )
    media_id: MediaId | None = Field(default=None, description="A media: its original file, instead of input")
    # The id of the File object given as `input`: when it names a file the project stored, the task
    # reads our copy rather than fetching its link (a probe's File describes a URL we hold no copy of).
    input_file_ref: SkipJsonSchema[FileId | None] = None
    output: str | None = Field(
        default=None, max_length=1024, description="Destination s3://bucket/key instead of managed storage"
    )
    metadata: dict[MetadataKey, MetadataValue] = Field(default_factory=dict, max_length=50)
    webhook_url: str | None = Field(
        default=None,
        max_length=2048,
        description="https URL sent the task, signed, when it ends (see the README's Webhooks)",
    )
    filename: Filename | None = Field(default=None, description="Name of the output file in managed storage")
    folder: Folder | None = Field(default=None, description="Folder of the output file in managed storage")
    ref: Ref | None = Field(default=None, description="Your label for the output file, echoed on it")

    @model_validator(mode="before")
    @classmethod
    def _seed_forms(cls, data: Any) -> Any:
        """Every seed's request form as this one: seed 004's output object and file-id input, and
        seed 002's options at the top level (any key that is not a request field but an option)."""
        if not isinstance(data, dict):
            return data
        data = _one_input_source(_unfold_output_object(data))
        option_fields = cls.model_fields["options"].annotation
        if isinstance(option_fields, type) and issubclass(option_fields, BaseModel):
            flat = {
                name: data[name]
                for name in option_fields.model_fields
                if name in data and name not in cls.model_fields
            }
            data = {name: value for name, value in data.items() if name not in flat}
            data |= _merge_options(data, flat)
        return data

    @property
    def destination(self) -> str | None:
        """Where the result goes instead of managed storage."""
        return self.output

    # the request field that names the destination, for errors about it
    destination_field: ClassVar[str] = "output"

    @field_validator("input")
    @classmethod
    def _input_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_input_url(value)

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            # http is for loopback receivers under the local flag only, which the service checks
            if (
                parts.scheme not in ("https", "http")
                or not parts.hostname
                or parts.username
                or parts.password
            ):
                raise PydanticCustomError(
                    "invalid_webhook", "webhook_url must be an https:// URL with a host"
                )
        return value

    @field_validator("output")
    @classmethod
    def _output_url(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_s3_url(value)
            except ValueError as error:
                raise PydanticCustomError("invalid_output", f"output {error}") from None
        return value


# When a request has several faults, the one reported is the first in this order.
_KIND_PRIORITY = (
    "invalid_json",
    "kind_unsupported",
    "input_required",
    "invalid_input",
    "invalid_format",
    "invalid_codec",
    "invalid_option",
)
# Errors raised by a model validator point at the model; these name the field they are about.
_FIELD_OF_MODEL_ERROR = {
    "invalid_codec": "codec",
    "background_needs_contain": "background",
    "end_before_start": "end",
    "bitrate_not_applicable": "bitrate",
    "probe_writes_nothing": "output",
    "animation_too_long": "end",
    "export_output": "output",
}


@dataclass(frozen=True)
class KindNames:
    """The kinds a request may name (the registry's), for telling a bad kind apart."""

    implemented: tuple[str, ...]
    planned: tuple[str, ...]
    # kinds whose tasks are made of other kinds' tasks (a workflow)
    composite: tuple[str, ...] = ()

    def unsupported(self, kind: Any) -> str:
        supported = ", ".join((*self.implemented, *self.composite))
        if kind in self.planned:
            return f"kind {kind!r} is not supported yet; supported kinds: {supported}"
        return f"unknown kind {kind!r}; supported kinds: {supported}"


def _field_path(loc: Sequence[Any], kinds: KindNames) -> str | None:
    # Powertools prefixes where the value came from (and the query model's parameter name); the
    # request union adds the kind's tag
    names = [str(part) for part in loc if isinstance(part, str) and part not in ("body", "query", "params")]
    if names and (names[0] in (*kinds.implemented, *kinds.composite)):
        names = names[1:]
    # pydantic adds union branch tags ("int", "constrained-str", "function-after[...]") to the path
    fields = [n for n in names if n.isidentifier() or n.replace("_", "").isalnum()]
    return ".".join(fields) or None


def _classify(error: Mapping[str, Any], kinds: KindNames) -> tuple[ErrorKind, str | None, str]:
    error_type = error.get("type", "")
    context = error.get("ctx") or {}
    field = _field_path(tuple(error.get("loc", ())), kinds)
    message = str(error.get("msg", "invalid value"))
    if error_type in ("json_invalid", "model_attributes_type", "dict_type") and field is None:
        return ErrorKind.invalid_json, None, "the request body must be a JSON object"
    if error_type == "connections_unsupported":
        return ErrorKind.invalid_option, field, message
    if error_type == "workflow_step":  # a workflow's step, already classified at its path
        return ErrorKind(context["kind"]), str(context["field"]), str(context["message"])
    if error_type == "conflicting_field":
        return ErrorKind.invalid_option, str(context.get("field")), message
    if error_type == "union_tag_not_found":
        if not isinstance(error.get("input"), dict):
            return ErrorKind.invalid_json, None, "the request body must be a JSON object"
        return ErrorKind.invalid_option, "kind", "kind is required: " + ", ".join(kinds.implemented)
    if error_type == "union_tag_invalid":
        return ErrorKind.kind_unsupported, "kind", kinds.unsupported(context.get("tag"))
    if error_type == "invalid_webhook":
        return ErrorKind.invalid_option, "webhook_url", message
    if error_type in ("kind_unsupported", "input_required", "invalid_input", "invalid_codec"):
        if error_type in _FIELD_OF_MODEL_ERROR:
            field = (
                f"{field}.{_FIELD_OF_MODEL_ERROR[error_type]}" if field else _FIELD_OF_MODEL_ERROR[error_type]
            )
        default_field = {"kind_unsupported": "kind", "input_required": "input", "invalid_input": "input"}
        return ErrorKind(error_type), field or default_field.get(error_type), message
    if error_type == "missing" and field == "input":
        return ErrorKind.input_required, field, "input is required: the URL of the file to process"
    if field == "input":
        return ErrorKind.invalid_input, field, "input must be a URL string: http://, https:// or s3://"
    if (
        field is not None
        and field.endswith("format")
        and field.startswith("options")
        and error_type == "literal_error"
    ):
        return ErrorKind.invalid_format, field, f"{field}: {message}"
    if error_type in _FIELD_OF_MODEL_ERROR:
        field = f"{field}.{_FIELD_OF_MODEL_ERROR[error_type]}" if field else _FIELD_OF_MODEL_ERROR[error_type]
    if error_type == "extra_forbidden":
        return ErrorKind.invalid_option, field, f"unknown field {field}"
    return ErrorKind.invalid_option, field, f"{field}: {message}" if field else message


def rejection_from_validation(errors: Sequence[Mapping[str, Any]], kinds: KindNames) -> RequestRejected:
    """The single error that best describes a failed validation."""
    classified = [_classify(error, kinds) for error in errors] or [
        (ErrorKind.invalid_json, None, "invalid request body")
    ]
    kind, field, message = min(classified, key=lambda c: _KIND_PRIORITY.index(c[0]))
    return RequestRejected(kind, message, field)


# A task request nests a few levels (options, metadata, an input File object); far deeper is an
# attack on the parser (Python's recursive JSON decoder), refused before parsing.
MAX_JSON_DEPTH = 32


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in a JSON text, counting outside strings only."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


class NoOptions(BaseModel):
    """The options of a kind that takes none."""

    model_config = ConfigDict(extra="forbid")
