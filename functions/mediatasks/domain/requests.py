"""The create-task request and how its validation errors become the SPEC's error kinds."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from mediatasks.constants import FILES_PREFIX
from mediatasks.domain.errors import ApiError
from mediatasks.domain.options import (
    AdaptiveOptions,
    AnimationOptions,
    AudioOptions,
    ImageOptions,
    VideoOptions,
)

IMPLEMENTED_KINDS = (
    "video",
    "audio",
    "image",
    "animation",
    "adaptive_video",
    "probe",
    "ingest",
    "import",
    "export",
)
# Kinds of the contract that are not built yet: refused with kind_unsupported, never accepted.
PLANNED_KINDS = (
    "thumbnails", "chapters", "subtitles", "speech", "nsfw", "description", "outline", "prompt",
    "workflow", "conditions", "http",
)  # fmt: skip
INPUT_SCHEMES = ("http", "https", "s3")

FileId = Annotated[str, StringConstraints(pattern=r"^file_[A-Za-z0-9_-]{8,64}$")]
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
MetadataValue = Annotated[str, StringConstraints(max_length=1024)] | int | float | bool | None


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
    published files, and the watched bucket's prefixes whose trigger rules belong to the project."""

    media_bucket: str
    allowed: tuple[str, ...] = ()
    trigger_bucket: str = ""
    trigger_prefixes: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def allows(self, url: str, project_id: str) -> bool:
        bucket, key = parse_s3_url(url)
        if bucket in self.allowed:
            return True
        if bucket == self.media_bucket:
            return key.startswith(f"{FILES_PREFIX}{project_id}/")
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
    """Exactly one input: `input` (a URL, or a File object from an earlier task), its alias `url`,
    or `file_id` (a file an earlier task stored)."""
    data = dict(data)
    source = data.get("input")
    if isinstance(source, dict):  # seed 000 composition: an earlier task's File object
        if not isinstance(source.get("url"), str):
            raise PydanticCustomError("invalid_input", "an input object must carry the file's url")
        data["input"] = source["url"]
    given = [name for name in ("input", "url", "file_id") if data.get(name) not in (None, "")]
    if len(given) > 1:
        raise PydanticCustomError("invalid_input", "give the input once: one of input, url or file_id")
    if not given:
        raise PydanticCustomError("input_required", "input is required: the URL of the file to process")
    if given == ["url"]:
        data["input"] = data.pop("url")
    data.pop("url", None)
    return data


class TaskRequest(BaseModel):
    """POST /tasks (seed 001): one input, a kind with its options, an optional destination."""

    model_config = ConfigDict(extra="forbid")

    input: str | None = Field(
        default=None, max_length=4096, description="Source URL: http://, https:// or s3://"
    )
    file_id: FileId | None = Field(
        default=None, description="A file an earlier task stored, instead of input"
    )
    output: str | None = Field(
        default=None, max_length=1024, description="Destination s3://bucket/key instead of managed storage"
    )
    metadata: dict[MetadataKey, MetadataValue] = Field(default_factory=dict, max_length=50)
    webhook_url: str | None = Field(
        default=None,
        max_length=2048,
        description="https URL told when the task ends (stored; delivery is not built yet)",
    )
    filename: Filename | None = Field(default=None, description="Name of the output file in managed storage")
    folder: Folder | None = Field(default=None, description="Folder of the output file in managed storage")
    ref: Ref | None = Field(default=None, description="Your label for the output file, echoed on it")

    @model_validator(mode="before")
    @classmethod
    def _one_input(cls, data: Any) -> Any:
        return _one_input_source(data) if isinstance(data, dict) else data

    @field_validator("input")
    @classmethod
    def _input_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_input_url(value)

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
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


class VideoTaskRequest(TaskRequest):
    kind: Literal["video"]
    options: VideoOptions = Field(default_factory=VideoOptions)


class AudioTaskRequest(TaskRequest):
    kind: Literal["audio"]
    options: AudioOptions = Field(default_factory=AudioOptions)


def _kind_of(data: Any) -> Any:
    """The union's tag (pydantic reports a tag it does not know as union_tag_invalid)."""
    kind = data.get("kind") if isinstance(data, dict) else getattr(data, "kind", None)
    return "ingest" if kind == "import" else kind


def _unsupported_kind_message(kind: Any) -> str:
    supported = ", ".join(IMPLEMENTED_KINDS)
    if kind in PLANNED_KINDS:
        return f"kind {kind!r} is not supported yet; supported kinds: {supported}"
    return f"unknown kind {kind!r}; supported kinds: {supported}"


class ImageTaskRequest(TaskRequest):
    kind: Literal["image"]
    options: ImageOptions = Field(default_factory=ImageOptions)


class AnimationTaskRequest(TaskRequest):
    kind: Literal["animation"]
    options: AnimationOptions = Field(default_factory=AnimationOptions)


class AdaptiveTaskRequest(TaskRequest):
    kind: Literal["adaptive_video"]
    options: AdaptiveOptions = Field(default_factory=AdaptiveOptions)


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProbeTaskRequest(TaskRequest):
    """Describes the input (its File object) without writing anything."""

    kind: Literal["probe"]
    options: NoOptions = Field(default_factory=NoOptions)

    @model_validator(mode="after")
    def _writes_nothing(self) -> ProbeTaskRequest:
        if self.output is not None or self.filename or self.folder:
            raise PydanticCustomError(
                "probe_writes_nothing", "a probe writes no file: output, filename and folder do not apply"
            )
        return self


