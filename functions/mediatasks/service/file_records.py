"""The file record of a task's output: written when the task begins (waiting), and published by its
last step (ready). Both the API and the pipeline make them, so they are made here once."""

from __future__ import annotations

from mediatasks.domain.files import FileObject, FileRecord, FileStatus
from mediatasks.domain.tasks import MediaFile, Task
from mediatasks.kinds.base import Family, Output
from mediatasks.kinds.registry import kind_of

FILE_OBJECT_OF_FAMILY: dict[Family, FileObject] = {
    Family.tracks: FileObject.track,
    Family.intelligence: FileObject.intelligence,
}


def file_object_of(kind_name: str) -> FileObject:
    """What a kind's output is to its media: a track, an analysis, or (media and utility kinds) a source."""
    return FILE_OBJECT_OF_FAMILY.get(kind_of(kind_name).family, FileObject.source)


def makes_a_file(kind_name: str) -> bool:
    """Whether a task of the kind stores a file (a probe only describes its input)."""
    return kind_of(kind_name).output != Output.input_file


def pending_record(task: Task, *, original: bool, metadata: dict[str, object] | None = None) -> FileRecord:
    """The file a task is making, as it is shown before it is stored."""
    if task.output_file_id is None or task.media_id is None:
        raise ValueError("the task makes no file of a media")
    return FileRecord(
        id=task.output_file_id,
        project_id=task.project_id,
        media_id=task.media_id,
        task_id=task.id,
        object=file_object_of(task.kind),
        original=original,
        filename=task.naming.filename,
        folder=task.naming.folder,
        ref=task.naming.ref,
        metadata=dict(metadata or {}),
        created_at=task.created_at,
        updated_at=task.created_at,
    )


def published_record(task: Task, file: MediaFile) -> FileRecord:
    """The task's output as stored (its record keeps what was set when the task began)."""
    return FileRecord(
        id=file.id,
        project_id=task.project_id,
        media_id=task.media_id or file.id,
        task_id=task.id,
        object=file_object_of(task.kind),
        status=FileStatus.ready,
        file=file,
        filename=file.filename,
        folder=file.folder,
        ref=file.ref,
        created_at=task.created_at,
    )
