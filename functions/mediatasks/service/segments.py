"""The segmented encode of a long video, step by step (domain/segments.py says how): split (plan, and
when the plan says so cut the source's video into pieces and write their manifest), one encode per
piece (the state machine's Distributed Map, one Lambda each), and join.

The task's `steps` show the path: `split` and `join` are added around the kind's step when the plan
segments, and the kind's step progresses as finished pieces / all pieces.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediatasks.adapters import ffmpeg
from mediatasks.adapters.storage import Storage
from mediatasks.adapters.store import TaskNotActive, TaskStore
from mediatasks.config import Settings
from mediatasks.constants import WORK_PREFIX
from mediatasks.domain.errors import OutputTooLarge
from mediatasks.domain.ffmpeg_args import ffprobe_args, target_size
from mediatasks.domain.media import ProbedMedia, content_type, output_file, parse_ffprobe
from mediatasks.domain.options import Framing, MediaOptions, Trim
from mediatasks.domain.segments import (
    SEGMENT_MANIFEST,
    EncodePlan,
    SegmentItem,
    concat_list,
    piece_media,
    piece_starts,
    plan_encode,
    projected_encode_seconds,
    split_args,
)
from mediatasks.domain.tasks import TASK_STATUS_DURING_STEP, StepName, StoredObject, Task
from mediatasks.kinds.base import Encoding, Kind
from mediatasks.kinds.registry import kind_of

# Time kept back from a step's Lambda timeout to report an ffmpeg timeout cleanly.
STOP_MARGIN_SECONDS = 20.0
# the source's audio, copied out by the split for the join
AUDIO_NAME = "audio.mka"
AUDIO_KEY = f"segments/{AUDIO_NAME}"
SPLIT, TRANSCODE, JOIN = StepName.split_video, StepName.transcode, StepName.join_video


def probed_media(probed: dict[str, Any]) -> ProbedMedia:
    return ProbedMedia(**{**probed, "format_names": tuple(probed["format_names"])})


def _output_pixels(options: MediaOptions, media: ProbedMedia) -> int:
    """The encoded picture's size, as the framing options make it from the source."""
    source_width, source_height = media.width or 1, media.height or 1
    width, height = target_size(options, media) if isinstance(options, Framing) else (None, None)
    if width and not height:
        height = width * source_height // source_width
    if height and not width:
        width = height * source_width // source_height
    return (width or source_width) * (height or source_height)


