"""image: a framed still (jpeg, png, webp, gif, avif) from a video frame or a picture."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from mediatasks.domain.errors import InputUnsupported
from mediatasks.domain.ffmpeg_args import Limits, frames_args, framing_filters
from mediatasks.domain.media import ProbedMedia
from mediatasks.domain.options import Framing, MediaOptions, Seconds, Trim
from mediatasks.domain.requests import TaskRequest
from mediatasks.kinds.base import MEDIA_STEPS, Encoding, Family, Kind, Output

ImageFormat = Literal["jpeg", "png", "webp", "gif", "avif"]


class ImageOptions(Framing, MediaOptions):
    format: ImageFormat = "jpeg"
    start: Seconds | None = Field(
        default=None, description="For a video input: the time of the frame, in seconds"
    )


class ImageTaskRequest(TaskRequest):
    kind: Literal["image"]
    options: ImageOptions = Field(default_factory=ImageOptions)


def image_frame_args(
    ffmpeg: str, options: ImageOptions, media: ProbedMedia, source_path: str, output_path: str, limits: Limits
) -> list[str]:
    """One frame (at `start` of a video input), framed as asked, as an RGB PPM for the image encoder."""
    if options.start is not None and media.duration is not None and options.start >= media.duration:
        raise InputUnsupported(
            f"start ({options.start:g} s) is past the end of the input ({media.duration:g} s)"
        )
    seek = Trim(start=options.start if media.duration is not None else None)
    filters = framing_filters(options, media)
    return frames_args(ffmpeg, media, seek, filters, ["-frames:v", "1"], output_path, limits, source_path)


KIND = Kind(
    name="image",
    family=Family.media,
    summary="A still picture (jpeg, png, webp, gif, avif) of a video frame or a picture, framed",
    request=ImageTaskRequest,
    steps=MEDIA_STEPS,
    output=Output.made_file,
    encoding=Encoding(
        needs="video",
        encode_args=image_frame_args,
        output="image",
        picture_formats=frozenset(get_args(ImageFormat)),
    ),
)
