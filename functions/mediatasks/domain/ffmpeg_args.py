"""ffmpeg and ffprobe argument lists, rendered from typed options by our own code.

No user-supplied string reaches these lists: every value is an enum member, a validated number or a
path we chose, so nothing can smuggle an option, a filter (the `movie` filter ignores protocol
whitelists) or a URL into ffmpeg.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mediatasks.domain.errors import InputUnsupported, OutputTooLarge
from mediatasks.domain.media import ACCEPTED_DEMUXERS, InputLimits, ProbedMedia
from mediatasks.domain.options import (
    MAX_PIXELS_PER_SIDE,
    MAX_SECONDS,
    AdaptiveOptions,
    AnimationOptions,
    AudioOptions,
    Framing,
    ImageOptions,
    Position,
    Quality,
    Trim,
    VideoOptions,
    ffmpeg_colour,
    percentage_of,
)

INPUT_GUARDS: tuple[str, ...] = ("-format_whitelist", ",".join(ACCEPTED_DEMUXERS))

# Constant rate factor per codec; each scale is the encoder's own (x264 23 ~ x265 28 ~ vp9 33).
CRF: dict[str, dict[Quality, int]] = {
    "h264": {
        "very_low": 32,
        "low": 28,
        "medium": 23,
        "high": 20,
        "very_high": 17,
    },
    "h265": {
        "very_low": 36,
        "low": 32,
        "medium": 28,
        "high": 25,
        "very_high": 22,
    },
    "vp9": {
        "very_low": 45,
        "low": 40,
        "medium": 34,
        "high": 31,
        "very_high": 26,
    },
    "av1": {
        "very_low": 45,
        "low": 40,
        "medium": 35,
        "high": 30,
        "very_high": 25,
    },
}
AUDIO_BITRATE_KBPS: dict[Quality, int] = {
    "very_low": 64,
    "low": 96,
    "medium": 128,
    "high": 160,
    "very_high": 192,
}
ENCODER_SPEED: dict[str, tuple[str, ...]] = {
    "h264": ("-c:v", "libx264", "-preset", "fast"),
    "h265": ("-c:v", "libx265", "-preset", "fast", "-tag:v", "hvc1", "-x265-params", "log-level=error"),
    "vp9": ("-c:v", "libvpx-vp9", "-deadline", "good", "-cpu-used", "4", "-row-mt", "1"),
    "av1": ("-c:v", "libsvtav1", "-preset", "8"),
}
AUDIO_CODEC_BY_FORMAT = {"mp4": "aac", "mov": "aac", "webm": "libopus"}
MUXER_BY_FORMAT = {"mp4": "mp4", "mov": "mov", "webm": "webm"}

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


def _protocols(source: str) -> list[str]:
    """Only the protocol `source` is read with: a local file, or a presigned link to a stored object
    (read in ranges): https with a verified certificate, or http to the local emulator."""
    if source.startswith("https://"):
        return ["-protocol_whitelist", "https,tls,tcp", "-tls_verify", "1"]
    if source.startswith("http://"):
        return ["-protocol_whitelist", "http,tcp"]
    return ["-protocol_whitelist", "file"]


def ffprobe_args(ffprobe: str, source: str, ca_file: str | None = None) -> list[str]:
    """Probe `source` (a local path or a presigned link to a stored object), reading nothing but that."""
    certificates = ["-ca_file", ca_file] if ca_file and source.startswith("https:") else []
    return [
        ffprobe,
        "-v",
        "error",
        *_protocols(source),
        *certificates,
        *INPUT_GUARDS,
        "-show_format",
        "-show_streams",
        "-of",
        "json",
        "-i",
        source,
    ]


def demux_args(ffmpeg: str, media: ProbedMedia, source: str, ca_file: str | None = None) -> list[str]:
    """Read every packet of `source` without decoding (stream copy to the null muxer), reporting
    progress: the last `out_time_us` is how long the input really lasts."""
    certificates = ["-ca_file", ca_file] if ca_file and source.startswith("https:") else []
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", *_protocols(source), *certificates,
        *INPUT_GUARDS, "-f", media.demuxer, "-i", source, "-map", "0", "-c", "copy",
        "-progress", "pipe:1", "-nostats", "-f", "null", "-",
    ]  # fmt: skip


def _target_size(options: Framing, media: ProbedMedia) -> tuple[int | None, int | None]:
    def resolve(value: int | str | None, total: int | None) -> int | None:
        if value is None or isinstance(value, int):
            return value
        if total is None:
            return None
        return percentage_of(value, total)

    return resolve(options.width, media.width), resolve(options.height, media.height)


def video_filters(options: VideoOptions, media: ProbedMedia) -> list[str]:
    """The filter chain for size, fit and frame rate, ending in the pixel format encoders expect."""
    filters = framing_filters(options, media)
    if options.fps is not None:
        filters.append(f"fps={options.fps:g}")
    return [*filters, "format=yuv420p"]


def framing_filters(options: Framing, media: ProbedMedia) -> list[str]:
    """Scale, pad or crop to width x height as `fit` and `position` say (nothing when unset)."""
    width, height = _target_size(options, media)
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


def _trim_input_args(options: Trim) -> list[str]:
    args: list[str] = []
    if options.start is not None:
        args += ["-ss", f"{options.start:.3f}"]
    if options.end is not None:
        args += ["-t", f"{options.end - (options.start or 0):.3f}"]
    return args


def _video_rate_args(options: VideoOptions) -> list[str]:
    codec = options.codec or "h264"
    if options.bitrate is not None:
        rate = str(options.bitrate)
        return ["-b:v", rate, "-maxrate", rate, "-bufsize", str(options.bitrate * 2)]
    crf = ["-crf", str(CRF[codec][options.quality])]
    return [*crf, "-b:v", "0"] if codec == "vp9" else crf


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
        *_input_args(media, options, source_path, limits),
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-vf",
        ",".join(video_filters(options, media)),
        *ENCODER_SPEED[codec],
        *_video_rate_args(options),
    ]
    if media.has_audio:
        args += [
            "-c:a",
            AUDIO_CODEC_BY_FORMAT[options.format],
            "-b:a",
            f"{AUDIO_BITRATE_KBPS[options.quality]}k",
        ]
    if options.format in ("mp4", "mov"):
        args += ["-movflags", "+faststart"]
    return [*args, *_output_args(limits, MUXER_BY_FORMAT[options.format], output_path)]


def expected_duration(options: Trim, media: ProbedMedia) -> float | None:
    """How long the output will be, for progress: the source's duration within start/end."""
    if media.duration is None:
        return None if options.end is None else options.end - (options.start or 0)
    end = media.duration if options.end is None else min(options.end, media.duration)
    return max(0.0, end - (options.start or 0))