class IngestTaskRequest(TaskRequest):
    """Stores the input as it is (`import` is an alias) and returns it as a File with an id."""

    kind: Literal["ingest", "import"]
    options: NoOptions = Field(default_factory=NoOptions)

    @field_validator("kind")
    @classmethod
    def _one_name(cls, kind: str) -> str:
        return "ingest"


class ExportOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=1024, description="Destination s3://bucket/key (a bucket this deployment may write)"
    )
    connection_id: str | None = Field(
        default=None, description="Not supported: the deployment's own role writes"
    )

    @field_validator("url")
    @classmethod
    def _s3_destination(cls, value: str) -> str:
        try:
            parse_s3_url(value)
        except ValueError as error:
            raise PydanticCustomError("invalid_output", f"url {error}") from None
        return value

    @field_validator("connection_id")
    @classmethod
    def _no_connections(cls, value: str | None) -> str | None:
        if value is not None:
            raise PydanticCustomError(
                "connections_unsupported",
                "connections are not supported: exports write with this deployment's own role "
                "to its allowed buckets",
            )
        return value


class ExportTaskRequest(TaskRequest):
    """Copies a file (usually an earlier task's File object) to an s3:// destination (seed 000)."""

    kind: Literal["export"]
    options: ExportOptions

    @model_validator(mode="after")
    def _one_destination(self) -> ExportTaskRequest:
        if self.output is not None:
            raise PydanticCustomError("export_output", "an export's destination is options.url, not output")
        return self

    @property
    def destination(self) -> str:
        return self.options.url


CreateTaskRequest = Annotated[
    Annotated[VideoTaskRequest, Tag("video")]
    | Annotated[AudioTaskRequest, Tag("audio")]
    | Annotated[ImageTaskRequest, Tag("image")]
    | Annotated[AnimationTaskRequest, Tag("animation")]
    | Annotated[AdaptiveTaskRequest, Tag("adaptive_video")]
    | Annotated[ProbeTaskRequest, Tag("probe")]
    | Annotated[IngestTaskRequest, Tag("ingest")]
    | Annotated[ExportTaskRequest, Tag("export")],
    Discriminator(_kind_of),
]


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


def _field_path(loc: Sequence[Any]) -> str | None:
    # Powertools prefixes where the value came from (and the query model's parameter name); the
    # request union adds the kind's tag
    names = [str(part) for part in loc if isinstance(part, str) and part not in ("body", "query", "params")]
    if names and (names[0] in IMPLEMENTED_KINDS):
        names = names[1:]
    # pydantic adds union branch tags ("int", "constrained-str", "function-after[...]") to the path
    fields = [n for n in names if n.isidentifier() or n.replace("_", "").isalnum()]
    return ".".join(fields) or None


def _classify(error: Mapping[str, Any]) -> tuple[str, str | None, str]:
    error_type = error.get("type", "")
    loc = tuple(error.get("loc", ()))
    field = _field_path(loc)
    message = str(error.get("msg", "invalid value"))
    if error_type in ("json_invalid", "model_attributes_type", "dict_type") and field is None:
        return "invalid_json", None, "the request body must be a JSON object"
    if error_type == "connections_unsupported":
        return "invalid_option", field, message
    if error_type == "union_tag_not_found":
        if not isinstance(error.get("input"), dict):
            return "invalid_json", None, "the request body must be a JSON object"
        return "invalid_option", "kind", "kind is required: " + ", ".join(IMPLEMENTED_KINDS)
    if error_type == "union_tag_invalid":
        return "kind_unsupported", "kind", _unsupported_kind_message(error.get("ctx", {}).get("tag"))
    if error_type == "invalid_webhook":
        return "invalid_option", "webhook_url", message
    if error_type in ("kind_unsupported", "input_required", "invalid_input", "invalid_codec"):
        if error_type in _FIELD_OF_MODEL_ERROR:
            field = (
                f"{field}.{_FIELD_OF_MODEL_ERROR[error_type]}" if field else _FIELD_OF_MODEL_ERROR[error_type]
            )
        default_field = {"kind_unsupported": "kind", "input_required": "input", "invalid_input": "input"}
        return error_type, field or default_field.get(error_type), message
    if error_type == "missing" and field == "input":
        return "input_required", field, "input is required: the URL of the file to process"
    if field == "input":
        return "invalid_input", field, "input must be a URL string: http://, https:// or s3://"
    if (
        field is not None
        and field.endswith("format")
        and field.startswith("options")
        and error_type == "literal_error"
    ):
        return "invalid_format", field, f"{field}: {message}"
    if error_type in _FIELD_OF_MODEL_ERROR:
        field = f"{field}.{_FIELD_OF_MODEL_ERROR[error_type]}" if field else _FIELD_OF_MODEL_ERROR[error_type]
    if error_type == "extra_forbidden":
        return "invalid_option", field, f"unknown field {field}"
    return "invalid_option", field, f"{field}: {message}" if field else message


def api_error_from_validation(errors: Sequence[Mapping[str, Any]]) -> ApiError:
    """The single 400 error that best describes a failed validation."""
    classified = [_classify(error) for error in errors] or [("invalid_json", None, "invalid request body")]
    kind, field, message = min(classified, key=lambda c: _KIND_PRIORITY.index(c[0]))
    return ApiError(400, kind, message, field)


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
