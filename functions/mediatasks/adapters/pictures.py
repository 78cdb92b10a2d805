"""Encoding a still picture with Pillow: the formats the pinned ffmpeg build has no encoder for
(png, webp, avif), and jpeg/gif with the same quality scale."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from mediatasks.domain.options import Quality

# Pillow's 0-100 quality for the lossy formats, by our quality names.
LOSSY_QUALITY: dict[Quality, int] = {"very_low": 40, "low": 55, "medium": 75, "high": 85, "very_high": 95}
# GIF's palette size: fewer colours, smaller files.
GIF_COLOURS: dict[Quality, int] = {"very_low": 32, "low": 64, "medium": 128, "high": 256, "very_high": 256}


@dataclass(frozen=True)
class Picture:
    width: int
    height: int
    filesize: int


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


def encode_picture(frame: Path, output: Path, format_name: str, quality: Quality) -> Picture:
    """Encodes the RGB frame ffmpeg extracted (a PPM file) as `format_name`."""
    with Image.open(frame, formats=["PPM"]) as image:
        picture = image.convert("RGB")
    if format_name == "gif":
        picture = picture.quantize(colors=GIF_COLOURS[quality], method=Image.Quantize.MEDIANCUT)
    picture.save(output, **_save_arguments(format_name, quality))
    return Picture(width=picture.width, height=picture.height, filesize=output.stat().st_size)
