"""Automations as the API's resource (per project, paged like media), and what they do: when a media
of the project has its original stored (`media.created`), every active automation of the project
whose trigger covers it starts one `workflow` task on that media, made as `POST /tasks` makes it.
Exactly once per (automation, media) is the caller's part: handlers/automations.py keys each start
by the pair (an idempotency record)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from mediatasks.adapters.automations import AutomationStore
from mediatasks.contract.common import iso_time
from mediatasks.contract.latest import AutomationList, AutomationResource, Confirmation
from mediatasks.domain.automations import (
    MEDIA_CREATED,
    OPS,
    AutomationRecord,
    AutomationStatus,
    EventTrigger,
)
from mediatasks.domain.errors import ErrorKind, RequestRejected
from mediatasks.domain.listing import PageQuery
from mediatasks.domain.requests import parse_s3_url
from mediatasks.domain.tasks import WORKFLOW
from mediatasks.kinds.registry import parse_request
from mediatasks.service.automation_requests import AutomationCreate, AutomationUpdate, stored_steps
from mediatasks.service.listing import list_page
from mediatasks.service.tasks import TaskService, list_links
from mediatasks.service.trigger_rules import TriggerRule, TriggerRules

logger = Logger(child=True)


@dataclass(frozen=True)
class MediaCreated:
    """The event: a media of a project has its original stored (file `file_id`, by task `task_id`)."""

    project_id: str
    media_id: str
    file_id: str
    task_id: str | None


def media_created(old: dict[str, Any] | None, new: dict[str, Any] | None) -> MediaCreated | None:
    """The event a write to the files table is, if it is one: a media's original file turning
    ready (from the table's stream images)."""
    if not new or not new.get("original") or new.get("status") != "ready":
        return None
    if old and old.get("status") == "ready":
        return None
    if not str(new.get("id", "")).startswith("file_") or not new.get("media_id"):
        return None
    task_id = new.get("task_id")
    return MediaCreated(
        project_id=str(new["project_id"]),
        media_id=str(new["media_id"]),
        file_id=str(new["id"]),
        task_id=None if task_id is None else str(task_id),
    )


def _not_found(automation_id: str) -> RequestRejected:
    return RequestRejected(ErrorKind.not_found, f"no automation with id {automation_id!r}")


def present(record: AutomationRecord) -> AutomationResource:
    return AutomationResource(
        id=record.id,
        name=record.name,
        description=record.description,
        trigger=record.trigger.model_dump(),
        workflow=record.workflow,
        status=record.status.value,
        created_by=record.created_by,
        created=iso_time(record.created_at),
        updated=iso_time(record.updated_at),
    )


def ops_automation(rule: TriggerRule) -> AutomationRecord:
    """The automation a watched bucket's rule is: owned by ops, in the rule's project, running a
    one-step workflow (the rule's kind and options) on each media made from an object under the
    rule's prefix. Its id is derived from the prefix, so seeding it again finds it."""
    return AutomationRecord(
        id=rule.automation_id,
        project_id=rule.project,
        name=f"watched prefix {rule.prefix}",
        description="Made from the deployment's trigger rules (cdk.json): ops change it there",
        trigger=EventTrigger(prefix=rule.prefix),
        workflow=rule.workflow,
        created_by=OPS,
    )


@dataclass(frozen=True)
class AutomationService:
    tasks: TaskService

    @property
    def store(self) -> AutomationStore:
        return AutomationStore(self.tasks.files.table)

    def create(self, project_id: str, request: AutomationCreate) -> AutomationResource:
        record = AutomationRecord(
            project_id=project_id,
            name=request.name,
            description=request.description,
            workflow=stored_steps(request.workflow),
            status=request.status,
        )
        self.store.create(record)
        return present(record)

    def _record(self, project_id: str, automation_id: str) -> AutomationRecord:
        record = self.store.get(project_id, automation_id)
        if record is None:
            raise _not_found(automation_id)
        return record

    def get(self, project_id: str, automation_id: str) -> AutomationResource:
        return present(self._record(project_id, automation_id))

    def page(self, project_id: str, query: PageQuery) -> AutomationList:
        listing = list_page(self.store, project_id, query, self.tasks.cursor_key)
        return AutomationList(
            data=[present(record) for record in listing.items],
            page=listing.page,
            limit=query.limit,
            links=list_links("/automations", query, listing),
        )

    def update(self, project_id: str, automation_id: str, update: AutomationUpdate) -> AutomationResource:
        changes = update.changes()
        if "trigger" in changes:
            # a request's trigger names no prefix (ops' only, from the watched bucket's rules): the
            # stored one is kept, or an ops automation would widen to every new media of the project
            stored = self._record(project_id, automation_id).trigger
            changes["trigger"] = stored.model_dump() | changes["trigger"]
        changed = self.store.update(project_id, automation_id, changes)
        if changed is None:
            raise _not_found(automation_id)
        return present(changed)

    def delete(self, project_id: str, automation_id: str) -> Confirmation:
        self._record(project_id, automation_id)
        self.store.delete(automation_id)
        return Confirmation(message=f"automation {automation_id} was deleted; tasks it started go on")

    def seed(self, rules: TriggerRules) -> list[str]:
        """Writes ops' automation for each rule that has none yet; the ids written now."""
        written = []
        for rule in rules.rules:
            record = ops_automation(rule)
            if self.store.ensure(record):
                written.append(record.id)
        return written

    # media.created

    def _source_key(self, event: MediaCreated) -> str | None:
        """The watched bucket's key the new media's original was ingested from (None: elsewhere)."""
        bucket = self.tasks.settings.trigger_bucket
        task = None if event.task_id is None or not bucket else self.tasks.store.get(event.task_id)
        if task is None or not task.input.startswith(f"s3://{bucket}/"):
            return None
        return parse_s3_url(task.input)[1]

    def to_start(self, event: MediaCreated) -> list[str]:
        """The automations the event starts: the project's active ones whose trigger covers it."""
        source_key = self._source_key(event)
        return [
            record.id
            for record in self.store.of_project(event.project_id)
            if record.trigger.event == MEDIA_CREATED and record.runs_on_new_media(source_key)
        ]

    def start(self, project_id: str, automation_id: str, media_id: str) -> str | None:
        """Starts the automation's workflow task on the media; its id, or None when there is none to
        start: the automation was deleted or paused since, or the task is refused (its workflow no
        longer validates, or the media has no stored original). Each is final for this event."""
        record = self.store.get(project_id, automation_id)
        if record is None or record.status != AutomationStatus.active:
            logger.info("the automation no longer runs", extra={"automation_id": automation_id})
            return None
        body = {
            "kind": WORKFLOW,
            "media_id": media_id,
            "workflow": record.workflow,
            "metadata": {"automation_id": automation_id},
        }
        try:
            task = self.tasks.create(project_id, parse_request(body))
        except RequestRejected as refusal:
            logger.warning(
                "the automation's workflow task was refused",
                extra={
                    "automation_id": automation_id,
                    "media_id": media_id,
                    "error_kind": refusal.kind,
                    "reason": refusal.message,
                },
            )
            return None
        logger.info(
            "automation started its workflow",
            extra={"automation_id": automation_id, "media_id": media_id, "task_id": task.id},
        )
        return task.id
