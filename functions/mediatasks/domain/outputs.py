"""Where tasks may write outside managed storage: per bucket, the prefix each project owns."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

PROJECT_PLACEHOLDER = "{project}"
# A plain bucket name in the configuration means this prefix: each project writes under its own.
DEFAULT_PREFIX = PROJECT_PLACEHOLDER + "/"


class OutputArea(BaseModel):
    """One bucket and the prefix a task may write under; `{project}` in the prefix stands for the
    task's project. A prefix without it is shared by every project (conditional writes still keep
    anyone from overwriting an object that exists): for a deployment with one project."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket: str = Field(min_length=3, max_length=63, pattern=r"^[a-z0-9][a-z0-9.\-]*[a-z0-9]$")
    prefix: str = DEFAULT_PREFIX

    @field_validator("prefix")
    @classmethod
    def _one_placeholder_at_most(cls, prefix: str) -> str:
        rest = prefix.replace(PROJECT_PLACEHOLDER, "", 1)
        if "{" in rest or "}" in rest:
            raise ValueError(f"an output prefix may hold {PROJECT_PLACEHOLDER} once and no other braces")
        if prefix.startswith("/"):
            raise ValueError("an output prefix does not start with '/'")
        return prefix

    def prefix_for(self, project_id: str) -> str | None:
        """The key prefix `project_id` may write under; None when the project's id could reach
        beyond its own folder (it would contain a '/')."""
        if PROJECT_PLACEHOLDER in self.prefix and "/" in project_id:
            return None
        return self.prefix.replace(PROJECT_PLACEHOLDER, project_id)

    @property
    def fixed_prefix(self) -> str:
        """The part of the prefix that is the same for every project (what an IAM grant can name)."""
        return self.prefix.split(PROJECT_PLACEHOLDER, 1)[0]


def _entry(value: Any) -> Any:
    return {"bucket": value} if isinstance(value, str) else value


class OutputAreas(BaseModel):
    """Every area ops allowed (`allowedOutputBuckets`): entries `{bucket, prefix}` or plain bucket
    names, which mean `{bucket, prefix: "{project}/"}`."""

    model_config = ConfigDict(frozen=True)

    areas: tuple[OutputArea, ...] = ()

    @classmethod
    def parse(cls, value: Any) -> OutputAreas:
        """From cdk.json/`-c` context or the functions' environment: a JSON list, a list, or names
        separated by commas."""
        if isinstance(value, OutputAreas):
            return value
        if isinstance(value, str):
            text = value.strip()
            value = (
                json.loads(text)
                if text.startswith("[")
                else [v.strip() for v in text.split(",") if v.strip()]
            )
        return cls(areas=tuple(OutputArea.model_validate(_entry(item)) for item in value or ()))

    def to_json(self) -> str:
        return json.dumps([area.model_dump() for area in self.areas])

    @property
    def buckets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(area.bucket for area in self.areas))

    def allows(self, bucket: str, key: str, project_id: str) -> bool:
        """Whether a task of `project_id` may write s3://bucket/key: inside one of its areas, and
        naming an object (not the area itself)."""
        for area in self.areas:
            prefix = area.prefix_for(project_id)
            if area.bucket == bucket and prefix is not None and key.startswith(prefix) and key != prefix:
                return True
        return False

    def where(self, project_id: str) -> str:
        """The places `project_id` may write, for an error message."""
        places = [
            f"s3://{area.bucket}/{prefix}"
            for area in self.areas
            if (prefix := area.prefix_for(project_id)) is not None
        ]
        return ", ".join(places) or "none"
