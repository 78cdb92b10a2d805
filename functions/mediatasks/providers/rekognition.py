"""Moderation by Amazon Rekognition: DetectModerationLabels on each sampled frame, sent as JPEG
bytes (no object is written for it). Rekognition names categories in a hierarchy (Explicit >
Exposed Male Genitalia, ...); the frame's score is its confidence in the sexual ones, the same
question open_nsfw answers locally, and every category it saw is reported as a label.

A video is moderated as one job (StartContentModeration on an H.264 MP4 in the media bucket, which
Rekognition reads with the caller's permissions); its labels are read back page by page
(GetContentModeration, sorted by time) once the state machine's poll finds the job done."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from mediatasks.adapters.pictures import jpeg_bytes
from mediatasks.domain.errors import ProcessingFailed
from mediatasks.domain.tasks import StoredObject
from mediatasks.providers.moderation import FrameVerdict, ModerationLabel, TimedVerdict, VideoModeration

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient

# The top categories of sexual content, in taxonomy version 7 and in version 6 ("Explicit Nudity").
SEXUAL_CATEGORIES = frozenset(
    {"Explicit", "Explicit Nudity", "Non-Explicit Nudity of Intimate parts and Kissing"}
)
# Rekognition leaves out labels under this confidence (percent).
MIN_CONFIDENCE = 50.0
# Throttled calls are retried by botocore (adaptive mode slows down to the account's rate).
CLIENT_CONFIG = Config(retries={"max_attempts": 6, "mode": "adaptive"})
# GetContentModeration's largest page.
PAGE_SIZE = 1000
MODEL = "Amazon Rekognition content moderation"


class RekognitionModerator:
    def __init__(self, client: RekognitionClient) -> None:
        self._client = client
        self.model = MODEL

    @classmethod
    def from_environment(cls) -> RekognitionModerator:
        return cls(boto3.client("rekognition", config=CLIENT_CONFIG))

    def judge(self, frame: Path) -> FrameVerdict:
        try:
            answer = self._client.detect_moderation_labels(
                # JPEG or PNG bytes, at most 5 MB: a sampled frame is far less
                Image={"Bytes": jpeg_bytes(frame)},
                MinConfidence=MIN_CONFIDENCE,
            )
        except (BotoCoreError, ClientError):
            # the provider's own message stays out of the task's error
            raise ProcessingFailed("the moderation service could not judge a frame of the input") from None
        if version := answer.get("ModerationModelVersion"):
            self.model = f"{MODEL} {version}"
        return verdict_of(answer.get("ModerationLabels", []))


class RekognitionVideoModerator:
    def __init__(self, client: RekognitionClient) -> None:
        self._client = client

    @classmethod
    def from_environment(cls) -> RekognitionVideoModerator:
        return cls(boto3.client("rekognition", config=CLIENT_CONFIG))

    def start(self, video: StoredObject, token: str) -> str:
        try:
            started = self._client.start_content_moderation(
                Video={"S3Object": {"Bucket": video.bucket, "Name": video.key}},
                MinConfidence=MIN_CONFIDENCE,
                ClientRequestToken=token,
                JobTag="mediatasks",
            )
        except (BotoCoreError, ClientError):
            raise ProcessingFailed("the moderation service could not start judging the input") from None
        return started["JobId"]

    def poll(self, job: str) -> VideoModeration | None:
        pages = self._pages(job)
        first = next(pages)
        status = first.get("JobStatus")
        if status == "IN_PROGRESS":
            return None
        if status != "SUCCEEDED":  # its StatusMessage is the provider's and stays out of the task
            raise ProcessingFailed("the moderation service could not judge the input")
        version = first.get("ModerationModelVersion")
        labels_by_time: dict[int, list[Mapping[str, Any]]] = {}
        for page in (first, *pages):
            for seen in page.get("ModerationLabels", []):
                labels_by_time.setdefault(int(seen["Timestamp"]), []).append(seen.get("ModerationLabel", {}))
        frames = [
            TimedVerdict(time=round(millis / 1000, 3), verdict=verdict_of(labels))
            for millis, labels in sorted(labels_by_time.items())
        ]
        return VideoModeration(model=f"{MODEL} {version}" if version else MODEL, frames=frames)

    def _pages(self, job: str) -> Iterator[Mapping[str, Any]]:
        """The job's answer page after page (a job still running answers one page, without labels)."""
        # botocore has no paginator for GetContentModeration: its NextToken is followed here
        token: str | None = None
        while True:
            try:
                page = (
                    self._client.get_content_moderation(
                        JobId=job, SortBy="TIMESTAMP", MaxResults=PAGE_SIZE, NextToken=token
                    )
                    if token
                    else self._client.get_content_moderation(
                        JobId=job, SortBy="TIMESTAMP", MaxResults=PAGE_SIZE
                    )
                )
            except (BotoCoreError, ClientError):
                raise ProcessingFailed("the moderation service's answer could not be read") from None
            yield page
            if not page.get("NextToken"):
                return
            token = page["NextToken"]


def verdict_of(labels: Sequence[Mapping[str, Any]]) -> FrameVerdict:
    """Rekognition's labels of one frame: the highest confidence in a sexual category is the score."""
    parent_of = {str(label.get("Name")): str(label.get("ParentName") or "") for label in labels}

    def category(name: str) -> str:
        seen = {name}
        while (parent := parent_of.get(name)) and parent not in seen:
            seen.add(parent)
            name = parent
        return name

    named = [
        ModerationLabel(name=str(label["Name"]), confidence=round(float(label.get("Confidence", 0)) / 100, 4))
        for label in labels
        if label.get("Name")
    ]
    score = max(
        (label.confidence for label in named if category(label.name) in SEXUAL_CATEGORIES), default=0.0
    )
    return FrameVerdict(score=score, labels=named)
