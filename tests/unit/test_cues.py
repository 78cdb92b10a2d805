"""Caption layout, sprite tiling and chapter bounds, and the WebVTT/SubRip writers read back by
webvtt-py as a player's parser would."""

from __future__ import annotations

import io
from itertools import pairwise

import pytest
import webvtt

from mediatasks.domain.cues import (
    CUE_SECONDS,
    Cue,
    SpriteLayout,
    caption_cues,
    chapter_bounds,
    chapters_of,
    subrip,
    thumbnail_cues,
)
from mediatasks.domain.cues import (
    webvtt as write_webvtt,
)
from mediatasks.domain.errors import InputTooLarge, InputUnsupported
from mediatasks.domain.media import ProbedMedia
from mediatasks.domain.transcripts import Word, transcript_of
from mediatasks.kinds.registry import KINDS


def steady_words(text: str, start: float = 0.0, seconds_per_word: float = 0.4) -> list[Word]:
    return [
        Word(
            start=start + i * seconds_per_word,
            end=start + (i + 0.8) * seconds_per_word,
            word=w,
            confidence=0.9,
        )
        for i, w in enumerate(text.split())
    ]


def test_captions_fit_two_lines_of_42_and_seven_seconds() -> None:
    text = " ".join(f"word{i:02d}" for i in range(60))  # no sentence ends, no pauses
    cues = caption_cues(transcript_of("en", [steady_words(text)]))
    assert len(cues) > 3
    for cue in cues:
        lines = cue.text.split("\n")
        assert len(lines) <= 2
        assert all(len(line) <= 42 for line in lines)
        assert cue.end - cue.start <= CUE_SECONDS
    assert all(a.end <= b.start for a, b in pairwise(cues))
    assert " ".join(c.text.replace("\n", " ") for c in cues) == text


def test_captions_break_at_sentences_and_pauses() -> None:
    words = [*steady_words("Hello there. How are"), *steady_words("you today", start=5.0)]
    cues = caption_cues(transcript_of("en", [words]))
    assert [c.text for c in cues] == ["Hello there.", "How are", "you today"]
    assert cues[1].end <= 5.0


def test_short_captions_are_held_a_second_without_overlapping_the_next() -> None:
    words = [*steady_words("Yes.", start=1.0), *steady_words("No.", start=1.5)]
    first, second = caption_cues(transcript_of("en", [words]))
    assert first.end == pytest.approx(1.5)
    assert second.end == pytest.approx(2.5)


def test_webvtt_and_subrip_parse_back() -> None:
    cues = [Cue(0, 1.25, "a <b> & c --> d"), Cue(3661.5, 3663, "two\nlines")]
    parsed = list(webvtt.from_buffer(io.StringIO(write_webvtt(cues))))
    assert [(c.start, c.end) for c in parsed] == [
        ("00:00:00.000", "00:00:01.250"),
        ("01:01:01.500", "01:01:03.000"),
    ]
    assert parsed[0].raw_text == "a &lt;b&gt; &amp; c --&gt; d"
    assert parsed[1].text == "two\nlines"
    srt = subrip(cues)
    assert "00:00:01,250" in srt
    assert "-->" not in srt.split("\n")[2]


def test_sheets_split_over_the_pixel_budget() -> None:
    layout = SpriteLayout(width=160, height=90, columns=10, max_sheet_pixels=1600 * 90 * 3)
    assert layout.tiles_per_sheet == 30
    assert layout.sheet_sizes(65) == [(1600, 270), (1600, 270), (800, 90)]
    assert layout.tile(31).sheet == 1
    assert (layout.tile(31).x, layout.tile(31).y) == (160, 0)
    cues = thumbnail_cues(65, 2.0, 129.5, layout, ["a.jpg", "b.jpg", "c.jpg"])
    assert cues[0].text == "a.jpg#xywh=0,0,160,90"
    assert cues[-1].text == "c.jpg#xywh=640,0,160,90"
    assert (cues[-1].start, cues[-1].end) == (128.0, 129.5)


def test_chapter_bounds_respect_the_shortest_chapter_and_the_count() -> None:
    assert chapter_bounds([5.0, 7.0, 20.0, 55.0], 60.0, 10, 10) == [0.0, 20.0]
    # the shortest (10-12), then the first of two equal ones (30-45), join the chapter before them
    assert chapter_bounds([10.0, 12.0, 30.0, 45.0], 60.0, 1, 3) == [0.0, 12.0, 45.0]


def test_chapter_titles_come_from_the_speech_or_are_numbered() -> None:
    transcript = transcript_of("en", [steady_words("one two three four five six seven", start=1.0)])
    titled = chapters_of([0.0, 10.0], 20.0, transcript)
    assert [c.title for c in titled] == ["one two three four five six…", "Chapter 2"]
    assert [c.title for c in chapters_of([0.0, 10.0], 20.0, None)] == ["Chapter 1", "Chapter 2"]


def test_transcript_words_run_forward() -> None:
    words = [
        Word(start=0.0, end=0.5, word=" Hi", confidence=1),
        Word(start=0.4, end=0.3, word="there.", confidence=1),
        Word(start=1, end=1, word="  ", confidence=1),
    ]
    (segment,) = transcript_of("en", [words]).segments
    assert [(w.start, w.end, w.word) for w in segment.words] == [(0.0, 0.5, "Hi"), (0.5, 0.5, "there.")]


def test_a_speech_task_refuses_an_input_longer_than_its_data_can_hold() -> None:
    media = ProbedMedia("mov", ("mov",), 20 * 60 + 1, None, None, None, None, None, None, "aac")
    with pytest.raises(InputTooLarge, match="speech task takes at most 1200 s"):
        KINDS["speech"].check_streams(media)
    KINDS["subtitles"].check_streams(media)  # its transcript stays in storage
    with pytest.raises(InputUnsupported, match="no video stream"):
        KINDS["thumbnails"].check_streams(media)
