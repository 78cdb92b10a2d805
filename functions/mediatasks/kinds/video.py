"""video: a transcode to mp4, webm or mov, sized, framed and trimmed as asked (seed 001)."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from mediatasks.domain.ffmpeg_args import (
    AUDIO_BITRATE_KBPS,
    Limits,
    framing_filters,
    input_args,
    output_args,
)
from mediatasks.domain.media import ProbedMedia
from mediatasks.domain.options import Framing, MediaOptions, Quality, Trim
from mediatasks.domain.requests import TaskRequest
from mediatasks.domain.segments import join_inputs
from mediatasks.kinds.base import MEDIA_STEPS, Encoding, Family, Kind, Output

VideoFormat = Literal["mp4", "webm", "mov"]
VideoCodec = Literal["h264", "h265", "vp9", "av1"]

# The first codec of each container is its default.
VIDEO_CODECS_BY_FORMAT: dict[str, tuple[VideoCodec, ...]] = {
    "mp4": ("h264", "h265", "av1"),
    "webm": ("vp9", "av1"),
    "mov": ("h264", "h265"),
}


class VideoOptions(Framing, Trim, MediaOptions):
    format: VideoFormat = "mp4"
    codec: VideoCodec | None = Field(
        default=None, description="Defaults to h264 for mp4 and mov, vp9 for webm"
    )
    fps: float | None = Field(default=None, ge=1, le=60)
    bitrate: int | None = Field(default=None, ge=300_000, le=60_000_000, description="Video bits per second")

    @model_validator(mode="after")
    def _codec_fits_container(self) -> Self:
        allowed = VIDEO_CODECS_BY_FORMAT[self.format]
        if self.codec is None:
            self.codec = allowed[0]
        elif self.codec not in allowed:
            raise PydanticCustomError(
                "invalid_codec",
                "codec {codec} cannot be stored in {format}; use one of: {allowed}",
                {"codec": self.codec, "format": self.format, "allowed": ", ".join(allowed)},
            )
        return self


class VideoTaskRequest(TaskRequest):
    kind: Literal["video"]
    options: VideoOptions = Field(default_factory=VideoOptions)


# Constant rate factor per codec; each scale is the encoder's own (x264 23 ~ x265 28 ~ vp9 33).
CRF: dict[str, dict[Quality, int]] = {
    "h264": {"very_low": 32, "low": 28, "medium": 23, "high": 20, "very_high": 17},
    "h265": {"very_low": 36, "low": 32, "medium": 28, "high": 25, "very_high": 22},
    "vp9": {"very_low": 45, "low": 40, "medium": 34, "high": 31, "very_high": 26},
    "av1": {"very_low": 45, "low": 40, "medium": 35, "high": 30, "very_high": 25},
}
ENCODER_SPEED: dict[str, tuple[str, ...]] = {
    "h264": ("-c:v", "libx264", "-preset", "fast"),
    "h265": ("-c:v", "libx265", "-preset", "fast", "-tag:v", "hvc1", "-x265-params", "log-level=error"),
    "vp9": ("-c:v", "libvpx-vp9", "-deadline", "good", "-cpu-used", "4", "-row-mt", "1"),
    "av1": ("-c:v", "libsvtav1", "-preset", "8"),
}
AUDIO_CODEC_BY_FORMAT = {"mp4": "aac", "mov": "aac", "webm": "libopus"}
MUXER_BY_FORMAT = {"mp4": "mp4", "mov": "mov", "webm": "webm"}
# the demuxer that reads each container back (an encoded piece, when joining)
PIECE_DEMUXER_BY_FORMAT = {"mp4": "mov", "mov": "mov", "webm": "matroska"}


def video_filters(options: VideoOptions, media: ProbedMedia) -> list[str]:
    """The filter chain for size, fit and frame rate, ending in the pixel format encoders expect."""
    filters = framing_filters(options, media)
    if options.fps is not None:
        filters.append(f"fps={options.fps:g}")
    return [*filters, "format=yuv420p"]


def _video_rate_args(options: VideoOptions) -> list[str]:
    codec = options.codec or "h264"
    if options.bitrate is not None:
        rate = str(options.bitrate)
        return ["-b:v", rate, "-maxrate", rate, "-bufsize", str(options.bitrate * 2)]
    crf = ["-crf", str(CRF[codec][options.quality])]
    return [*crf, "-b:v", "0"] if codec == "vp9" else crf


def _audio_and_output_args(
    options: VideoOptions, media: ProbedMedia, output_path: str, limits: Limits
) -> list[str]:
    """The audio encoder (when the source has audio) and the container, after the video's arguments."""
    args: list[str] = []
    if media.has_audio:
        args += [
            "-c:a",
            AUDIO_CODEC_BY_FORMAT[options.format],
            "-b:a",
            f"{AUDIO_BITRATE_KBPS[options.quality]}k",
        ]
    if options.format in ("mp4", "mov"):
        args += ["-movflags", "+faststart"]
    return [*args, *output_args(limits, MUXER_BY_FORMAT[options.format], output_path)]


def video_encode_args(
    ffmpeg: str,
    options: VideoOptions,
    media: ProbedMedia,
    source_path: str,
    output_path: str,
    limits: Limits,
) -> list[str]:
    """Encode a local source file (whose demuxer the probe found) into `output_path`."""
    codec = options.codec or "h264"
    args = [
        ffmpeg,
        *input_args(media, options, source_path, limits),
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-vf",
        ",".join(video_filters(options, media)),
        *ENCODER_SPEED[codec],
        *_video_rate_args(options),
    ]
    return [*args, *_audio_and_output_args(options, media, output_path, limits)]


def video_join_args(
    ffmpeg: str,
    options: VideoOptions,
    media: ProbedMedia,
    pieces_list: str,
    audio_path: str | None,
    output_path: str,
    limits: Limits,
) -> list[str]:
    """The encoded pieces' video copied as it is, after each other, with the source's audio
    encoded once over the whole duration (no seams in the audio)."""
    inputs = join_inputs(pieces_list, PIECE_DEMUXER_BY_FORMAT[options.format], media, audio_path, limits)
    args = [
        ffmpeg,
        *inputs,
        "-map",
        "0:v:0",
        "-map",
        "1:a:0?" if media.has_audio else "0:a:0?",
        "-c:v",
        "copy",
    ]
    return [*args, *_audio_and_output_args(options, media, output_path, limits)]


KIND = Kind(
    name="video",
    family=Family.media,
    summary="Transcode to mp4, webm or mov: size, fit, codec, quality, frame rate, trim",
    request=VideoTaskRequest,
    steps=MEDIA_STEPS,
    output=Output.made_file,
    encoding=Encoding(
        needs="video", encode_args=video_encode_args, output="video", join_args=video_join_args
    ),
)
