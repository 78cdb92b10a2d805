"""The intelligence kinds on a talking clip (espeak-ng speech over a generated picture, about 60 s;
about 12 s with --short):

- per kind (nsfw, outline, description, prompt), the wall time of a local run (the CLI's path: probe,
  speech recognised by the local Whisper, the bundled SmolLM2-135M writing), against the baseline of
  recognising the clip's speech alone, measured in the same run;
- the calls and tokens a CDK deployment would make for the same clip (Amazon Transcribe, Rekognition,
  Bedrock Converse with the requests the kinds build, tokens estimated at 4 characters each) and
  their cost at list prices;
- for `prompt`, the share of 10 factual questions about the spoken text answered correctly (the
  expected word in the answer) by the bundled model, by the extractive answer (the baseline), and by
  an OpenAI-compatible endpoint when `--llm-url` and `--llm-model` are given.

    PYTHONPATH=functions:infra:. python -m benchmarks.intelligence [--llm-url URL --llm-model NAME]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediatasks.adapters import ffmpeg
from mediatasks.domain.cues import Chapter
from mediatasks.domain.ffmpeg_args import ffprobe_args
from mediatasks.domain.media import parse_ffprobe
from mediatasks.domain.summaries import Sentence, sentences_between
from mediatasks.kinds import description, outline, prompt
from mediatasks.kinds.registry import kind_of
from mediatasks.providers.endpoint import EndpointTextModel, completions_url
from mediatasks.providers.language import MAX_ANSWER_TOKENS, Request, TextModel
from mediatasks.providers.smollm2 import BundledTextModel
from mediatasks.providers.speech import SpeechJob
from mediatasks.providers.whisper import WhisperRecognizer
from mediatasks.service.local_run import LocalRun
from tests.support.speech import speak, speech_span

# (what is said, a question about it, the word a right answer holds)
FACTS = [
    (
        "The lighthouse on Gull Island is painted red and white.",
        "What colours is the lighthouse painted?",
        "red",
    ),
    ("It was built in eighteen ninety by a man called Thomas Reed.", "Who built the lighthouse?", "reed"),
    (
        "The keeper climbs one hundred and twelve steps to reach the lamp.",
        "How many steps lead to the lamp?",
        "hundred",
    ),
    ("Every evening the keeper feeds a grey cat named Pepper.", "What is the cat's name?", "pepper"),
    (
        "The island's only shop sells bread, candles and rope.",
        "What does the shop sell besides bread and candles?",
        "rope",
    ),
    (
        "A ferry comes from the harbour town of Dunmore twice a week.",
        "Where does the ferry come from?",
        "dunmore",
    ),
    (
        "In winter the sea around the island freezes near the shore.",
        "What happens to the sea in winter?",
        "freez",
    ),
    (
        "The keeper's daughter studies music in the city of Cork.",
        "Where does the keeper's daughter study?",
        "cork",
    ),
    (
        "The lamp can be seen from forty kilometres away on a clear night.",
        "How far away can the lamp be seen?",
        "forty",
    ),
    ("Visitors must leave the island before six o'clock.", "By what time must visitors leave?", "six"),
]
SHORT = 3  # facts (and questions) in a --short run
REPEATED = 6

# AWS list prices, us-east-1, on-demand, as published on the services' pricing pages and recorded
# here on 2026-12-02 (not fetched: this script reaches no network); check them before relying on them.
# https://aws.amazon.com/transcribe/pricing/ : standard batch transcription, first tier, per minute
TRANSCRIBE_PER_MINUTE = 0.024
# https://aws.amazon.com/rekognition/pricing/ : stored video analysis (StartContentModeration), first
# tier, per minute of video (a still picture is one DetectModerationLabels call, $0.001)
REKOGNITION_VIDEO_PER_MINUTE = 0.10
# https://aws.amazon.com/bedrock/pricing/ : Amazon Nova Lite (cdk.json's default), per 1,000 tokens
NOVA_LITE_INPUT_PER_1K = 0.00006
NOVA_LITE_OUTPUT_PER_1K = 0.00024
CHARACTERS_PER_TOKEN = 4


@dataclass(frozen=True)
class Deployment:
    """What a deployment would do for one task."""

    calls: str
    input_tokens: int
    cost: float


def tokens(text: str) -> int:
    return max(1, len(text) // CHARACTERS_PER_TOKEN)


def converse(request: Request, minutes: float, retries: int = 0) -> Deployment:
    """One Bedrock Converse call (and the transcription it reads), its answer at the token bound:
    the most it may cost."""
    sent = tokens(request.instructions + request.content)
    cost = minutes * TRANSCRIBE_PER_MINUTE + (1 + retries) * (
        sent / 1000 * NOVA_LITE_INPUT_PER_1K + MAX_ANSWER_TOKENS / 1000 * NOVA_LITE_OUTPUT_PER_1K
    )
    return Deployment("Transcribe 1 job + Bedrock Converse 1 call", sent, cost)


def talking_clip(folder: Path, text: str) -> tuple[Path, float]:
    speech = speak(text, folder / "speech.wav")
    _, seconds = speech_span(speech, 0.0)
    clip = folder / "talking.mp4"
    subprocess.run(
        [
            ffmpeg.binaries().ffmpeg, "-v", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=10", "-i", str(speech), "-shortest",
            "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", str(clip),
        ],
        check=True,
    )  # fmt: skip
    return clip, seconds


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def right_share(answer: Callable[[str], str], facts: list[tuple[str, str, str]]) -> tuple[int, float]:
    """How many questions were answered with the expected word, and the seconds per answer."""
    right = 0
    started = time.perf_counter()
    for _, question, expected in facts:
        try:
            said = answer(question)
        except Exception:
            said = ""
        right += expected in said.lower()
    return right, (time.perf_counter() - started) / len(facts)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--short", action="store_true", help=f"{SHORT} facts only (a smoke run)")
    parser.add_argument("--llm-url", help="an OpenAI-compatible endpoint to score beside the bundled model")
    parser.add_argument("--llm-model", help="the endpoint's model")
    arguments = parser.parse_args()
    facts = FACTS[:SHORT] if arguments.short else FACTS
    # the ten facts take espeak-ng about 38 s: the first six are said again (as a talk repeats
    # itself) to make the minute the figures are for
    spoken = facts if arguments.short else [*facts, *facts[:REPEATED]]
    text = " ".join(said for said, _, _ in spoken)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        clip, seconds = talking_clip(folder, text)
        minutes = seconds / 60
        print(f"clip: {seconds:.1f} s of espeak-ng speech, {len(text.split())} words, {len(facts)} facts")

        recognised, transcript = timed(lambda: WhisperRecognizer().start(SpeechJob("benchmark", clip, "en")))
        print(f"baseline, speech recognition alone: {recognised:.2f} s")
        sentences: list[Sentence] = sentences_between(transcript, 0.0, float("inf"))

        options: dict[str, dict[str, Any]] = {
            "nsfw": {},
            "outline": {},
            "description": {},
            "prompt": {"prompt": facts[0][1]},
        }
        print("\nlocal wall time per kind (a run of the CLI's path, recognition included):")
        for name, given in options.items():
            kind = kind_of(name)
            run = LocalRun(kind, kind.options.model_validate(given), str(clip), str(folder / f"{name}.json"))
            wall, result = timed(run.run)
            model = (result.file.data or {}).get("model")
            print(f"  {name:<12} {wall:6.2f} s = {wall / recognised:4.1f}x the baseline   model: {model}")

        media = parse_ffprobe(ffmpeg.probe(ffprobe_args(ffmpeg.binaries().ffprobe, str(clip)), 60))
        section = outline.Section(Chapter(0.0, seconds, "talking"), sentences)
        deployment = {
            "nsfw": Deployment(
                f"one Rekognition Video moderation job over {minutes:.2f} min",
                0,
                minutes * REKOGNITION_VIDEO_PER_MINUTE,
            ),
            "outline": converse(outline.outline_request([section], 3)[0], minutes),
            "description": converse(
                description.description_request(description.facts_of(media), sentences, 5), minutes
            ),
            "prompt": converse(prompt.prompt_request(sentences, facts[0][1]), minutes),
        }
        print("\na deployment, per task of this clip (answers at their token bound, no retry):")
        for name, made in deployment.items():
            print(f"  {name:<12} {made.calls}; input ~{made.input_tokens} tokens; ${made.cost:.5f}")

        print(f"\nprompt: questions answered right out of {len(facts)}:")
        scored: dict[str, Callable[[str], str]] = {
            "extractive (baseline)": lambda q: str(prompt.extractive(sentences, q)["answer"]),
        }
        models: list[TextModel] = [BundledTextModel()]
        if arguments.llm_url and arguments.llm_model:
            models.append(EndpointTextModel(completions_url(arguments.llm_url), arguments.llm_model))
        for model in models:
            scored[model.model] = lambda q, m=model: str(prompt.written(m, sentences, q)["answer"])  # type: ignore[misc]
        for label, answer in scored.items():
            right, each = right_share(answer, facts)
            print(f"  {label}: {right}/{len(facts)} = {right / len(facts):.0%} ({each:.2f} s an answer)")


if __name__ == "__main__":
    main()
