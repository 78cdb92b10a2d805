"""Image tasks: one framed frame from ffmpeg, encoded by Pillow; results read back with Pillow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from mediatasks.adapters import ffmpeg
from mediatasks.adapters.pictures import encode_picture
from mediatasks.domain.errors import InputUnsupported, OutputTooLarge
from mediatasks.domain.ffmpeg_args import Limits, ffprobe_args
from mediatasks.domain.media import UNDECODABLE_DEMUXERS, InputLimits, parse_ffprobe, source_file
from mediatasks.kinds.animation import AnimationOptions, animation_args
from mediatasks.kinds.image import ImageOptions, image_frame_args
from tests.support.media import MakeClip

MAX_PIXELS = InputLimits.max_pixels


def make_picture(source: Path, tmp_path: Path, **options: Any) -> Image.Image:
    parsed = ImageOptions.model_validate(options)
    media = parse_ffprobe(ffmpeg.probe(ffprobe_args(ffmpeg.binaries().ffprobe, str(source)), 30))
    frames, out = tmp_path / "frames", tmp_path / f"out.{parsed.format}"
    frames.mkdir(exist_ok=True)
    pattern = str(frames / "%05d.ppm")
    ffmpeg.run(
        image_frame_args(ffmpeg.binaries().ffmpeg, parsed, media, str(source), pattern, Limits(10**9)), 30
    )
    picture = encode_picture(
        sorted(frames.glob("*.ppm")), out, parsed.format, parsed.quality, None, MAX_PIXELS
    )
    assert picture.filesize == out.stat().st_size
    image = Image.open(out)
    assert (image.width, image.height) == (picture.width, picture.height)
    return image


@pytest.mark.parametrize(("format_", "pillow_format"), [
    ("jpeg", "JPEG"), ("png", "PNG"), ("webp", "WEBP"), ("gif", "GIF"), ("avif", "AVIF"),
])  # fmt: skip
def test_each_format(make_clip: MakeClip, tmp_path: Path, format_: str, pillow_format: str) -> None:
    image = make_picture(make_clip(), tmp_path, format=format_, width=160)
    assert (image.format, image.size) == (pillow_format, (160, 120))


def test_contain_pads_with_the_background(make_clip: MakeClip, tmp_path: Path) -> None:
    image = make_picture(make_clip(), tmp_path, format="png", width=200, height=200, background="#ff0000")
    assert image.size == (200, 200)
    assert image.convert("RGB").getpixel((100, 2)) == (255, 0, 0)  # the letterbox band is the background


def test_start_picks_the_frame(make_clip: MakeClip, tmp_path: Path) -> None:
    clip = make_clip("long.mp4", seconds=4, fps=25)
    first = make_picture(clip, tmp_path, format="png", start=0).convert("RGB")
    later = make_picture(clip, tmp_path, format="png", start=3).convert("RGB")
    assert first.tobytes() != later.tobytes()  # testsrc2 moves: another moment, another picture


def test_start_past_the_end_is_refused(make_clip: MakeClip, tmp_path: Path) -> None:
    with pytest.raises(InputUnsupported, match="past the end"):
        make_picture(make_clip(), tmp_path, start=60)


def test_quality_trades_size(make_clip: MakeClip, tmp_path: Path) -> None:
    sizes = []
    for quality in ("very_low", "very_high"):
        folder = tmp_path / quality
        folder.mkdir()
        make_picture(make_clip(), folder, format="webp", quality=quality)
        sizes.append((folder / "out.webp").stat().st_size)
    assert sizes[0] < sizes[1]


@pytest.mark.parametrize(("suffix", "pillow_format", "demuxer"), [
    ("jpg", "JPEG", "jpeg_pipe"),
    ("webp", "WEBP", "webp_pipe"),
    ("gif", "GIF", "gif"),
    ("bmp", "BMP", "bmp_pipe"),
])  # fmt: skip
def test_a_picture_is_an_input_too(tmp_path: Path, suffix: str, pillow_format: str, demuxer: str) -> None:
    source = tmp_path / f"in.{suffix}"
    Image.new("RGB", (300, 100), (0, 128, 255)).save(source, pillow_format)
    media = parse_ffprobe(ffmpeg.probe(ffprobe_args(ffmpeg.binaries().ffprobe, str(source)), 30))
    assert (source_file(media).kind, media.demuxer, media.width, media.height) == ("image", demuxer, 300, 100)
    image = make_picture(source, tmp_path, format="png", height=50)
    assert image.size == (150, 50)


def test_png_inputs_are_recognised_and_refused_by_name(tmp_path: Path) -> None:
    source = tmp_path / "in.png"
    Image.new("RGB", (30, 10)).save(source)
    media = parse_ffprobe(ffmpeg.probe(ffprobe_args(ffmpeg.binaries().ffprobe, str(source)), 30))
    assert media.demuxer in UNDECODABLE_DEMUXERS


def make_animation(source: Path, tmp_path: Path, **options: Any) -> tuple[Image.Image, Any]:
    parsed = AnimationOptions.model_validate(options)
    media = parse_ffprobe(ffmpeg.probe(ffprobe_args(ffmpeg.binaries().ffprobe, str(source)), 30))
    out = tmp_path / f"anim.{parsed.format}"
    if parsed.format == "gif":  # made by ffmpeg itself
        ffmpeg.run(
            animation_args(ffmpeg.binaries().ffmpeg, parsed, media, str(source), str(out), Limits(10**9)), 60
        )
        return Image.open(out), None
    frames = tmp_path / "anim-frames"
    frames.mkdir()
    pattern = str(frames / "%05d.ppm")
    ffmpeg.run(
        animation_args(ffmpeg.binaries().ffmpeg, parsed, media, str(source), pattern, Limits(10**9)), 60
    )
    picture = encode_picture(
        sorted(frames.glob("*.ppm")), out, "webp", parsed.quality, parsed.fps, MAX_PIXELS
    )
    return Image.open(out), picture


@pytest.mark.parametrize("format_", ["gif", "webp"])
def test_animation_from_a_stretch_of_video(make_clip: MakeClip, tmp_path: Path, format_: str) -> None:
    clip = make_clip("long.mp4", seconds=4, fps=25)
    image, _ = make_animation(clip, tmp_path, format=format_, width=120, fps=5, start=1, end=3)
    assert image.is_animated
    assert image.n_frames == 10  # 2 s at 5 fps
    assert image.size == (120, 90)
    image.seek(1)
    image.load()  # WebP tells a frame's duration once that frame is loaded
    assert image.info["duration"] == 200  # ms per frame


def test_animation_defaults_to_5_seconds_480_wide(make_clip: MakeClip, tmp_path: Path) -> None:
    clip = make_clip("eight.mp4", size="640x360", seconds=8, fps=25)
    image, picture = make_animation(clip, tmp_path, format="webp")
    assert (image.size, image.n_frames, picture.frames) == ((480, 270), 50, 50)


def test_animation_frames_are_bounded(make_clip: MakeClip) -> None:
    clip = make_clip("eight.mp4", size="640x360", seconds=8, fps=25)
    media = parse_ffprobe(ffmpeg.probe(ffprobe_args(ffmpeg.binaries().ffprobe, str(clip)), 30))
    huge = AnimationOptions(format="webp", width=7680, height=4320, fps=30, end=30)
    with pytest.raises(OutputTooLarge, match="too many pixels"):
        animation_args("ffmpeg", huge, media, "/in", "/out/%05d.ppm", Limits(10**9))