def _ladder(*values: str) -> dict[Quality, str]:
    return dict(zip(("very_low", "low", "medium", "high", "very_high"), values, strict=True))


# A GIF's palette size by quality: fewer colours, smaller files.
GIF_COLOURS: dict[Quality, int] = {"very_low": 32, "low": 64, "medium": 128, "high": 256, "very_high": 256}
LOSSY_AUDIO_KBPS = {quality: f"{kbps}k" for quality, kbps in AUDIO_BITRATE_KBPS.items()}
# Per output format: encoder, muxer, and the rate option with its value by quality (None: lossless).
AUDIO_ENCODING: dict[str, tuple[tuple[str, ...], str, tuple[str, dict[Quality, str]] | None]] = {
    "mp3": (("-c:a", "libmp3lame"), "mp3", ("-b:a", _ladder("64k", "96k", "128k", "192k", "256k"))),
    "aac": (("-c:a", "aac"), "adts", ("-b:a", LOSSY_AUDIO_KBPS)),
    # ffmpeg's own Vorbis encoder (the only one in this build): experimental, stereo, quality scale only
    "ogg": (
        ("-c:a", "vorbis", "-strict", "experimental", "-ac", "2"),
        "ogg",
        ("-q:a", _ladder("1", "3", "5", "7", "9")),
    ),
    "opus": (("-c:a", "libopus"), "opus", ("-b:a", _ladder("32k", "48k", "96k", "128k", "160k"))),
    "wav": (("-c:a", "pcm_s16le"), "wav", None),
    "flac": (("-c:a", "flac"), "flac", None),
}


def _input_args(media: ProbedMedia, trim: Trim, source_path: str, limits: Limits) -> list[str]:
    """Read a local source file, in the format the probe found, from `start` for `end - start`;
    its decoders refuse any picture over the pixel cap, even one that appears mid-stream."""
    demuxer_options = ["-enable_drefs", "0", "-use_absolute_path", "0"] if media.demuxer == "mov" else []
    return [
        "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-protocol_whitelist", "file", *INPUT_GUARDS,
        "-f", media.demuxer, *demuxer_options, "-max_pixels", str(limits.max_pixels),
        *_trim_input_args(trim), "-i", source_path,
    ]  # fmt: skip


def _output_bounds(limits: Limits) -> list[str]:
    """Every output stops at the duration cap whatever the input claimed, and its encoders refuse
    to open for a picture over the output pixel bound."""
    return ["-t", f"{limits.max_seconds:g}", "-max_pixels", str(limits.max_output_pixels)]


def _output_args(limits: Limits, muxer: str, output_path: str) -> list[str]:
    """Every output also stops at the size cap."""
    return ["-map_metadata", "-1", "-fs", str(limits.max_output_bytes), *_output_bounds(limits),
            "-progress", "pipe:1", "-nostats", "-f", muxer, output_path]  # fmt: skip


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
        ffmpeg, *_input_args(media, options, source_path, limits), "-map", "0:a:0", "-vn", *codec, *rate,
        *_output_args(limits, muxer, output_path),
    ]  # fmt: skip


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
    return _frames_args(ffmpeg, media, seek, filters, ["-frames:v", "1"], output_path, limits, source_path)


def _frames_args(
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
        ffmpeg, *_input_args(media, trim, source_path, limits), "-map", "0:v:0", *count,
        "-vf", ",".join([*filters, "format=rgb24"]), "-c:v", "ppm",
        *_output_args(limits, "image2", frames_pattern),
    ]  # fmt: skip


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
    width, height = _target_size(box, media)
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
        return _frames_args(ffmpeg, media, trim, filters, [], output_path, limits, source_path)
    palette = (
        f"split[frames][copy];[copy]palettegen=max_colors={GIF_COLOURS[options.quality]}:stats_mode=diff"
        "[palette];[frames][palette]paletteuse"
    )
    return [
        ffmpeg, *_input_args(media, trim, source_path, limits), "-map", "0:v:0",
        "-vf", ",".join([*filters, palette]), "-loop", "0", *_output_args(limits, "gif", output_path),
    ]  # fmt: skip


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
    asked_width, asked_height = _target_size(options, media)
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
    args = [ffmpeg, *_input_args(media, options, source_path, limits), "-filter_complex", graph]
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
        *args, "-var_stream_map", " ".join(streams), "-map_metadata", "-1", *_output_bounds(limits),
        "-progress", "pipe:1", "-nostats",
        "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod",
        "-hls_segment_filename", f"{folder}/v%v/segment_%05d.ts", "-master_pl_name", MASTER_PLAYLIST,
        f"{folder}/v%v/index.m3u8",
    ]  # fmt: skip
