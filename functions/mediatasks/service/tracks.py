"""The steps of the track kinds (thumbnails, chapters, subtitles, speech, the intelligence kinds)
after ingest and probe: recognising the input's speech when the kind reads it, or moderating its
video as a whole (each started, then polled by the state machine's Wait loop until the provider is
done), then making the track in scratch space. The upload step publishes the track and the files
it names.

Each step marks its own start and end on the task, as every pipeline step does, so a cancelled
task stops at the next step boundary."""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from mediatasks.adapters import ffmpeg
from mediatasks.adapters.storage import Storage
from mediatasks.adapters.store import TaskStore
from mediatasks.config import Settings
from mediatasks.constants import WORK_PREFIX
from mediatasks.domain.ffmpeg_args import Limits
from mediatasks.domain.media import ProbedMedia, content_type
from mediatasks.domain.tasks import (
    TASK_STATUS_AFTER_STEP,
    TASK_STATUS_DURING_STEP,
    MediaFile,
    StepName,
    StoredObject,
)
from mediatasks.domain.transcripts import Transcript
from mediatasks.kinds.base import Kind, Track, TrackJob
from mediatasks.kinds.nsfw import moderation_video_args
from mediatasks.kinds.registry import kind_of
from mediatasks.kinds.speech import speech_audio_args
from mediatasks.providers.moderation import VideoModeration, VideoModerator
from mediatasks.providers.speech import SpeechJob, SpeechRecognizer
from mediatasks.providers.transcribe import job_name
from mediatasks.service.pipeline import STOP_MARGIN_SECONDS
from mediatasks.service.track_tools import FfmpegTrackTools


def probed_media(probed: dict[str, Any]) -> ProbedMedia:
    return ProbedMedia(**{**probed, "format_names": tuple(probed["format_names"])})


