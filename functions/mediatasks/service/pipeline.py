"""The steps of a task's state machine: ingest -> probe -> encode -> upload, and the failure path.

The input is fetched once, by ingest, into the managed bucket; the probe and every later step read
that stored object, so what was checked is what is processed. A probe task, which only looks, reads
its input in place, in ranges, when the input's server answers them.

Each step marks its own start and end on the task (conditional writes in the store), so a task whose
status is already terminal (e.g. cancelled) stops at the next step boundary.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from mediatasks.adapters import ffmpeg
from mediatasks.adapters.fetch import BoundedStream, FetchPolicy, open_url
from mediatasks.adapters.files import FileStore
from mediatasks.adapters.pictures import encode_picture
from mediatasks.adapters.ranges import (
    PROBING_WINDOW,
    READING_WINDOW,
    CountingReader,
    RangeReader,
    StoredRanges,
    UrlRanges,
    loopback_link,
)
from mediatasks.adapters.storage import ObjectExists, Storage
from mediatasks.adapters.store import TaskNotActive, TaskStore
from mediatasks.adapters.streams import ByteStream
from mediatasks.adapters.transient import is_transient
from mediatasks.config import Settings
from mediatasks.constants import FILES_PREFIX, WORK_PREFIX
from mediatasks.domain.conditions import CONDITIONS, evaluate, facts_of
from mediatasks.domain.errors import (
    InputTooLarge,
    InputUnreachable,
    InputUnsupported,
    OutputTooLarge,
    OutputUnwritable,
    ProcessingFailed,
    TaskFailure,
    TransientFailure,
    failure_kind_of_error_type,
)
from mediatasks.domain.ffmpeg_args import (
    Limits,
    demux_args,
    expected_duration,
    ffprobe_args,
)
from mediatasks.domain.media import (
    EXTENSION_BY_FORMAT,
    DemuxedDuration,
    InputLimits,
    ProbedMedia,
    check_demuxer,
    check_input_limits,
    content_type,
    duration_needs_measuring,
    image_file,
    output_file,
    parse_ffprobe,
    playlist_file,
    source_file,
)
from mediatasks.domain.options import MediaOptions, Trim
from mediatasks.domain.progress import FfmpegProgress, Throttle
from mediatasks.domain.requests import parse_s3_url
from mediatasks.domain.tasks import (
    TASK_STATUS_AFTER_STEP,
    TASK_STATUS_DURING_STEP,
    MediaFile,
    StepName,
    StoredObject,
    Task,
    TaskErrorInfo,
)
from mediatasks.kinds.adaptive_video import MASTER_PLAYLIST, AdaptiveOptions, playlist_renditions
from mediatasks.kinds.animation import AnimationOptions
from mediatasks.kinds.base import Encoding, Kind, Output
from mediatasks.kinds.registry import kind_of
from mediatasks.service.file_records import published_record

logger = Logger(child=True)
Result = TypeVar("Result")
GENERIC_FAILURE = "the task failed while processing; no output was produced"
# Time kept back from a step's Lambda timeout to report an ffmpeg timeout cleanly.
STOP_MARGIN_SECONDS = 20.0
# At most one progress write a second: polling clients see it move, DynamoDB sees few writes.
PROGRESS_SECONDS = 1.0


def probe_input(reader: RangeReader, limits: InputLimits, deadline: float) -> ProbedMedia:
    """What ffprobe finds in `reader`'s input, read in ranges through a loopback link, checked
    against the input limits; a duration the header lacks is measured by reading it all."""
    tools = ffmpeg.binaries()
    with _upstream_errors_first(reader, PROBING_WINDOW) as link:
        report = ffmpeg.probe(ffprobe_args(tools.ffprobe, link), deadline)
    # the size is the one the input's server (or S3) gave: ffprobe leaves it out after some seeks
    media = replace(parse_ffprobe(report), filesize=reader.size)
    check_demuxer(media)
    check_input_limits(media, limits)
    if not duration_needs_measuring(media):
        return media
    meter = DemuxedDuration(limits.max_seconds)
    with _upstream_errors_first(reader, READING_WINDOW) as link:
        try:
            ffmpeg.run(demux_args(tools.ffmpeg, media, link), deadline, on_line=meter.line)
        except ProcessingFailed:
            raise InputUnsupported("the input could not be read to its end") from None
    return replace(media, duration=meter.seconds)


@contextmanager
def _upstream_errors_first(reader: RangeReader, largest_window: int) -> Iterator[str]:
    """A loopback link to `reader` for one ffmpeg run. When the run fails, a failure met upstream
    (the input's server, S3) is the one raised: ffmpeg only saw its link close."""
    with loopback_link(reader, largest_window) as link:
        try:
            yield link.url
        except TaskFailure:
            link.raise_upstream_error()
            raise


@dataclass(frozen=True)
class Pipeline:
    settings: Settings
    store: TaskStore
    storage: Storage
    files: FileStore

    def _work(self, task_id: str, name: str) -> StoredObject:
        return StoredObject(bucket=self.settings.media_bucket, key=f"{WORK_PREFIX}{task_id}/{name}")

    def _run_step(self, task_id: str, kind: Kind, step: StepName, work: Callable[[Task], Result]) -> Result:
        """Runs one step's work between its start and end marks. A transient AWS error that outlasted
        the SDK's own retries becomes a TransientFailure (the state machine retries the step: its
        work files are keyed by task and overwritten, so a retry leaves nothing behind). A task that
        ended meanwhile (cancelled, reconciled after its execution was stopped) keeps no work files."""
        try:
            task = self.store.start_step(task_id, step, TASK_STATUS_DURING_STEP[step], kind.progress(step, 0))
            result = work(task)
            if kind.next_step(step) is not None:  # the last step's own work ends the task
                self.store.finish_step(task_id, step, TASK_STATUS_AFTER_STEP[step], kind.progress(step, 100))
        except TaskNotActive:
            self._discard_work(task_id)
            raise
        except Exception as error:
            if is_transient(error):
                logger.warning(
                    "transient failure", extra={"task_id": task_id, "step": step, "error": repr(error)}
                )
                raise TransientFailure(f"the {step} step was interrupted; it is retried") from error
            raise
        return result

    def _stored_input(self, task: Task) -> tuple[StoredObject, int]:
        """The task's s3:// input and its size, if its bucket is one inputs may come from."""
        bucket, key = parse_s3_url(task.input)
        if not self.settings.input_buckets().allows(task.input, task.project_id):
            raise InputUnreachable(f"bucket {bucket!r} is not an allowed input bucket")
        source = StoredObject(bucket=bucket, key=key)
        try:
            size = self.storage.size(source)
        except (ClientError, BotoCoreError) as error:
            if is_transient(error):
                raise  # retried as a step
            raise InputUnreachable("the input object could not be read") from None
        self._check_size(size)
        return source, size

    def _check_size(self, size: int) -> None:
        if size > self.settings.max_input_bytes:
            limit = self.settings.max_input_bytes
            raise InputTooLarge(f"the input is larger than the limit of {limit} bytes")

    def _fetch_policy(self) -> FetchPolicy:
        return FetchPolicy(
            allow_loopback=self.settings.allow_loopback_inputs,
            refused_loopback_ports=self.settings.local_service_ports,
            max_bytes=self.settings.max_input_bytes,
        )

    def _open_input(self, task: Task, byte_range: tuple[int, int] | None = None) -> ByteStream:
        if task.input.startswith("s3://"):
            source, _ = self._stored_input(task)
            try:
                return self.storage.open(source)
            except (ClientError, BotoCoreError) as error:
                if is_transient(error):
                    raise  # retried as a step
                raise InputUnreachable("the input object could not be read") from None
        return open_url(task.input, self._fetch_policy(), byte_range=byte_range)

    def _input_in_place(self, task: Task) -> dict[str, Any] | ByteStream:
        """Where a task that only looks at its input (a probe) reads it: in place, in ranges, when
        it can be — an s3:// object, or a URL whose server answers ranges — so a probe reads only
        what ffprobe needs of it. Otherwise the open stream of the whole input (a server that
        ignores ranges sends it all at once), to be stored like any other."""
        if task.input.startswith("s3://"):
            source, size = self._stored_input(task)
            return {**source.model_dump(), "size": size}
        stream = self._open_input(task, byte_range=(0, 0))
        if isinstance(stream, BoundedStream) and stream.whole_size is not None:
            stream.close()
            self._check_size(stream.whole_size)
            return {"url": task.input, "size": stream.whole_size}
        return stream

    def _ranges(self, source: dict[str, Any]) -> RangeReader:
        """Reads ingest's `source` in ranges: the input URL in place (a probe), or a stored object."""
        if "url" in source:
            return UrlRanges(source["url"], int(source["size"]), self._fetch_policy())
        return StoredRanges(self.storage, StoredObject.model_validate(source), int(source["size"]))

    def _deadline(self, seconds_left: float) -> float:
        """How long ffmpeg may run: the configured cap, and never past the function's own timeout."""
        return max(1.0, min(float(self.settings.ffmpeg_timeout_seconds), seconds_left - STOP_MARGIN_SECONDS))

    def ingest(self, task_id: str, kind_name: str) -> dict[str, Any]:
        """Fetches the input, once: streams it into the managed bucket's work area (bounded memory,
        at most the size cap). Every later step reads what was stored, never the input's server.
        A probe, which only looks, reads the input in place instead when it can be read in ranges."""
        kind = kind_of(kind_name)

        def work(task: Task) -> dict[str, Any]:
            target = self._work(task.id, "source")
            if kind.output == Output.input_file:
                in_place = self._input_in_place(task)
                if isinstance(in_place, dict):
                    return in_place
                opened = in_place
            else:
                opened = self._open_input(task)
            with closing(opened) as stream:
                self.storage.upload_stream(stream, target)
            size = self.storage.size(target)
            self._check_size(size)  # an s3 input may have grown since it was sized
            return {**target.model_dump(), "size": size}

        return self._run_step(task_id, kind, StepName.ingest, work)

    def probe(
        self, task_id: str, kind_name: str, source: dict[str, Any], seconds_left: float
    ) -> dict[str, Any]:
        """Describes the input as ingest left it (stored, or in place for a probe). ffprobe reads it
        in ranges through a loopback link (seekable, so it finds the index wherever it is and sees
        the real duration); a duration it cannot read is measured by demuxing."""
        kind = kind_of(kind_name)

        def work(task: Task) -> dict[str, Any]:
            reader = CountingReader(self._ranges(source))
            media = probe_input(reader, self.settings.input_limits(), self._deadline(seconds_left))
            read = {"task_id": task.id, "bytes_read": reader.received, "size": reader.size}
            logger.info("probed", extra=read)
            kind.check_streams(media)
            described = source_file(media)
            self.store.record_source(task.id, TASK_STATUS_DURING_STEP[StepName.probe], described)
            if kind.output == Output.input_file:  # it only looks: nothing it stored is kept
                self._discard_work(task.id)
                self.store.succeed(task.id, StepName.probe, described, self._verdict(task, described))
            return asdict(media)

        return self._run_step(task_id, kind, StepName.probe, work)

    def _verdict(self, task: Task, described: MediaFile) -> dict[str, Any] | None:
        """A workflow's conditions step (which runs the probe's steps): its conditions compared
        with the File just described and the stored input's metadata."""
        if task.kind != CONDITIONS:
            return None
        record = self.files.record(task.project_id, task.input_file_id) if task.input_file_id else None
        metadata = record.metadata if record is not None else {}
        facts = facts_of(described.model_dump(mode="json"), metadata)
        return evaluate(task.options.get("conditions", []), facts)

    def encode(
        self,
        task_id: str,
        kind_name: str,
        probed: dict[str, Any],
        source: dict[str, Any],
        seconds_left: float,
    ) -> dict[str, Any]:
        """Makes the task's kind from the ingested source in scratch space, stores it as work files."""
        media = ProbedMedia(**{**probed, "format_names": tuple(probed["format_names"])})
        source_object = StoredObject.model_validate(source)
        kind = kind_of(kind_name)
        encoding = kind.encoding
        if encoding is None:
            raise ValueError(f"kind {kind.name!r} makes nothing with ffmpeg")

        def work(task: Task) -> dict[str, Any]:
            options = kind.options.model_validate(task.options)
            if not isinstance(options, MediaOptions):
                raise TypeError(f"{kind.name} options are not media options")
            scratch = Path(tempfile.mkdtemp(prefix=f"{task.id}-", dir=self.settings.work_dir))
            try:
                ffmpeg.ensure_free_space(str(scratch), int(source["size"]) * 2)
                self.storage.download_file(source_object, str(scratch / "source"))
                job = _Job(
                    kind,
                    encoding,
                    options,
                    media,
                    scratch,
                    self.settings.ffmpeg_limits().within(media),
                    seconds_left,
                )
                job.output_path.parent.mkdir(parents=True, exist_ok=True)
                if encoding.playlist:
                    output = self._make_playlist(task.id, job)
                elif options.format in encoding.picture_formats:
                    output = self._make_picture(job)
                else:
                    output = self._make_media(task.id, job)
                made = [f for f in job.output_path.parent.rglob("*") if f.is_file()]
                if job.limits.output_truncated(sum(f.stat().st_size for f in made)):
                    limit = job.limits.max_output_bytes
                    raise OutputTooLarge(f"the output would be larger than the limit of {limit} bytes")
                for file in made:
                    relative = file.relative_to(job.output_path.parent).as_posix()
                    self.storage.upload_file(
                        str(file), self._work(task.id, f"out/{relative}"), content_type(file.name)
                    )
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            rendition = self._work(task.id, f"out/{job.output_path.name}")
            return output.model_copy(update={"location": rendition}).model_dump(mode="json")

        return self._run_step(task_id, kind, StepName.transcode, work)

    def _run_reporting_progress(
        self, task_id: str, job: _Job, argv: list[str], *, watched_folder: Path | None = None
    ) -> None:
        """Runs ffmpeg, storing its progress; with `watched_folder` (a muxer that writes many files,
        where -fs does not apply) ffmpeg is stopped as soon as the folder reaches the size cap."""
        step, status = StepName.transcode, TASK_STATUS_DURING_STEP[StepName.transcode]
        report = Throttle(
            lambda percent: self.store.step_progress(
                task_id, step, status, percent, job.kind.progress(step, percent)
            ),
            min_seconds=PROGRESS_SECONDS,
            clock=time.monotonic,
        )
        duration = expected_duration(job.options, job.media) if isinstance(job.options, Trim) else None
        on_line = FfmpegProgress(duration, report).line
        if watched_folder is not None:
            on_line = OutputFolderCap(watched_folder, job.limits.max_output_bytes, on_line).line
        ffmpeg.run(argv, self._deadline(job.seconds_left), on_line=on_line)

    def _describe(self, job: _Job, path: Path) -> ProbedMedia:
        argv = ffprobe_args(ffmpeg.binaries().ffprobe, str(path))
        return parse_ffprobe(ffmpeg.probe(argv, self._deadline(job.seconds_left)))

    def _make_media(self, task_id: str, job: _Job) -> MediaFile:
        """ffmpeg makes the file, reporting progress as it goes; ffprobe describes the result."""
        argv = job.encode_argv(str(job.output_path))
        self._run_reporting_progress(task_id, job, argv)
        return output_file(self._describe(job, job.output_path), job.encoding.output, job.options.format)

    def _make_playlist(self, task_id: str, job: _Job) -> MediaFile:
        """ffmpeg makes every rendition of an HLS stream; its top rendition's first segment describes it."""
        if not isinstance(job.options, AdaptiveOptions):
            raise TypeError("a playlist is made from adaptive video options")
        argv = job.encode_argv(str(job.output_path))
        self._run_reporting_progress(task_id, job, argv, watched_folder=job.output_path.parent)
        top = self._describe(job, job.output_path.parent / "v0" / "segment_00000.ts")
        renditions = playlist_renditions(job.options, job.media)
        folder = job.output_path.parent
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        return playlist_file(top, renditions, expected_duration(job.options, job.media), size)

    def _make_picture(self, job: _Job) -> MediaFile:
        """ffmpeg extracts and frames the picture (or an animation's frames); Pillow encodes them."""
        frames_dir = job.scratch / "frames"
        frames_dir.mkdir()
        pattern = str(frames_dir / "%05d.ppm")
        argv = job.encode_argv(pattern)
        ffmpeg.run(argv, self._deadline(job.seconds_left))
        frames = sorted(frames_dir.glob("*.ppm"))
        if not frames:
            raise InputUnsupported("the input has no picture at that time")
        fps = job.options.fps if isinstance(job.options, AnimationOptions) else None
        max_pixels = job.limits.max_output_pixels
        picture = encode_picture(
            frames, job.output_path, job.options.format, job.options.quality, fps, max_pixels
        )
        return image_file(
            job.options.format, picture.width, picture.height, picture.filesize, picture.frames, fps
        )

    def upload(
        self,
        task_id: str,
        kind_name: str,
        rendition: dict[str, Any] | None,
        probed: dict[str, Any],
        source: dict[str, Any],
    ) -> dict[str, Any]:
        """Publishes the rendition (or, for an ingest, the ingested source) to managed storage or
        the task's `output` destination."""
        if rendition is None:
            ingested = StoredObject.model_validate(source)
            media = ProbedMedia(**{**probed, "format_names": tuple(probed["format_names"])})
            output = source_file(media).model_copy(update={"location": ingested, "filesize": source["size"]})
        else:
            output = MediaFile.model_validate(rendition)
        if output.location is None:
            raise ValueError("the rendition has no location")
        made = output.location

        def work(task: Task) -> dict[str, Any]:
            file_id = task.output_file_id or output.id  # the file the API has shown since the task began
            if task.destination is not None:
                bucket, key = parse_s3_url(task.destination)
                target = StoredObject(bucket=bucket, key=key)
            else:
                extension = EXTENSION_BY_FORMAT.get(output.format, output.format)
                name = task.naming.key(task.project_id, file_id, default_name=task.kind, extension=extension)
                target = StoredObject(bucket=self.settings.media_bucket, key=FILES_PREFIX + name)
            # a playlist's renditions and a track's companion files are published beside it
            beside = output.renditions is not None or bool(output.companions)
            written = self._publish(made, target, with_folder=beside)
            naming = task.naming.model_dump(exclude={"filename"}, exclude_none=True)
            published = output.model_copy(
                update={"id": file_id, "location": target, "filename": target.key.rsplit("/", 1)[1], **naming}
            )
            self.files.publish(published_record(task, published))
            try:
                self.store.succeed(task.id, StepName.upload, published)
            except TaskNotActive:
                self.files.delete(published.id)  # cancelled while copying: publish nothing
                self._withdraw(written)
                raise
            self._discard_work(task.id)
            return published.model_dump(mode="json")

        return self._run_step(task_id, kind_of(kind_name), StepName.upload, work)

    def _publish(self, made: StoredObject, target: StoredObject, *, with_folder: bool) -> list[StoredObject]:
        """Copies what was made to `target`; a playlist brings the files of its folder along."""
        copies = [(made, target)]
        if with_folder:
            made_folder, target_folder = made.key.rsplit("/", 1)[0] + "/", target.key.rsplit("/", 1)[0] + "/"
            copies += [
                (
                    StoredObject(bucket=made.bucket, key=key),
                    StoredObject(bucket=target.bucket, key=target_folder + key[len(made_folder) :]),
                )
                for key in self.storage.keys(made.bucket, made_folder)
                if key != made.key
            ]
        written: list[StoredObject] = []
        try:
            for source, destination in copies:
                self.storage.copy_new(source, destination)
                written.append(destination)
        except ObjectExists as exists:
            self._withdraw(written)  # only what this task wrote: never the object that was there
            where = f"s3://{exists.target.bucket}/{exists.target.key}"
            raise OutputUnwritable(f"{where} already exists; a task never overwrites an object") from None
        except (ClientError, BotoCoreError):
            self._withdraw(written)
            raise OutputUnwritable("the output could not be written to its destination") from None
        return written

    def _withdraw(self, written: list[StoredObject]) -> None:
        for copied in written:
            self.storage.delete(copied)

    def mark_failed(self, task_id: str, error: dict[str, Any]) -> dict[str, Any]:
        """The state machine's Catch target: records why the task failed and removes its scratch files."""
        info = failure_from_catch(error)
        task = self.store.get(task_id)
        try:
            self.store.fail(task_id, info, task.running_step() if task else None)
        except TaskNotActive:
            logger.info("task already finished; failure not recorded", extra={"task_id": task_id})
        self._discard_work(task_id)
        return info.model_dump()

    def _discard_work(self, task_id: str) -> None:
        self.storage.delete_prefix(self.settings.media_bucket, f"{WORK_PREFIX}{task_id}/")


@dataclass(frozen=True)
class OutputFolderCap:
    """Passes ffmpeg's progress lines on; at the end of each progress block (about twice a second)
    it sizes the output folder and stops the run once it reaches `max_bytes`."""

    folder: Path
    max_bytes: int
    forward: Callable[[str], None]

    def line(self, text: str) -> None:
        self.forward(text)
        if text.startswith("progress="):
            made = sum(f.stat().st_size for f in self.folder.rglob("*") if f.is_file())
            if made >= self.max_bytes:
                raise OutputTooLarge(f"the output would be larger than the limit of {self.max_bytes} bytes")


@dataclass(frozen=True)
class _Job:
    """One transcode: what to make, from what, where, within which limits and time."""

    kind: Kind
    encoding: Encoding
    options: MediaOptions
    media: ProbedMedia
    scratch: Path
    limits: Limits
    seconds_left: float

    @property
    def source_path(self) -> str:
        return str(self.scratch / "source")

    def encode_argv(self, output: str) -> list[str]:
        """The kind's ffmpeg argv from the downloaded source to `output`."""
        return self.encoding.encode_args(
            ffmpeg.binaries().ffmpeg, self.options, self.media, self.source_path, output, self.limits
        )

    @property
    def output_path(self) -> Path:
        """Where the output is made: one file, or a playlist's master beside its renditions."""
        if self.encoding.playlist:
            return self.scratch / "out" / MASTER_PLAYLIST
        return self.scratch / "out" / f"output.{self.options.format}"


def failure_from_catch(error: dict[str, Any]) -> TaskErrorInfo:
    """The task error for a Step Functions Catch result `{"Error", "Cause"}`.

    Only our own TaskFailure messages are shown to callers; anything else is logged and reported
    with a generic message, so no internals (paths, AWS details, stack traces) leak.
    """
    error_type = str(error.get("Error", ""))
    kind = failure_kind_of_error_type(error_type)
    cause: dict[str, Any] = {}
    try:
        parsed = json.loads(str(error.get("Cause") or "{}"))
        cause = parsed if isinstance(parsed, dict) else {}
    except json.JSONDecodeError:
        pass
    if kind is None:
        logger.error(
            "unexpected step failure", extra={"error": error_type, "cause": str(error.get("Cause"))[:4000]}
        )
        return TaskErrorInfo(kind=TaskFailure.kind, message=GENERIC_FAILURE)
    if error_type.startswith("States."):
        return TaskErrorInfo(kind=kind, message="the task took longer than it is allowed to run")
    return TaskErrorInfo(kind=kind, message=str(cause.get("errorMessage") or GENERIC_FAILURE))
