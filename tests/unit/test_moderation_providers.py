"""Content moderation's pieces without the product: the Amazon Rekognition adapters against botocore's
Stubber (call shapes, reading its label hierarchy, a video job's answer page by page, errors kept
from the caller), the frame sampling of the nsfw kind and how labels become time spans."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
from botocore.stub import ANY, Stubber
from PIL import Image

from mediatasks.domain.errors import ProcessingFailed
from mediatasks.domain.ffmpeg_args import Limits
from mediatasks.domain.media import ProbedMedia
from mediatasks.domain.tasks import StoredObject
from mediatasks.kinds.base import TrackJob, TrackTools
from mediatasks.kinds.nsfw import MAX_FRAMES, NsfwOptions, Sampling, labels_over_time, make_nsfw
from mediatasks.providers.moderation import FrameVerdict, ModerationLabel, TimedVerdict, VideoModeration
from mediatasks.providers.rekognition import (
    MIN_CONFIDENCE,
    PAGE_SIZE,
    RekognitionModerator,
    RekognitionVideoModerator,
)


@pytest.fixture
def client() -> Iterator[tuple[Any, Stubber]]:
    rekognition = boto3.client(
        "rekognition", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(rekognition) as stubber:
        yield rekognition, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def frame(tmp_path: Path) -> Path:
    path = tmp_path / "00001.ppm"
    Image.new("RGB", (64, 36), (200, 30, 30)).save(path)
    return path


class JpegOf:
    """Matches the Image parameter when it carries the frame as JPEG bytes of the frame's size."""

    def __eq__(self, image: object) -> bool:
        if not isinstance(image, dict):
            return False
        with Image.open(io.BytesIO(image["Bytes"])) as picture:
            return picture.format == "JPEG" and picture.size == (64, 36)


def test_a_frame_is_sent_as_jpeg_and_scored_by_its_sexual_categories(
    client: tuple[Any, Stubber], frame: Path
) -> None:
    rekognition, stubber = client
    stubber.add_response(
        "detect_moderation_labels",
        {
            "ModerationLabels": [
                {"Name": "Explicit", "Confidence": 71.0, "ParentName": "", "TaxonomyLevel": 1},
                {"Name": "Exposed Buttocks or Anus", "Confidence": 88.5, "ParentName": "Explicit Nudity",
                 "TaxonomyLevel": 3},
                {"Name": "Explicit Nudity", "Confidence": 80.0, "ParentName": "Explicit", "TaxonomyLevel": 2},
                {"Name": "Violence", "Confidence": 99.0, "ParentName": "", "TaxonomyLevel": 1},
            ],
            "ModerationModelVersion": "7.0",
        },
        {"Image": JpegOf(), "MinConfidence": MIN_CONFIDENCE},
    )  # fmt: skip
    moderator = RekognitionModerator(rekognition)
    verdict = moderator.judge(frame)
    # violence is reported, but only the sexual categories make the score
    assert verdict.score == 0.885
    assert [label.name for label in verdict.labels] == [
        "Explicit", "Exposed Buttocks or Anus", "Explicit Nudity", "Violence"
    ]  # fmt: skip
    assert moderator.model == "Amazon Rekognition content moderation 7.0"


def test_a_frame_without_labels_scores_zero(client: tuple[Any, Stubber], frame: Path) -> None:
    rekognition, stubber = client
    stubber.add_response(
        "detect_moderation_labels", {"ModerationLabels": []}, {"Image": ANY, "MinConfidence": ANY}
    )
    assert RekognitionModerator(rekognition).judge(frame) == FrameVerdict(score=0.0, labels=[])


@pytest.mark.parametrize(
    "code", ["InvalidImageFormatException", "ImageTooLargeException", "AccessDeniedException"]
)
def test_provider_errors_fail_without_its_detail(client: tuple[Any, Stubber], frame: Path, code: str) -> None:
    rekognition, stubber = client
    stubber.add_client_error("detect_moderation_labels", code, "internal detail arn:aws:secret", 400)
    with pytest.raises(ProcessingFailed) as failure:
        RekognitionModerator(rekognition).judge(frame)
    assert "arn" not in str(failure.value)
    assert code not in str(failure.value)


def test_sampling_covers_the_input_within_the_frame_bound() -> None:
    assert Sampling.over(10, 1.0) == Sampling(1.0, 10)
    assert Sampling.over(10.5, 1.0) == Sampling(1.0, 11)
    assert Sampling.over(None, 1.0).count == 1  # a still picture
    long = Sampling.over(3 * 3600, 1.0)
    assert long.count == MAX_FRAMES
    assert long.time_of(long.count - 1) < 3 * 3600 <= long.time_of(long.count)


def test_labels_become_spans_of_consecutive_frames() -> None:
    def seen(*labels: tuple[str, float]) -> FrameVerdict:
        return FrameVerdict(0.0, [ModerationLabel(name, confidence) for name, confidence in labels])

    frames = [
        (0.0, 2.0, seen(("Violence", 0.6))),
        (2.0, 4.0, seen(("Violence", 0.9), ("Alcohol", 0.7))),
        (4.0, 6.0, seen()),
        (6.0, 7.0, seen(("Violence", 0.5))),
    ]
    spans = labels_over_time(frames)
    assert spans == [
        {"name": "Violence", "confidence": 0.9, "start": 0.0, "end": 4.0},
        {"name": "Alcohol", "confidence": 0.7, "start": 2.0, "end": 4.0},
        {"name": "Violence", "confidence": 0.5, "start": 6.0, "end": 7.0},
    ]


