"""Long videos in pieces: when one encode would not fit in a step, the source's video is split at
its keyframes (stream copy), each piece is encoded on its own with the task's settings, and the
encoded pieces are joined (stream copy) with the audio encoded once over the whole duration.

Everything here is pure: the plan, the manifest the state machine's Distributed Map reads, and the
split and join argv. The concat demuxer, which untrusted input may never use, only ever reads a
list we wrote naming files we made (ffmpeg_args.INPUT_GUARDS keeps it away from every input).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from pydantic import BaseModel

from mediatasks.domain.ffmpeg_args import Limits, input_args, output_bounds
from mediatasks.domain.media import ProbedMedia
from mediatasks.domain.options import Trim

# vCPU-seconds to encode one second of 1280x720 30 fps video from a 1080p source, by codec at the
# encoder settings kinds/video.py uses. Measured with ffmpeg 8.1.2 on a 2-vCPU x86_64 machine: h264
# from 30 s of 1080p (11-14 s wall, issue 13), the others relative to h264 on 6 s of moving 1080p
# testsrc2 (h265 2.2x, vp9 3.6x, av1 0.77x as long).
ENCODE_VCPU_SECONDS_PER_SECOND: Mapping[str, float] = {"h264": 0.85, "h265": 1.9, "vp9": 3.1, "av1": 0.65}
REFERENCE_PIXELS_PER_SECOND = 1280 * 720 * 30
# Lambda gives a function one vCPU per 1769 MB of memory (AWS Lambda's documented ratio).
MB_PER_VCPU = 1769
# The share of a step's time an encode may be planned to take: the rest absorbs a slower source
# (more detail than the table's test pattern) without reaching the step's timeout.
PLANNED_SHARE_OF_TIMEOUT = 0.5
SEGMENT_MANIFEST = "segments/manifest.json"
# The pieces' container: matroska holds every codec the accepted demuxers can carry.
PIECE_MUXER = "matroska"


class SegmentItem(BaseModel):
    """One entry of the manifest: the Distributed Map hands it to one segment encode."""

    index: int
    count: int
    key: str  # the piece's stored object (video only, as split from the source)
    start: float  # where the piece starts in the source, in seconds


@dataclass(frozen=True)
class EncodePlan:
    """How a task's encode runs: in one step, or split into pieces of about `segment_seconds`."""

    segmented: bool
    projected_seconds: float
    segment_seconds: float


def projected_encode_seconds(
    media: ProbedMedia, codec: str, output_pixels: int, fps: float | None, memory_mb: int
) -> float:
    """How long one encode of the whole source would take on a function of `memory_mb`."""
    rate = (fps or media.fps or 30.0) * output_pixels
    vcpus = max(1.0, memory_mb / MB_PER_VCPU)
    per_second = ENCODE_VCPU_SECONDS_PER_SECOND.get(codec, max(ENCODE_VCPU_SECONDS_PER_SECOND.values()))
    return (media.duration or 0.0) * per_second * rate / REFERENCE_PIXELS_PER_SECOND / vcpus


def plan_encode(
    media: ProbedMedia,
    options: Trim,
    projected_seconds: float,
    *,
    timeout_seconds: float,
    segment_above_seconds: float | None,
    segment_seconds: float,
) -> EncodePlan:
    """Segments when the source lasts longer than `segment_above_seconds` (when set) or when its
    projected encode would not fit comfortably in one step. A trimmed encode runs in one step: the
    pieces are cut at keyframes, a trim is frame-exact."""
    trimmed = options.start is not None or options.end is not None
    duration = media.duration or 0.0
    if trimmed or not media.has_video or duration <= segment_seconds:
        return EncodePlan(False, projected_seconds, segment_seconds)
    too_long = segment_above_seconds is not None and duration > segment_above_seconds
    too_slow = projected_seconds > timeout_seconds * PLANNED_SHARE_OF_TIMEOUT
    return EncodePlan(too_long or too_slow, projected_seconds, segment_seconds)


def split_args(
    ffmpeg: str,
    media: ProbedMedia,
    source_path: str,
    pattern: str,
    audio_path: str,
    segment_seconds: float,
    limits: Limits,
) -> list[str]:
    """In one read of the source (never decoded): its first video stream copied into pieces cut at
    the first keyframe after each `segment_seconds` (`pattern` like /dir/piece_%05d.mkv; the segment
    muxer lists each piece's start time on stdout, CSV), and its first audio stream, if any, copied
    whole to `audio_path` for the join (which then needs nothing else of the source)."""
    args = [
        ffmpeg, *input_args(media, Trim(), source_path, limits), "-map", "0:v:0", "-c", "copy",
        "-map_metadata", "-1", *output_bounds(limits), "-f", "segment",
        "-segment_time", f"{segment_seconds:g}", "-segment_format", PIECE_MUXER, "-reset_timestamps", "1",
        "-segment_list", "pipe:1", "-segment_list_type", "csv", pattern,
    ]  # fmt: skip
    if media.has_audio:
        args += ["-map", "0:a:0", "-c", "copy", "-map_metadata", "-1", *output_bounds(limits),
                 "-f", PIECE_MUXER, audio_path]  # fmt: skip
    return args


def piece_starts(segment_list_csv: str) -> list[tuple[str, float]]:
    """(file name, start seconds) of each piece, from the segment muxer's CSV list."""
    pieces = []
    for line in segment_list_csv.splitlines():
        if line.strip():
            name, start, _end = line.rsplit(",", 2)
            pieces.append((name, float(start)))
    return pieces


def piece_media(media: ProbedMedia) -> ProbedMedia:
    """The source as a piece presents it to the kind's encoder: its video only, in matroska."""
    return ProbedMedia(
        demuxer=PIECE_MUXER,
        format_names=(PIECE_MUXER,),
        duration=media.duration,
        filesize=None,
        bitrate=None,
        width=media.width,
        height=media.height,
        fps=media.fps,
        video_codec=media.video_codec,
        audio_codec=None,
    )


def audio_media(media: ProbedMedia) -> ProbedMedia:
    """The source's audio as split copied it out: matroska, no video."""
    return replace(
        piece_media(media), audio_codec=media.audio_codec, video_codec=None, width=None, height=None
    )


def concat_list(piece_names: list[str]) -> str:
    """The concat demuxer's list of the encoded pieces, in order (names we chose, beside the list)."""
    return "ffconcat version 1.0\n" + "".join(f"file {name}\n" for name in piece_names)


def join_inputs(
    list_path: str, piece_format: str, media: ProbedMedia, audio_path: str | None, limits: Limits
) -> list[str]:
    """The encoded pieces through their list (input 0), and the audio split kept (input 1, when the
    source has audio): nothing else is read."""
    args = [
        "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-protocol_whitelist", "file",
        "-format_whitelist", f"concat,{piece_format}", "-f", "concat", "-safe", "1", "-i", list_path,
    ]  # fmt: skip
    if media.has_audio and audio_path is not None:
        args += input_args(audio_media(media), Trim(), audio_path, limits)
    return args
