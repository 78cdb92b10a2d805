"""adaptive_video: an HLS ladder derived from the probed source, never upscaled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from mediatasks.domain.errors import InputUnsupported
from mediatasks.domain.ffmpeg_args import (
    AUDIO_BITRATE_KBPS,
    Limits,
    framing_filters,
    input_args,
    output_bounds,
    target_size,
)
from mediatasks.domain.media import ProbedMedia
from mediatasks.domain.options import Framing, MediaOptions, Quality, Trim
from mediatasks.domain.requests import TaskRequest
from mediatasks.domain.tasks import PlaylistRendition
from mediatasks.kinds.base import MEDIA_STEPS, Encoding, Family, Kind, Output

AdaptiveFormat = Literal["hls"]


class AdaptiveOptions(Framing, Trim, MediaOptions):
    """An HLS stream: width/height size the top rendition; the rest of the ladder is derived."""

    format: AdaptiveFormat = "hls"


class AdaptiveTaskRequest(TaskRequest):
    kind: Literal["adaptive_video"]
    options: AdaptiveOptions = Field(default_factory=AdaptiveOptions)


# The heights an HLS ladder is made of (below its top rendition), and H.264 kb/s for each at
# "medium" quality; other qualities scale the rates.
LADDER_KBPS: dict[int, int] = {2160: 12000, 1440: 8000, 1080: 5000, 720: 2800, 540: 1800, 360: 900, 240: 500}
LADDER_QUALITY: dict[Quality, float] = {
    "very_low": 0.5,
    "low": 0.75,
    "medium": 1.0,
    "high": 1.3,
    "very_high": 1.6,
}
MAX_RENDITIONS = 5
SEGMENT_SECONDS = 4
MASTER_PLAYLIST = "master.m3u8"


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int
    video_kbps: int


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def hls_ladder(options: AdaptiveOptions, media: ProbedMedia) -> list[Rendition]:
    """The top rendition (as asked, never larger than the source) and the standard heights below it."""
    source_width, source_height = media.width or 0, media.height or 0
    if not source_width or not source_height:
        raise InputUnsupported("the input's picture size is unknown")
    asked_width, asked_height = target_size(options, media)
    aspect = source_height / source_width
    width = asked_width or (_even(asked_height / aspect) if asked_height else source_width)
    height = asked_height or _even(width * aspect)
    shrink = min(1.0, source_width / width, source_height / height)  # never upscale
    top_width, top_height = _even(width * shrink), _even(height * shrink)
    factor = LADDER_QUALITY[options.quality]

    def kbps(rendition_height: int) -> int:
        nearest = min(LADDER_KBPS, key=lambda h: abs(h - rendition_height))
        return int(LADDER_KBPS[nearest] * factor)

    ladder = [Rendition(top_width, top_height, kbps(top_height))]
    for step_height in sorted((h for h in LADDER_KBPS if h < top_height), reverse=True):
        ladder.append(Rendition(_even(top_width * step_height / top_height), step_height, kbps(step_height)))
    return ladder[:MAX_RENDITIONS]


def hls_args(
    ffmpeg: str,
    options: AdaptiveOptions,
    media: ProbedMedia,
    source_path: str,
    output_path: str,
    limits: Limits,
) -> list[str]:
    """Every rendition in one run, keyframes aligned on segment boundaries; `output_path` is the
    master playlist, written beside one folder per rendition (v0/, v1/, ...)."""
    ladder = hls_ladder(options, media)
    folder = output_path.rsplit("/", 1)[0]
    count = len(ladder)
    graph = ",".join([*framing_filters(options, media), "format=yuv420p", f"split={count}"])
    graph += "".join(f"[s{i}]" for i in range(count))
    graph += "".join(f";[s{i}]scale={r.width}:{r.height},setsar=1[o{i}]" for i, r in enumerate(ladder))
    args = [ffmpeg, *input_args(media, options, source_path, limits), "-filter_complex", graph]
    for index in range(count):
        args += ["-map", f"[o{index}]"]
    if media.has_audio:
        for _ in range(count):
            args += ["-map", "0:a:0"]
        args += ["-c:a", "aac", "-ac", "2", "-b:a", f"{AUDIO_BITRATE_KBPS[options.quality]}k"]
    args += ["-c:v", "libx264", "-preset", "fast", "-sc_threshold", "0",
             "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})"]  # fmt: skip
    for index, rendition in enumerate(ladder):
        rate = rendition.video_kbps
        args += [f"-b:v:{index}", f"{rate}k", f"-maxrate:v:{index}", f"{rate * 3 // 2}k"]
        args += [f"-bufsize:v:{index}", f"{rate * 2}k"]
    streams = [f"v:{i},a:{i}" if media.has_audio else f"v:{i}" for i in range(count)]
    return [
        *args, "-var_stream_map", " ".join(streams), "-map_metadata", "-1", *output_bounds(limits),
        "-progress", "pipe:1", "-nostats",
        "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod",
        "-hls_segment_filename", f"{folder}/v%v/segment_%05d.ts", "-master_pl_name", MASTER_PLAYLIST,
        f"{folder}/v%v/index.m3u8",
    ]  # fmt: skip


def playlist_renditions(options: AdaptiveOptions, media: ProbedMedia) -> list[PlaylistRendition]:
    """The renditions the master playlist lists, as the output's File object shows them."""
    audio_bps = AUDIO_BITRATE_KBPS[options.quality] * 1000 if media.has_audio else 0
    return [
        PlaylistRendition(
            width=r.width,
            height=r.height,
            bitrate=r.video_kbps * 1000 + audio_bps,
            playlist=f"v{i}/index.m3u8",
        )
        for i, r in enumerate(hls_ladder(options, media))
    ]


KIND = Kind(
    name="adaptive_video",
    family=Family.media,
    summary="An HLS stream: a ladder of renditions derived from the source, never upscaled",
    request=AdaptiveTaskRequest,
    steps=MEDIA_STEPS,
    output=Output.made_file,
    encoding=Encoding(needs="video", encode_args=hls_args, output="video", playlist=True),
)
