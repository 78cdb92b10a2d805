"""ffmpeg and ffprobe argument pieces every kind shares, rendered from typed options by our own code.

No user-supplied string reaches these lists: every value is an enum member, a validated number or a
path we chose, so nothing can smuggle an option, a filter (the `movie` filter ignores protocol
whitelists) or a URL into ffmpeg. Each kind's own builder lives in its module under `kinds/`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mediatasks.domain.media import ACCEPTED_DEMUXERS, InputLimits, ProbedMedia
from mediatasks.domain.options import (
    MAX_PIXELS_PER_SIDE,
    Framing,
    Position,
    Quality,
    Trim,
    ffmpeg_colour,
    percentage_of,
)

INPUT_GUARDS: tuple[str, ...] = ("-format_whitelist", ",".join(ACCEPTED_DEMUXERS))

AUDIO_BITRATE_KBPS: dict[Quality, int] = {
    "very_low": 64,
    "low": 96,
    "medium": 128,
    "high": 160,
    "very_high": 192,
}

# A GIF's palette size by quality (ffmpeg's animations and Pillow's stills): fewer colours, smaller files.
GIF_COLOURS: dict[Quality, int] = {"very_low": 32, "low": 64, "medium": 128, "high": 256, "very_high": 256}

# Where the anchored side sits in the spare room: 0 = left/top, 0.5 = centre, 1 = right/bottom.
_ANCHOR: dict[Position, tuple[float, float]] = {
    "center": (0.5, 0.5),
    "top": (0.5, 0.0),
    "bottom": (0.5, 1.0),
    "left": (0.0, 0.5),
    "right": (1.0, 0.5),
    "top_left": (0.0, 0.0),
    "top_right": (1.0, 0.0),
    "bottom_left": (0.0, 1.0),
    "bottom_right": (1.0, 1.0),
}


# How much longer than the probed duration an output may run (streams rarely end exactly together).
DURATION_SLACK_RATIO = 0.01
DURATION_SLACK_SECONDS = 1.0


@dataclass(frozen=True)
class Limits:
    """Bounds on one ffmpeg run, so a hostile or huge input cannot exhaust the function: enforced
    while decoding and muxing, not only from what the probe read."""

    max_output_bytes: int
    max_seconds: float = InputLimits.max_seconds
    max_pixels: int = InputLimits.max_pixels

    def within(self, media: ProbedMedia) -> Limits:
        """These limits, with no output longer than the probe found the input to last (plus a
        little slack for rounding): a header that understates the duration can only shorten the
        output, never make ffmpeg fill hours of it."""
        if media.duration is None:  # a still picture
            return self
        slack = media.duration * DURATION_SLACK_RATIO + DURATION_SLACK_SECONDS
        return replace(self, max_seconds=min(self.max_seconds, media.duration + slack))

    @property
    def max_output_pixels(self) -> int:
        """An output picture is the input's (within the decoders' cap) or a size the caller asked
        for, which may be an upscale to MAX_PIXELS_PER_SIDE on both sides."""
        return max(self.max_pixels, MAX_PIXELS_PER_SIDE**2)

    def output_truncated(self, output_bytes: int) -> bool:
        """ffmpeg's -fs ends the file cleanly at the cap, so a full-size output means it was cut short."""
        return output_bytes >= self.max_output_bytes


# Where ffprobe reads an input in ranges: a loopback link this process serves (adapters/ranges.py).
LOOPBACK_LINK_PREFIX = "http://127.0.0.1:"
LOOPBACK_RECEIVE_BUFFER = 64 * 1024


def _protocols(source: str) -> list[str]:
    """Only the protocol `source` is read with: a local file, or plain http to the loopback link we
    serve the input on. Anything else is taken for a file name, which no URL is."""
    if source.startswith(LOOPBACK_LINK_PREFIX):
        # a small receive buffer: what the link reads upstream stays close to what ffmpeg used
        return ["-protocol_whitelist", "http,tcp", "-recv_buffer_size", str(LOOPBACK_RECEIVE_BUFFER)]
    return ["-protocol_whitelist", "file"]


def ffprobe_args(ffprobe: str, source: str) -> list[str]:
    """Probe `source` (a local path or the loopback link to the input), reading nothing but that."""
    return [
        ffprobe,
        "-v",
        "error",
        *_protocols(source),
        *INPUT_GUARDS,
        "-show_format",
        "-show_streams",
        "-of",
        "json",
        "-i",
        source,
    ]


