"""What ffprobe says about a file, as the File object the API shows. Pure: parses ffprobe's JSON."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from mediatasks.domain.errors import InputTooLarge, InputUnsupported
from mediatasks.domain.tasks import Codecs, MediaFile, PlaylistRendition

# Demuxers we accept for untrusted input. None of them opens other files or URLs; playlist and
# list demuxers (hls, dash, concat, image2, ...) are deliberately absent.
ACCEPTED_DEMUXERS: tuple[str, ...] = (
    "mov",
    "matroska",
    "webm",
    "avi",
    "mpegts",
    "flv",
    "mp3",
    "wav",
    "flac",
    "ogg",
    "aac",
    # still images: each of these reads exactly one picture
    "png_pipe",
    "jpeg_pipe",
    "webp_pipe",
    "bmp_pipe",
    "gif",
)
IMAGE_DEMUXERS = ("png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "gif")
# Demuxers that read exactly one picture: they have no duration to check.
STILL_DEMUXERS = ("png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe")
# Demuxers whose reported duration is an estimate (MPEG-TS: from the first and last timestamps it
# happened to read), not a figure from the file's index or header.
ESTIMATED_DURATION_DEMUXERS = ("mpegts",)
# Recognised, but the pinned ffmpeg build has no decoder for them: refused by name, not misread.
UNDECODABLE_DEMUXERS = {
    "png_pipe": "PNG inputs are not supported yet (the pinned ffmpeg build has no PNG decoder)"
}

# ffprobe names a demuxer by all of its aliases ("mov,mp4,m4a,3gp,3g2,mj2"); the first is what `-f` takes.
_MIME_BY_DEMUXER = {
    "mov": "video/mp4",
    "matroska": "video/x-matroska",
    "avi": "video/x-msvideo",
    "mpegts": "video/mp2t",
    "flv": "video/x-flv",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "aac": "audio/aac",
    "png_pipe": "image/png",
    "jpeg_pipe": "image/jpeg",
    "webp_pipe": "image/webp",
    "bmp_pipe": "image/bmp",
    "gif": "image/gif",
}
_FORMAT_NAME_BY_DEMUXER = {
    "mov": "mp4",
    "matroska": "mkv",
    "mpegts": "ts",
    "png_pipe": "png",
    "jpeg_pipe": "jpeg",
    "webp_pipe": "webp",
    "bmp_pipe": "bmp",
}
_MIME_BY_OUTPUT_FORMAT = {
    "mp4": "video/mp4",
    "webm": "video/webm",
    "mov": "video/quicktime",
    "mp3": "audio/mpeg",
    "aac": "audio/aac",
    "ogg": "audio/ogg",
    "opus": "audio/opus",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "avif": "image/avif",
    "hls": "application/vnd.apple.mpegurl",
}
# A file's name ends in its format, except where the format is not a file type.
EXTENSION_BY_FORMAT = {"hls": "m3u8"}
OutputKind = Literal["video", "audio", "image"]


@dataclass(frozen=True)
class ProbedMedia:
    demuxer: str
    format_names: tuple[str, ...]
    duration: float | None
    filesize: int | None
    bitrate: int | None
    width: int | None
    height: int | None
    fps: float | None
    video_codec: str | None
    audio_codec: str | None

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _frame_rate(stream: dict[str, Any]) -> float | None:
    for key in ("avg_frame_rate", "r_frame_rate"):
        raw = stream.get(key)
        if isinstance(raw, str) and "/" in raw:
            numerator, denominator = raw.split("/", 1)
            if denominator.strip() not in ("0", ""):
                return round(float(Fraction(int(numerator), int(denominator))), 3)
    return None


def _rotation(stream: dict[str, Any]) -> int:
    for side_data in stream.get("side_data_list", []):
        if "rotation" in side_data:
            return int(_number(side_data["rotation"]) or 0) % 180
    return int(_number(stream.get("tags", {}).get("rotate")) or 0) % 180


def parse_ffprobe(report: dict[str, Any]) -> ProbedMedia:
    """Reads `ffprobe -show_format -show_streams -of json`; the first video and audio streams count."""
    fmt = report.get("format") or {}
    format_name = fmt.get("format_name")
    if not isinstance(format_name, str):
        raise InputUnsupported("the input is not a media file we can read")
    streams = report.get("streams") or []
    if format_name.split(",")[0] == "avi" and any(s.get("codec_type") == "subtitle" for s in streams):
        # AVI has no subtitle format of its own: its demuxer probes a GAB2 subtitle packet as a whole
        # embedded file and opens it with whatever demuxer matches (an HLS playlist, a concat list).
        raise InputUnsupported("AVI files that embed subtitle files are not accepted")
    video = next(
        (
            s
            for s in streams
            if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")
        ),
        None,
    )
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    width = height = None
    if video is not None:
        width, height = video.get("width"), video.get("height")
        if width and height and _rotation(video) == 90:
            width, height = height, width  # shown rotated: ffmpeg autorotates on encode
    duration = _number(fmt.get("duration"))
    size = _number(fmt.get("size"))
    bitrate = _number(fmt.get("bit_rate"))
    return ProbedMedia(
        demuxer=format_name.split(",")[0],
        format_names=tuple(format_name.split(",")),
        duration=round(duration, 3) if duration is not None else None,
        filesize=int(size) if size is not None else None,
        bitrate=int(bitrate) if bitrate is not None else None,
        width=width,
        height=height,
        fps=_frame_rate(video) if video is not None else None,
        video_codec=video.get("codec_name") if video is not None else None,
        audio_codec=audio.get("codec_name") if audio is not None else None,
    )


def _as_file(media: ProbedMedia, *, kind: OutputKind, format_name: str, mime: str) -> MediaFile:
    visual = kind != "audio"
    return MediaFile(
        kind=kind,
        format=format_name,
        type=mime,
        width=media.width if visual else None,
        height=media.height if visual else None,
        duration=media.duration,
        fps=media.fps if visual else None,
        bitrate=media.bitrate,
        filesize=media.filesize,
        codecs=Codecs(video=media.video_codec, audio=media.audio_codec),
    )


def source_file(media: ProbedMedia) -> MediaFile:
    """The File object of an input, named by its container."""
    mime = _MIME_BY_DEMUXER.get(media.demuxer, "application/octet-stream")
    if (
        media.demuxer == "matroska"
        and "webm" in media.format_names
        and media.video_codec in ("vp8", "vp9", "av1")
    ):
        mime = "video/webm"
    if not media.has_video and mime.startswith("video/"):
        mime = "audio/" + mime.split("/", 1)[1]
    format_name = _FORMAT_NAME_BY_DEMUXER.get(media.demuxer, media.demuxer)
    kind: OutputKind = "image" if media.demuxer in IMAGE_DEMUXERS else "video" if media.has_video else "audio"
    return _as_file(media, kind=kind, format_name=format_name, mime=mime)


def image_file(
    output_format: str, width: int, height: int, filesize: int, frames: int = 1, fps: float | None = None
) -> MediaFile:
    """The File object of a picture we encoded (described by its encoder, not by ffprobe)."""
    animated = frames > 1 and fps is not None
    return MediaFile(
        kind="image",
        format=output_format,
        type=_MIME_BY_OUTPUT_FORMAT[output_format],
        width=width,
        height=height,
        filesize=filesize,
        duration=round(frames / fps, 3) if animated and fps else None,
        fps=fps if animated else None,
    )


def output_file(media: ProbedMedia, kind: OutputKind, output_format: str) -> MediaFile:
    """The File object of something we made, as ffprobe describes it."""
    return _as_file(media, kind=kind, format_name=output_format, mime=_MIME_BY_OUTPUT_FORMAT[output_format])


def playlist_file(
    top: ProbedMedia, renditions: list[PlaylistRendition], duration: float | None, filesize: int
) -> MediaFile:
    """The File object of an HLS stream: its master playlist, sized by its top rendition."""
    return MediaFile(
        kind="video",
        format="hls",
        type=_MIME_BY_OUTPUT_FORMAT["hls"],
        width=top.width,
        height=top.height,
        duration=duration,
        fps=top.fps,
        filesize=filesize,
        codecs=Codecs(video=top.video_codec, audio=top.audio_codec),
        renditions=renditions,
    )


def content_type(filename: str) -> str:
    """The Content-Type to store a made file with, by its name."""
    extension = filename.rsplit(".", 1)[-1].lower()
    by_extension = {EXTENSION_BY_FORMAT.get(f, f): mime for f, mime in _MIME_BY_OUTPUT_FORMAT.items()}
    return by_extension.get(extension, "video/mp2t" if extension == "ts" else "application/octet-stream")


@dataclass(frozen=True)
class InputLimits:
    """What an input may be, checked on its probe before anything is stored or encoded."""

    max_seconds: float = 4 * 3600
    max_pixels: int = 7680 * 4320  # 8K UHD
    max_fps: float = 240


def duration_needs_measuring(media: ProbedMedia) -> bool:
    """Whether the probe's duration cannot be trusted against the cap: none (a matroska file muxed
    to a pipe), zero (an flv whose header was never filled in) or only estimated. Such an input is
    taken to be over the cap until demuxing it proves otherwise."""
    if media.demuxer in STILL_DEMUXERS:
        return False
    return not media.duration or media.demuxer in ESTIMATED_DURATION_DEMUXERS


class DemuxedDuration:
    """Reads the `-progress` lines of a pass that demuxes every packet (ffmpeg_args.demux_args):
    the last `out_time_us` is how long the input lasts as ffmpeg will process it. Refuses as soon as
    that passes `max_seconds`, so a long input is not read to its end."""

    def __init__(self, max_seconds: float) -> None:
        self._max_seconds = max_seconds
        self.seconds = 0.0

    def line(self, text: str) -> None:
        key, _, value = text.strip().partition("=")
        if key == "out_time_us" and value.lstrip("-").isdigit():
            self.seconds = max(self.seconds, round(int(value) / 1_000_000, 3))
            if self.seconds > self._max_seconds:
                raise InputTooLarge(
                    f"the input lasts at least {self.seconds:g} s; the limit is {self._max_seconds:g} s"
                )


def check_demuxer(media: ProbedMedia) -> None:
    """Refuses a container we do not accept for untrusted input, or cannot decode."""
    if media.demuxer not in ACCEPTED_DEMUXERS:
        raise InputUnsupported(f"input container {media.demuxer!r} is not supported")
    if media.demuxer in UNDECODABLE_DEMUXERS:
        raise InputUnsupported(UNDECODABLE_DEMUXERS[media.demuxer])


def check_input_limits(media: ProbedMedia, limits: InputLimits) -> None:
    if media.has_video and not (media.width and media.height):
        raise InputUnsupported("the input's video stream has no picture size")
    if media.duration is not None and media.duration > limits.max_seconds:
        raise InputTooLarge(f"the input lasts {media.duration:g} s; the limit is {limits.max_seconds:g} s")
    if media.width and media.height and media.width * media.height > limits.max_pixels:
        raise InputTooLarge(
            f"the input's picture is {media.width}x{media.height}; the limit is {limits.max_pixels} pixels"
        )
    if media.fps is not None and media.fps > limits.max_fps:
        raise InputUnsupported(f"the input runs at {media.fps:g} fps; the limit is {limits.max_fps:g} fps")
