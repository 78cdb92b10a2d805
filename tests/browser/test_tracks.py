"""Tracks on the console's player: a caption track that loads, transcript words that seek, chapter
marks on a bar that seek, a thumbnail tile for the time under the pointer; over a few seconds of
generated speech or scenes, stored first (the console plays an input only from the API's storage)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from mediatasks.adapters.ffmpeg import binaries
from tests.browser.conftest import Console
from tests.e2e.test_track_kinds import SCENE_SECONDS, SCENES, scenes_clip
from tests.local_product import Api
from tests.support.servers import FileServer
from tests.support.speech import speak

SENTENCE = "The quick brown fox jumps over the lazy dog."
NEAR_SECONDS = 0.05


@pytest.fixture(scope="module")
def stored_clip(api: Api, media_dir: Path, file_server: FileServer) -> str:
    """The id of a stored 160x90 clip of a spoken sentence over a test pattern."""
    speech = speak(SENTENCE, media_dir / "tracks-sentence.wav")
    clip = media_dir / "tracks-sentence.mp4"
    subprocess.run(
        [
            binaries().ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25", "-i", str(speech), "-shortest",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(clip),
        ],
        check=True,
    )  # fmt: skip
    stored = api.run({"kind": "ingest", "url": file_server.url_of(clip.name)})
    assert stored["status"] == "succeeded", stored["error"]
    file_id: str = stored["output"]["id"]
    return file_id


def task_page(console: Console, api: Api, body: dict[str, Any]) -> dict[str, Any]:
    """The task `body` asks for, run to its end, and its page opened (signed in already)."""
    task = api.run(body)
    assert task["status"] == "succeeded", task["error"]
    console.open(f"#/tasks/{task['id']}")
    expect(console.page.locator("#track-player")).to_be_visible()
    return task


def test_captions_load_and_transcript_words_seek(console: Console, api: Api, stored_clip: str) -> None:
    page = console.page
    console.sign_in()
    task_page(console, api, {"kind": "subtitles", "file_id": stored_clip})
    player = page.locator("#track-player")
    page.wait_for_function(
        "video => video.textTracks[0] && video.textTracks[0].cues?.length > 0", arg=player.element_handle()
    )
    assert player.evaluate("video => video.textTracks[0].kind") == "captions"
    assert console.serious_violations() == []

    speech = task_page(console, api, {"kind": "speech", "file_id": stored_clip})
    words = [word for segment in speech["output"]["data"]["segments"] for word in segment["words"]]
    word = words[len(words) // 2]
    player = page.locator("#track-player")
    page.wait_for_function("video => video.readyState >= 1", arg=player.element_handle())
    page.locator(".transcript button.word").nth(len(words) // 2).click()
    seeked_to = player.evaluate("video => video.currentTime")
    assert seeked_to == pytest.approx(word["start"], abs=NEAR_SECONDS)
    assert player.evaluate("video => video.textTracks[0].cues.length") == len(
        speech["output"]["data"]["segments"]
    )
    assert console.serious_violations() == []
    console.screenshot("transcript")


def test_a_thumbnails_page_shows_the_tile_of_the_time_pointed_at(
    console: Console, api: Api, stored_clip: str
) -> None:
    page = console.page
    console.sign_in()
    task = task_page(
        console, api, {"kind": "thumbnails", "file_id": stored_clip, "options": {"interval": 1, "width": 64}}
    )
    player = page.locator("#track-player")
    page.wait_for_function("video => video.textTracks[0].cues?.length > 0", arg=player.element_handle())
    scrub = page.locator("#scrub")
    box = scrub.bounding_box()
    assert box is not None
    scrub.hover(position={"x": box["width"] * 0.5, "y": box["height"] / 2})  # scrolled into view
    tile = page.locator("#thumbnail-tile")
    expect(tile).to_be_visible()
    sprite_url = tile.evaluate("tile => tile.style.backgroundImage").removeprefix('url("').removesuffix('")')
    (sprite,) = [file for file in task["output"]["files"] if f"/{file['filename']}?" in sprite_url]
    assert tile.evaluate("tile => [tile.clientWidth, tile.clientHeight]") == [64, 36]
    expect(tile).to_have_attribute("aria-label", "Preview at 1.0 s")  # halfway through 3.3 s, 1 s a tile
    # the sprite the tile shows is one the page may load (CSP, CORS, the signed link)
    loaded = page.evaluate(
        "async url => { const sprite = new Image(); sprite.src = url; await sprite.decode();"
        " return [sprite.naturalWidth, sprite.naturalHeight]; }",
        sprite_url,
    )
    assert loaded == [sprite["width"], sprite["height"]]
    assert console.serious_violations() == []
    console.screenshot("thumbnails")


def test_chapters_are_marks_on_a_bar_that_seek(
    console: Console, api: Api, media_dir: Path, file_server: FileServer
) -> None:
    scenes_clip(media_dir / "console-scenes.mp4", None)
    stored = api.run({"kind": "ingest", "url": file_server.url_of("console-scenes.mp4")})
    assert stored["status"] == "succeeded", stored["error"]
    page = console.page
    console.sign_in()
    task = task_page(
        console, api, {"kind": "chapters", "file_id": stored["output"]["id"], "options": {"min_seconds": 2}}
    )
    chapters = task["output"]["data"]
    duration = SCENE_SECONDS * len(SCENES)
    marks = page.locator("#chapter-bar .mark")
    expect(marks).to_have_count(len(chapters))
    lefts = marks.evaluate_all("marks => marks.map(mark => parseFloat(mark.style.left))")
    assert lefts == pytest.approx([100 * chapter["start"] / duration for chapter in chapters], abs=0.01)
    player = page.locator("#track-player")
    page.wait_for_function("video => video.readyState >= 1", arg=player.element_handle())
    marks.nth(1).click()
    assert player.evaluate("video => video.currentTime") == pytest.approx(
        chapters[1]["start"], abs=NEAR_SECONDS
    )
    # the played part of the bar follows the player to the chapter's start
    played = page.locator("#chapter-bar .played")
    page.wait_for_function(
        "([bar, share]) => Math.abs(parseFloat(bar.style.width) - share) < 1",
        arg=[played.element_handle(), 100 * chapters[1]["start"] / duration],
    )
    assert console.serious_violations() == []
    console.screenshot("chapters")
