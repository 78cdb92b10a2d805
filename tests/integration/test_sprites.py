"""Sprite sheets with Pillow: each frame lands in its tile, left to right and top to bottom."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from mediatasks.adapters.pictures import sprite_sheet

COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255)]


@pytest.mark.parametrize("name", ["sheet.jpg", "sheet.webp"])
def test_frames_fill_the_tiles_in_order(tmp_path: Path, name: str) -> None:
    frames = []
    for index, colour in enumerate(COLOURS):
        frame = tmp_path / f"{index:05d}.ppm"
        Image.new("RGB", (32, 18), colour).save(frame)
        frames.append(frame)
    size = sprite_sheet(frames, 2, (32, 18), tmp_path / name, "very_high", 10_000)
    assert size == (tmp_path / name).stat().st_size
    with Image.open(tmp_path / name) as sheet:
        assert sheet.size == (64, 54)  # 2 columns, 3 rows (the last one half empty)
        for index, colour in enumerate(COLOURS):
            row, column = divmod(index, 2)
            found = sheet.convert("RGB").getpixel((column * 32 + 16, row * 18 + 9))
            assert all(abs(a - b) <= 40 for a, b in zip(found, colour, strict=True)), (index, found)
