"""Timed text tracks: cues laid out from a transcript's words (captions), from a sprite sheet's
tiles (thumbnails) or from scene changes (chapters), written as WebVTT or SubRip. Pure.

The writers are ours rather than a library's: both formats are a few lines of text per cue, the
libraries that write them (webvtt-py, pysrt) are parsers first, and the tests read our files back
with webvtt-py, so what a player's parser makes of them is what is checked."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from mediatasks.domain.transcripts import Transcript, Word, ends_sentence

# Caption layout (the common broadcast and streaming guidelines): at most two lines of 42
# characters on screen, for at most 7 s; a pause this long between words starts a new cue.
LINE_CHARACTERS = 42
CUE_LINES = 2
CUE_SECONDS = 7.0
PAUSE_SECONDS = 0.8
# A cue shorter than this is hard to read; it is held longer when the next cue leaves room.
MIN_CUE_SECONDS = 1.0


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def _fits(words: Sequence[str]) -> bool:
    lines = textwrap.wrap(" ".join(words), LINE_CHARACTERS, break_long_words=False)
    return len(lines) <= CUE_LINES


def _caption_groups(words: Sequence[Word]) -> list[list[Word]]:
    """Words grouped into cues: a group ends at a sentence's end, before a pause, or where the
    next word would not fit in two lines or would hold the cue on screen past its limit."""
    groups: list[list[Word]] = []
    current: list[Word] = []
    for word in words:
        if current:
            previous = current[-1]
            if (
                ends_sentence(previous.word)
                or word.start - previous.end >= PAUSE_SECONDS
                or word.end - current[0].start > CUE_SECONDS
                or not _fits([w.word for w in current] + [word.word])
            ):
                groups.append(current)
                current = []
        current.append(word)
    if current:
        groups.append(current)
    return groups


def caption_cues(transcript: Transcript) -> list[Cue]:
    """Captions of a transcript: ordered, never overlapping, each at most two lines of 42 characters
    (a single word longer than a line has a line of its own) and at most 7 s on screen."""
    groups = _caption_groups(transcript.words)
    cues: list[Cue] = []
    for index, group in enumerate(groups):
        start = max(group[0].start, cues[-1].end if cues else 0.0)
        next_start = groups[index + 1][0].start if index + 1 < len(groups) else math.inf
        held = max(group[-1].end, min(start + MIN_CUE_SECONDS, next_start))
        end = min(held, start + CUE_SECONDS, next_start)
        text = "\n".join(
            textwrap.wrap(" ".join(w.word for w in group), LINE_CHARACTERS, break_long_words=False)
        )
        cues.append(Cue(start=start, end=max(end, start + 0.001), text=text))
    return cues


def _timestamp(seconds: float, decimal: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole:02d}{decimal}{millis:03d}"


def _vtt_text(text: str) -> str:
    """Cue text as WebVTT takes it: markup characters escaped (so `-->` cannot appear either)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webvtt(cues: Sequence[Cue]) -> str:
    blocks = ["WEBVTT"]
    for index, cue in enumerate(cues, start=1):
        timing = f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}"
        blocks.append(f"{index}\n{timing}\n{_vtt_text(cue.text)}")
    return "\n\n".join(blocks) + "\n"


def subrip(cues: Sequence[Cue]) -> str:
    blocks = []
    for index, cue in enumerate(cues, start=1):
        timing = f"{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}"
        blocks.append(f"{index}\n{timing}\n{cue.text.replace('-->', '->')}")
    return "\n\n".join(blocks) + "\n"


@dataclass(frozen=True)
class Tile:
    """Where one thumbnail sits: which sheet, and its box in that sheet."""

    sheet: int
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class SpriteLayout:
    """Tiles of `width` x `height`, `columns` to a row, as many rows to a sheet as its pixel budget allows."""

    width: int
    height: int
    columns: int
    max_sheet_pixels: int

    @property
    def rows_per_sheet(self) -> int:
        return max(1, self.max_sheet_pixels // (self.width * self.columns * self.height))

    @property
    def tiles_per_sheet(self) -> int:
        return self.rows_per_sheet * self.columns

    def tile(self, index: int) -> Tile:
        sheet, place = divmod(index, self.tiles_per_sheet)
        row, column = divmod(place, self.columns)
        return Tile(sheet, column * self.width, row * self.height, self.width, self.height)

    def sheet_sizes(self, tiles: int) -> list[tuple[int, int]]:
        """(width, height) of each sheet holding `tiles` tiles: only the last may be shorter."""
        sizes = []
        for first in range(0, tiles, self.tiles_per_sheet):
            count = min(self.tiles_per_sheet, tiles - first)
            columns = min(count, self.columns)
            sizes.append((columns * self.width, math.ceil(count / self.columns) * self.height))
        return sizes


def thumbnail_cues(
    tiles: int, interval: float, duration: float, layout: SpriteLayout, sheet_names: Sequence[str]
) -> list[Cue]:
    """One cue per tile, `interval` seconds each, the last running to the end of the input."""
    cues = []
    for index in range(tiles):
        tile = layout.tile(index)
        start = index * interval
        end = duration if index == tiles - 1 else min((index + 1) * interval, duration)
        where = f"{sheet_names[tile.sheet]}#xywh={tile.x},{tile.y},{tile.width},{tile.height}"
        cues.append(Cue(start=min(start, duration), end=max(end, start), text=where))
    return cues


@dataclass(frozen=True)
class Chapter:
    start: float
    end: float
    title: str


TITLE_WORDS = 6


def chapter_bounds(
    cuts: Sequence[float], duration: float, min_seconds: float, max_chapters: int
) -> list[float]:
    """Chapter start times from scene cuts: a cut closer than `min_seconds` to the chapter before it
    (or to the end) is dropped, and while there are more than `max_chapters` the shortest chapter
    is merged into its neighbour."""
    starts = [0.0]
    for cut in sorted(cuts):
        if cut - starts[-1] >= min_seconds and duration - cut >= min_seconds:
            starts.append(cut)
    while len(starts) > max_chapters:
        ends = [*starts[1:], duration]
        shortest = min(range(1, len(starts)), key=lambda i: ends[i] - starts[i])
        del starts[shortest]  # merged into the chapter before it
    return starts


def chapters_of(starts: Sequence[float], duration: float, transcript: Transcript | None) -> list[Chapter]:
    """Chapters from their start times, titled by the first words spoken in each, else "Chapter N"."""
    chapters = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else duration
        words = transcript.words_between(start, end) if transcript else []
        title = " ".join(w.word for w in words[:TITLE_WORDS]).rstrip(",;:")
        if len(words) > TITLE_WORDS:
            title += "…"
        chapters.append(Chapter(start=start, end=end, title=title or f"Chapter {index + 1}"))
    return chapters
