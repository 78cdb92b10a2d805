"""Processing options of each task kind: the one definition that drives API validation, the OpenAPI
document, ffmpeg argument building and CLI flags."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

MAX_PIXELS_PER_SIDE = 7680


Quality = Literal["very_low", "low", "medium", "high", "very_high"]
Fit = Literal["contain", "cover", "fill"]
Position = Literal[
    "center", "top", "bottom", "left", "right", "top_left", "top_right", "bottom_left", "bottom_right"
]  # fmt: skip
VideoFormat = Literal["mp4", "webm", "mov"]
AudioFormat = Literal["mp3", "aac", "ogg", "opus", "wav", "flac"]
ImageFormat = Literal["jpeg", "png", "webp", "gif", "avif"]
AnimationFormat = Literal["gif", "webp"]
AdaptiveFormat = Literal["hls"]
MAX_ANIMATION_SECONDS = 30.0
# Formats whose encoder takes no bitrate: lossless ones, and Vorbis (ffmpeg's own encoder has only a
# quality scale)
NO_BITRATE_AUDIO: tuple[AudioFormat, ...] = ("wav", "flac", "ogg")
VideoCodec = Literal["h264", "h265", "vp9", "av1"]


Percentage = Annotated[str, StringConstraints(pattern=r"^(100|[1-9][0-9]?)(\.[0-9]{1,2})?%$")]
Pixels = Annotated[int, Field(ge=2, le=MAX_PIXELS_PER_SIDE, multiple_of=2)]
Dimension = Annotated[
    Pixels | Percentage,
    Field(description='Pixels (even, 2-7680) or a percentage of the source such as "50%"'),
]
HexColour = Annotated[str, StringConstraints(pattern=r"^#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")]
MAX_SECONDS = 86_400.0
Seconds = Annotated[float, Field(ge=0, le=MAX_SECONDS)]

# The first codec of each container is its default.
VIDEO_CODECS_BY_FORMAT: dict[str, tuple[VideoCodec, ...]] = {
    "mp4": ("h264", "h265", "av1"),
    "webm": ("vp9", "av1"),
    "mov": ("h264", "h265"),
}


class StrictOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


def percentage_of(value: str, total: int) -> int:
    """Pixels for a percentage string such as "50%" of `total`, rounded down to an even number."""
    percent = float(value.rstrip("%"))
    return max(2, int(total * percent / 100) // 2 * 2)


class Trim(StrictOptions):
    start: Seconds | None = Field(default=None, description="Seconds from the start of the input")
    end: Seconds | None = Field(default=None, description="Seconds from the start of the input")

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise PydanticCustomError("end_before_start", "end must be greater than start")
        return self


class MediaOptions(StrictOptions):
    """What every media kind's options have: an output format, which each kind narrows, and a quality."""

    format: str
    quality: Quality = "medium"


class Framing(StrictOptions):
    width: Dimension | None = None
    height: Dimension | None = None
    fit: Fit = Field(default="contain", description="How the source fills a width x height box")
    position: Position = Field(default="center", description="Anchor for contain and cover")
    background: HexColour | None = Field(default=None, description="Padding colour, only with fit contain")

    @model_validator(mode="after")
    def _background_only_with_contain(self) -> Self:
        if self.background is not None and self.fit != "contain":
            raise PydanticCustomError(
                "background_needs_contain", "background is only allowed with fit contain"
            )
        return self


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


class AudioOptions(Trim, MediaOptions):
    format: AudioFormat = "mp3"
    bitrate: int | None = Field(
        default=None,
        ge=32_000,
        le=320_000,
        description="Bits per second; not for wav, flac or ogg (use quality)",
    )

    @model_validator(mode="after")
    def _bitrate_only_where_it_applies(self) -> Self:
        if self.bitrate is not None and self.format in NO_BITRATE_AUDIO:
            raise PydanticCustomError(
                "bitrate_not_applicable",
                "bitrate does not apply to {format}; use quality",
                {"format": self.format},
            )
        return self


class ImageOptions(Framing, MediaOptions):
    format: ImageFormat = "jpeg"
    start: Seconds | None = Field(
        default=None, description="For a video input: the time of the frame, in seconds"
    )


class AnimationOptions(Trim, MediaOptions):
    """An animated picture from a stretch of video: by default its first 5 s, 480 px wide, 10 fps."""

    format: AnimationFormat = "gif"
    width: Dimension | None = None
    height: Dimension | None = None
    fps: float = Field(default=10, ge=1, le=30)

    @model_validator(mode="after")
    def _short_enough(self) -> Self:
        if self.end is not None and self.end - (self.start or 0) > MAX_ANIMATION_SECONDS:
            raise PydanticCustomError(
                "animation_too_long",
                "an animation lasts at most {seconds:g} seconds",
                {"seconds": MAX_ANIMATION_SECONDS},
            )
        return self


class AdaptiveOptions(Framing, Trim, MediaOptions):
    """An HLS stream: width/height size the top rendition; the rest of the ladder is derived."""

    format: AdaptiveFormat = "hls"


_COLOUR_SHORT = re.compile(r"^#([0-9a-fA-F])([0-9a-fA-F])([0-9a-fA-F])$")


def ffmpeg_colour(hex_colour: str) -> str:
    """`#abc` or `#aabbcc` as ffmpeg's `0xAABBCC`."""
    short = _COLOUR_SHORT.match(hex_colour)
    digits = "".join(c * 2 for c in short.groups()) if short else hex_colour[1:]
    return "0x" + digits.upper()