VIDEO = StoredObject(bucket="media", key="work/task_1/moderation.mp4")


def detection(millis: int, name: str, confidence: float, parent: str = "") -> dict[str, Any]:
    return {
        "Timestamp": millis,
        "ModerationLabel": {"Name": name, "Confidence": confidence, "ParentName": parent},
    }


def pages_of(job: str, token: str | None = None) -> dict[str, Any]:
    """What GetContentModeration is asked for the page after `token`."""
    asked = {"JobId": job, "SortBy": "TIMESTAMP", "MaxResults": PAGE_SIZE}
    return {**asked, "NextToken": token} if token else asked


def test_a_video_job_is_started_on_the_stored_video_with_the_task_as_its_token(
    client: tuple[Any, Stubber],
) -> None:
    rekognition, stubber = client
    stubber.add_response(
        "start_content_moderation",
        {"JobId": "job-1"},
        {
            "Video": {"S3Object": {"Bucket": "media", "Name": "work/task_1/moderation.mp4"}},
            "MinConfidence": MIN_CONFIDENCE,
            "ClientRequestToken": "task_1",
            "JobTag": "mediatasks",
        },
    )
    assert RekognitionVideoModerator(rekognition).start(VIDEO, token="task_1") == "job-1"


def test_a_finished_video_job_is_read_page_by_page_into_frames_in_time_order(
    client: tuple[Any, Stubber],
) -> None:
    rekognition, stubber = client
    stubber.add_response("get_content_moderation", {"JobStatus": "IN_PROGRESS"}, pages_of("job-1"))
    first = {
        "JobStatus": "SUCCEEDED",
        "ModerationModelVersion": "7.0",
        "ModerationLabels": [
            detection(1000, "Explicit Nudity", 91.0, "Explicit"),
            detection(1000, "Explicit", 93.5),
            detection(2500, "Violence", 80.0),
        ],
        "NextToken": "page-2",
    }
    second = {"JobStatus": "SUCCEEDED", "ModerationLabels": [detection(2500, "Explicit", 55.0)]}
    stubber.add_response("get_content_moderation", first, pages_of("job-1"))
    stubber.add_response("get_content_moderation", second, pages_of("job-1", "page-2"))
    moderator = RekognitionVideoModerator(rekognition)
    assert moderator.poll("job-1") is None
    answer = moderator.poll("job-1")
    assert answer is not None
    assert answer.model == "Amazon Rekognition content moderation 7.0"
    assert [(frame.time, frame.verdict.score) for frame in answer.frames] == [(1.0, 0.935), (2.5, 0.55)]
    # a timestamp's labels come together whichever page they were on
    assert [label.name for label in answer.frames[1].verdict.labels] == ["Violence", "Explicit"]


@pytest.mark.parametrize("failure", ["failed job", "unreadable page", "refused start"])
def test_video_job_errors_fail_without_the_provider_s_detail(
    client: tuple[Any, Stubber], failure: str
) -> None:
    rekognition, stubber = client
    moderator = RekognitionVideoModerator(rekognition)
    detail = "internal detail arn:aws:secret"
    if failure == "refused start":
        stubber.add_client_error("start_content_moderation", "VideoTooLargeException", detail, 400)
        attempt: Any = lambda: moderator.start(VIDEO, token="task_1")  # noqa: E731
    else:
        if failure == "failed job":
            stubber.add_response(
                "get_content_moderation", {"JobStatus": "FAILED", "StatusMessage": detail}, pages_of("job-1")
            )
        else:
            stubber.add_client_error("get_content_moderation", "ResourceNotFoundException", detail, 400)
        attempt = lambda: moderator.poll("job-1")  # noqa: E731
    with pytest.raises(ProcessingFailed) as failed:
        attempt()
    assert "arn" not in str(failed.value)
    assert "Exception" not in str(failed.value)


def test_an_nsfw_track_from_a_video_job_reads_its_frames_and_samples_none(tmp_path: Path) -> None:
    def seen(score: float, *names: str) -> FrameVerdict:
        return FrameVerdict(score, [ModerationLabel(name, score) for name in names])

    moderation = VideoModeration(
        model="Amazon Rekognition content moderation 7.0",
        frames=[
            TimedVerdict(3.0, seen(0.8, "Explicit")),
            TimedVerdict(3.5, seen(0.9, "Explicit")),
            TimedVerdict(6.0, seen(0.3, "Explicit")),
            TimedVerdict(9.8, seen(0.2, "Violence")),
        ],
    )
    media = ProbedMedia("mov", ("mov", "mp4"), 10.0, 1000, 800, 320, 240, 25.0, "h264", None)
    job = TrackJob(NsfwOptions(), media, tmp_path / "source", tmp_path, None, cast(Limits, None), moderation)
    # the tools are never asked for frames or a moderator: the job judged the video
    made = make_nsfw(job, cast(TrackTools, object()))
    assert made.data["nsfw"] is True
    assert made.data["score"] == 0.9
    assert [frame["time"] for frame in made.data["frames"]] == [3.0, 3.5, 6.0, 9.8]
    # a reported frame stands for the footage up to the next one, at most a second, never past the
    # end; the footage between two reports was found clean, so it splits a label's span
    assert made.data["labels"] == [
        {"name": "Explicit", "confidence": 0.9, "start": 3.0, "end": 4.5},
        {"name": "Explicit", "confidence": 0.3, "start": 6.0, "end": 7.0},
        {"name": "Violence", "confidence": 0.2, "start": 9.8, "end": 10.0},
    ]
    assert made.data["model"] == "Amazon Rekognition content moderation 7.0"
