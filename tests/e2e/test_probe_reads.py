"""Each input byte crosses the network once (issue 13): a probe reads only what ffprobe needs of its
input, wherever the MP4's index is, and a video task fetches its input once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.local_product import Api
from tests.support.media import MakeClip, loop_to_size
from tests.support.servers import RangedFileServer, serve_ranges

# Tens of MB is enough to tell a ranged probe from a full read, and cheap to make (stream copy).
LARGE_BYTES = 24 * 1024**2
PROBE_BUDGET_BYTES = 2 * 1024**2


@pytest.fixture(scope="module")
def ranged(make_clip: MakeClip, media_dir: Path) -> Iterator[RangedFileServer]:
    clip = make_clip("loop-unit.mp4", size="640x360", seconds=2, output_args=("-qp", "4"))
    for front in (True, False):
        loop_to_size(clip, media_dir / f"large-{front}.mp4", LARGE_BYTES, index_at_front=front)
    with serve_ranges(media_dir) as server:
        yield server


@pytest.mark.parametrize("index_at_front", [True, False], ids=["moov-at-front", "moov-at-end"])
def test_a_probe_reads_a_few_ranges_of_a_large_input(
    api: Api, ranged: RangedFileServer, media_dir: Path, index_at_front: bool
) -> None:
    name = f"large-{index_at_front}.mp4"
    before = ranged.sent
    task = api.run({"kind": "probe", "input": {"url": ranged.url_of(name)}})
    assert task["status"] == "succeeded", task["error"]
    assert task["output"]["filesize"] == (media_dir / name).stat().st_size
    assert task["output"]["duration"] > 40  # the whole input's, read from its index
    assert ranged.sent - before <= PROBE_BUDGET_BYTES


def test_a_video_task_fetches_its_input_once(api: Api, ranged: RangedFileServer, make_clip: MakeClip) -> None:
    clip = make_clip("fetched-once.mp4", size="320x180", seconds=2)
    before = ranged.sent
    task = api.run({"kind": "video", "input": {"url": ranged.url_of(clip.name)}, "options": {"width": 160}})
    assert task["status"] == "succeeded", task["error"]
    assert ranged.sent - before == clip.stat().st_size
