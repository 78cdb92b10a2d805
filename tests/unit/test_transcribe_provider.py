"""The Amazon Transcribe adapter's calls and its reading of Transcribe's result, against botocore's
Stubber (no network): job shape, language choice, pending and failed jobs, an unknown language."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from mediatasks.domain.errors import LanguageUnsupported, ProcessingFailed
from mediatasks.domain.tasks import StoredObject
from mediatasks.providers.speech import SpeechJob
from mediatasks.providers.transcribe import TranscribeRecognizer, job_name

AUDIO = StoredObject(bucket="media", key="work/task_1/speech.flac")
RESULT = StoredObject(bucket="media", key="work/task_1/transcribe.json")
DOCUMENT = {
    "results": {
        "language_code": "en-US",
        "items": [
            {"type": "pronunciation", "start_time": "0.5", "end_time": "0.9",
             "alternatives": [{"content": "Hello", "confidence": "0.98"}]},
            {"type": "punctuation", "alternatives": [{"content": ","}]},
            {"type": "pronunciation", "start_time": "1.0", "end_time": "1.4",
             "alternatives": [{"content": "world", "confidence": "0.9"}]},
            {"type": "punctuation", "alternatives": [{"content": "."}]},
            {"type": "pronunciation", "start_time": "2.0", "end_time": "2.3",
             "alternatives": [{"content": "Bye", "confidence": "0.7"}]},
        ],
    }
}  # fmt: skip


@pytest.fixture
def client() -> Iterator[tuple[Any, Stubber]]:
    transcribe = boto3.client(
        "transcribe", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(transcribe) as stubber:
        yield transcribe, stubber
        stubber.assert_no_pending_responses()


def _job(language: str | None) -> SpeechJob:
    return SpeechJob(job_name("task_1"), Path("/nonexistent"), language, AUDIO, RESULT)


def _started(language: dict[str, Any]) -> dict[str, Any]:
    return {
        "TranscriptionJobName": "mediatasks-task_1",
        "Media": {"MediaFileUri": "s3://media/work/task_1/speech.flac"},
        "MediaFormat": "flac",
        "OutputBucketName": "media",
        "OutputKey": "work/task_1/transcribe.json",
        **language,
    }


def test_start_identifies_the_language_unless_one_is_given(client: tuple[Any, Stubber]) -> None:
    transcribe, stubber = client
    stubber.add_response("start_transcription_job", {}, _started({"IdentifyLanguage": True}))
    stubber.add_response("start_transcription_job", {}, _started({"LanguageCode": "en-US"}))
    stubber.add_response("start_transcription_job", {}, _started({"LanguageCode": "en-GB"}))
    recognizer = TranscribeRecognizer(transcribe, lambda where: pytest.fail("nothing is read at start"))
    assert recognizer.start(_job(None)) is None
    assert recognizer.start(_job("en")) is None
    assert recognizer.start(_job("en-GB")) is None


def test_a_language_transcribe_refuses_is_an_option_error(client: tuple[Any, Stubber]) -> None:
    transcribe, stubber = client
    stubber.add_client_error("start_transcription_job", "BadRequestException", "1 validation error")
    with pytest.raises(LanguageUnsupported, match="'xx'"):
        TranscribeRecognizer(transcribe, dict).start(_job("xx"))


def test_poll_waits_then_reads_and_deletes_the_job(client: tuple[Any, Stubber]) -> None:
    transcribe, stubber = client
    name = {"TranscriptionJobName": "mediatasks-task_1"}
    stubber.add_response(
        "get_transcription_job", {"TranscriptionJob": {"TranscriptionJobStatus": "IN_PROGRESS"}}, name
    )
    stubber.add_response(
        "get_transcription_job",
        {"TranscriptionJob": {"TranscriptionJobStatus": "COMPLETED", "LanguageCode": "en-US"}},
        name,
    )
    stubber.add_response("delete_transcription_job", {}, name)
    read: list[StoredObject] = []
    recognizer = TranscribeRecognizer(transcribe, lambda where: read.append(where) or DOCUMENT)
    assert recognizer.poll("mediatasks-task_1", RESULT) is None
    transcript = recognizer.poll("mediatasks-task_1", RESULT)
    assert read == [RESULT]
    assert transcript is not None
    assert transcript.language == "en"
    assert transcript.text == "Hello, world. Bye"
    assert [s.text for s in transcript.segments] == ["Hello, world.", "Bye"]
    assert [(w.start, w.end, w.confidence) for w in transcript.words] == [
        (0.5, 0.9, 0.98),
        (1.0, 1.4, 0.9),
        (2.0, 2.3, 0.7),
    ]


def test_a_failed_job_fails_the_task_without_its_details(client: tuple[Any, Stubber]) -> None:
    transcribe, stubber = client
    stubber.add_response(
        "get_transcription_job",
        {"TranscriptionJob": {"TranscriptionJobStatus": "FAILED", "FailureReason": "internal detail"}},
        {"TranscriptionJobName": "mediatasks-task_1"},
    )
    with pytest.raises(ProcessingFailed) as failure:
        TranscribeRecognizer(transcribe, dict).poll("mediatasks-task_1", RESULT)
    assert "internal detail" not in str(failure.value)


def test_transcribe_needs_the_audio_in_the_bucket(client: tuple[Any, Stubber]) -> None:
    transcribe, _ = client
    with pytest.raises(ValueError, match="media bucket"):
        TranscribeRecognizer(transcribe, dict).start(SpeechJob("job", Path("/nonexistent"), None))
