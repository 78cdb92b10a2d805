"""Speech recognition with the local model (providers/whisper.py) on espeak-ng speech: the model's
load time, its speed against real time (the baseline: how long the speech lasts, measured in the
same run) and the word error rate against the spoken text.

    PYTHONPATH=functions:. python -m benchmarks.speech_recognition [--readings N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from mediatasks.providers.speech import SpeechJob
from mediatasks.providers.whisper import WhisperRecognizer, model
from tests.support.speech import SPOKEN, speak, speech_span, word_error_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # the default, three readings of the tests' spoken text, is about 33 s of speech
    parser.add_argument("--readings", type=int, default=3, help="how many times the text is spoken")
    text = " ".join([SPOKEN] * parser.parse_args().readings)
    with tempfile.TemporaryDirectory() as folder:
        speech = speak(text, Path(folder) / "speech.wav")
        _, seconds = speech_span(speech, 0.0)
        started = time.perf_counter()
        model()
        loaded = time.perf_counter() - started
        job = SpeechJob("benchmark", speech, "en")
        started = time.perf_counter()
        transcript = WhisperRecognizer().start(job)
        recognised = time.perf_counter() - started
    words = len(transcript.words)
    print(f"speech: {seconds:.1f} s ({len(text.split())} words spoken, {words} recognised)")
    print(f"model load: {loaded:.2f} s (once per process)")
    print(f"recognition: {recognised:.2f} s = {seconds / recognised:.1f}x real time (baseline 1.0x)")
    print(f"word error rate: {word_error_rate(text, transcript.text):.3f}")


if __name__ == "__main__":
    main()
