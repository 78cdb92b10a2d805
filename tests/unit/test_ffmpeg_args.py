"""Options -> ffmpeg argv, without running anything."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pydantic import ValidationError

from mediatasks.domain.ffmpeg_args import Limits, ffprobe_args
from mediatasks.domain.media import ProbedMedia
from mediatasks.kinds.video import VideoOptions, video_encode_args, video_filters

SOURCE = ProbedMedia(
    demuxer="mov",
    format_names=("mov", "mp4"),
    duration=10.0,
    filesize=1000,
    bitrate=800_000,
    width=1920,
    height=1080,
    fps=30.0,
    video_codec="h264",
    audio_codec="aac",
)
SILENT = ProbedMedia(**{**SOURCE.__dict__, "audio_codec": None})
LIMITS = Limits(max_output_bytes=1_000_000)


def argv(options: VideoOptions, media: ProbedMedia = SOURCE) -> list[str]:
    return video_encode_args("ffmpeg", options, media, "/work/in", "/work/out", LIMITS)


def value_after(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


@pytest.mark.parametrize(
    ("format_", "codec"),
    [("mp4", "h264"), ("mov", "h264"), ("webm", "vp9")],
)
def test_each_container_has_a_default_codec(format_: str, codec: str) -> None:
    assert VideoOptions(format=format_).codec == codec  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("format_", "codec"),
    [("mp4", "vp9"), ("webm", "h264"), ("webm", "h265"), ("mov", "vp9"), ("mov", "av1")],
)
def test_codec_that_the_container_cannot_hold_is_refused(format_: str, codec: str) -> None:
    with pytest.raises(ValidationError) as raised:
        VideoOptions(format=format_, codec=codec)  # type: ignore[arg-type]
    assert raised.value.errors()[0]["type"] == "invalid_codec"


@pytest.mark.parametrize(
    ("codec", "encoder", "crf"),
    [("h264", "libx264", "23"), ("h265", "libx265", "28"), ("av1", "libsvtav1", "35")],
)
def test_codec_selects_encoder_and_quality_maps_to_crf(codec: str, encoder: str, crf: str) -> None:
    args = argv(VideoOptions(format="mp4", codec=codec))  # type: ignore[arg-type]
    assert value_after(args, "-c:v") == encoder
    assert value_after(args, "-crf") == crf


def test_vp9_uses_constant_quality_mode() -> None:
    args = argv(VideoOptions(format="webm", quality="high"))  # type: ignore[arg-type]
    assert value_after(args, "-c:v") == "libvpx-vp9"
    assert value_after(args, "-crf") == "31"
    assert value_after(args, "-b:v") == "0"
    assert value_after(args, "-c:a") == "libopus"


def test_higher_quality_means_lower_crf() -> None:
    crfs = [
        int(value_after(argv(VideoOptions(quality=q)), "-crf"))
        for q in ("very_low", "low", "medium", "high", "very_high")
    ]  # type: ignore[arg-type]
    assert crfs == sorted(crfs, reverse=True)


def test_bitrate_replaces_crf() -> None:
    args = argv(VideoOptions(bitrate=2_000_000))
    assert "-crf" not in args
    assert value_after(args, "-b:v") == "2000000"
    assert value_after(args, "-maxrate") == "2000000"


def test_width_alone_keeps_aspect_ratio() -> None:
    assert video_filters(VideoOptions(width=1280), SOURCE)[0] == "scale=1280:-2"


def test_height_alone_keeps_aspect_ratio() -> None:
    assert video_filters(VideoOptions(height=720), SOURCE)[0] == "scale=-2:720"


def test_percentages_are_of_the_source_and_even() -> None:
    assert video_filters(VideoOptions(width="50%"), SOURCE)[0] == "scale=960:-2"
    assert video_filters(VideoOptions(width="33%"), SOURCE)[0] == "scale=632:-2"


def test_contain_pads_with_the_background_at_the_position() -> None:
    filters = video_filters(VideoOptions(width=640, height=640, background="#ff8800", position="top"), SOURCE)  # type: ignore[arg-type]
    assert filters[0].startswith("scale=640:640:force_original_aspect_ratio=decrease")
    assert filters[1] == "pad=640:640:(ow-iw)*0.5:(oh-ih)*0.0:color=0xFF8800"


def test_cover_crops_at_the_position() -> None:
    filters = video_filters(VideoOptions(width=640, height=640, fit="cover", position="bottom_right"), SOURCE)  # type: ignore[arg-type]
    assert filters[0] == "scale=640:640:force_original_aspect_ratio=increase"
    assert filters[1] == "crop=640:640:(iw-ow)*1.0:(ih-oh)*1.0"


def test_fill_stretches() -> None:
    assert video_filters(VideoOptions(width=640, height=640, fit="fill"), SOURCE)[0] == "scale=640:640"  # type: ignore[arg-type]


def test_background_needs_contain() -> None:
    with pytest.raises(ValidationError):
        VideoOptions(width=640, height=640, fit="cover", background="#000000")  # type: ignore[arg-type]


def test_fps_is_a_filter() -> None:
    assert "fps=12.5" in video_filters(VideoOptions(fps=12.5), SOURCE)


def test_trim_seeks_the_input_and_bounds_the_length() -> None:
    args = argv(VideoOptions(start=2, end=5.5))
    assert value_after(args, "-ss") == "2.000"
    assert value_after(args, "-t") == "3.500"
    assert args.index("-ss") < args.index("-i")


def test_end_must_follow_start() -> None:
    with pytest.raises(ValidationError):
        VideoOptions(start=5, end=5)


def test_source_without_audio_gets_no_audio_encoder() -> None:
    assert "-c:a" not in argv(VideoOptions(), SILENT)
    assert value_after(argv(VideoOptions()), "-c:a") == "aac"


def test_input_is_read_only_as_a_local_file_of_the_probed_format() -> None:
    args = argv(VideoOptions())
    assert value_after(args, "-protocol_whitelist") == "file"
    assert "hls" not in value_after(args, "-format_whitelist").split(",")
    assert value_after(args, "-f") == "mov"
    assert value_after(args, "-enable_drefs") == "0"
    assert value_after(args, "-fs") == "1000000"
    assert "-nostdin" in args


@pytest.mark.parametrize(
    ("source", "protocols"),
    [
        ("http://127.0.0.1:40123/Zq3tokenpath", "http,tcp"),
        ("/tmp/t/source", "file"),
        # a URL anywhere else is no input of ours: ffprobe would only look for a file of that name
        ("https://media.s3.amazonaws.com/work/t/source?X-Amz-Signature=x", "file"),
        ("http://169.254.169.254/latest/meta-data", "file"),
    ],
)
def test_ffprobe_reads_only_the_loopback_link_or_a_file(source: str, protocols: str) -> None:
    args = ffprobe_args("ffprobe", source)
    assert value_after(args, "-protocol_whitelist") == protocols
    assert "concat" not in value_after(args, "-format_whitelist").split(",")
    assert args[-1] == source


def test_every_run_caps_decoded_pictures_and_the_output_duration() -> None:
    args = video_encode_args(
        "ffmpeg", VideoOptions(), SOURCE, "/work/in", "/work/out", Limits(10**6, 600, 4096)
    )
    assert value_after(args, "-max_pixels") == "4096"
    assert args.index("-max_pixels") < args.index("-i")  # a decoder option of the input
    output = args[args.index("-i") :]
    assert value_after(output, "-t") == "600"  # options of the output
    assert value_after(output, "-max_pixels") == str(7680 * 7680)  # what a caller may ask for at most


def test_no_output_runs_past_what_the_probe_found() -> None:
    limits = Limits(10**6, max_seconds=14400)
    assert limits.within(SOURCE).max_seconds == pytest.approx(10.0 * 1.01 + 1)
    assert limits.within(replace(SOURCE, duration=20000.0)).max_seconds == 14400
    assert limits.within(replace(SOURCE, duration=None)) == limits  # a still picture
