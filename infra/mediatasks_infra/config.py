"""Deployment settings read from cdk.json context (override with `cdk deploy -c key=value`)."""

from __future__ import annotations

import json
from typing import Any, Literal

from constructs import Node
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mediatasks.domain.outputs import OutputAreas
from mediatasks.domain.slots import RunningCaps
from mediatasks.service.trigger_rules import TriggerRules

PREFIX = "mediatasks:"
FunctionRole = Literal[
    "api",
    "authorizer",
    "probe",
    "ingest",
    "encode",
    "upload",
    "markFailed",
    "split",
    "encodeSegment",
    "join",
    "trigger",
    "automations",
    "deliverWebhook",
    "dispatchWebhooks",
    "reconcile",
    "sweep",
    "transcribe",
    "transcriptStatus",
    "track",
    "moderate",
    "moderationStatus",
    "workflow",
    "httpStep",
    "waitForSlot",
    "releaseSlot",
]


class FunctionSize(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    memory_mb: int = Field(alias="memoryMb", ge=128, le=10240)
    timeout_seconds: int = Field(alias="timeoutSeconds", ge=1, le=900)
    disk_mb: int = Field(default=512, alias="diskMb", ge=512, le=10240)


class Throttle(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    rate_limit: float = Field(alias="rateLimit", gt=0)
    burst_limit: int = Field(alias="burstLimit", gt=0)


class StackConfig(BaseModel):
    """Every value comes from context: cdk.json holds the defaults (see mediatasks_infra.app)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    stage_name: str = Field(alias="stageName", pattern=r"^[A-Za-z0-9_]{1,64}$")
    architecture: Literal["arm64", "x86_64"]
    powertools_layer_version: int = Field(alias="powertoolsLayerVersion", gt=0)
    allowed_input_buckets: list[str] = Field(alias="allowedInputBuckets")
    # entries {bucket, prefix} ("{project}" in the prefix: the writing task's project) or plain
    # bucket names, which mean prefix "{project}/": no project writes where another may
    allowed_output_buckets: OutputAreas = Field(alias="allowedOutputBuckets")
    max_input_bytes: int = Field(alias="maxInputBytes", gt=0)
    max_output_bytes: int = Field(alias="maxOutputBytes", gt=0)
    function_sizes: dict[FunctionRole, FunctionSize] = Field(alias="functionSizes")
    # the whole stage, and each API key (a usage plan)
    api_throttle: Throttle = Field(alias="apiThrottle")
    key_throttle: Throttle = Field(alias="keyThrottle")
    # requests per IP address per 5 minutes before the web ACL blocks it
    ip_rate_limit: int = Field(alias="ipRateLimit", ge=10)
    # "" creates a bucket to watch; a name watches that existing bucket
    trigger_bucket_name: str = Field(alias="triggerBucketName")
    trigger_rules: TriggerRules = Field(alias="triggerRules")
    alarm_email: str = Field(alias="alarmEmail")
    failed_tasks_alarm_threshold: int = Field(alias="failedTasksAlarmThreshold", gt=0)
    # a video longer than this is always encoded in pieces (0: only when its projected encode
    # would not fit in one step), pieces of about segmentSeconds each (domain/segments.py)
    segment_above_seconds: float = Field(alias="segmentAboveSeconds", ge=0)
    segment_seconds: float = Field(alias="segmentSeconds", ge=2, le=600)
    # the sweep of tasks whose execution never started: how often, after how long, how many starts
    sweep_every_minutes: int = Field(alias="sweepEveryMinutes", ge=1)
    sweep_after_seconds: int = Field(alias="sweepAfterSeconds", ge=30)
    sweep_max_start_attempts: int = Field(alias="sweepMaxStartAttempts", ge=1)
    # how many of a project's tasks may run at once (0: no cap), and projects with their own cap
    max_running_tasks_per_project: int = Field(alias="maxRunningTasksPerProject", ge=0)
    running_tasks_by_project: dict[str, int] = Field(default_factory=dict, alias="runningTasksByProject")
    # the Bedrock model the intelligence kinds ask (an id Converse takes); the template lets them
    # invoke this one only
    bedrock_model_id: str = Field(alias="bedrockModelId", pattern=r"^[a-z0-9][a-z0-9.:-]{2,100}$")

    @field_validator("allowed_output_buckets", mode="before")
    @classmethod
    def _output_areas(cls, value: Any) -> OutputAreas:
        return OutputAreas.parse(value)

    @field_validator("allowed_input_buckets", mode="before")
    @classmethod
    def _list_from_cli(cls, value: Any) -> Any:
        # `-c key=value` on the command line arrives as a string: accept JSON or comma-separated.
        if isinstance(value, str):
            return json.loads(value) if value.startswith("[") else [v for v in value.split(",") if v]
        return value

    @property
    def running_caps(self) -> RunningCaps:
        return RunningCaps(default=self.max_running_tasks_per_project, projects=self.running_tasks_by_project)

    @field_validator(
        "function_sizes",
        "api_throttle",
        "key_throttle",
        "trigger_rules",
        "running_tasks_by_project",
        mode="before",
    )
    @classmethod
    def _json_from_cli(cls, value: Any) -> Any:
        value = json.loads(value) if isinstance(value, str) else value
        return {"rules": value} if isinstance(value, list) else value

    @field_validator("function_sizes")
    @classmethod
    def _every_function_sized(cls, sizes: dict[str, FunctionSize]) -> dict[str, FunctionSize]:
        missing = set(FunctionRole.__args__) - set(sizes)  # type: ignore[attr-defined]
        if missing:
            raise ValueError(f"functionSizes lacks {', '.join(sorted(missing))}")
        return sizes

    @classmethod
    def from_context(cls, node: Node) -> StackConfig:
        values = {}
        for field_name, field in cls.model_fields.items():
            key = field.alias or field_name
            value = node.try_get_context(PREFIX + key)
            if value is not None:
                values[key] = value
        return cls.model_validate(values)
