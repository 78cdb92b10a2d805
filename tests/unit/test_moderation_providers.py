"""Content moderation's pieces without the product: the Amazon Rekognition adapter against botocore's
Stubber (call shape, reading its label hierarchy, errors kept from the caller), the frame sampling
of the nsfw kind and how labels become time spans."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from PIL import Image

from mediatasks.domain.errors import ProcessingFailed
from mediatasks.kinds.nsfw import MAX_FRAMES, Sampling, labels_over_time
from mediatasks.providers.moderation import FrameVerdict, ModerationLabel
from mediatasks.providers.rekognition import MIN_CONFIDENCE, RekognitionModerator


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

    verdicts = [
        seen(("Violence", 0.6)),
        seen(("Violence", 0.9), ("Alcohol", 0.7)),
        seen(),
        seen(("Violence", 0.5)),
    ]
    spans = labels_over_time(verdicts, Sampling(2.0, 4), duration=7.0)
    assert spans == [
        {"name": "Violence", "confidence": 0.9, "start": 0.0, "end": 4.0},
        {"name": "Alcohol", "confidence": 0.7, "start": 2.0, "end": 4.0},
        {"name": "Violence", "confidence": 0.5, "start": 6.0, "end": 7.0},
    ]
