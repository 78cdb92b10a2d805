"""S3 event triggers: rules that turn an object dropped under a prefix into a media, on which ops'
automation for the rule runs the rule's kind (one mechanism: a new media starts its project's
automations, however it was made).

A rule is checked when the CDK app is synthesized (so a bad rule fails `cdk synth`, not the first
upload) and again by the trigger function, with the workflow kind's validator.
"""

from __future__ import annotations

import hashlib
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
from pydantic_core import PydanticCustomError

from mediatasks.domain.files import FileCreate
from mediatasks.kinds.registry import media_kinds
from mediatasks.kinds.workflow import normalized_workflow

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
    """Objects created under `prefix` become media of `project` (an ingest stores each as a new
    media's original); ops' automation for the rule (service/automations.py) then runs a one-step
    workflow, a task of `kind` with `options`, on each. Its outputs go to managed storage, as every
    workflow step's do."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str = Field(min_length=1, max_length=512)
    project: ProjectId
    kind: str
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("kind")
    @classmethod
    def _media_kind(cls, kind: str) -> str:
        if kind not in media_kinds():
            raise ValueError(f"a trigger rule makes media: kind must be one of {', '.join(media_kinds())}")
        return kind

    def matches(self, key: str) -> bool:
        return key.startswith(self.prefix)

    @property
    def automation_id(self) -> str:
        """The id of the automation owned by ops that runs this rule (service/automations.py):
        the same for the same project and prefix at every deploy."""
        digest = hashlib.sha256(f"{self.project}\n{self.prefix}".encode()).hexdigest()[:24]
        return f"auto_ops{digest}"

    @property
    def workflow(self) -> list[dict[str, Any]]:
        """The ops automation's steps: the rule's kind with its options, checked by the workflow
        kind's validator."""
        return normalized_workflow(
            [{"kind": self.kind, **({"options": self.options} if self.options else {})}]
        )

    def file_for(self, source: SourceObject) -> FileCreate:
        """What `POST /files` would get for this object: its ingest as a new media's original,
        named after the key (made safe; nothing usable left: the ingest's default name)."""
        name = PurePosixPath(source.key[len(self.prefix) :])
        stem = _NOT_FILENAME.sub("_", name.stem).strip("._-")[:100]
        suffix = _NOT_FILENAME.sub("", name.suffix.lstrip("."))[:10]
        return FileCreate(
            url=source.url,
            filename=(f"{stem}.{suffix}" if suffix else stem) if stem else None,
            metadata={"trigger_prefix": self.prefix, "source": source.url, "source_version": source.version},
        )

    @model_validator(mode="after")
    def _makes_valid_workflows(self) -> TriggerRule:
        # a rule whose options the API would refuse must fail synth, not every upload
        try:
            self.workflow  # noqa: B018 - validated when read
        except PydanticCustomError as refusal:
            context = refusal.context or {}
            raise ValueError(f"{context.get('kind')} ({context.get('field')}): {refusal.message()}") from None
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
