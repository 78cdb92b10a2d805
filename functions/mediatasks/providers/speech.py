"""Speech recognition: one protocol, two backends chosen by the deployment's setting
(MEDIATASKS_SPEECH_PROVIDER): Amazon Transcribe, the CDK deployment's default, and a Whisper model
run on this machine for `mediatasks serve` and the CLI.

A recognition is started and then polled: Transcribe runs as a job of its own, which the state
machine waits for in a Wait loop (no Lambda sleeps); the local model answers at once."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from mediatasks.domain.tasks import StoredObject
from mediatasks.domain.transcripts import Transcript


class SpeechProviderName(StrEnum):
    transcribe = "transcribe"
    local = "local"


@dataclass(frozen=True)
class SpeechJob:
    """One recognition: the input's audio (16 kHz mono FLAC), here and (in the pipeline) in the
    media bucket, and where a provider that writes its own result file should put it."""

    name: str
    audio_path: Path
    language: str | None
    audio: StoredObject | None = None
    result: StoredObject | None = None


class SpeechRecognizer(Protocol):
    def start(self, job: SpeechJob) -> Transcript | None:
        """Starts recognising `job`; its transcript when that is already done, else None (poll)."""

    def poll(self, job_name: str, result: StoredObject) -> Transcript | None:
        """The transcript of a started job once it is done, else None; raises TaskFailure when it failed."""


def recognizer(provider: SpeechProviderName) -> SpeechRecognizer:
    """The configured backend; each is imported only when chosen (the local model's packages are
    not part of the Lambda code asset)."""
    if provider == SpeechProviderName.local:
        from mediatasks.providers.whisper import WhisperRecognizer

        return WhisperRecognizer()
    from mediatasks.providers.transcribe import TranscribeRecognizer

    return TranscribeRecognizer.from_environment()
