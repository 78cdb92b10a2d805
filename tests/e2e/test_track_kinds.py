"""The track kinds (thumbnails, chapters, subtitles, speech) through the local product, with speech
made by espeak-ng over generated pictures and recognised by the local model: what a user gets is
read back as a player would (webvtt-py for the tracks, Pillow for the sprites)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import urllib.request
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import webvtt
from PIL import Image

from mediatasks.adapters.ffmpeg import binaries
from tests.e2e.test_cli import mediatasks
from tests.local_product import Api
from tests.support.media import MakeClip
from tests.support.servers import FileServer
from tests.support.speech import SPOKEN, speak, speech_span, word_error_rate

# Three visibly different generated scenes, SCENE_SECONDS each: the cuts are at 5 s and 10 s.
SCENES = ("testsrc2", "smptehdbars", "mandelbrot")
SCENE_SECONDS = 5
LEAD_SECONDS = 1.0
MAX_WORD_ERROR_RATE = 0.25


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        body: bytes = response.read()
        return body


def scenes_clip(target: Path, speech: Path | None) -> Path:
    """The three scenes at 320x180, with `speech` starting LEAD_SECONDS in when given."""
    sources: list[str] = []
    for scene in SCENES:
        sources += ["-f", "lavfi", "-t", str(SCENE_SECONDS), "-i", f"{scene}=size=320x180:rate=25"]
    graph = "".join(f"[{i}:v]" for i in range(len(SCENES))) + f"concat=n={len(SCENES)}:v=1[v]"
    audio: list[str] = []
    if speech is not None:
        sources += ["-i", str(speech)]
        graph += f";[{len(SCENES)}:a]adelay={int(LEAD_SECONDS * 1000)}:all=1,apad[a]"
        audio = ["-map", "[a]", "-c:a", "aac"]
    subprocess.run(
        [
            binaries().ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *sources,
            "-filter_complex", graph, "-map", "[v]", *audio, "-t", str(SCENE_SECONDS * len(SCENES)),
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(target),
        ],
        check=True,
    )  # fmt: skip
    return target


@pytest.fixture(scope="module")
def speech(media_dir: Path) -> Path:
    return speak(SPOKEN, media_dir / "spoken.wav")


@pytest.fixture(scope="module")
def spoken_clip(media_dir: Path, speech: Path, file_server: FileServer) -> str:
    scenes_clip(media_dir / "spoken-scenes.mp4", speech)
    return file_server.url_of("spoken-scenes.mp4")


@pytest.fixture(scope="module")
def silent_scenes(media_dir: Path, file_server: FileServer) -> str:
    scenes_clip(media_dir / "scenes.mp4", None)
    return file_server.url_of("scenes.mp4")


@pytest.fixture(scope="module")
def speech_task(api: Api, spoken_clip: str) -> dict[str, Any]:
    return api.run({"kind": "speech", "url": spoken_clip})


def test_speech_transcribes_what_was_said(speech_task: dict[str, Any], speech: Path) -> None:
    task = speech_task
    assert task["status"] == "succeeded", task["error"]
    assert [step["kind"] for step in task["steps"]] == ["ingest", "probe", "transcribe", "speech", "upload"]
    output = task["output"]
    assert (output["kind"], output["format"], output["type"]) == ("speech", "json", "application/json")
    stored = json.loads(fetch(output["url"]))
    assert stored == output["data"]
    assert stored["language"] == "en"
    assert word_error_rate(SPOKEN, stored["text"]) <= MAX_WORD_ERROR_RATE
    start, end = speech_span(speech, LEAD_SECONDS)
    words = [word for segment in stored["segments"] for word in segment["words"]]
    assert words
    for word in words:
        assert start - 0.5 <= word["start"] <= word["end"] <= end + 0.5, word
        assert 0 <= word["confidence"] <= 1
    assert all(a["start"] <= b["start"] and a["end"] <= b["start"] for a, b in pairwise(words))
    for segment in stored["segments"]:
        assert segment["text"] == " ".join(word["word"] for word in segment["words"])


def test_a_listing_leaves_the_data_to_the_task_itself(api: Api, speech_task: dict[str, Any]) -> None:
    status, page = api.request("GET", "/tasks?kind=speech&limit=100")
    assert status == 200, page
    (listed,) = [task for task in page["data"] if task["id"] == speech_task["id"]]
    assert listed["output"]["data"] is None
    assert listed["output"]["url"]


@pytest.mark.parametrize("subtitle_format", ["vtt", "srt"])
def test_subtitles_are_readable_captions(
    api: Api, spoken_clip: str, tmp_path: Path, subtitle_format: str
) -> None:
    task = api.run({"kind": "subtitles", "url": spoken_clip, "options": {"format": subtitle_format}})
    assert task["status"] == "succeeded", task["error"]
    assert (task["output"]["kind"], task["output"]["format"]) == ("subtitles", subtitle_format)
    track = tmp_path / f"captions.{subtitle_format}"
    track.write_bytes(fetch(task["output"]["url"]))
    captions = webvtt.read(str(track)) if subtitle_format == "vtt" else webvtt.from_srt(str(track))
    assert len(captions) >= 3
    times = [(caption.start_in_seconds, caption.end_in_seconds) for caption in captions]
    assert all(start < end <= start + 7 for start, end in times)
    assert all(end <= next_start for (_, end), (next_start, _) in pairwise(times))
    for caption in captions:
        lines = caption.text.splitlines()
        assert 1 <= len(lines) <= 2, lines
        assert all(len(line) <= 42 for line in lines), lines
    assert word_error_rate(SPOKEN, " ".join(c.text for c in captions)) <= MAX_WORD_ERROR_RATE


def test_chapters_start_at_the_scene_cuts_titled_by_speech(api: Api, spoken_clip: str) -> None:
    task = api.run({"kind": "chapters", "url": spoken_clip, "options": {"min_seconds": 2}})
    assert task["status"] == "succeeded", task["error"]
    chapters = task["output"]["data"]
    assert [c["start"] for c in chapters] == pytest.approx([0, 5, 10], abs=0.5)
    assert chapters[-1]["end"] == pytest.approx(15, abs=0.1)
    assert chapters[0]["title"].lower().startswith("the quick")
    track = webvtt.from_buffer(io.StringIO(fetch(task["output"]["url"]).decode()))
    assert [caption.text for caption in track] == [c["title"] for c in chapters]


def test_chapters_without_speech_are_numbered(api: Api, silent_scenes: str) -> None:
    task = api.run({"kind": "chapters", "url": silent_scenes, "options": {"min_seconds": 2}})
    assert task["status"] == "succeeded", task["error"]
    chapters = task["output"]["data"]
    assert [c["title"] for c in chapters] == ["Chapter 1", "Chapter 2", "Chapter 3"]
    assert [c["start"] for c in chapters] == pytest.approx([0, 5, 10], abs=0.5)
    merged = api.run(
        {"kind": "chapters", "url": silent_scenes, "options": {"max_chapters": 2, "min_seconds": 2}}
    )
    assert len(merged["output"]["data"]) == 2


def test_thumbnails_cover_the_input_with_tiles_inside_their_sprites(api: Api, silent_scenes: str) -> None:
    task = api.run(
        {"kind": "thumbnails", "url": silent_scenes, "options": {"interval": 1, "columns": 4, "width": 96}}
    )
    assert task["status"] == "succeeded", task["error"]
    output = task["output"]
    assert (output["kind"], output["format"], output["type"]) == ("thumbnails", "vtt", "text/vtt")
    # the track is a file of the project too (listing one answered 500: its kind was not a media's)
    status, track = api.request("GET", f"/files/{output['id']}")
    assert (status, track["kind"], track["role"]) == (200, "thumbnails", "track"), track
    sprites = {}
    for sprite in output["files"]:
        with Image.open(io.BytesIO(fetch(sprite["url"]))) as picture:
            assert picture.size == (sprite["width"], sprite["height"])
            sprites[sprite["filename"]] = picture.size
    # the track is served by playback, naming each sprite by a link a player can follow
    assert urlsplit(output["url"]).path == f"/playback/{task['id']}/thumbnails.vtt"
    cues = list(webvtt.from_buffer(io.StringIO(fetch(output["url"]).decode())))
    assert len(cues) == 15
    assert cues[0].start_in_seconds == 0
    assert cues[-1].end_in_seconds == pytest.approx(15, abs=0.05)
    assert all(a.end_in_seconds == b.start_in_seconds for a, b in pairwise(cues))
    with Image.open(io.BytesIO(fetch(cues[0].text.split("#")[0]))) as picture:
        assert picture.size == sprites[urlsplit(cues[0].text).path.rsplit("/", 1)[1]]
    for cue in cues:
        match = re.fullmatch(r"(?P<sprite>\S+)#xywh=(\d+),(\d+),(\d+),(\d+)", cue.text)
        assert match, cue.text
        x, y, w, h = (int(v) for v in match.groups()[1:])
        width, height = sprites[urlsplit(match["sprite"]).path.rsplit("/", 1)[1]]
        assert (w, h) == (96, 54)
        assert x + w <= width, cue.text
        assert y + h <= height, cue.text


def test_speech_needs_an_audio_stream(api: Api, silent_scenes: str) -> None:
    for kind in ("speech", "subtitles"):
        task = api.run({"kind": kind, "url": silent_scenes})
        assert task["status"] == "failed"
        assert task["error"]["kind"] == "input_unsupported"
        assert "audio" in task["error"]["message"]


def test_silence_is_an_empty_transcript(api: Api, make_clip: MakeClip, file_server: FileServer) -> None:
    make_clip("silence.mp4", seconds=3, video_filter=None, output_args=("-af", "volume=0"))
    task = api.run({"kind": "speech", "url": file_server.url_of("silence.mp4")})
    assert task["status"] == "succeeded", task["error"]
    assert (task["output"]["data"]["text"], task["output"]["data"]["segments"]) == ("", [])


def test_unknown_language_for_the_local_model_is_refused_clearly(api: Api, spoken_clip: str) -> None:
    task = api.run({"kind": "speech", "url": spoken_clip, "options": {"language": "de"}})
    assert task["status"] == "failed"
    assert task["error"]["kind"] == "invalid_option"
    assert "English" in task["error"]["message"]


def test_the_command_makes_tracks_on_this_machine(media_dir: Path, spoken_clip: str, tmp_path: Path) -> None:
    """`mediatasks subtitles|thumbnails` without --cloud: the same kinds, the local model, no API."""
    spoken = media_dir / "spoken-scenes.mp4"
    subtitles = mediatasks("subtitles", "-i", str(spoken), "-o", str(tmp_path / "captions.vtt"))
    assert subtitles.returncode == 0, subtitles.stderr
    captions = webvtt.read(str(tmp_path / "captions.vtt"))
    assert word_error_rate(SPOKEN, " ".join(c.text for c in captions)) <= MAX_WORD_ERROR_RATE
    shown = mediatasks(
        "task", "thumbnails", "-i", str(spoken), "-o", str(tmp_path / "preview"), "--width", "64"
    )
    assert shown.returncode == 0, shown.stderr
    output = json.loads(shown.stdout)["output"]
    assert (output["kind"], output["format"]) == ("thumbnails", "vtt")
    (sprite,) = output["files"]
    with Image.open(tmp_path / "preview" / sprite["filename"]) as picture:
        assert picture.size == (sprite["width"], sprite["height"])
    cues = list(webvtt.read(str(tmp_path / "preview" / "thumbnails.vtt")))
    assert cues[-1].end_in_seconds == pytest.approx(15, abs=0.05)
