"""The option pieces kinds share (quality, framing, trimming), from which each kind's options model
under `kinds/` is composed: that model drives API validation, the OpenAPI document, ffmpeg argument
building and CLI flags."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

MAX_PIXELS_PER_SIDE = 7680


Quality = Literal["very_low", "low", "medium", "high", "very_high"]
Fit = Literal["contain", "cover", "fill"]
Position = Literal[
    "center", "top", "bottom", "left", "right", "top_left", "top_right", "bottom_left", "bottom_right"
]  # fmt: skip


Percentage = Annotated[str, StringConstraints(pattern=r"^(100|[1-9][0-9]?)(\.[0-9]{1,2})?%$")]
Pixels = Annotated[int, Field(ge=2, le=MAX_PIXELS_PER_SIDE, multiple_of=2)]
Dimension = Annotated[
    Pixels | Percentage,
    Field(description='Pixels (even, 2-7680) or a percentage of the source such as "50%"'),
]
HexColour = Annotated[str, StringConstraints(pattern=r"^#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")]
MAX_SECONDS = 86_400.0
Seconds = Annotated[float, Field(ge=0, le=MAX_SECONDS)]


class StrictOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


def percentage_of(value: str, total: int) -> int:
    """Pixels for a percentage string such as "50%" of `total`, rounded down to an even number."""
    percent = float(value.rstrip("%"))
    return max(2, int(total * percent / 100) // 2 * 2)


class Trim(StrictOptions):
    start: Seconds | None = Field(default=None, description="Seconds from the start of the input")
    end: Seconds | None = Field(default=None, description="Seconds from the start of the input")

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise PydanticCustomError("end_before_start", "end must be greater than start")
        return self


class MediaOptions(StrictOptions):
    """What every media kind's options have: an output format, which each kind narrows, and a quality."""

    format: str
    quality: Quality = "medium"


class Framing(StrictOptions):
    width: Dimension | None = None
    height: Dimension | None = None
    fit: Fit = Field(default="contain", description="How the source fills a width x height box")
    position: Position = Field(default="center", description="Anchor for contain and cover")
    background: HexColour | None = Field(default=None, description="Padding colour, only with fit contain")

    @model_validator(mode="after")
    def _background_only_with_contain(self) -> Self:
        if self.background is not None and self.fit != "contain":
            raise PydanticCustomError(
                "background_needs_contain", "background is only allowed with fit contain"
            )
        return self


_COLOUR_SHORT = re.compile(r"^#([0-9a-fA-F])([0-9a-fA-F])([0-9a-fA-F])$")


def ffmpeg_colour(hex_colour: str) -> str:
    """`#abc` or `#aabbcc` as ffmpeg's `0xAABBCC`."""
    short = _COLOUR_SHORT.match(hex_colour)
    digits = "".join(c * 2 for c in short.groups()) if short else hex_colour[1:]
    return "0x" + digits.upper()