@dataclass(frozen=True)
class SpeechState:
    """The transcribe step's result in the execution's state: whether the transcript is ready, the
    provider's job while it is not, and where the transcript is once it is (none for an input
    without audio, whose kind reads speech only when there is some)."""

    done: bool
    job: str | None = None
    result: dict[str, Any] | None = None
    transcript: dict[str, Any] | None = None

    def as_state(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModerationState:
    """The moderate step's result in the execution's state: whether the moderation job is done (at
    once when the frames are judged in the track step), the job while it is not, and where its
    answer is once it is."""

    done: bool
    job: str | None = None
    answer: dict[str, Any] | None = None

    def as_state(self) -> dict[str, Any]:
        return asdict(self)


MODERATION_ANSWER = TypeAdapter(VideoModeration)


@dataclass(frozen=True)
class TrackPipeline:
    settings: Settings
    store: TaskStore
    storage: Storage
    recognizer: Callable[[], SpeechRecognizer]
    video_moderator: Callable[[], VideoModerator | None]

    def _work(self, task_id: str, name: str) -> StoredObject:
        return StoredObject(bucket=self.settings.media_bucket, key=f"{WORK_PREFIX}{task_id}/{name}")

    def _deadline(self, seconds_left: float) -> float:
        return max(1.0, min(float(self.settings.ffmpeg_timeout_seconds), seconds_left - STOP_MARGIN_SECONDS))

    @contextmanager
    def _scratch(self, task_id: str, source: dict[str, Any]) -> Iterator[Path]:
        """A scratch folder holding the stored source, removed when the step ends."""
        scratch = Path(tempfile.mkdtemp(prefix=f"{task_id}-", dir=self.settings.work_dir))
        try:
            ffmpeg.ensure_free_space(str(scratch), int(source["size"]) * 2)
            self.storage.download_file(StoredObject.model_validate(source), str(scratch / "source"))
            yield scratch
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _start(self, task_id: str, kind: Kind, step: StepName) -> None:
        self.store.start_step(task_id, step, TASK_STATUS_DURING_STEP[step], kind.progress(step, 0))

    def _finish(self, task_id: str, kind: Kind, step: StepName) -> None:
        self.store.finish_step(task_id, step, TASK_STATUS_AFTER_STEP[step], kind.progress(step, 100))

    def _still_running(self, task_id: str, kind: Kind, step: StepName) -> None:
        """Marks a polled job's step as still running: a cancelled task stops polling here (the write
        is refused)."""
        self.store.step_progress(task_id, step, TASK_STATUS_DURING_STEP[step], 0, kind.progress(step, 0))

    def _limits(self, media: ProbedMedia) -> Limits:
        return self.settings.ffmpeg_limits().within(media)

    @contextmanager
    def _extracted(
        self,
        task_id: str,
        source: dict[str, Any],
        media: ProbedMedia,
        args_of: Callable[[str, ProbedMedia, str, str, Limits], list[str]],
        name: str,
        seconds_left: float,
    ) -> Iterator[tuple[Path, StoredObject]]:
        """What `args_of` makes of the stored source (the audio a recogniser hears, the video a
        moderation job reads), here and stored as the work file `name`, for as long as it is used."""
        stored = self._work(task_id, name)
        with self._scratch(task_id, source) as scratch:
            path = scratch / name
            argv = args_of(
                ffmpeg.binaries().ffmpeg, media, str(scratch / "source"), str(path), self._limits(media)
            )
            ffmpeg.run(argv, self._deadline(seconds_left))
            self.storage.upload_file(str(path), stored, _type_of(name))
            yield path, stored

    def transcribe(
        self,
        task_id: str,
        kind_name: str,
        probed: dict[str, Any],
        source: dict[str, Any],
        seconds_left: float,
    ) -> dict[str, Any]:
        """Extracts the input's audio and starts recognising it; done at once for an input without
        audio (a kind that needs speech was refused at the probe) or a provider that answers at once."""
        kind = kind_of(kind_name)
        media = probed_media(probed)
        self._start(task_id, kind, StepName.transcribe)
        if not media.has_audio:
            self._finish(task_id, kind, StepName.transcribe)
            return SpeechState(done=True).as_state()
        task = self.store.get(task_id)
        language = task.options.get("language") if task else None
        result = self._work(task_id, "transcribe.json")
        extracted = self._extracted(task_id, source, media, speech_audio_args, "speech.flac", seconds_left)
        with extracted as (audio_path, audio):
            job = SpeechJob(job_name(task_id), audio_path, language, audio, result)
            transcript = self.recognizer().start(job)
        if transcript is None:
            return SpeechState(done=False, job=job.name, result=result.model_dump()).as_state()
        return self._transcribed(task_id, kind, transcript)

    def transcript_status(self, task_id: str, kind_name: str, state: dict[str, Any]) -> dict[str, Any]:
        """Polls the provider's job: the transcript once it is done, else the same state again."""
        kind = kind_of(kind_name)
        waiting = SpeechState(**state)
        if waiting.job is None or waiting.result is None:
            raise ValueError("there is no speech recognition job to poll")
        self._still_running(task_id, kind, StepName.transcribe)
        transcript = self.recognizer().poll(waiting.job, StoredObject.model_validate(waiting.result))
        if transcript is None:
            return waiting.as_state()
        return self._transcribed(task_id, kind, transcript)

    def _transcribed(self, task_id: str, kind: Kind, transcript: Transcript) -> dict[str, Any]:
        stored = self._work(task_id, "transcript.json")
        self.storage.upload_stream(io.BytesIO(transcript.model_dump_json().encode()), stored)
        self._finish(task_id, kind, StepName.transcribe)
        return SpeechState(done=True, transcript=stored.model_dump()).as_state()

    def moderate(
        self,
        task_id: str,
        kind_name: str,
        probed: dict[str, Any],
        source: dict[str, Any],
        seconds_left: float,
    ) -> dict[str, Any]:
        """Starts the provider's moderation job over the input's video (a small H.264 MP4 of it, as
        the job reads); done at once for a still picture or a provider without such jobs, whose
        frames the track step samples and judges itself."""
        kind = kind_of(kind_name)
        media = probed_media(probed)
        self._start(task_id, kind, StepName.moderate)
        moderator = self.video_moderator()
        if moderator is None or not media.has_video or not media.duration:
            self._finish(task_id, kind, StepName.moderate)
            return ModerationState(done=True).as_state()
        extracted = self._extracted(
            task_id, source, media, moderation_video_args, "moderation.mp4", seconds_left
        )
        with extracted as (_, video):
            job = moderator.start(video, token=task_id)
        return ModerationState(done=False, job=job).as_state()

    def moderation_status(self, task_id: str, kind_name: str, state: dict[str, Any]) -> dict[str, Any]:
        """Polls the provider's moderation job: its answer, stored, once it is done, else the same state."""
        kind = kind_of(kind_name)
        waiting = ModerationState(**state)
        moderator = self.video_moderator()
        if waiting.job is None or moderator is None:
            raise ValueError("there is no moderation job to poll")
        self._still_running(task_id, kind, StepName.moderate)
        answer = moderator.poll(waiting.job)
        if answer is None:
            return waiting.as_state()
        stored = self._work(task_id, "moderation.json")
        self.storage.upload_stream(io.BytesIO(MODERATION_ANSWER.dump_json(answer)), stored)
        self._finish(task_id, kind, StepName.moderate)
        return ModerationState(done=True, answer=stored.model_dump()).as_state()

    def _moderation(self, state: dict[str, Any] | None) -> VideoModeration | None:
        where = ModerationState(**state).answer if state else None
        if where is None:
            return None
        with closing(self.storage.open(StoredObject.model_validate(where))) as stream:
            return MODERATION_ANSWER.validate_json(stream.read())

    def _transcript(self, state: dict[str, Any] | None) -> Transcript | None:
        where = SpeechState(**state).transcript if state else None
        if where is None:
            return None
        with closing(self.storage.open(StoredObject.model_validate(where))) as stream:
            return Transcript.model_validate(json.loads(stream.read()))

    def track(
        self,
        task_id: str,
        kind_name: str,
        probed: dict[str, Any],
        source: dict[str, Any],
        speech: dict[str, Any] | None,
        moderation: dict[str, Any] | None,
        seconds_left: float,
    ) -> dict[str, Any]:
        """Makes the kind's track (and the files it names) and stores them as the task's work files."""
        kind = kind_of(kind_name)
        track = _track_of(kind)
        media = probed_media(probed)
        task = self.store.start_step(
            task_id, StepName.track, TASK_STATUS_DURING_STEP[StepName.track], kind.progress(StepName.track, 0)
        )
        options = kind.options.model_validate(task.options)
        transcript = self._transcript(speech)
        moderated = self._moderation(moderation)
        with self._scratch(task_id, source) as scratch:
            folder = scratch / "out"
            folder.mkdir()
            limits = self._limits(media)
            tools = FfmpegTrackTools(
                ffmpeg.binaries().ffmpeg,
                self._deadline(seconds_left),
                limits.max_output_pixels,
                self.settings.moderation_provider,
                self.settings.language_provider,
            )
            job = TrackJob(options, media, scratch / "source", folder, transcript, limits, moderated)
            made = track.make(job, tools)
            files = [f for f in folder.rglob("*") if f.is_file()]
            for file in files:
                self.storage.upload_file(
                    str(file), self._work(task_id, f"out/{file.name}"), _type_of(file.name)
                )
            filesize = (folder / made.filename).stat().st_size
        self._finish(task_id, kind, StepName.track)
        output = MediaFile(
            kind=track.output,
            format=made.format,
            type=made.type,
            duration=media.duration,
            filesize=filesize,
            data=made.data,
            companions=made.companions,
            location=self._work(task_id, f"out/{made.filename}"),
        )
        return output.model_dump(mode="json")


def _track_of(kind: Kind) -> Track:
    if kind.track is None:
        raise ValueError(f"kind {kind.name!r} makes no track")
    return kind.track


def _type_of(filename: str) -> str:
    by_extension = {
        "vtt": "text/vtt",
        "srt": "application/x-subrip",
        "json": "application/json",
        "jpg": "image/jpeg",
    }
    return by_extension.get(filename.rsplit(".", 1)[-1], content_type(filename))
