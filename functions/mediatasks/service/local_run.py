"""One task run on this machine (`mediatasks video -i clip.mov`, without --cloud) through the core the
step Lambdas run: the kind's options model and ffmpeg argv builder, the pinned ffmpeg and ffprobe,
the probe's checks, the fetch policy for URLs and Pillow for pictures. Nothing goes through AWS
unless the input or the output is an s3:// URL (then the caller's own credentials are used)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel

from mediatasks.adapters import ffmpeg
from mediatasks.adapters.fetch import FetchPolicy, open_url
from mediatasks.adapters.pictures import encode_picture
from mediatasks.config import Settings
from mediatasks.domain.errors import InputUnreachable, InputUnsupported, OutputTooLarge, OutputUnwritable
from mediatasks.domain.ffmpeg_args import expected_duration, ffprobe_args
from mediatasks.domain.media import (
    EXTENSION_BY_FORMAT,
    ProbedMedia,
    check_demuxer,
    check_input_limits,
    content_type,
    image_file,
    output_file,
    parse_ffprobe,
    playlist_file,
    source_file,
)
from mediatasks.domain.options import MediaOptions, Trim
from mediatasks.domain.progress import FfmpegProgress
from mediatasks.domain.requests import parse_s3_url
from mediatasks.domain.tasks import MediaFile, StepName, StoredObject
from mediatasks.kinds.adaptive_video import MASTER_PLAYLIST, AdaptiveOptions, playlist_renditions
from mediatasks.kinds.animation import AnimationOptions
from mediatasks.kinds.base import Encoding, Kind, Output, Track, TrackJob
from mediatasks.kinds.export import ExportOptions
from mediatasks.kinds.speech import speech_audio_args
from mediatasks.providers.language import LanguageProviderName
from mediatasks.providers.speech import SpeechJob, SpeechProviderName, recognizer
from mediatasks.service.track_tools import FfmpegTrackTools

if TYPE_CHECKING:
    from mediatasks.adapters.storage import Storage

# (step, the task's 0-100 progress) as the run moves on.
OnProgress = Callable[[StepName, int], None]
# A run on the user's own machine is bounded by their patience, not by a Lambda's timeout.
LOCAL_FFMPEG_TIMEOUT_SECONDS = 6 * 3600.0
PROBE_TIMEOUT_SECONDS = 60.0
COPY_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class LocalResult:
    """What the run made (or, for a probe, what the input is) and where it now is: a file:// or
    s3:// URL, or the input's own address for a probe."""

    file: MediaFile
    url: str


def is_remote(address: str) -> bool:
    return urlsplit(address).scheme in ("http", "https", "s3")


def local_path(address: str) -> Path:
    """The path of a local input or output (a plain path or a file:// URL)."""
    parts = urlsplit(address)
    return Path(unquote(parts.path)) if parts.scheme == "file" else Path(address)


def default_output(kind: Kind, options: BaseModel, source: str) -> str:
    """Where a run writes when no -o is given: beside the current folder, named after the input."""
    stem = Path(urlsplit(source).path).stem or "output"
    name = f"{stem}-{kind.name}"
    if (kind.encoding is not None and kind.encoding.playlist) or (
        kind.track is not None and kind.track.folder
    ):
        return name  # a folder: the master playlist beside its renditions, a track beside its sprites
    if kind.track is not None:
        return f"{name}.{kind.track.format_of(options)}"
    extension = getattr(options, "format", None) or Path(urlsplit(source).path).suffix.lstrip(".") or "bin"
    return f"{name}.{EXTENSION_BY_FORMAT.get(extension, extension)}"


def encode_argv(kind: Kind, options: MediaOptions, media: ProbedMedia, source: str, output: str) -> list[str]:
    """The kind's ffmpeg argv, exactly as the transcode step builds it."""
    if kind.encoding is None:
        raise ValueError(f"kind {kind.name!r} makes nothing with ffmpeg")
    limits = Settings().ffmpeg_limits().within(media)
    return kind.encoding.encode_args(ffmpeg.binaries().ffmpeg, options, media, source, output, limits)


def _describe(path: Path) -> ProbedMedia:
    argv = ffprobe_args(ffmpeg.binaries().ffprobe, str(path))
    return parse_ffprobe(ffmpeg.probe(argv, PROBE_TIMEOUT_SECONDS))


