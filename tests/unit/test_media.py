"""ffprobe's report -> what we know about a file."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mediatasks.domain.errors import InputTooLarge, InputUnsupported
from mediatasks.domain.media import (
    DemuxedDuration,
    InputLimits,
    check_input_limits,
    duration_needs_measuring,
    parse_ffprobe,
    source_file,
)

REPORT = {
    "format": {
        "format_name": "mov,mp4,m4a,3gp,3g2,mj2",
        "duration": "12.5",
        "size": "1000",
        "bit_rate": "640",
    },
    "streams": [
        {
            "codec_type": "video",
            "codec_name": "h264",
            "width": 1920,
            "height": 1080,
            "avg_frame_rate": "30000/1001",
        },
        {"codec_type": "audio", "codec_name": "aac"},
    ],
}


def test_reads_container_streams_and_numbers() -> None:
    media = parse_ffprobe(REPORT)
    assert media.demuxer == "mov"
    assert (media.width, media.height, media.fps) == (1920, 1080, 29.97)
    assert (media.video_codec, media.audio_codec) == ("h264", "aac")
    assert (media.duration, media.filesize, media.bitrate) == (12.5, 1000, 640)


def test_rotated_video_reports_its_displayed_size() -> None:
    rotated = {**REPORT, "streams": [{**REPORT["streams"][0], "side_data_list": [{"rotation": -90}]}]}
    media = parse_ffprobe(rotated)
    assert (media.width, media.height) == (1080, 1920)


def test_cover_art_is_not_the_video_stream() -> None:
    art = {
        "codec_type": "video",
        "codec_name": "mjpeg",
        "width": 500,
        "height": 500,
        "disposition": {"attached_pic": 1},
    }
    media = parse_ffprobe({**REPORT, "streams": [art, REPORT["streams"][1]]})
    assert not media.has_video


def test_no_format_means_not_media() -> None:
    with pytest.raises(InputUnsupported):
        parse_ffprobe({})


def test_source_file_object() -> None:
    file = source_file(parse_ffprobe(REPORT))
    assert (file.object, file.kind, file.format, file.type) == ("file", "video", "mp4", "video/mp4")
    assert file.id.startswith("file_")


LIMITS = InputLimits(max_seconds=60, max_pixels=1920 * 1080, max_fps=60)


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        ({"duration": 61.0}, InputTooLarge, "lasts 61 s"),
        ({"width": 100_000, "height": 100_000}, InputTooLarge, "100000x100000"),
        ({"width": 3840, "height": 2160}, InputTooLarge, "3840x2160"),
        ({"fps": 1000.0}, InputUnsupported, "1000 fps"),
    ],
)
def test_inputs_beyond_the_limits_are_refused(
    change: dict[str, float], error: type[Exception], words: str
) -> None:
    media = replace(parse_ffprobe(REPORT), **change)
    with pytest.raises(error, match=words):
        check_input_limits(media, LIMITS)


def test_inputs_within_the_limits_pass() -> None:
    check_input_limits(replace(parse_ffprobe(REPORT), duration=None, fps=None), LIMITS)
    check_input_limits(parse_ffprobe(REPORT), LIMITS)


def test_a_video_stream_without_a_picture_size_is_refused() -> None:
    with pytest.raises(InputUnsupported, match="no picture size"):
        check_input_limits(replace(parse_ffprobe(REPORT), width=0, height=0), LIMITS)


@pytest.mark.parametrize(
    ("demuxer", "duration", "measured"),
    [
        ("mov", 12.5, False),
        ("matroska", None, True),  # muxed to a pipe: no duration in its header
        ("flv", 0.0, True),  # a header never filled in
        ("mpegts", 12.5, True),  # an estimate from the timestamps a probe happened to read
        ("jpeg_pipe", None, False),  # one picture: nothing to measure
        ("gif", None, True),
    ],
)
def test_a_duration_that_cannot_be_trusted_is_measured(
    demuxer: str, duration: float | None, measured: bool
) -> None:
    media = replace(parse_ffprobe(REPORT), demuxer=demuxer, duration=duration)
    assert duration_needs_measuring(media) is measured


def test_the_demux_pass_measures_and_stops_past_the_cap() -> None:
    meter = DemuxedDuration(max_seconds=100)
    for line in (
        "frame=1",
        "out_time_us=2000000",
        "progress=continue",
        "out_time_us=N/A",
        "out_time_us=2500000",
    ):
        meter.line(line)
    assert meter.seconds == 2.5
    with pytest.raises(InputTooLarge, match="at least 36000 s; the limit is 100 s"):
        meter.line("out_time_us=36000000000")
