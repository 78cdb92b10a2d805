"""The whole product on one machine: the synthesized template's resources in the emulator, and the
API served on loopback. Used by `mediatasks serve`, the end-to-end tests and the benchmarks."""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from mediatasks import constants as c
from mediatasks.adapters.keys import KeyStore
from mediatasks.adapters.webhooks import SecretStore
from mediatasks.config import Settings
from mediatasks.domain.keys import new_api_key
from mediatasks.domain.outputs import OutputAreas
from mediatasks.domain.slots import RunningCaps
from mediatasks.domain.webhooks import new_secret
from mediatasks.local.cloud import LocalCloud
from mediatasks.local.event_sources import Poller, event_sources
from mediatasks.local.http_api import LocalApi
from mediatasks.local.state_dir import StateDir
from mediatasks.local.template import synthesize
from mediatasks.providers.language import LocalLanguage
from mediatasks.providers.moderation import ModerationProviderName
from mediatasks.providers.speech import SpeechProviderName
from mediatasks.service.automations import AutomationService
from mediatasks.service.tasks import TaskService
from mediatasks.service.webhooks import create_first_secret

DEVELOPMENT_PROJECT = "dev"
# The steps' scratch space of one local stack, named by its process id: what a stack that was
# killed left behind is removed by the next one.
WORK_DIR_PREFIX = "mediatasks-work-"


def remove_orphaned_work_dirs() -> None:
    for folder in Path(tempfile.gettempdir()).glob(f"{WORK_DIR_PREFIX}*-*"):
        owner = folder.name.removeprefix(WORK_DIR_PREFIX).split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def local_architecture() -> str:
    """The layer to synthesize with: the one whose wheel the local install already fetched."""
    return "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"


# What `serve` watches unless told otherwise: uploads under incoming/ become mp4 videos of project dev.
DEMO_TRIGGER_RULES: list[dict[str, Any]] = [
    {"prefix": "incoming/", "project": DEVELOPMENT_PROJECT, "kind": "video", "options": {"format": "mp4"}}
]


