"""audio: the first audio stream of any input, encoded to mp3, aac, ogg, opus, wav or flac."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from mediatasks.domain.ffmpeg_args import (
    AUDIO_BITRATE_KBPS,
    Limits,
    input_args,
    output_args,
    quality_ladder,
)
from mediatasks.domain.media import ProbedMedia
from mediatasks.domain.options import MediaOptions, Quality, Trim
from mediatasks.domain.requests import TaskRequest
from mediatasks.kinds.base import MEDIA_STEPS, Encoding, Family, Kind, Output

AudioFormat = Literal["mp3", "aac", "ogg", "opus", "wav", "flac"]
# Formats whose encoder takes no bitrate: lossless ones, and Vorbis (ffmpeg's own encoder has only a
# quality scale)
NO_BITRATE_AUDIO: tuple[AudioFormat, ...] = ("wav", "flac", "ogg")


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


class AudioTaskRequest(TaskRequest):
    kind: Literal["audio"]
    options: AudioOptions = Field(default_factory=AudioOptions)


LOSSY_AUDIO_KBPS = {quality: f"{kbps}k" for quality, kbps in AUDIO_BITRATE_KBPS.items()}
# Per output format: encoder, muxer, and the rate option with its value by quality (None: lossless).
AUDIO_ENCODING: dict[str, tuple[tuple[str, ...], str, tuple[str, dict[Quality, str]] | None]] = {
    "mp3": (("-c:a", "libmp3lame"), "mp3", ("-b:a", quality_ladder("64k", "96k", "128k", "192k", "256k"))),
    "aac": (("-c:a", "aac"), "adts", ("-b:a", LOSSY_AUDIO_KBPS)),
    # ffmpeg's own Vorbis encoder (the only one in this build): experimental, stereo, quality scale only
    "ogg": (
        ("-c:a", "vorbis", "-strict", "experimental", "-ac", "2"),
        "ogg",
        ("-q:a", quality_ladder("1", "3", "5", "7", "9")),
    ),
    "opus": (("-c:a", "libopus"), "opus", ("-b:a", quality_ladder("32k", "48k", "96k", "128k", "160k"))),
    "wav": (("-c:a", "pcm_s16le"), "wav", None),
    "flac": (("-c:a", "flac"), "flac", None),
}


def audio_encode_args(
    ffmpeg: str, options: AudioOptions, media: ProbedMedia, source_path: str, output_path: str, limits: Limits
) -> list[str]:
    """The first audio stream of a local source, encoded to `options.format`."""
    codec, muxer, rate_setting = AUDIO_ENCODING[options.format]
    rate: list[str] = []
    if options.bitrate is not None:
        rate = ["-b:a", str(options.bitrate)]
    elif rate_setting is not None:
        flag, by_quality = rate_setting
        rate = [flag, by_quality[options.quality]]
    return [
        ffmpeg, *input_args(media, options, source_path, limits), "-map", "0:a:0", "-vn", *codec, *rate,
        *output_args(limits, muxer, output_path),
    ]  # fmt: skip


KIND = Kind(
    name="audio",
    family=Family.media,
    summary="Encode the first audio stream to mp3, aac, ogg, opus, wav or flac; trim",
    request=AudioTaskRequest,
    steps=MEDIA_STEPS,
    output=Output.made_file,
    encoding=Encoding(needs="audio", encode_args=audio_encode_args, output="audio"),
)
