"""Encoding pictures with Pillow: the formats the pinned ffmpeg build has no encoder for (png, webp,
avif, animated webp), and jpeg/gif stills with the same quality scale."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from mediatasks.domain.errors import InputTooLarge
from mediatasks.domain.ffmpeg_args import GIF_COLOURS
from mediatasks.domain.options import Quality

# A sampled frame sent to a model (Rekognition, a language model that sees pictures)
FRAME_JPEG_QUALITY = 85
# Pillow's 0-100 quality for the lossy formats, by our quality names.
LOSSY_QUALITY: dict[Quality, int] = {"very_low": 40, "low": 55, "medium": 75, "high": 85, "very_high": 95}


@dataclass(frozen=True)
class Picture:
    width: int
    height: int
    filesize: int
    frames: int


def _save_arguments(format_name: str, quality: Quality) -> dict[str, Any]:
    match format_name:
        case "jpeg":
            return {
                "format": "JPEG",
                "quality": LOSSY_QUALITY[quality],
                "optimize": True,
                "progressive": True,
            }
        case "webp":
            return {"format": "WEBP", "quality": LOSSY_QUALITY[quality], "method": 4}
        case "avif":
            return {"format": "AVIF", "quality": LOSSY_QUALITY[quality], "speed": 6}
        case "png":
            return {"format": "PNG", "optimize": True}
        case "gif":
            return {"format": "GIF", "optimize": True}
    raise ValueError(f"no picture encoder for {format_name}")


def _open_within(frame: Path, max_pixels: int) -> Image.Image:
    """The frame's pixels, refused (before they are decoded: Image.open reads the header only) when
    there are more than `max_pixels`. Pillow's own bomb limit (Image.MAX_IMAGE_PIXELS) is left as it
    is: it is one for the whole process, which other steps and callers share."""
    try:
        with warnings.catch_warnings():
            # above Pillow's default limit it only warns; the check below is the one that counts
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(frame, formats=["PPM"]) as image:
                if image.width * image.height > max_pixels:
                    raise InputTooLarge(f"a picture has more than the limit of {max_pixels} pixels")
                return image.convert("RGB")
    except Image.DecompressionBombError:  # over twice Pillow's default: more than any cap allows here
        raise InputTooLarge(f"a picture has more than the limit of {max_pixels} pixels") from None


def encode_picture(
    frames: list[Path], output: Path, format_name: str, quality: Quality, fps: float | None, max_pixels: int
) -> Picture:
    """Encodes the RGB frames ffmpeg extracted (PPM files) as `format_name`; several frames at
    `fps` make an animation. No frame may have more than `max_pixels`."""
    pictures = []
    for frame in frames:
        picture = _open_within(frame, max_pixels)
        if format_name == "gif":
            picture = picture.quantize(colors=GIF_COLOURS[quality], method=Image.Quantize.MEDIANCUT)
        pictures.append(picture)
    first, rest = pictures[0], pictures[1:]
    animation: dict[str, Any] = {}
    if rest:
        animation = {
            "save_all": True,
            "append_images": rest,
            "duration": round(1000 / (fps or 10)),
            "loop": 0,
        }
    first.save(output, **_save_arguments(format_name, quality), **animation)
    return Picture(
        width=first.width, height=first.height, filesize=output.stat().st_size, frames=len(pictures)
    )


def sprite_sheet(
    frames: list[Path], columns: int, tile: tuple[int, int], target: Path, quality: Quality, max_pixels: int
) -> int:
    """Tiles the frames (PPM files of `tile` size) `columns` to a row, left to right and top to
    bottom, into one picture of the format `target`'s name ends in; returns its size in bytes."""
    width, height = tile
    rows = -(-len(frames) // columns)
    sheet = Image.new("RGB", (min(len(frames), columns) * width, rows * height))
    for index, frame in enumerate(frames):
        row, column = divmod(index, columns)
        with _open_within(frame, max_pixels) as picture:
            sheet.paste(
                picture.resize(tile) if picture.size != tile else picture, (column * width, row * height)
            )
    format_name = "jpeg" if target.suffix.lower() in (".jpg", ".jpeg") else target.suffix.lstrip(".").lower()
    sheet.save(target, **_save_arguments(format_name, quality))
    return target.stat().st_size


def jpeg_bytes(frame: Path) -> bytes:
    """A sampled frame (a PPM file ffmpeg wrote) as JPEG bytes, as models are sent pictures."""
    with Image.open(frame, formats=["PPM"]) as picture:
        buffer = io.BytesIO()
        picture.convert("RGB").save(buffer, format="JPEG", quality=FRAME_JPEG_QUALITY)
    return buffer.getvalue()
