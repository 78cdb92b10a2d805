"""Webhooks: telling a task's webhook_url that the task ended (signed, retried, logged, replayable),
and each project's signing secrets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mediatasks.adapters.files import FileStore
from mediatasks.adapters.secrets import CursorKey
from mediatasks.adapters.storage import Storage
from mediatasks.adapters.store import TaskStore
from mediatasks.adapters.webhooks import (
    Answer,
    DeliveryLog,
    DeliveryStarter,
    SealedSecret,
    SecretsChanged,
    SecretStore,
    send_webhook,
)
from mediatasks.adapters.workflow import Workflow
from mediatasks.config import Settings
from mediatasks.contract.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    WebhookAttemptList,
    WebhookAttemptView,
    WebhookReplay,
    WebhookSecret,
    signature_header,
    webhook_body,
)
from mediatasks.domain.errors import ErrorKind, RequestRejected
from mediatasks.domain.tasks import TERMINAL_STATUSES, Status, Task, now_ms
from mediatasks.domain.webhooks import (
    EVENT_OF_STATUS,
    Delivery,
    DeliveryAttempt,
    RetryPolicy,
    new_delivery_id,
    new_secret,
    rotated,
)
from mediatasks.service.tasks import TaskService

NO_SECRET = "the project has no signing secret: POST /webhooks/secret makes one"  # noqa: S105 - a message
ROTATION_TRIES = 3


def create_first_secret(
    secrets: SecretStore, project_id: str, secret: str | None = None, now: Callable[[], int] = now_ms
) -> str | None:
    """Makes the project's first signing secret (`secret`, or a new random one) and returns it;
    None when the project already has one."""
    plain = secret or new_secret()
    first = SealedSecret(ciphertext=secrets.seal(project_id, plain), created_at=now())
    try:
        secrets.save(project_id, [first], 0)
    except SecretsChanged:
        return None
    return plain


@dataclass(frozen=True)
class WebhookService:
    settings: Settings
    tasks: TaskService
    log: DeliveryLog
    secrets: SecretStore
    starter: DeliveryStarter
    send: Callable[..., Answer] = send_webhook
    clock: Callable[[], int] = now_ms
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_settings(cls, settings: Settings, tasks: TaskService | None = None) -> WebhookService:
        # The delivery function only presents tasks: it never starts or stops a task's execution.
        presenter = tasks or TaskService(
            settings,
            TaskStore(settings.tasks_table),
            Storage(),
            Workflow(settings.state_machine_arn or ""),
            FileStore(settings.files_table),
            CursorKey(settings.cursor_secret_arn),  # read only when a listing is asked for: never here
        )
        return cls(
            settings,
            presenter,
            DeliveryLog(settings.webhook_deliveries_table),
            SecretStore(settings.webhook_secrets_table, settings.webhook_key_id),
            # the delivery function itself, which the machine names, does not start deliveries
            DeliveryStarter(settings.delivery_state_machine_arn or ""),
            policy=RetryPolicy(
                first_wait_seconds=settings.webhook_first_retry_seconds,
                retry_for_seconds=settings.webhook_retry_for_seconds,
            ),
        )

    # -- starting deliveries

    def task_ended(self, task_id: str, status: Status) -> bool:
        """Starts the delivery of a task's terminal event. Named after the task, so however often
        the change is reported, one delivery starts; False when it had already started."""
        event = EVENT_OF_STATUS[status]
        delivery = Delivery(task_id=task_id, delivery_id=new_delivery_id(), event=event)
        return self.starter.start(delivery, f"{task_id}-{event.replace('.', '-')}")

    def replay(self, project_id: str, task_id: str) -> WebhookReplay:
        """Sends the task's terminal event again, as a new delivery."""
        task = self.tasks.get(project_id, task_id)
        if task.webhook_url is None:
            raise RequestRejected(ErrorKind.webhook_unavailable, "the task has no webhook_url")
        if task.status not in TERMINAL_STATUSES:
            raise RequestRejected(ErrorKind.webhook_unavailable, "the task has not ended yet")
        delivery = Delivery(
            task_id=task.id, delivery_id=new_delivery_id(), event=EVENT_OF_STATUS[task.status]
        )
        self.starter.start(delivery, delivery.delivery_id)
        return WebhookReplay(delivery_id=delivery.delivery_id, event=delivery.event, task_id=task.id)

    # -- one try

    def attempt(self, delivery: Delivery) -> Delivery:
        """POSTs the event once, logs the try and says what comes next."""
        task = self.tasks.store.get(delivery.task_id)
        started = self.clock()
        number = delivery.attempt + 1
        first = delivery.first_attempt_at or started
        if task is None or task.webhook_url is None:
            answer = Answer(None, "the task or its webhook_url is gone", 0)
            retry = False
        else:
            answer = self._post(task, delivery, started)
            retry = True
        wait = self.policy.next_wait(number, first, self.clock()) if retry and answer.error else None
        outcome = "delivered" if answer.error is None else "retrying" if wait is not None else "failed"
        self.log.record(
            DeliveryAttempt(
                task_id=delivery.task_id,
                delivery_id=delivery.delivery_id,
                event=delivery.event,
                attempt=number,
                attempted_at=started,
                duration_ms=answer.duration_ms,
                status_code=answer.status_code,
                error=answer.error,
                outcome=outcome,
            )
        )
        return delivery.model_copy(
            update={
                "attempt": number,
                "first_attempt_at": first,
                "outcome": outcome,
                "wait_seconds": wait or 0,
            }
        )

    def _post(self, task: Task, delivery: Delivery, now: int) -> Answer:
        secrets = self.secrets.signing_secrets(task.project_id, now)
        if not secrets or task.webhook_url is None:
            return Answer(None, NO_SECRET, 0)
        body = webhook_body(self.tasks.present(task), task.api_version)
        headers = {
            SIGNATURE_HEADER: signature_header(body, secrets, now // 1000),
            EVENT_HEADER: delivery.event,
            DELIVERY_HEADER: delivery.delivery_id,
        }
        return self.send(task.webhook_url, body, headers, allow_loopback=self.settings.allow_loopback_inputs)

    # -- visibility

    def attempts(self, project_id: str, task_id: str) -> WebhookAttemptList:
        task = self.tasks.get(project_id, task_id)
        return WebhookAttemptList(
            data=[
                WebhookAttemptView.model_validate(attempt.model_dump(exclude={"task_id"}))
                for attempt in sorted(self.log.attempts(task.id), key=lambda a: (a.attempted_at, a.attempt))
            ]
        )

    # -- secrets

    def rotate(self, project_id: str) -> WebhookSecret:
        """A new secret; the ones before it keep signing beside it for the grace period."""
        plain = new_secret()
        ciphertext = self.secrets.seal(project_id, plain)
        for _ in range(ROTATION_TRIES):
            kept, version = self.secrets.sealed(project_id)
            now = self.clock()
            new = SealedSecret(ciphertext=ciphertext, created_at=now)
            after = rotated(kept, new, self.settings.webhook_secret_grace_seconds * 1000, now)
            try:
                self.secrets.save(project_id, after, version)
            except SecretsChanged:
                continue  # rotated concurrently: rotate what is there now
            ends = [secret.expires_at for secret in after[1:] if secret.expires_at is not None]
            return WebhookSecret(secret=plain, created_at=now, previous_expires_at=max(ends, default=None))
        raise RequestRejected(ErrorKind.request_in_progress, "the secret is being rotated by another request")
