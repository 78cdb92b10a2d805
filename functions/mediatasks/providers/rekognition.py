"""Moderation by Amazon Rekognition: DetectModerationLabels on each sampled frame, sent as JPEG
bytes (no object is written for it). Rekognition names categories in a hierarchy (Explicit >
Exposed Male Genitalia, ...); the frame's score is its confidence in the sexual ones, the same
question open_nsfw answers locally, and every category it saw is reported as a label."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from mediatasks.adapters.pictures import jpeg_bytes
from mediatasks.domain.errors import ProcessingFailed
from mediatasks.providers.moderation import FrameVerdict, ModerationLabel

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


class RekognitionModerator:
    def __init__(self, client: RekognitionClient) -> None:
        self._client = client
        self.model = "Amazon Rekognition content moderation"

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
            self.model = f"Amazon Rekognition content moderation {version}"
        return verdict_of(answer.get("ModerationLabels", []))


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