def demux_args(ffmpeg: str, media: ProbedMedia, source: str) -> list[str]:
    """Read every packet of `source` without decoding (stream copy to the null muxer), reporting
    progress: the last `out_time_us` is how long the input really lasts."""
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", *_protocols(source),
        *INPUT_GUARDS, "-f", media.demuxer, "-i", source, "-map", "0", "-c", "copy",
        "-progress", "pipe:1", "-nostats", "-f", "null", "-",
    ]  # fmt: skip


def target_size(options: Framing, media: ProbedMedia) -> tuple[int | None, int | None]:
    def resolve(value: int | str | None, total: int | None) -> int | None:
        if value is None or isinstance(value, int):
            return value
        if total is None:
            return None
        return percentage_of(value, total)

    return resolve(options.width, media.width), resolve(options.height, media.height)


def framing_filters(options: Framing, media: ProbedMedia) -> list[str]:
    """Scale, pad or crop to width x height as `fit` and `position` say (nothing when unset)."""
    width, height = target_size(options, media)
    filters: list[str] = []
    if width is not None and height is not None:
        x, y = _ANCHOR[options.position]
        if options.fit == "fill":
            filters.append(f"scale={width}:{height}")
        elif options.fit == "cover":
            filters.append(f"scale={width}:{height}:force_original_aspect_ratio=increase")
            filters.append(f"crop={width}:{height}:(iw-ow)*{x}:(ih-oh)*{y}")
        else:
            colour = ffmpeg_colour(options.background or "#000000")
            filters.append(
                f"scale={width}:{height}:force_original_aspect_ratio=decrease:force_divisible_by=2"
            )
            filters.append(f"pad={width}:{height}:(ow-iw)*{x}:(oh-ih)*{y}:color={colour}")
        filters.append("setsar=1")
    elif width is not None:
        filters.append(f"scale={width}:-2")
    elif height is not None:
        filters.append(f"scale=-2:{height}")
    return filters


def trim_input_args(options: Trim) -> list[str]:
    args: list[str] = []
    if options.start is not None:
        args += ["-ss", f"{options.start:.3f}"]
    if options.end is not None:
        args += ["-t", f"{options.end - (options.start or 0):.3f}"]
    return args


def expected_duration(options: Trim, media: ProbedMedia) -> float | None:
    """How long the output will be, for progress: the source's duration within start/end."""
    if media.duration is None:
        return None if options.end is None else options.end - (options.start or 0)
    end = media.duration if options.end is None else min(options.end, media.duration)
    return max(0.0, end - (options.start or 0))


def quality_ladder(*values: str) -> dict[Quality, str]:
    return dict(zip(("very_low", "low", "medium", "high", "very_high"), values, strict=True))


def input_args(media: ProbedMedia, trim: Trim, source_path: str, limits: Limits) -> list[str]:
    """Read a local source file, in the format the probe found, from `start` for `end - start`;
    its decoders refuse any picture over the pixel cap, even one that appears mid-stream."""
    demuxer_options = ["-enable_drefs", "0", "-use_absolute_path", "0"] if media.demuxer == "mov" else []
    return [
        "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-protocol_whitelist", "file", *INPUT_GUARDS,
        "-f", media.demuxer, *demuxer_options, "-max_pixels", str(limits.max_pixels),
        *trim_input_args(trim), "-i", source_path,
    ]  # fmt: skip


def output_bounds(limits: Limits) -> list[str]:
    """Every output stops at the duration cap whatever the input claimed, and its encoders refuse
    to open for a picture over the output pixel bound."""
    return ["-t", f"{limits.max_seconds:g}", "-max_pixels", str(limits.max_output_pixels)]


def output_args(limits: Limits, muxer: str, output_path: str) -> list[str]:
    """Every output also stops at the size cap."""
    return ["-map_metadata", "-1", "-fs", str(limits.max_output_bytes), *output_bounds(limits),
            "-progress", "pipe:1", "-nostats", "-f", muxer, output_path]  # fmt: skip


def frames_args(
    ffmpeg: str,
    media: ProbedMedia,
    trim: Trim,
    filters: list[str],
    count: list[str],
    frames_pattern: str,
    limits: Limits,
    source_path: str,
) -> list[str]:
    """Frames as RGB PPM files (`frames_pattern` like /dir/%05d.ppm) for the picture encoder."""
    return [
        ffmpeg, *input_args(media, trim, source_path, limits), "-map", "0:v:0", *count,
        "-vf", ",".join([*filters, "format=rgb24"]), "-c:v", "ppm",
        *output_args(limits, "image2", frames_pattern),
    ]  # fmt: skip
