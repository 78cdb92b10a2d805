"""Content moderation of pictures: one protocol, two backends chosen by the deployment's setting
(MEDIATASKS_MODERATION_PROVIDER): Amazon Rekognition's DetectModerationLabels, the CDK deployment's
default, and Yahoo's open_nsfw model run on this machine for `mediatasks serve` and the CLI.

A moderator judges one frame at a time (JPEG-sized pictures sampled by ffmpeg): the nsfw kind
samples the input, asks about each frame and gathers the answers (kinds/nsfw.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol


class ModerationProviderName(StrEnum):
    rekognition = "rekognition"
    local = "local"


@dataclass(frozen=True)
class ModerationLabel:
    """A category of unsafe content the provider saw in a frame, with its confidence (0-1)."""

    name: str
    confidence: float


@dataclass(frozen=True)
class FrameVerdict:
    """How likely a frame is sexual content (0-1), and the categories the provider names."""

    score: float
    labels: list[ModerationLabel] = field(default_factory=list)


class FrameModerator(Protocol):
    @property
    def model(self) -> str:
        """The model's name, as a task's output reports it."""
        ...

    def judge(self, frame: Path) -> FrameVerdict:
        """The verdict on one picture (any format Pillow reads)."""
        ...


def moderator(provider: ModerationProviderName) -> FrameModerator:
    """The configured backend; each is imported only when chosen (the local model's packages are
    not part of the Lambda code asset)."""
    if provider == ModerationProviderName.local:
        from mediatasks.providers.opennsfw import OpenNsfwModerator

        return OpenNsfwModerator()
    from mediatasks.providers.rekognition import RekognitionModerator

    return RekognitionModerator.from_environment()
