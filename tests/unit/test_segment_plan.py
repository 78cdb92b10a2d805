"""When a video is encoded in pieces, and how the pieces are read back (domain/segments.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mediatasks import constants as c
from mediatasks.domain.media import ProbedMedia
from mediatasks.domain.options import Trim
from mediatasks.domain.segments import (
    MB_PER_VCPU,
    concat_list,
    piece_media,
    piece_starts,
    plan_encode,
    projected_encode_seconds,
)
from mediatasks.local.serve import parser as serve_parser
from mediatasks.local.stack import SegmentSettings

FILM = ProbedMedia(
    demuxer="mov", format_names=("mov", "mp4"), duration=7200.0, filesize=None, bitrate=None,
    width=1920, height=1080, fps=30.0, video_codec="h264", audio_codec="aac",
)  # fmt: skip
HD = 1280 * 720


def plan(
    media: ProbedMedia, trim: Trim | None = None, above: float | None = None, projected: float = 10.0
) -> bool:
    return plan_encode(
        media, trim or Trim(), projected, timeout_seconds=900, segment_above_seconds=above, segment_seconds=60
    ).segmented


def test_a_film_is_projected_hours_on_one_function_and_pieces_are_planned() -> None:
    projected = projected_encode_seconds(FILM, "h264", HD, None, 3008)
    assert projected > 3000  # two hours of 720p h264 take about an hour on 1.7 vCPUs
    assert plan(FILM, projected=projected)


def test_more_memory_more_vcpus_less_time() -> None:
    slow = projected_encode_seconds(FILM, "h264", HD, None, MB_PER_VCPU)
    fast = projected_encode_seconds(FILM, "h264", HD, None, 6 * MB_PER_VCPU)
    assert fast == pytest.approx(slow / 6)


def test_slower_codecs_and_larger_pictures_project_longer() -> None:
    h264 = projected_encode_seconds(FILM, "h264", HD, None, 3008)
    assert projected_encode_seconds(FILM, "h265", HD, None, 3008) > h264
    assert projected_encode_seconds(FILM, "h264", 1920 * 1080, None, 3008) > h264
    assert projected_encode_seconds(FILM, "h264", HD, 15, 3008) == pytest.approx(h264 / 2)


def test_a_short_fast_encode_runs_whole() -> None:
    clip = replace(FILM, duration=120.0)
    assert not plan(clip, projected=projected_encode_seconds(clip, "h264", HD, None, 3008))


def test_the_threshold_forces_pieces_on_a_short_clip() -> None:
    clip = replace(FILM, duration=120.0)
    assert plan(clip, above=100)
    assert not plan(clip, above=200)


def test_a_trim_or_a_source_shorter_than_a_piece_runs_whole() -> None:
    assert not plan(FILM, Trim(start=10), above=1, projected=10**6)
    assert not plan(replace(FILM, duration=30.0), above=1, projected=10**6)
    assert not plan(replace(FILM, video_codec=None), above=1, projected=10**6)


def test_the_segment_muxers_list_gives_each_pieces_start() -> None:
    listing = "piece_00000.mkv,0.000000,4.004000\npiece_00001.mkv,4.004000,8.008000\n"
    assert piece_starts(listing) == [("piece_00000.mkv", 0.0), ("piece_00001.mkv", 4.004)]


def test_pieces_are_joined_in_order_and_read_as_video_only_matroska() -> None:
    assert concat_list(["a.mp4", "b.mp4"]) == "ffconcat version 1.0\nfile a.mp4\nfile b.mp4\n"
    piece = piece_media(FILM)
    assert (piece.demuxer, piece.has_audio, piece.width, piece.fps) == ("matroska", False, 1920, 30.0)


def test_serve_can_force_the_pieces_on_short_clips() -> None:
    args = serve_parser().parse_args(["--segment-above-seconds", "1", "--segment-seconds", "0.5"])
    settings = SegmentSettings(args.segment_above_seconds, args.segment_seconds)
    assert settings.environment() == {c.ENV_SEGMENT_ABOVE_SECONDS: "1", c.ENV_SEGMENT_SECONDS: "0.5"}
    # unset, the template's values stand
    assert SegmentSettings().environment() == {}
