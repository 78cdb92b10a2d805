"""thumbnails: a scrubbing preview, as players read it (video.js, Vidstack, Mux storyboards):
frames every `interval` seconds tiled into sprite sheets, and a WebVTT track whose cues cover the
whole input and point at each tile (`thumbnails-0.jpg#xywh=x,y,w,h`). Sheets past a pixel budget
are split, so no sheet is too large for a browser to decode."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from mediatasks.domain.cues import SpriteLayout, thumbnail_cues, webvtt
from mediatasks.domain.errors import InputUnsupported, OutputTooLarge
from mediatasks.domain.ffmpeg_args import frames_args
from mediatasks.domain.options import Quality, StrictOptions, Trim
from mediatasks.domain.requests import TaskRequest
from mediatasks.domain.tasks import CompanionFile
from mediatasks.kinds.base import (
    TRACK_STEP_WEIGHTS,
    TRACK_STEPS,
    Family,
    Kind,
    MadeTrack,
    Output,
    Track,
    TrackJob,
    TrackTools,
)

SpriteFormat = Literal["jpeg", "webp"]
EXTENSION = {"jpeg": "jpg", "webp": "webp"}
MIME = {"jpeg": "image/jpeg", "webp": "image/webp"}
# About this many tiles by default, never more than one a second.
DEFAULT_TILES = 100
MAX_TILES = 2000
MAX_SHEET_PIXELS = 2048 * 2048
# A row of tiles, and a tile, at most this many pixels long: a sheet of one row stays decodable.
MAX_SHEET_SIDE = 4096


class ThumbnailsOptions(StrictOptions):
    format: SpriteFormat = "jpeg"
    interval: float | None = Field(
        default=None, ge=0.1, le=3600, description="Seconds between thumbnails; default: ~100 of them, >= 1 s"
    )
    width: int = Field(default=160, ge=16, le=640, multiple_of=2, description="Tile width in pixels")
    columns: int = Field(default=10, ge=1, le=50, description="Tiles in a row of a sprite sheet")
    quality: Quality = "medium"

    @field_validator("columns")
    @classmethod
    def _row_fits_a_sheet(cls, columns: int, info: ValidationInfo) -> int:
        width = info.data.get("width")
        if isinstance(width, int) and columns * width > MAX_SHEET_SIDE:
            raise PydanticCustomError(
                "sheet_too_wide", "columns x width may be at most {limit} pixels", {"limit": MAX_SHEET_SIDE}
            )
        return columns


class ThumbnailsTaskRequest(TaskRequest):
    kind: Literal["thumbnails"]
    options: ThumbnailsOptions = Field(default_factory=ThumbnailsOptions)


def interval_for(options: ThumbnailsOptions, duration: float) -> float:
    return options.interval or max(1.0, duration / DEFAULT_TILES)


def make_thumbnails(job: TrackJob, tools: TrackTools) -> MadeTrack:
    options: ThumbnailsOptions = job.options
    duration, width, height = job.media.duration, job.media.width, job.media.height
    if not (duration and width and height):
        raise InputUnsupported("thumbnails need a video with a duration")
    interval = interval_for(options, duration)
    tiles = math.ceil(duration / interval)
    if tiles > MAX_TILES:
        raise OutputTooLarge(
            f"{tiles} thumbnails every {interval:g} s is more than {MAX_TILES}: use a longer interval"
        )
    tile_height = max(2, round(options.width * height / width / 2) * 2)
    if tile_height > MAX_SHEET_SIDE:
        raise InputUnsupported(f"the input's picture is too narrow for {options.width} px wide thumbnails")
    frames_dir = job.folder.parent / "frames"
    frames_dir.mkdir()
    filters = [f"fps={1 / interval:.6f}", f"scale={options.width}:{tile_height}", "setsar=1"]
    count = ["-frames:v", str(tiles)]
    tools.run(
        frames_args(
            tools.ffmpeg, job.media, Trim(), filters, count, str(frames_dir / "%05d.ppm"), job.limits,
            str(job.source),
        )
    )  # fmt: skip
    frames = sorted(frames_dir.glob("*.ppm"))
    if not frames:
        raise InputUnsupported("the input has no pictures to make thumbnails of")
    layout = SpriteLayout(options.width, tile_height, options.columns, MAX_SHEET_PIXELS)
    names, companions = [], []
    for sheet, (sheet_width, sheet_height) in enumerate(layout.sheet_sizes(len(frames))):
        name = f"thumbnails-{sheet}.{EXTENSION[options.format]}"
        first = sheet * layout.tiles_per_sheet
        size = tools.sprite_sheet(
            frames[first : first + layout.tiles_per_sheet],
            options.columns,
            (options.width, tile_height),
            job.folder / name,
            options.quality,
        )
        names.append(name)
        companions.append(
            CompanionFile(
                filename=name,
                type=MIME[options.format],
                width=sheet_width,
                height=sheet_height,
                filesize=size,
            )
        )
    cues = thumbnail_cues(len(frames), interval, duration, layout, names)
    (job.folder / "thumbnails.vtt").write_text(webvtt(cues))
    return MadeTrack(filename="thumbnails.vtt", format="vtt", type="text/vtt", companions=companions)


KIND = Kind(
    name="thumbnails",
    family=Family.tracks,
    summary="Sprite sheets of frames every few seconds and a WebVTT track pointing at each (#xywh)",
    request=ThumbnailsTaskRequest,
    steps=TRACK_STEPS,
    output=Output.made_file,
    track=Track(
        needs="video", output="thumbnails", make=make_thumbnails, format_of=lambda options: "vtt", folder=True
    ),
    step_weights=TRACK_STEP_WEIGHTS,
)
