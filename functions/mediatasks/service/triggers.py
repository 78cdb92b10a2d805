"""Objects dropped into the watched bucket become media, made exactly as `POST /files` makes them:
an ingest stores each as a new media's original, and ops' automation for the rule runs on it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import S3Event

from mediatasks.domain.errors import RequestRejected
from mediatasks.service.files import FileService
from mediatasks.service.trigger_rules import SourceObject, TriggerRules

logger = Logger(child=True)


def created_objects(message: dict[str, Any]) -> Iterator[SourceObject]:
    """The objects an S3 notification says were created. S3 sends a test event (no records) when
    the notification is set up, and a folder placeholder ("key/") is no media: both yield nothing."""
    for record in S3Event(message).records if "Records" in message else ():
        if not record.event_name.startswith("ObjectCreated:"):
            continue
        detail = record.s3.get_object
        # S3 sends keys form-encoded (a space as "+"); Powertools decodes only S3Event.object_key
        key = unquote_plus(detail.key)
        if key.endswith("/"):
            continue
        version = detail.version_id or detail.get("sequencer") or detail.etag
        yield SourceObject(bucket=record.s3.bucket.name, key=key, version=version)


@dataclass(frozen=True)
class TriggerService:
    rules: TriggerRules
    files: FileService

    def create_task(self, source: SourceObject) -> str | None:
        """The id of the ingest task that makes the object a media, or None when it makes none: no
        rule covers it (the rules changed since S3 was told which prefixes to notify about), or
        the ingest is refused. Either is final for this object, so it is not worth a retry."""
        rule = self.rules.rule_for(source.key)
        if rule is None:
            logger.warning("no trigger rule covers the object", extra={"source": source.url})
            return None
        try:
            file = self.files.create_file(rule.project, rule.file_for(source))
        except RequestRejected as refusal:
            logger.warning(
                "the uploaded object makes no task",
                extra={"source": source.url, "error_kind": refusal.kind, "reason": refusal.message},
            )
            return None
        logger.info(
            "media created for an uploaded object", extra={"task_id": file.task_id, "source": source.url}
        )
        return file.task_id
