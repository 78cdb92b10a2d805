"""The media kinds a task can have: for each, its options, what its input must hold, how ffmpeg
makes it and what the result is. Adding a kind is adding an entry here (and its request model)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from mediatasks.domain.ffmpeg_args import (
    Limits,
    animation_args,
    audio_encode_args,
    hls_args,
    image_frame_args,
    video_encode_args,
)
from mediatasks.domain.media import OutputKind, ProbedMedia
from mediatasks.domain.options import (
    AdaptiveOptions,
    AnimationOptions,
    AudioOptions,
    ImageFormat,
    ImageOptions,
    MediaOptions,
    VideoOptions,
)

EncodeArgs = Callable[[str, Any, ProbedMedia, str, str, Limits], list[str]]


@dataclass(frozen=True)
class MediaKind:
    options: type[MediaOptions]
    needs: Literal["video", "audio"]
    encode_args: EncodeArgs
    output: OutputKind
    # formats ffmpeg only extracts frames for (RGB PPM files) and the picture encoder makes
    picture_formats: frozenset[str] = frozenset()
    # the output is a folder (an HLS master playlist beside its renditions), not one file
    playlist: bool = False


MEDIA_KINDS: dict[str, MediaKind] = {
    "video": MediaKind(options=VideoOptions, needs="video", encode_args=video_encode_args, output="video"),
    "audio": MediaKind(options=AudioOptions, needs="audio", encode_args=audio_encode_args, output="audio"),
    "image": MediaKind(
        options=ImageOptions,
        needs="video",
        encode_args=image_frame_args,
        output="image",
        picture_formats=frozenset(get_args(ImageFormat)),
    ),
    "animation": MediaKind(
        options=AnimationOptions,
        needs="video",
        encode_args=animation_args,
        output="image",
        picture_formats=frozenset({"webp"}),
    ),
    "adaptive_video": MediaKind(
        options=AdaptiveOptions, needs="video", encode_args=hls_args, output="video", playlist=True
    ),
}