@dataclass(frozen=True)
class LocalRun:
    """One task of `kind` from `source` to `destination` (a path, a file:// or an s3:// URL)."""

    kind: Kind
    options: BaseModel
    source: str
    destination: str
    allow_loopback: bool = False
    on_progress: OnProgress = lambda step, percent: None
    settings: Settings = field(default_factory=Settings)
    # what the writing kinds write with (the CLI's --llm-* flags; the endpoint's own settings are
    # in the environment, as for serve's functions)
    language: LanguageProviderName = LanguageProviderName.local

    def run(self) -> LocalResult:
        scratch = Path(tempfile.mkdtemp(prefix="mediatasks-local-"))
        try:
            return self._run(scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _step(self, step: StepName, percent: int) -> None:
        if step in self.kind.steps:
            self.on_progress(step, self.kind.progress(step, percent))

    def _run(self, scratch: Path) -> LocalResult:
        # in the order of the kind's steps (ingest before probe), so the progress only ever grows
        self._step(StepName.ingest, 0)
        source = self._fetch(scratch) if is_remote(self.source) else self._linked(scratch)
        self._step(StepName.ingest, 100)
        self._step(StepName.probe, 0)
        media = _describe(source)
        check_demuxer(media)
        check_input_limits(media, self.settings.input_limits())
        self.kind.check_streams(media)
        self._step(StepName.probe, 100)
        if self.kind.output == Output.input_file:
            return LocalResult(source_file(media), self.source)
        if self.kind.track is not None:
            return self._track(self.kind.track, media, source, scratch)
        if self.kind.encoding is None:  # stored as it is: an ingest to -o, an export to options.url
            destination = self.options.url if isinstance(self.options, ExportOptions) else self.destination
            self._step(StepName.upload, 0)
            written = self._store([source], source.parent, destination, source.name)
            return LocalResult(
                source_file(media).model_copy(update={"filesize": source.stat().st_size}), written
            )
        made, out = self._encode(self.kind.encoding, media, source, scratch)
        self._step(StepName.transcode, 100)
        files = [f for f in out.parent.rglob("*") if f.is_file()]
        limits = self.settings.ffmpeg_limits()
        if limits.output_truncated(sum(f.stat().st_size for f in files)):
            raise OutputTooLarge(
                f"the output would be larger than the limit of {limits.max_output_bytes} bytes"
            )
        self._step(StepName.upload, 0)
        return LocalResult(made, self._store(files, out.parent, self.destination, out.name))

    def _track(self, track: Track, media: ProbedMedia, source: Path, scratch: Path) -> LocalResult:
        """The track steps on this machine: speech recognised by the local model when the kind
        reads it, then the kind's track made and written to the destination with its files."""
        limits = self.settings.ffmpeg_limits().within(media)
        transcript = None
        if track.speech != "none" and media.has_audio:
            self._step(StepName.transcribe, 0)
            audio = scratch / "speech.flac"
            ffmpeg.run(
                speech_audio_args(ffmpeg.binaries().ffmpeg, media, str(source), str(audio), limits),
                LOCAL_FFMPEG_TIMEOUT_SECONDS,
            )
            job = SpeechJob("local", audio, getattr(self.options, "language", None))
            transcript = recognizer(SpeechProviderName.local).start(job)
            self._step(StepName.transcribe, 100)
        self._step(StepName.track, 0)
        folder = scratch / "out"
        folder.mkdir()
        tools = FfmpegTrackTools(
            ffmpeg.binaries().ffmpeg,
            LOCAL_FFMPEG_TIMEOUT_SECONDS,
            limits.max_output_pixels,
            language=self.language,
        )
        made = track.make(TrackJob(self.options, media, source, folder, transcript, limits), tools)
        self._step(StepName.upload, 0)
        files = sorted(f for f in folder.rglob("*") if f.is_file())
        written = self._store(files, folder, self.destination, made.filename)
        described = MediaFile(
            kind=track.output,
            format=made.format,
            type=made.type,
            duration=media.duration,
            filesize=(folder / made.filename).stat().st_size,
            data=made.data,
            companions=made.companions,
        )
        return LocalResult(described, written)

    def _linked(self, scratch: Path) -> Path:
        """A local input under the name the pipeline gives its stored copy (`source`, without an
        extension): ffprobe then tells its format by its bytes, as for a stored object, rather than
        by its name (a photo.jpg is image2's, a pattern demuxer never accepted)."""
        path = local_path(self.source).resolve()
        if not path.is_file():
            raise InputUnreachable(f"no such file: {path}")
        link = scratch / "source"
        link.symlink_to(path)
        return link

    def _fetch(self, scratch: Path) -> Path:
        """A URL's bytes in scratch space, read once: http(s) under the fetch policy, s3 with the
        caller's credentials."""
        target = scratch / "source"
        if self.source.startswith("s3://"):
            from botocore.exceptions import BotoCoreError, ClientError

            bucket, key = parse_s3_url(self.source)
            try:
                _storage().download_file(StoredObject(bucket=bucket, key=key), str(target))
            except (BotoCoreError, ClientError) as error:
                raise InputUnreachable(f"the input object could not be read: {error}") from None
            return target
        policy = FetchPolicy(allow_loopback=self.allow_loopback, max_bytes=self.settings.max_input_bytes)
        with closing(open_url(self.source, policy)) as stream, target.open("wb") as sink:
            while chunk := stream.read(COPY_CHUNK):
                sink.write(chunk)
        return target

    def _encode(
        self, encoding: Encoding, media: ProbedMedia, source: Path, scratch: Path
    ) -> tuple[MediaFile, Path]:
        options = self.options
        if not isinstance(options, MediaOptions):
            raise TypeError(f"{self.kind.name} options are not media options")
        out_dir = scratch / "out"
        out_dir.mkdir()
        if encoding.playlist:
            output = out_dir / MASTER_PLAYLIST
        else:
            output = out_dir / f"output.{EXTENSION_BY_FORMAT.get(options.format, options.format)}"
        if options.format in encoding.picture_formats:
            return self._picture(options, media, source, output, scratch), output
        self._run_ffmpeg(encode_argv(self.kind, options, media, str(source), str(output)), options, media)
        if not encoding.playlist:
            return output_file(_describe(output), encoding.output, options.format), output
        if not isinstance(options, AdaptiveOptions):
            raise TypeError("a playlist is made from adaptive video options")
        renditions = playlist_renditions(options, media)
        top = _describe(out_dir / "v0" / "segment_00000.ts")
        size = sum(f.stat().st_size for f in out_dir.rglob("*") if f.is_file())
        return playlist_file(top, renditions, expected_duration(options, media), size), output

    def _run_ffmpeg(self, argv: list[str], options: MediaOptions, media: ProbedMedia) -> None:
        duration = expected_duration(options, media) if isinstance(options, Trim) else None
        report = FfmpegProgress(duration, lambda percent: self._step(StepName.transcode, percent))
        ffmpeg.run(argv, LOCAL_FFMPEG_TIMEOUT_SECONDS, on_line=report.line)

    def _picture(
        self, options: MediaOptions, media: ProbedMedia, source: Path, output: Path, scratch: Path
    ) -> MediaFile:
        """ffmpeg extracts and frames the picture (or an animation's frames); Pillow encodes them."""
        frames_dir = scratch / "frames"
        frames_dir.mkdir()
        argv = encode_argv(self.kind, options, media, str(source), str(frames_dir / "%05d.ppm"))
        ffmpeg.run(argv, LOCAL_FFMPEG_TIMEOUT_SECONDS)
        frames = sorted(frames_dir.glob("*.ppm"))
        if not frames:
            raise InputUnsupported("the input has no picture at that time")
        fps = options.fps if isinstance(options, AnimationOptions) else None
        max_pixels = self.settings.ffmpeg_limits().max_output_pixels
        picture = encode_picture(frames, output, options.format, options.quality, fps, max_pixels)
        return image_file(
            options.format, picture.width, picture.height, picture.filesize, picture.frames, fps
        )

    def _store(self, files: list[Path], folder: Path, destination: str, main: str) -> str:
        """Writes the made files to `destination` and returns the main file's URL there. A playlist's
        destination is a folder (or s3:// prefix) that receives the whole folder."""
        playlist = len(files) > 1 or main == MASTER_PLAYLIST
        if destination.startswith("s3://"):
            return self._upload(files, folder, destination, main, playlist=playlist)
        target = local_path(destination)
        target_folder = target if playlist else target.parent
        try:
            target_folder.mkdir(parents=True, exist_ok=True)
            for file in files:
                placed = target_folder / file.relative_to(folder) if playlist else target
                placed.parent.mkdir(parents=True, exist_ok=True)
                if placed.resolve() != file.resolve():
                    shutil.copyfile(file, placed)
        except OSError as error:
            raise OutputUnwritable(
                f"the output could not be written to {destination}: {error.strerror}"
            ) from None
        return (target_folder / main if playlist else target).resolve().as_uri()

    def _upload(self, files: list[Path], folder: Path, destination: str, main: str, *, playlist: bool) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            bucket, key = parse_s3_url(destination)
        except ValueError:
            raise OutputUnwritable("an s3 output must look like s3://bucket/key") from None
        prefix = key.rstrip("/") + "/" if playlist else key
        storage = _storage()
        try:
            for file in files:
                object_key = prefix + file.relative_to(folder).as_posix() if playlist else key
                storage.upload_file(
                    str(file), StoredObject(bucket=bucket, key=object_key), content_type(file.name)
                )
        except (BotoCoreError, ClientError) as error:
            raise OutputUnwritable(f"the output could not be written to {destination}: {error}") from None
        return f"s3://{bucket}/{prefix + main if playlist else key}"


def _storage() -> Storage:
    """S3 with the caller's own credentials; boto3 is only loaded when an s3:// URL is used."""
    from mediatasks.adapters.storage import Storage

    return Storage()
