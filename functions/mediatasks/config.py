"""Typed settings from the function's environment."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field, field_validator

from mediatasks import constants as c
from mediatasks.domain.ffmpeg_args import Limits
from mediatasks.domain.media import InputLimits
from mediatasks.domain.outputs import OutputAreas
from mediatasks.domain.requests import InputBuckets
from mediatasks.domain.slots import RunningCaps
from mediatasks.providers.language import LanguageProviderName
from mediatasks.providers.moderation import ModerationProviderName
from mediatasks.providers.speech import SpeechProviderName
from mediatasks.service.trigger_rules import TriggerRules


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


class Settings(BaseModel):
    tasks_table: str = ""
    keys_table: str = ""
    files_table: str = ""
    media_bucket: str = ""
    state_machine_arn: str | None = None
    allowed_input_buckets: tuple[str, ...] = ()
    # where tasks may write outside managed storage: per bucket, the prefix each project owns
    allowed_output_buckets: OutputAreas = Field(default_factory=OutputAreas)
    allow_loopback_inputs: bool = False
    # the local stack's own loopback ports (emulator, API): never an input, whatever the flag says
    local_service_ports: frozenset[int] = frozenset()
    trigger_bucket: str = ""
    # project -> prefixes of the trigger bucket its tasks may read (every function checks inputs)
    trigger_prefixes: dict[str, list[str]] = Field(default_factory=dict)
    # the rules themselves: only the trigger function has them
    trigger_rules: TriggerRules = Field(default_factory=TriggerRules)
    # Powertools idempotency records: the trigger's (per object version) and the API's (per key)
    idempotency_table: str = ""
    cursor_secret_arn: str = ""  # the Secrets Manager secret signing listing cursors (API function only)
    webhook_secrets_table: str = ""
    webhook_deliveries_table: str = ""
    webhook_key_id: str = ""
    delivery_state_machine_arn: str | None = None
    workflow_state_machine_arn: str | None = None
    # how long a replaced signing secret keeps signing beside the new one
    webhook_secret_grace_seconds: int = Field(default=24 * 3600, gt=0)
    webhook_first_retry_seconds: int = Field(default=1, ge=1)
    webhook_retry_for_seconds: int = Field(default=24 * 3600, gt=0)
    max_input_bytes: int = Field(default=5 * 1024**3, gt=0)
    max_output_bytes: int = Field(default=5 * 1024**3, gt=0)
    ffmpeg_timeout_seconds: int = Field(default=840, gt=0)
    max_input_seconds: float = Field(default=InputLimits.max_seconds, gt=0)
    max_input_pixels: int = Field(default=InputLimits.max_pixels, gt=0)
    max_input_fps: float = Field(default=InputLimits.max_fps, gt=0)
    # a video longer than this is encoded in pieces whatever its projected encode time (None: by
    # the projection alone), pieces of about segment_seconds; the projection is for a function of
    # encode_memory_mb within encode_timeout_seconds (domain/segments.py)
    segment_above_seconds: float | None = Field(default=None, gt=0)
    segment_seconds: float = Field(default=60, gt=0)
    encode_memory_mb: int = Field(default=3008, ge=128)
    encode_timeout_seconds: int = Field(default=900, gt=0)
    # the sweep: how long a task may wait for its execution, how often it is started before it fails
    sweep_after_seconds: int = Field(default=120, gt=0)
    sweep_max_start_attempts: int = Field(default=3, gt=0)
    # each project's running slots and waiting tasks, and how many may run at once per project
    slots_table: str = ""
    running_caps: RunningCaps = Field(default_factory=RunningCaps)
    speech_provider: SpeechProviderName = SpeechProviderName.transcribe
    moderation_provider: ModerationProviderName = ModerationProviderName.rekognition
    language_provider: LanguageProviderName = LanguageProviderName.bedrock
    work_dir: str = "/tmp"  # noqa: S108 - Lambda's only writable place; each run uses its own subfolder

    @field_validator("allowed_output_buckets", mode="before")
    @classmethod
    def _output_areas(cls, value: Any) -> OutputAreas:
        return OutputAreas.parse(value)

    def ffmpeg_limits(self) -> Limits:
        """The bounds every ffmpeg run is held to while it decodes and writes."""
        return Limits(self.max_output_bytes, self.max_input_seconds, self.max_input_pixels)

    def input_limits(self) -> InputLimits:
        return InputLimits(self.max_input_seconds, self.max_input_pixels, self.max_input_fps)

    def input_buckets(self) -> InputBuckets:
        return InputBuckets(
            media_bucket=self.media_bucket,
            allowed=self.allowed_input_buckets,
            trigger_bucket=self.trigger_bucket,
            trigger_prefixes=self.trigger_prefixes,
        )

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        values: dict[str, object] = {
            "tasks_table": env.get(c.ENV_TASKS_TABLE, ""),
            "keys_table": env.get(c.ENV_KEYS_TABLE, ""),
            "files_table": env.get(c.ENV_FILES_TABLE, ""),
            "media_bucket": env.get(c.ENV_MEDIA_BUCKET, ""),
            "state_machine_arn": env.get(c.ENV_STATE_MACHINE_ARN) or None,
            "allowed_input_buckets": _csv(env.get(c.ENV_ALLOWED_INPUT_BUCKETS)),
            "allowed_output_buckets": env.get(c.ENV_ALLOWED_OUTPUT_BUCKETS, ""),
            "allow_loopback_inputs": env.get(c.ENV_ALLOW_LOOPBACK_INPUTS, "").lower() in ("1", "true", "yes"),
            "local_service_ports": _csv(env.get(c.ENV_LOCAL_SERVICE_PORTS)),
            "trigger_bucket": env.get(c.ENV_TRIGGER_BUCKET, ""),
            "trigger_prefixes": json.loads(env.get(c.ENV_TRIGGER_PREFIXES) or "{}"),
            "trigger_rules": TriggerRules.from_list(json.loads(env.get(c.ENV_TRIGGER_RULES) or "[]")),
            "idempotency_table": env.get(c.ENV_IDEMPOTENCY_TABLE, ""),
            "cursor_secret_arn": env.get(c.ENV_CURSOR_SECRET_ARN, ""),
            "webhook_secrets_table": env.get(c.ENV_WEBHOOK_SECRETS_TABLE, ""),
            "webhook_deliveries_table": env.get(c.ENV_WEBHOOK_DELIVERIES_TABLE, ""),
            "webhook_key_id": env.get(c.ENV_WEBHOOK_KEY_ID, ""),
            "delivery_state_machine_arn": env.get(c.ENV_DELIVERY_STATE_MACHINE_ARN) or None,
            "workflow_state_machine_arn": env.get(c.ENV_WORKFLOW_STATE_MACHINE_ARN) or None,
            "slots_table": env.get(c.ENV_SLOTS_TABLE, ""),
            "running_caps": json.loads(env.get(c.ENV_RUNNING_CAPS) or "{}"),
        }
        optional = {
            "max_input_bytes": c.ENV_MAX_INPUT_BYTES,
            "max_output_bytes": c.ENV_MAX_OUTPUT_BYTES,
            "ffmpeg_timeout_seconds": c.ENV_FFMPEG_TIMEOUT_SECONDS,
            "work_dir": c.ENV_WORK_DIR,
            "segment_above_seconds": c.ENV_SEGMENT_ABOVE_SECONDS,
            "segment_seconds": c.ENV_SEGMENT_SECONDS,
            "encode_memory_mb": c.ENV_ENCODE_MEMORY_MB,
            "encode_timeout_seconds": c.ENV_ENCODE_TIMEOUT_SECONDS,
            "max_input_seconds": c.ENV_MAX_INPUT_SECONDS,
            "max_input_pixels": c.ENV_MAX_INPUT_PIXELS,
            "max_input_fps": c.ENV_MAX_INPUT_FPS,
            "webhook_secret_grace_seconds": c.ENV_WEBHOOK_SECRET_GRACE_SECONDS,
            "webhook_first_retry_seconds": c.ENV_WEBHOOK_FIRST_RETRY_SECONDS,
            "webhook_retry_for_seconds": c.ENV_WEBHOOK_RETRY_FOR_SECONDS,
            "sweep_after_seconds": c.ENV_SWEEP_AFTER_SECONDS,
            "sweep_max_start_attempts": c.ENV_SWEEP_MAX_START_ATTEMPTS,
            "speech_provider": c.ENV_SPEECH_PROVIDER,
            "moderation_provider": c.ENV_MODERATION_PROVIDER,
            "language_provider": c.ENV_LANGUAGE_PROVIDER,
        }
        values.update({field: env[name] for field, name in optional.items() if env.get(name)})
        return cls.model_validate(values)


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()
