"""ingest (alias import): store the input as it is and return it as a File with an id."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mediatasks.domain.requests import NoOptions, TaskRequest
from mediatasks.domain.tasks import StepName
from mediatasks.kinds.base import Family, Kind, Output

# Stored as it is (once probed): nothing to transcode.
COPY_STEPS = (StepName.ingest, StepName.probe, StepName.upload)


class IngestTaskRequest(TaskRequest):
    """Stores the input as it is (`import` is an alias) and returns it as a File with an id."""

    kind: Literal["ingest", "import"]
    options: NoOptions = Field(default_factory=NoOptions)


KIND = Kind(
    name="ingest",
    aliases=("import",),
    family=Family.utility,
    summary="Store the input as it is, as a File that later tasks can use by file_id",
    request=IngestTaskRequest,
    steps=COPY_STEPS,
    output=Output.stored_input,
)
