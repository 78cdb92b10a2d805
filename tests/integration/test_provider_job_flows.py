"""The transcribe steps with the Amazon Transcribe provider against moto (S3, DynamoDB, Transcribe):
the audio extracted by ffmpeg and stored, the job started on it, polled while moto reports it
queued and in progress, its result read and the job deleted, then captions made from it. moto's
Transcribe writes no result file, so the test puts Transcribe's document where the job writes it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from mediatasks.adapters import ffmpeg
from mediatasks.adapters.storage import Storage
from mediatasks.adapters.store import TaskStore
from mediatasks.config import Settings
from mediatasks.constants import TASKS_TABLE_ID
from mediatasks.domain.ffmpeg_args import ffprobe_args
from mediatasks.domain.media import parse_ffprobe
from mediatasks.domain.tasks import Status, StepName, StepStatus, Task
from mediatasks.kinds.registry import kind_of
from mediatasks.local.cloud import table_definition
from mediatasks.providers.transcribe import TranscribeRecognizer
from mediatasks.service.tracks import TrackPipeline
from tests.support.media import MakeClip
from tests.unit.test_transcribe_provider import DOCUMENT

BUCKET = "media"


@pytest.fixture
def pipeline(
    template: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TrackPipeline]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        dynamodb = boto3.resource("dynamodb")
        dynamodb.meta.client.create_table(**table_definition(template, TASKS_TABLE_ID, "tasks"))
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        settings = Settings(tasks_table="tasks", media_bucket=BUCKET, work_dir=str(tmp_path))
        storage = Storage()

        def read_json(where: Any) -> Any:
            return json.loads(
                boto3.client("s3").get_object(Bucket=where.bucket, Key=where.key)["Body"].read()
            )

        recognizer = TranscribeRecognizer(boto3.client("transcribe"), read_json)
        yield TrackPipeline(
            settings, TaskStore("tasks", dynamodb.Table("tasks")), storage, lambda: recognizer
        )


def test_a_transcribe_job_is_started_polled_and_read(pipeline: TrackPipeline, make_clip: MakeClip) -> None:
    clip = make_clip()
    kind = kind_of("subtitles")
    task = Task.create(
        project_id="prj",
        kind="subtitles",
        steps=kind.steps,
        input_url="https://example.com/a.mp4",
        options={"format": "vtt", "language": "en"},
        destination=None,
        metadata={},
    )
    pipeline.store.create(task)
    s3 = boto3.client("s3")
    s3.upload_file(str(clip), BUCKET, f"work/{task.id}/source")
    source = {"bucket": BUCKET, "key": f"work/{task.id}/source", "size": clip.stat().st_size}
    media = parse_ffprobe(ffmpeg.probe(ffprobe_args(ffmpeg.binaries().ffprobe, str(clip)), 30))
    probed = asdict(media)

    state = pipeline.transcribe(task.id, "subtitles", probed, source, 300)
    assert (state["done"], state["job"]) == (False, f"mediatasks-{task.id}")
    job = boto3.client("transcribe").get_transcription_job(TranscriptionJobName=state["job"])[
        "TranscriptionJob"
    ]
    assert job["Media"]["MediaFileUri"] == f"s3://{BUCKET}/work/{task.id}/speech.flac"
    assert job["LanguageCode"] == "en-US"
    audio = s3.get_object(Bucket=BUCKET, Key=f"work/{task.id}/speech.flac")["Body"].read()
    assert audio.startswith(b"fLaC")
    running = pipeline.store.get(task.id)
    assert running is not None
    assert running.steps[StepName.transcribe].status == StepStatus.processing

    # moto reports the job IN_PROGRESS on this poll; Transcribe has written its result by the next
    assert pipeline.transcript_status(task.id, "subtitles", state) == state
    result = state["result"]
    s3.put_object(Bucket=result["bucket"], Key=result["key"], Body=json.dumps(DOCUMENT).encode())
    done = pipeline.transcript_status(task.id, "subtitles", state)
    assert done["done"] is True
    assert done["transcript"] == {"bucket": BUCKET, "key": f"work/{task.id}/transcript.json"}
    with pytest.raises(ClientError):  # deleted once its result was read
        boto3.client("transcribe").get_transcription_job(TranscriptionJobName=state["job"])
    transcribed = pipeline.store.get(task.id)
    assert transcribed is not None
    assert transcribed.status == Status.processing
    assert transcribed.steps[StepName.transcribe].status == StepStatus.succeeded

    made = pipeline.track(task.id, "subtitles", probed, source, done, 300)
    assert (made["kind"], made["format"], made["type"]) == ("subtitles", "vtt", "text/vtt")
    track = s3.get_object(Bucket=BUCKET, Key=made["location"]["key"])["Body"].read().decode()
    assert "00:00:00.500 --> 00:00:01.500\nHello, world." in track
