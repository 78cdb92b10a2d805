"""Speech recognition by Amazon Transcribe: a batch job reads the audio from the media bucket and
writes its result beside it, under the task's work prefix. The job runs on its own; the state
machine polls it with a Wait loop, so no Lambda waits for it."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import closing
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from mediatasks.domain.errors import LanguageUnsupported, ProcessingFailed
from mediatasks.domain.tasks import StoredObject
from mediatasks.domain.transcripts import Transcript, Word, sentences, transcript_of
from mediatasks.providers.speech import SpeechJob

if TYPE_CHECKING:
    from mypy_boto3_transcribe import TranscribeServiceClient

# Transcribe names a language with its region (en-US); an ISO 639-1 code alone means its most
# common variant. Languages beyond these are passed through as given (`de-CH`, ...).
LANGUAGE_CODES = {
    "en": "en-US",
    "es": "es-US",
    "fr": "fr-FR",
    "de": "de-DE",
    "it": "it-IT",
    "pt": "pt-BR",
    "nl": "nl-NL",
    "ja": "ja-JP",
    "ko": "ko-KR",
    "zh": "zh-CN",
    "hi": "hi-IN",
    "ar": "ar-SA",
}
PENDING_STATUSES = ("QUEUED", "IN_PROGRESS")
ReadJson = Callable[[StoredObject], Any]


def job_name(task_id: str) -> str:
    """The job of a task: names are unique per account and region, and task ids are unique."""
    return f"mediatasks-{task_id}"


class TranscribeRecognizer:
    def __init__(self, client: TranscribeServiceClient, read_json: ReadJson) -> None:
        self._client = client
        self._read_json = read_json

    @classmethod
    def from_environment(cls) -> TranscribeRecognizer:
        from mediatasks.adapters.storage import Storage

        storage = Storage()

        def read_json(where: StoredObject) -> Any:
            with closing(storage.open(where)) as stream:
                return json.loads(stream.read())

        return cls(boto3.client("transcribe"), read_json)

    def start(self, job: SpeechJob) -> None:
        if job.audio is None or job.result is None:
            raise ValueError(
                "Amazon Transcribe reads the audio from the media bucket and writes its result there"
            )
        language: dict[str, Any] = (
            {"LanguageCode": LANGUAGE_CODES.get(job.language, job.language)}
            if job.language
            else {"IdentifyLanguage": True}
        )
        try:
            self._client.start_transcription_job(
                TranscriptionJobName=job.name,
                Media={"MediaFileUri": f"s3://{job.audio.bucket}/{job.audio.key}"},
                MediaFormat="flac",
                OutputBucketName=job.result.bucket,
                OutputKey=job.result.key,
                **language,
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "BadRequestException" and job.language:
                raise LanguageUnsupported(
                    f"language {job.language!r} is not one Amazon Transcribe recognises"
                ) from None
            raise
        return None

    def poll(self, job_name: str, result: StoredObject) -> Transcript | None:
        job = self._client.get_transcription_job(TranscriptionJobName=job_name)["TranscriptionJob"]
        status = job.get("TranscriptionJobStatus")
        if status in PENDING_STATUSES:
            return None
        if status != "COMPLETED":
            raise ProcessingFailed("the speech could not be recognised")
        try:
            document = self._read_json(result)
        except (BotoCoreError, ClientError, ValueError):
            raise ProcessingFailed("the speech recognition's result could not be read") from None
        transcript = transcript_from_transcribe(document, job.get("LanguageCode"))
        self._client.delete_transcription_job(TranscriptionJobName=job_name)  # its result is ours now
        return transcript


def transcript_from_transcribe(document: dict[str, Any], language_code: str | None) -> Transcript:
    """Transcribe's result file as a transcript: its pronunciation items are the words (punctuation
    items join the word before them), grouped into its audio segments' sentences."""
    words: list[Word] = []
    for item in document.get("results", {}).get("items", []):
        alternative = (item.get("alternatives") or [{}])[0]
        content = str(alternative.get("content", ""))
        if item.get("type") == "punctuation":
            if words:
                words[-1] = words[-1].model_copy(update={"word": words[-1].word + content})
            continue
        words.append(
            Word(
                start=float(item["start_time"]),
                end=float(item["end_time"]),
                word=content,
                confidence=float(alternative.get("confidence") or 0),
            )
        )
    language = (language_code or document.get("results", {}).get("language_code") or "").split("-")[0]
    return transcript_of(language or None, sentences(words))
