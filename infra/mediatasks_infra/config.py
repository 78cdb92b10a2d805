"""Deployment settings read from cdk.json context (override with `cdk deploy -c key=value`)."""

from __future__ import annotations

import json
from typing import Any, Literal

from constructs import Node
from pydantic import BaseModel, ConfigDict, Field, field_validator

PREFIX = "mediatasks:"


class StackConfig(BaseModel):
    """Every value comes from context: cdk.json holds the defaults (see mediatasks_infra.app)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    architecture: Literal["arm64", "x86_64"]
    powertools_layer_version: int = Field(alias="powertoolsLayerVersion", gt=0)
    allowed_input_buckets: list[str] = Field(alias="allowedInputBuckets")
    allowed_output_buckets: list[str] = Field(alias="allowedOutputBuckets")
    max_input_bytes: int = Field(alias="maxInputBytes", gt=0)
    max_output_bytes: int = Field(alias="maxOutputBytes", gt=0)

    @field_validator("allowed_input_buckets", "allowed_output_buckets", mode="before")
    @classmethod
    def _list_from_cli(cls, value: Any) -> Any:
        # `-c key=value` on the command line arrives as a string: accept JSON or comma-separated.
        if isinstance(value, str):
            return json.loads(value) if value.startswith("[") else [v for v in value.split(",") if v]
        return value

    @classmethod
    def from_context(cls, node: Node) -> StackConfig:
        values = {}
        for field_name, field in cls.model_fields.items():
            key = field.alias or field_name
            value = node.try_get_context(PREFIX + key)
            if value is not None:
                values[key] = value
        return cls.model_validate(values)
