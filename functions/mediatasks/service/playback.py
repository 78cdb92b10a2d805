"""Playback (GET /playback/<task_id>/<path>): an HLS output's playlists, each request's signature
verified first, served rewritten with signed playlist URLs and presigned segment links; and a
thumbnails track, served with presigned links to its sprites."""

from __future__ import annotations

import time
from dataclasses import dataclass

from pydantic import ValidationError

from mediatasks.domain.errors import ErrorKind, RequestRejected
from mediatasks.domain.playback import (
    PLAYLIST_CONTENT_TYPE,
    TRACK_CONTENT_TYPE,
    PlaybackGrant,
    Reference,
    Role,
    playback_url,
    rewrite_playlist,
    rewrite_thumbnails_track,
    safe_path,
    session_seconds,
    sign_playback,
    verify_playback,
)
from mediatasks.domain.tasks import StoredObject
from mediatasks.service.tasks import TaskService

# A media playlist lists ~40 bytes a segment (4 s each): a megabyte is over 20 hours of stream, and
# rewritten (a presigned link is ~600 bytes) it stays under the 6 MB a Lambda function may answer.
MAX_PLAYLIST_BYTES = 256 * 1024


@dataclass(frozen=True)
class PlaybackService:
    tasks: TaskService
    base_url: str

    def served(self, task_id: str, path: str, query: dict[str, str]) -> tuple[str, str]:
        """The playlist at `path` in the folder of the task's HLS output, or its thumbnails track,
        rewritten, and its content type; refused (signature_invalid, signature_expired) before
        anything is read unless the URL is one this API signed for exactly this task, path and
        project, and not yet expired."""
        secret = self.tasks.cursor_key()
        grant = _grant(task_id, path, query)
        verify_playback(secret, grant, query.get("signature", ""), int(time.time()))
        task = self.tasks.store.get(task_id)
        output = None if task is None or task.project_id != grant.project else task.output
        location = None if output is None else output.location
        if output is None or location is None or (output.renditions is None and output.companions is None):
            raise RequestRejected(
                ErrorKind.not_found, f"task {task_id} has no HLS output or thumbnails track"
            )
        folder, master = location.key.rsplit("/", 1)
        playlists = {master, *(rendition.playlist for rendition in output.renditions or [])}
        if path not in playlists:
            raise RequestRejected(ErrorKind.not_found, f"the output has no playlist or track {path}")
        text = self._read(StoredObject(bucket=location.bucket, key=f"{folder}/{path}"))
        session = session_seconds(output.duration)
        expiry = int(time.time()) + session

        def link(reference: Reference) -> str:
            if reference.role == Role.playlist:
                named = grant.model_copy(update={"path": reference.path, "expiry": expiry})
                return playback_url(self.base_url, named, sign_playback(secret, named))
            media = StoredObject(bucket=location.bucket, key=f"{folder}/{reference.path}")
            return self.tasks.storage.presigned_url(media, session)

        if output.renditions is None:
            return rewrite_thumbnails_track(text, path, link), TRACK_CONTENT_TYPE
        return rewrite_playlist(text, path, link), PLAYLIST_CONTENT_TYPE

    def _read(self, source: StoredObject) -> str:
        data = self.tasks.storage.open(source).read(MAX_PLAYLIST_BYTES + 1)
        if len(data) > MAX_PLAYLIST_BYTES:
            raise RequestRejected(ErrorKind.internal_error, "the playlist or track is too long to serve")
        return data.decode("utf-8", errors="replace")


def _grant(task_id: str, path: str, query: dict[str, str]) -> PlaybackGrant:
    """What the URL claims; refused as not signed by this API when it is not even well formed."""
    not_signed = RequestRejected(ErrorKind.signature_invalid, "the URL is not a playback URL this API made")
    if not safe_path(path):
        raise not_signed
    try:
        return PlaybackGrant.model_validate(
            {"project": query.get("project"), "task_id": task_id, "path": path, "expiry": query.get("expiry")}
        )
    except ValidationError:
        raise not_signed from None
