"""Extractive summaries: the sentences of a transcript that say most of what it is about, chosen,
never written. A sentence's weight is how often its content words recur across the whole
transcript (Luhn's frequency method, 1958), by the square root of its length so that long
sentences do not win by length alone. Written here rather than taken from a library: the
summarisation packages (sumy, gensim's summarizer) bring NLTK corpora or are unmaintained, and
this is a score and a sort."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from mediatasks.domain.transcripts import Transcript, Word, ends_sentence

# English function words: they recur in every sentence and say nothing of its subject.
_STOP_WORDS_TEXT = """a about above after again all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves let lets okay every need
    needs like really going know thing things get got one said say says make way well yes yeah"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
CLAUSE_END = (",", ";", ":")
# A clause this long stands as a sentence of its own.
MIN_CLAUSE_WORDS = 4
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


@dataclass(frozen=True)
class Sentence:
    start: float
    end: float
    text: str


def content_words(text: str) -> list[str]:
    return [
        w for w in (m.group(0).lower() for m in _WORD.finditer(text)) if w not in STOP_WORDS and len(w) > 2
    ]


def sentences_between(transcript: Transcript, start: float, end: float) -> list[Sentence]:
    """What is said in [start, end) as sentences, cut at its edges; a long run of words without a
    full stop (recognisers join sentences with commas) is cut at its commas too."""
    made: list[Sentence] = []
    group: list[Word] = []
    for word in transcript.words_between(start, end):
        group.append(word)
        if ends_sentence(word.word) or (word.word.endswith(CLAUSE_END) and len(group) >= MIN_CLAUSE_WORDS):
            made.append(_sentence(group))
            group = []
    if group:
        made.append(_sentence(group))
    return made


def _sentence(words: Sequence[Word]) -> Sentence:
    return Sentence(
        words[0].start, words[-1].end, " ".join(w.word for w in words).rstrip("".join(CLAUSE_END))
    )


def key_sentences(candidates: Sequence[Sentence], weights: Counter[str], count: int) -> list[Sentence]:
    """The `count` heaviest of `candidates` under the transcript's word `weights`, in time order."""

    def weight(sentence: Sentence) -> float:
        words = content_words(sentence.text)
        return sum(weights[w] for w in words) / math.sqrt(len(words)) if words else 0.0

    ranked = sorted(range(len(candidates)), key=lambda i: (-weight(candidates[i]), i))[:count]
    return [candidates[i] for i in sorted(ranked)]


def word_weights(all_sentences: Sequence[Sentence]) -> Counter[str]:
    return Counter(w for s in all_sentences for w in content_words(s.text))
