"""A transcript of an input's speech (SPEC.md's `speech` data): every provider's result is turned
into this one shape, and the subtitle and chapter kinds read it. Times are seconds from the start
of the input."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import BaseModel, Field

# A word that ends with one of these ends a sentence.
SENTENCE_END = (".", "?", "!", "\u2026")
# Closing quotes and brackets may follow the sentence's mark: "Stop." (as in \u201dStop.\u201d).
CLOSING_MARKS = "\"')]\u00bb\u201d\u2019"


class Word(BaseModel):
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    word: str
    confidence: float = Field(ge=0, le=1)


class Segment(BaseModel):
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    text: str
    words: list[Word]


class Transcript(BaseModel):
    language: str | None = Field(description="The spoken language (ISO 639-1), when known")
    text: str
    segments: list[Segment]

    @property
    def words(self) -> list[Word]:
        return [word for segment in self.segments for word in segment.words]

    def words_between(self, start: float, end: float) -> list[Word]:
        """The words that start in [start, end)."""
        return [word for word in self.words if start <= word.start < end]


def ends_sentence(word: str) -> bool:
    return word.rstrip(CLOSING_MARKS).endswith(SENTENCE_END)


def clean_words(words: Iterable[Word], after: float = 0.0) -> list[Word]:
    """Words with their spacing trimmed, empty ones dropped, and times made to run forward: a word
    never starts before the one before it ends, nor ends before it starts (recognisers round
    times to 10 ms and sometimes let neighbours overlap); none starts before `after`."""
    cleaned: list[Word] = []
    for word in words:
        text = " ".join(word.word.split())
        if not text:
            continue
        start = max(word.start, cleaned[-1].end if cleaned else after)
        cleaned.append(Word(start=start, end=max(start, word.end), word=text, confidence=word.confidence))
    return cleaned


def segment(words: Sequence[Word]) -> Segment:
    return Segment(
        start=words[0].start, end=words[-1].end, text=" ".join(w.word for w in words), words=list(words)
    )


def transcript_of(language: str | None, segments: Iterable[Sequence[Word]]) -> Transcript:
    """A transcript of word groups (each a segment); empty groups are left out."""
    made: list[Segment] = []
    for group in segments:
        words = clean_words(group, after=made[-1].end if made else 0.0)
        if words:
            made.append(segment(words))
    return Transcript(language=language, text=" ".join(s.text for s in made), segments=made)


def sentences(words: Sequence[Word]) -> list[list[Word]]:
    """Words grouped into sentences, for a provider that returns words without segments."""
    groups: list[list[Word]] = [[]]
    for word in words:
        groups[-1].append(word)
        if ends_sentence(word.word):
            groups.append([])
    return [group for group in groups if group]
