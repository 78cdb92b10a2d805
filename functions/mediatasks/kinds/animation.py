"""animation: an animated gif (ffmpeg, with a palette made for the frames) or webp (frames ->
Pillow) from a stretch of video (seed 000)."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from mediatasks.domain.errors import InputUnsupported, OutputTooLarge
from mediatasks.domain.ffmpeg_args import (
    GIF_COLOURS,
    Limits,
    frames_args,
    framing_filters,
    input_args,
    output_args,
    target_size,
)
from mediatasks.domain.media import ProbedMedia
from mediatasks.domain.options import MAX_SECONDS, Dimension, Framing, MediaOptions, Trim
from mediatasks.domain.requests import TaskRequest
from mediatasks.kinds.base import MEDIA_STEPS, Encoding, Family, Kind, Output

AnimationFormat = Literal["gif", "webp"]
MAX_ANIMATION_SECONDS = 30.0


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


class AnimationTaskRequest(TaskRequest):
    kind: Literal["animation"]
    options: AnimationOptions = Field(default_factory=AnimationOptions)


DEFAULT_ANIMATION_SECONDS = 5.0
DEFAULT_ANIMATION_WIDTH = 480
# Every frame of an animated WebP is held in memory by the picture encoder: bound their pixels.
MAX_ANIMATION_PIXELS = 300_000_000


def animation_trim(options: AnimationOptions, media: ProbedMedia) -> Trim:
    """The stretch the animation covers: start to end, by default DEFAULT_ANIMATION_SECONDS long."""
    start = options.start or 0.0
    if media.duration is not None and start >= media.duration:
        raise InputUnsupported(f"start ({start:g} s) is past the end of the input ({media.duration:g} s)")
    end = options.end if options.end is not None else min(start + DEFAULT_ANIMATION_SECONDS, MAX_SECONDS)
    if media.duration is not None:
        end = min(end, media.duration)
    if end <= start:
        raise InputUnsupported(f"there is nothing to animate after {start:g} s")
    return Trim(start=start or None, end=end)


def _animation_box(options: AnimationOptions) -> Framing:
    """The frame size asked for, or DEFAULT_ANIMATION_WIDTH wide when neither side was given."""
    if options.width is None and options.height is None:
        return Framing(width=DEFAULT_ANIMATION_WIDTH)
    return Framing(width=options.width, height=options.height)


def _frame_pixels(box: Framing, media: ProbedMedia) -> int:
    width, height = target_size(box, media)
    aspect = (media.height or 1) / (media.width or 1)
    if width is None:
        return int((height or 0) ** 2 / aspect)
    return width * (height if height is not None else int(width * aspect))


def animation_args(
    ffmpeg: str,
    options: AnimationOptions,
    media: ProbedMedia,
    source_path: str,
    output_path: str,
    limits: Limits,
) -> list[str]:
    """An animated GIF made by ffmpeg (with a palette made for these very frames), or for WebP the
    frames for the picture encoder, which holds them all: their pixels are bounded."""
    trim = animation_trim(options, media)
    box = _animation_box(options)
    filters = [f"fps={options.fps:g}", *framing_filters(box, media)]
    if options.format == "webp":
        frame_count = ((trim.end or 0) - (trim.start or 0)) * options.fps
        if frame_count * _frame_pixels(box, media) > MAX_ANIMATION_PIXELS:
            raise OutputTooLarge(
                "the animation has too many pixels: make it shorter, smaller or at a lower fps"
            )
        return frames_args(ffmpeg, media, trim, filters, [], output_path, limits, source_path)
    palette = (
        f"split[frames][copy];[copy]palettegen=max_colors={GIF_COLOURS[options.quality]}:stats_mode=diff"
        "[palette];[frames][palette]paletteuse"
    )
    return [
        ffmpeg, *input_args(media, trim, source_path, limits), "-map", "0:v:0",
        "-vf", ",".join([*filters, palette]), "-loop", "0", *output_args(limits, "gif", output_path),
    ]  # fmt: skip


KIND = Kind(
    name="animation",
    family=Family.media,
    summary="An animated gif or webp of a stretch of video: size, fps, start, end, quality",
    request=AnimationTaskRequest,
    steps=MEDIA_STEPS,
    output=Output.made_file,
    encoding=Encoding(
        needs="video", encode_args=animation_args, output="image", picture_formats=frozenset({"webp"})
    ),
)
