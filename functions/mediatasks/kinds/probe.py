"""probe: the File object of the input (seed 000), without writing anything."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from mediatasks.domain.requests import NoOptions, TaskRequest
from mediatasks.domain.tasks import StepName
from mediatasks.kinds.base import Family, Kind, Output


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


KIND = Kind(
    name="probe",
    family=Family.utility,
    summary="Describe the input (container, streams, size, duration) without writing a file",
    request=ProbeTaskRequest,
    # the input is stored only to be looked at, then discarded
    steps=(StepName.ingest, StepName.probe),
    output=Output.input_file,
)
