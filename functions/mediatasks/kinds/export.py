"""export: copy a file (usually an earlier task's File object) to an allowed s3:// destination."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from mediatasks.domain.requests import TaskRequest, parse_s3_url
from mediatasks.kinds.base import Family, Kind, Output
from mediatasks.kinds.ingest import COPY_STEPS


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

    destination_field: ClassVar[str] = "options.url"

    @property
    def destination(self) -> str:
        return self.options.url


KIND = Kind(
    name="export",
    family=Family.utility,
    summary="Copy a file (an earlier task's File object) to an allowed s3:// destination",
    request=ExportTaskRequest,
    steps=COPY_STEPS,
    output=Output.stored_input,
)
