"""The steps that start a provider's job and poll it, against moto (S3, DynamoDB):
- transcribe with Amazon Transcribe (moto's): the audio extracted by ffmpeg and stored, the job
  started on it, polled while moto reports it queued and in progress, its result read and the job
  deleted, then captions made from it. moto's Transcribe writes no result file, so the test puts
  Transcribe's document where the job writes it;
- nsfw's moderate with Amazon Rekognition's video moderation (moto has none: botocore's Stubber
  answers): a small H.264 copy of the video stored and the job started on it, polled while in
  progress, its answer read over two pages, then the nsfw track made from it without a frame sampled."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
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
from mediatasks.providers.rekognition import MIN_CONFIDENCE, RekognitionVideoModerator
from mediatasks.providers.speech import SpeechRecognizer
from mediatasks.providers.transcribe import TranscribeRecognizer
from mediatasks.service.tracks import TrackPipeline
from tests.support.media import MakeClip, ffprobe_json
from tests.unit.test_moderation_providers import detection, pages_of
from tests.unit.test_transcribe_provider import DOCUMENT

BUCKET = "media"


@pytest.fixture
def world(template: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The tasks table and media bucket in moto, and the settings that name them."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        boto3.client("dynamodb").create_table(**table_definition(template, TASKS_TABLE_ID, "tasks"))
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield Settings(tasks_table="tasks", media_bucket=BUCKET, work_dir=str(tmp_path))


@pytest.fixture
def pipeline(world: Settings) -> TrackPipeline:
    def read_json(where: Any) -> Any:
        return json.loads(boto3.client("s3").get_object(Bucket=where.bucket, Key=where.key)["Body"].read())

    recognizer = TranscribeRecognizer(boto3.client("transcribe"), read_json)
    return TrackPipeline(
        world,
        TaskStore("tasks", boto3.resource("dynamodb").Table("tasks")),
        Storage(),
        lambda: recognizer,
        lambda: None,
    )


def stored_task(
    pipeline: TrackPipeline, kind_name: str, clip: Path, options: dict[str, Any]
) -> tuple[Task, dict[str, Any], dict[str, Any]]:
    """A task of `kind_name` whose ingest stored `clip`: the task, its probe's result and its source."""
    task = Task.create(
        project_id="prj",
        kind=kind_name,
        steps=kind_of(kind_name).steps,
        input_url="https://example.com/a.mp4",
        options=options,
        destination=None,
        metadata={},
    )
    pipeline.store.create(task)
    boto3.client("s3").upload_file(str(clip), BUCKET, f"work/{task.id}/source")
    source = {"bucket": BUCKET, "key": f"work/{task.id}/source", "size": clip.stat().st_size}
    media = parse_ffprobe(ffmpeg.probe(ffprobe_args(ffmpeg.binaries().ffprobe, str(clip)), 30))
    return task, asdict(media), source


def test_a_transcribe_job_is_started_polled_and_read(pipeline: TrackPipeline, make_clip: MakeClip) -> None:
    task, probed, source = stored_task(
        pipeline, "subtitles", make_clip(), {"format": "vtt", "language": "en"}
    )
    s3 = boto3.client("s3")

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

    made = pipeline.track(task.id, "subtitles", probed, source, done, None, 300)
    assert (made["kind"], made["format"], made["type"]) == ("subtitles", "vtt", "text/vtt")
    track = s3.get_object(Bucket=BUCKET, Key=made["location"]["key"])["Body"].read().decode()
    assert "00:00:00.500 --> 00:00:01.500\nHello, world." in track


def test_a_rekognition_moderation_job_is_started_on_a_small_h264_copy_polled_and_judged(
    world: Settings, make_clip: MakeClip, tmp_path: Path
) -> None:
    rekognition = boto3.client("rekognition")
    moderator = RekognitionVideoModerator(rekognition)

    def no_speech() -> SpeechRecognizer:
        raise AssertionError("nsfw reads no speech")

    store = TaskStore("tasks", boto3.resource("dynamodb").Table("tasks"))
    pipeline = TrackPipeline(world, store, Storage(), no_speech, lambda: moderator)
    task, probed, source = stored_task(pipeline, "nsfw", make_clip("wide.mp4", size="1280x720"), {})
    copy_key = f"work/{task.id}/moderation.mp4"
    with Stubber(rekognition) as stubber:
        stubber.add_response(
            "start_content_moderation",
            {"JobId": "job-1"},
            {
                "Video": {"S3Object": {"Bucket": BUCKET, "Name": copy_key}},
                "MinConfidence": MIN_CONFIDENCE,
                "ClientRequestToken": task.id,
                "JobTag": "mediatasks",
            },
        )
        stubber.add_response("get_content_moderation", {"JobStatus": "IN_PROGRESS"}, pages_of("job-1"))
        stubber.add_response(
            "get_content_moderation",
            {"JobStatus": "SUCCEEDED", "ModerationModelVersion": "7.0",
             "ModerationLabels": [detection(500, "Explicit", 97.0)], "NextToken": "2"},
            pages_of("job-1"),
        )  # fmt: skip
        stubber.add_response(
            "get_content_moderation",
            {"JobStatus": "SUCCEEDED", "ModerationLabels": [detection(1200, "Violence", 70.0)]},
            pages_of("job-1", "2"),
        )
        state = pipeline.moderate(task.id, "nsfw", probed, source, 300)
        assert state == {"done": False, "job": "job-1", "answer": None}
        copy = tmp_path / "copy.mp4"
        copy.write_bytes(boto3.client("s3").get_object(Bucket=BUCKET, Key=copy_key)["Body"].read())
        streams = ffprobe_json(str(copy))["streams"]
        assert [(s["codec_type"], s["codec_name"], s["width"]) for s in streams] == [("video", "h264", 480)]

        assert pipeline.moderation_status(task.id, "nsfw", state) == state  # still in progress
        running = store.get(task.id)
        assert running is not None
        assert running.steps[StepName.moderate].status == StepStatus.processing
        done = pipeline.moderation_status(task.id, "nsfw", state)
        assert done == {
            "done": True,
            "job": None,
            "answer": {"bucket": BUCKET, "key": f"work/{task.id}/moderation.json"},
        }
        made = pipeline.track(task.id, "nsfw", probed, source, None, done, 300)
        stubber.assert_no_pending_responses()
    moderated = store.get(task.id)
    assert moderated is not None
    assert moderated.steps[StepName.moderate].status == StepStatus.succeeded
    assert made["data"]["nsfw"] is True
    assert made["data"]["frames"] == [{"time": 0.5, "score": 0.97}, {"time": 1.2, "score": 0.0}]
    assert made["data"]["model"] == "Amazon Rekognition content moderation 7.0"
    assert made["data"]["labels"][0] == {"name": "Explicit", "confidence": 0.97, "start": 0.5, "end": 1.2}
