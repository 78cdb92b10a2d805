"""S3 event triggers: rules that turn an object dropped under a prefix into a task.

A rule is checked when the CDK app is synthesized (so a bad rule fails `cdk synth`, not the first
upload) and again by the trigger function, with the same request model `POST /tasks` uses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from mediatasks.domain.errors import RequestRejected
from mediatasks.domain.media import EXTENSION_BY_FORMAT
from mediatasks.domain.options import MediaOptions
from mediatasks.domain.requests import TaskRequest
from mediatasks.kinds.registry import media_kinds, parse_request

ProjectId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
# what a managed-storage filename may hold (requests.Filename); anything else becomes "_"
_NOT_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class SourceObject:
    """One version of one object, as an S3 event names it (key already URL-decoded)."""

    bucket: str
    key: str
    # S3 gives a version id in versioned buckets and a sequencer in every event; the emulator
    # gives neither, so the ETag is the last resort there.
    version: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def identity(self) -> dict[str, str]:
        """What makes two deliveries the same event: the idempotency key of the task it makes."""
        return {"bucket": self.bucket, "key": self.key, "version": self.version}


class TriggerRule(BaseModel):
    """Objects created under `prefix` become tasks of `kind` with `options`, owned by `project`;
    the output goes to managed storage, or under `output` (an s3://bucket/prefix/)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str = Field(min_length=1, max_length=512)
    project: ProjectId
    kind: str
    options: dict[str, Any] = Field(default_factory=dict)
    output: str | None = None

    @field_validator("kind")
    @classmethod
    def _media_kind(cls, kind: str) -> str:
        if kind not in media_kinds():
            raise ValueError(f"a trigger rule makes media: kind must be one of {', '.join(media_kinds())}")
        return kind

    @field_validator("output")
    @classmethod
    def _output_prefix(cls, output: str | None) -> str | None:
        if output is not None and not (output.startswith("s3://") and output.endswith("/")):
            raise ValueError("output must be an s3://bucket/prefix/ ending in /")
        return output

    def matches(self, key: str) -> bool:
        return key.startswith(self.prefix)

    def request_for(self, source: SourceObject) -> TaskRequest:
        """The task request `POST /tasks` would get for this object; raises RequestRejected."""
        stem = PurePosixPath(source.key[len(self.prefix) :]).with_suffix("")
        body: dict[str, Any] = {
            "input": source.url,
            "kind": self.kind,
            "options": self.options,
            "metadata": {
                "trigger_prefix": self.prefix,
                "source": source.url,
                "source_version": source.version,
            },
        }
        filename = _NOT_FILENAME.sub("_", stem.name).strip("._-")[:100]
        if filename:
            body["filename"] = filename
        if self.output is not None:
            options = media_kinds()[self.kind].options.model_validate(self.options)
            output_format = options.format if isinstance(options, MediaOptions) else self.kind
            body["output"] = f"{self.output}{stem}.{EXTENSION_BY_FORMAT.get(output_format, output_format)}"
        return parse_request(body)

    @model_validator(mode="after")
    def _makes_valid_requests(self) -> TriggerRule:
        # a rule whose options or output the API would refuse must fail synth, not every upload
        try:
            self.request_for(SourceObject("example-bucket", f"{self.prefix}example.mov", "v"))
        except RequestRejected as refusal:
            field = f" ({refusal.field})" if refusal.field else ""
            raise ValueError(f"{refusal.kind}{field}: {refusal.message}") from None
        return self


class TriggerRules(BaseModel):
    """The watched bucket's rules; prefixes may not overlap, as S3 refuses overlapping
    notification filters, so an object matches at most one rule."""

    rules: tuple[TriggerRule, ...] = ()

    @field_validator("rules")
    @classmethod
    def _no_overlaps(cls, rules: tuple[TriggerRule, ...]) -> tuple[TriggerRule, ...]:
        for index, rule in enumerate(rules):
            for other in rules[index + 1 :]:
                if rule.prefix.startswith(other.prefix) or other.prefix.startswith(rule.prefix):
                    raise ValueError(f"trigger prefixes {rule.prefix!r} and {other.prefix!r} overlap")
        return rules

    @classmethod
    def from_list(cls, rules: Sequence[Any]) -> TriggerRules:
        return cls.model_validate({"rules": list(rules)})

    def as_json(self) -> str:
        """The rules as `from_list` reads them (the trigger function's environment)."""
        rules = [rule.model_dump(mode="json", exclude_defaults=True) for rule in self.rules]
        return json.dumps(rules, separators=(",", ":"))

    def rule_for(self, key: str) -> TriggerRule | None:
        return next((rule for rule in self.rules if rule.matches(key)), None)

    def prefixes_by_project(self) -> dict[str, list[str]]:
        """Which prefixes of the watched bucket each project's tasks may read."""
        prefixes: dict[str, list[str]] = {}
        for rule in self.rules:
            prefixes.setdefault(rule.project, []).append(rule.prefix)
        return prefixes