def synthesize_for_local(trigger_rules: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    context = {"mediatasks:triggerRules": trigger_rules} if trigger_rules is not None else None
    with tempfile.TemporaryDirectory(prefix="mediatasks-cdk-") as out_dir:
        return synthesize(Path(out_dir), local_architecture(), context)


@dataclass(frozen=True)
class SegmentSettings:
    """Overrides of when a long video is encoded in pieces (None keeps the template's setting)."""

    above_seconds: float | None = None
    seconds: float | None = None

    def environment(self) -> dict[str, str]:
        values = {c.ENV_SEGMENT_ABOVE_SECONDS: self.above_seconds, c.ENV_SEGMENT_SECONDS: self.seconds}
        return {name: f"{value:g}" for name, value in values.items() if value is not None}


class LocalStack:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        allow_local_inputs: bool = False,
        output_areas: OutputAreas | None = None,
        api_key: str | None = None,
        webhook_secret: str | None = None,
        template: dict[str, Any] | None = None,
        trigger_rules: list[dict[str, Any]] | None = None,
        segments: SegmentSettings | None = None,
        sweep_seconds: int | None = None,
        state: StateDir | None = None,
        running_caps: RunningCaps | None = None,
        language: LocalLanguage | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._allow_local_inputs = allow_local_inputs
        self._output_areas = output_areas or OutputAreas()
        # what the stack holds is kept there across restarts (None: in memory only)
        self.state = state
        self.credentials_kept = False
        if state is not None:
            credentials = state.credentials(api_key, webhook_secret)
            api_key, webhook_secret = credentials.api_key, credentials.webhook_secret
            self.credentials_kept = credentials.kept
        self.api_key = api_key or new_api_key()
        self.webhook_secret = webhook_secret or new_secret()
        self._template = template
        self._trigger_rules = trigger_rules
        self._segments = segments or SegmentSettings()
        # the sweep's period and the time a task may wait for its execution (default: the template's)
        self._sweep_seconds = sweep_seconds
        # the per-project cap on running tasks (default: the template's)
        self._running_caps = running_caps
        self._language = language or LocalLanguage()
        self._pollers: list[Poller] = []
        remove_orphaned_work_dirs()
        self._work_dir = tempfile.TemporaryDirectory(prefix=f"{WORK_DIR_PREFIX}{os.getpid()}-")
        self.cloud: LocalCloud | None = None
        self.api: LocalApi | None = None

    @property
    def url(self) -> str:
        if self.api is None:
            raise RuntimeError("the local stack is not started")
        return self.api.url

    def start(self) -> LocalStack:
        template = self._template or synthesize_for_local(self._trigger_rules)
        self.cloud = LocalCloud(template, host=self._host)
        self.api = LocalApi(self.cloud, self._host, self._port)  # bound now, served once all is up
        environment = self.cloud.function_environment()
        environment[c.ENV_WORK_DIR] = self._work_dir.name
        environment[c.ENV_ALLOW_LOOPBACK_INPUTS] = "true" if self._allow_local_inputs else "false"
        environment[c.ENV_ALLOWED_OUTPUT_BUCKETS] = self._output_areas.to_json()
        environment[c.ENV_LOCAL_SERVICE_PORTS] = f"{self.cloud.port},{self.api.port}"
        environment |= self._segments.environment()
        if self._sweep_seconds is not None:
            environment[c.ENV_SWEEP_AFTER_SECONDS] = str(self._sweep_seconds)
        if self._running_caps is not None:
            environment[c.ENV_RUNNING_CAPS] = self._running_caps.model_dump_json()
        # speech is recognised on this machine (the deployment's default is Amazon Transcribe)
        environment[c.ENV_SPEECH_PROVIDER] = SpeechProviderName.local
        # and so is content moderation (the deployment's default is Amazon Rekognition)
        environment[c.ENV_MODERATION_PROVIDER] = ModerationProviderName.local
        # and so is writing: the operator's endpoint or the bundled model (the deployment's is Bedrock)
        environment |= self._language.environment()
        self.cloud.start(environment)
        self.cloud.create_buckets(self._output_areas.buckets)
        if self.state is not None:
            self.state.restore()
        keys = KeyStore(environment[c.ENV_KEYS_TABLE])
        if keys.project_of(self.api_key) is None:  # else restored from the state dir
            keys.create(DEVELOPMENT_PROJECT, self.api_key)
        secrets = SecretStore(environment[c.ENV_WEBHOOK_SECRETS_TABLE], environment[c.ENV_WEBHOOK_KEY_ID])
        create_first_secret(secrets, DEVELOPMENT_PROJECT, self.webhook_secret)
        # the trigger rules' automations, owned by ops: what the deploy's custom resource writes
        config = Settings.from_env()
        AutomationService(TaskService.from_settings(config)).seed(config.trigger_rules)
        self.api.start()
        self._pollers = event_sources(self.cloud, self._sweep_seconds)
        for poller in self._pollers:
            poller.start()
        if self.state is not None:
            self.state.start()
        return self

    @property
    def watched_bucket(self) -> str | None:
        """The bucket whose uploads become tasks, when the template has trigger rules."""
        if self.cloud is None or c.TRIGGER_QUEUE_ID not in self.cloud.template["Resources"]:
            return None
        return self.cloud.names.refs[c.TRIGGER_BUCKET_ID]

    def stop(self) -> None:
        for poller in self._pollers:
            poller.stop()
        if self.api is not None:
            self.api.stop()
        if self.state is not None:
            self.state.stop()
        if self.cloud is not None:
            self.cloud.stop()
        self._work_dir.cleanup()

    def __enter__(self) -> LocalStack:
        try:
            return self.start()
        except BaseException:
            # __exit__ never runs for a failed __enter__: without this the process would keep the
            # emulator's environment (its endpoint, local inputs allowed) and moto's settings
            self.stop()
            raise

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