@dataclass(frozen=True)
class SegmentedEncode:
    settings: Settings
    store: TaskStore
    storage: Storage

    def _work(self, task_id: str, name: str) -> StoredObject:
        return StoredObject(bucket=self.settings.media_bucket, key=f"{WORK_PREFIX}{task_id}/{name}")

    def _deadline(self, seconds_left: float) -> float:
        return max(1.0, min(float(self.settings.ffmpeg_timeout_seconds), seconds_left - STOP_MARGIN_SECONDS))

    @contextmanager
    def _scratch(self, task_id: str) -> Iterator[Path]:
        scratch = Path(tempfile.mkdtemp(prefix=f"{task_id}-", dir=self.settings.work_dir))
        try:
            yield scratch
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def plan(self, task: Task, kind: Kind, media: ProbedMedia) -> EncodePlan:
        options = kind.options.model_validate(task.options)
        if not isinstance(options, MediaOptions) or not isinstance(options, Trim):
            raise TypeError(f"{kind.name} options are not media options")
        codec = str(getattr(options, "codec", None) or "h264")
        fps = getattr(options, "fps", None)
        projected = projected_encode_seconds(
            media, codec, _output_pixels(options, media), fps, self.settings.encode_memory_mb
        )
        return plan_encode(
            media,
            options,
            projected,
            timeout_seconds=self.settings.encode_timeout_seconds,
            segment_above_seconds=self.settings.segment_above_seconds,
            segment_seconds=self.settings.segment_seconds,
        )

    def split(
        self,
        task_id: str,
        kind_name: str,
        probed: dict[str, Any],
        source: dict[str, Any],
        seconds_left: float,
    ) -> dict[str, Any]:
        """Plans the encode; when it segments, cuts the stored source's video into pieces (stream
        copy at keyframes), stores them and their manifest, and starts the kind's step."""
        kind, media = kind_of(kind_name), probed_media(probed)
        task = self.store.get(task_id)
        if task is None:
            raise TaskNotActive(task_id)
        plan = self.plan(task, kind, media)
        if not plan.segmented:
            return {"segmented": False, "projected_seconds": plan.projected_seconds}
        self._add_path_steps(task)
        self.store.start_step(task_id, SPLIT, TASK_STATUS_DURING_STEP[SPLIT], kind.progress(TRANSCODE, 0))
        with self._scratch(task_id) as scratch:
            ffmpeg.ensure_free_space(str(scratch), int(source["size"]) * 2)
            source_path = scratch / "source"
            self.storage.download_file(StoredObject.model_validate(source), str(source_path))
            limits = self.settings.ffmpeg_limits().within(media)
            audio_path = scratch / AUDIO_NAME
            argv = split_args(
                ffmpeg.binaries().ffmpeg, media, str(source_path), str(scratch / "piece_%05d.mkv"),
                str(audio_path), plan.segment_seconds, limits,
            )  # fmt: skip
            listing = ffmpeg.run(argv, self._deadline(seconds_left)).decode()
            pieces = piece_starts(listing)
            items = []
            for index, (name, start) in enumerate(pieces):
                stored = self._work(task_id, f"segments/{name}")
                self.storage.upload_file(str(scratch / name), stored, "video/x-matroska")
                items.append(SegmentItem(index=index, count=len(pieces), key=stored.key, start=start))
            if media.has_audio:
                self.storage.upload_file(str(audio_path), self._work(task_id, AUDIO_KEY), "audio/x-matroska")
            manifest = scratch / "manifest.json"
            manifest.write_text(json.dumps([item.model_dump() for item in items]))
            stored_manifest = self._work(task_id, SEGMENT_MANIFEST)
            self.storage.upload_file(str(manifest), stored_manifest, "application/json")
        now_status = TASK_STATUS_DURING_STEP[TRANSCODE]
        self.store.finish_step(task_id, SPLIT, now_status, kind.progress(TRANSCODE, 0))
        self.store.start_step(task_id, TRANSCODE, now_status, kind.progress(TRANSCODE, 0))
        return {
            "segmented": True,
            "count": len(items),
            "manifest": stored_manifest.model_dump(),
            "projected_seconds": plan.projected_seconds,
        }

    def _add_path_steps(self, task: Task) -> None:
        """`split` just before the kind's step and `join` just after it, in the steps' id order."""
        ordered = task.ordered_steps()
        position = next(i for i, step in enumerate(ordered) if step.kind == task.kind)
        before, encode = ordered[position - 1], ordered[position]
        template = {"created_at": encode.created_at, "updated_at": encode.updated_at}
        steps = {
            SPLIT: encode.model_copy(update={"id": f"{before.id}_1", "kind": SPLIT.value, **template}),
            JOIN: encode.model_copy(update={"id": f"{encode.id}_1", "kind": JOIN.value, **template}),
        }
        self.store.add_steps(task.id, TASK_STATUS_DURING_STEP[SPLIT], steps)

    def _settings_of(self, task_id: str, kind: Kind) -> tuple[Encoding, MediaOptions]:
        """How the task's kind encodes, and the task's options for it."""
        task = self.store.get(task_id)
        if task is None:
            raise TaskNotActive(task_id)
        options = kind.options.model_validate(task.options)
        if kind.encoding is None or not isinstance(options, MediaOptions):
            raise TypeError(f"{kind.name} does not encode media")
        return kind.encoding, options

    @staticmethod
    def _encoded_name(options: MediaOptions, index: int) -> str:
        """Encoded pieces are in the output's own container, which the join copies them into."""
        return f"encoded_{index:05d}.{options.format}"

    def encode_segment(
        self, task_id: str, kind_name: str, probed: dict[str, Any], item: dict[str, Any], seconds_left: float
    ) -> dict[str, Any]:
        """Encodes one piece with the task's settings (video only) and stores it; counts it done."""
        kind, media, piece = kind_of(kind_name), probed_media(probed), SegmentItem.model_validate(item)
        encoding, options = self._settings_of(task_id, kind)
        name = self._encoded_name(options, piece.index)
        stored = self._work(task_id, f"segments/{name}")
        with self._scratch(task_id) as scratch:
            piece_path, out_path = scratch / "piece.mkv", scratch / name
            self.storage.download_file(
                StoredObject(bucket=self.settings.media_bucket, key=piece.key), str(piece_path)
            )
            limits = self.settings.ffmpeg_limits().within(media)
            argv = encoding.encode_args(
                ffmpeg.binaries().ffmpeg, options, piece_media(media), str(piece_path), str(out_path), limits
            )
            ffmpeg.run(argv, self._deadline(seconds_left))
            self.storage.upload_file(str(out_path), stored, content_type(name))
        try:
            done = self.store.count_finished_segment(task_id)
            percent = min(100, done * 100 // piece.count)
            status = TASK_STATUS_DURING_STEP[TRANSCODE]
            self.store.step_progress(task_id, TRANSCODE, status, percent, kind.progress(TRANSCODE, percent))
        except TaskNotActive:
            # it ended (failed, cancelled) meanwhile and its work files may be gone: leave none behind
            self.storage.delete(stored)
            raise
        return {"index": piece.index}

    def join(
        self,
        task_id: str,
        kind_name: str,
        probed: dict[str, Any],
        source: dict[str, Any],
        segments: dict[str, Any],
        seconds_left: float,
    ) -> dict[str, Any]:
        """Concatenates the encoded pieces (stream copy), encodes the source's audio (as split copied
        it out) once over the whole duration and muxes both into the kind's output; stores it where
        upload looks. Nothing is read of the source itself again."""
        kind, media = kind_of(kind_name), probed_media(probed)
        encoding, options = self._settings_of(task_id, kind)
        if encoding.join_args is None:
            raise TypeError(f"{kind.name} is not encoded in pieces")
        status = TASK_STATUS_DURING_STEP[JOIN]
        self.store.finish_step(task_id, TRANSCODE, status, kind.progress(TRANSCODE, 100))
        self.store.start_step(task_id, JOIN, status, kind.progress(TRANSCODE, 100))
        names = [self._encoded_name(options, index) for index in range(int(segments["count"]))]
        with self._scratch(task_id) as scratch:
            # the encoded pieces and the output made of them, each at most about the source's size
            ffmpeg.ensure_free_space(str(scratch), int(source["size"]) * 2)
            for name in names:
                self.storage.download_file(self._work(task_id, f"segments/{name}"), str(scratch / name))
            audio_path = scratch / AUDIO_NAME if media.has_audio else None
            if audio_path is not None:
                self.storage.download_file(self._work(task_id, AUDIO_KEY), str(audio_path))
            listing = scratch / "pieces.ffconcat"
            listing.write_text(concat_list(names))
            out_dir = scratch / "out"
            out_dir.mkdir()
            limits = self.settings.ffmpeg_limits().within(media)
            output_path = out_dir / f"output.{options.format}"
            argv = encoding.join_args(
                ffmpeg.binaries().ffmpeg,
                options,
                media,
                str(listing),
                None if audio_path is None else str(audio_path),
                str(output_path),
                limits,
            )
            ffmpeg.run(argv, self._deadline(seconds_left))
            made = [f for f in out_dir.rglob("*") if f.is_file()]
            if limits.output_truncated(sum(f.stat().st_size for f in made)):
                raise OutputTooLarge(
                    f"the output would be larger than the limit of {limits.max_output_bytes} bytes"
                )
            described = parse_ffprobe(
                ffmpeg.probe(
                    ffprobe_args(ffmpeg.binaries().ffprobe, str(output_path)), self._deadline(seconds_left)
                )
            )
            output = output_file(described, encoding.output, options.format)
            for file in made:
                relative = file.relative_to(out_dir).as_posix()
                self.storage.upload_file(
                    str(file), self._work(task_id, f"out/{relative}"), content_type(file.name)
                )
        self.store.finish_step(task_id, JOIN, status, kind.progress(TRANSCODE, 100))
        rendition = self._work(task_id, f"out/{output_path.name}")
        return output.model_copy(update={"location": rendition}).model_dump(mode="json")
