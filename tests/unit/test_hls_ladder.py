"""The HLS ladder: derived from the probed source, never upscaled."""

from __future__ import annotations

import pytest

from mediatasks.domain.media import ProbedMedia
from mediatasks.kinds.adaptive_video import AdaptiveOptions, Rendition, hls_ladder


def source(width: int, height: int) -> ProbedMedia:
    return ProbedMedia("mov", ("mov",), 10.0, 1, 1, width, height, 30.0, "h264", "aac")


def heights(ladder: list[Rendition]) -> list[int]:
    return [r.height for r in ladder]


def test_a_1080p_source_gets_the_standard_ladder_from_the_top() -> None:
    ladder = hls_ladder(AdaptiveOptions(), source(1920, 1080))
    assert heights(ladder) == [1080, 720, 540, 360, 240]
    assert [r.width for r in ladder] == [1920, 1280, 960, 640, 426]
    rates = [r.video_kbps for r in ladder]
    assert rates == sorted(rates, reverse=True)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"height": 4320}, [360, 240]),  # asked above the source: capped at the source
        ({"width": 1920}, [360, 240]),
        ({"height": 240}, [240]),
        ({"width": "50%"}, [180]),
    ],
)
def test_never_upscales(options: dict[str, int | str], expected: list[int]) -> None:
    assert heights(hls_ladder(AdaptiveOptions.model_validate(options), source(640, 360))) == expected


def test_quality_scales_the_rates() -> None:
    low = hls_ladder(AdaptiveOptions(quality="low"), source(1280, 720))
    high = hls_ladder(AdaptiveOptions(quality="high"), source(1280, 720))
    assert all(a.video_kbps < b.video_kbps for a, b in zip(low, high, strict=True))


def test_odd_sizes_are_made_even() -> None:
    assert all(
        r.width % 2 == 0 and r.height % 2 == 0 for r in hls_ladder(AdaptiveOptions(), source(1001, 563))
    )
