"""Spoken test media: espeak-ng (a Debian package, installed by `make system-packages`) reads a
text; the tests lay it over generated pictures. Word error rate for checking what a recogniser
heard against what was said."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from mediatasks.adapters.ffmpeg import binaries

SPOKEN = (
    "The quick brown fox jumps over the lazy dog. "
    "Captions help people who cannot hear the sound of a video. "
    "Every chapter of this clip starts with a new colour."
)
# espeak-ng's words per minute: slower than its default, closer to a presenter's pace
WORDS_PER_MINUTE = 150


def espeak() -> str:
    found = shutil.which("espeak-ng")
    if found is None:
        raise RuntimeError("espeak-ng is not installed: run `make system-packages`")
    return found


def speak(text: str, target: Path) -> Path:
    subprocess.run([espeak(), "-s", str(WORDS_PER_MINUTE), "-w", str(target), text], check=True)
    return target


def speech_span(speech: Path, lead_seconds: float) -> tuple[float, float]:
    """When the speech is heard in a video it starts `lead_seconds` into: from then to its end."""
    report = subprocess.run(
        [
            binaries().ffprobe,
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
            str(speech),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return lead_seconds, lead_seconds + float(report)


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def word_error_rate(reference: str, heard: str) -> float:
    """(substitutions + deletions + insertions) / reference words: the edit distance over words,
    written out here (a dozen lines) rather than adding jiwer for one test helper."""
    said, got = words_of(reference), words_of(heard)
    previous = list(range(len(got) + 1))
    for i, word in enumerate(said, start=1):
        current = [i]
        for j, other in enumerate(got, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other)))
        previous = current
    return previous[-1] / len(said)
