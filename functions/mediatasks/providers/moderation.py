"""Content moderation of pictures: one protocol, two backends chosen by the deployment's setting
(MEDIATASKS_MODERATION_PROVIDER): Amazon Rekognition's DetectModerationLabels, the CDK deployment's
default, and Yahoo's open_nsfw model run on this machine for `mediatasks serve` and the CLI.

A moderator judges one frame at a time (JPEG-sized pictures sampled by ffmpeg): the nsfw kind
samples the input, asks about each frame and gathers the answers (kinds/nsfw.py). Rekognition also
moderates a whole video stored in S3 as a job of its own (StartContentModeration), which the state
machine waits for in a Wait loop as it does for Transcribe; the local model has no such job, and a
video is then judged frame by frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from mediatasks.domain.tasks import StoredObject


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


@dataclass(frozen=True)
class TimedVerdict:
    """The verdict on the frame at `time` seconds of a moderated video."""

    time: float
    verdict: FrameVerdict


@dataclass(frozen=True)
class VideoModeration:
    """A moderation job's answer: the frames it reported (those where it saw something), in time order."""

    model: str
    frames: list[TimedVerdict]


class VideoModerator(Protocol):
    def start(self, video: StoredObject, token: str) -> str:
        """Starts moderating a stored H.264 MP4 video; the job's id. `token` makes a repeated start
        (a retried step) the same job."""
        ...

    def poll(self, job: str) -> VideoModeration | None:
        """The job's answer once it is done, else None; raises TaskFailure when it failed."""
        ...


def moderator(provider: ModerationProviderName) -> FrameModerator:
    """The configured backend; each is imported only when chosen (the local model's packages are
    not part of the Lambda code asset)."""
    if provider == ModerationProviderName.local:
        from mediatasks.providers.opennsfw import OpenNsfwModerator

        return OpenNsfwModerator()
    from mediatasks.providers.rekognition import RekognitionModerator

    return RekognitionModerator.from_environment()


def video_moderator(provider: ModerationProviderName) -> VideoModerator | None:
    """The backend's moderation of whole videos, if it has one (the local model judges frames)."""
    if provider == ModerationProviderName.local:
        return None
    from mediatasks.providers.rekognition import RekognitionVideoModerator

    return RekognitionVideoModerator.from_environment()
