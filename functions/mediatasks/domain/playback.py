"""Playback URLs of an HLS output: the API serves its playlists, rewritten so that every playlist
they name is again a signed playback URL and every segment (init segment, key, subtitle) a
short-lived presigned link. A thumbnails track (a WebVTT file whose cues name sprite tiles beside
it) is served the same way, each sprite named by a presigned link. Pure: the links are made by the
caller's functions.

Why the API and not S3 alone: a player resolves a playlist's relative names against the playlist's
own URL, and a presigned link's signature covers one key, so the names it resolves beside a
presigned master playlist are unsigned requests to a private bucket (403). This is how Mux's signed
playback works: the token is checked where the playlists are served, and the segments they list
carry their own short signatures.

The playlist grammar is RFC 8216's; it is parsed here by hand because only its URI lines and URI
attributes matter, and the m3u8 libraries on PyPI parse into a model and write it back out,
reformatting (and sometimes dropping) the tags they do not know."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote, urlencode

from pydantic import BaseModel

from mediatasks.domain.errors import ErrorKind, RequestRejected
from mediatasks.domain.signatures import check_expiry, check_signature, keyed_signature

# The route playlists are served at: /playback/<task_id>/<path in the output's folder>.
PLAYBACK_ROUTE = "/playback"
PLAYLIST_CONTENT_TYPE = "application/vnd.apple.mpegurl"
TRACK_CONTENT_TYPE = "text/vtt"
# A playback session: the links a served playlist lists must outlive watching the whole stream
# (a VOD player fetches each media playlist once and its segments as it plays), with a margin for
# pauses; never shorter than SESSION_MIN_SECONDS, never longer than SESSION_MAX_SECONDS (a
# presigned link made with a function's role credentials ends with them anyway: hours at most).
SESSION_MARGIN_SECONDS = 15 * 60
SESSION_MIN_SECONDS = 15 * 60
SESSION_MAX_SECONDS = 6 * 3600
MAX_REFERENCE_CHARS = 512
_PURPOSE = b"mediatasks playback URLs v1"

# The names a playlist of ours may use: letters, digits and . _ ~ - in segments joined by "/".
# No scheme (":"), query, fragment, percent-encoding, backslash or space: nothing that could
# reach outside the task's folder, or mean something else to a player than to this check.
_SAFE_REFERENCE = re.compile(r"[A-Za-z0-9._~-]+(?:/[A-Za-z0-9._~-]+)*")
_URI_ATTRIBUTE = re.compile(r'(?<=[:,])URI="([^"]*)"')
# A thumbnails cue's text: a sprite's name and the tile's media fragment (W3C Media Fragments).
_SPRITE_TILE = re.compile(r"(?P<name>[^#\s]+)(?P<fragment>#xywh=\d+,\d+,\d+,\d+)")


class Role(StrEnum):
    """What a playlist names: another playlist (served by the API again) or media (from storage)."""

    playlist = "playlist"
    media = "media"


# The tags whose URI attribute names a playlist or a media file (RFC 8216 and its successor draft).
# A tag with a URI attribute that is not here is refused rather than passed through.
URI_TAGS: dict[str, Role] = {
    "EXT-X-MEDIA": Role.playlist,
    "EXT-X-I-FRAME-STREAM-INF": Role.playlist,
    "EXT-X-RENDITION-REPORT": Role.playlist,
    "EXT-X-MAP": Role.media,
    "EXT-X-KEY": Role.media,
    "EXT-X-SESSION-KEY": Role.media,
    "EXT-X-SESSION-DATA": Role.media,
    "EXT-X-PART": Role.media,
    "EXT-X-PRELOAD-HINT": Role.media,
}


@dataclass(frozen=True)
class Reference:
    """A file a playlist names: its path in the output's folder, and what it is."""

    path: str
    role: Role


Link = Callable[[Reference], str]


class PlaybackGrant(BaseModel):
    """What a playback URL carries, and what its signature covers: every field."""

    project: str
    task_id: str
    path: str
    expiry: int

    def message(self) -> bytes:
        return "\n".join(["playback", self.project, self.task_id, self.path, str(self.expiry)]).encode()


def playback_url(base_url: str, grant: PlaybackGrant, signature: str) -> str:
    """`<base>/playback/<task_id>/<path>?project=&expiry=&signature=`: the path keeps the
    playlist's own name, so players (and ffmpeg, which asks for an .m3u8 name) know it for one."""
    query = urlencode({"project": grant.project, "expiry": grant.expiry, "signature": signature})
    return f"{base_url}{PLAYBACK_ROUTE}/{quote(grant.task_id)}/{quote(grant.path)}?{query}"


def sign_playback(secret: bytes, grant: PlaybackGrant) -> str:
    return keyed_signature(secret, _PURPOSE, grant.message())


def verify_playback(secret: bytes, grant: PlaybackGrant, signature: str, now: int) -> None:
    """Refuses a signature this API did not make for exactly this grant, or past its expiry."""
    check_signature(sign_playback(secret, grant), signature)
    check_expiry(grant.expiry, now)


def session_seconds(duration: float | None) -> int:
    """How long the links a served playlist lists live, for a stream of `duration` seconds."""
    watching = math.ceil(duration or 0) + SESSION_MARGIN_SECONDS
    return max(SESSION_MIN_SECONDS, min(SESSION_MAX_SECONDS, watching))


def _unsafe(playlist_path: str) -> RequestRejected:
    return RequestRejected(
        ErrorKind.internal_error, f"the playlist {playlist_path} names a file outside its folder"
    )


def safe_path(path: str) -> bool:
    """Whether `path` stays inside a folder: relative, plain names, no "." or ".." segment."""
    if len(path) > MAX_REFERENCE_CHARS or _SAFE_REFERENCE.fullmatch(path) is None:
        return False
    return all(segment not in (".", "..") for segment in path.split("/"))


def resolved(playlist_path: str, uri: str) -> str:
    """`uri` as a path in the output's folder, resolved against the playlist that names it."""
    folder = playlist_path.rpartition("/")[0]
    path = f"{folder}/{uri}" if folder else uri
    if not safe_path(uri) or not safe_path(path):
        raise _unsafe(playlist_path)
    return path


def _tag_name(line: str) -> str:
    return line[1:].split(":", 1)[0]


def _checked_link(link: Link, reference: Reference) -> str:
    url = link(reference)
    if any(character in url for character in '"\r\n'):
        raise ValueError("a link must not break the playlist's line or its quoted attribute")
    return url


def rewrite_playlist(text: str, playlist_path: str, link: Link) -> str:
    """The playlist at `playlist_path` (in the output's folder) with every file it names replaced
    by `link(reference)`. Refused (internal_error) when it names anything that is not a plain
    relative path inside the folder; comments other than tags are dropped, tags kept as they are."""
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "#EXTM3U":
        raise RequestRejected(ErrorKind.internal_error, f"{playlist_path} is not an HLS playlist")
    written: list[str] = []
    next_uri_role = Role.media
    for raw in lines:
        line = raw.strip()
        if not line:
            written.append("")
        elif line.startswith("#EXT"):
            written.append(_rewrite_tag(line, playlist_path, link))
            if _tag_name(line) == "EXT-X-STREAM-INF":
                next_uri_role = Role.playlist
        elif line.startswith("#"):
            continue  # a comment: players ignore it, and it need not carry anything of ours out
        else:
            reference = Reference(resolved(playlist_path, line), next_uri_role)
            written.append(_checked_link(link, reference))
            next_uri_role = Role.media
    return "\n".join(written)


def _rewrite_tag(line: str, playlist_path: str, link: Link) -> str:
    if "URI=" not in line:
        return line
    uris = _URI_ATTRIBUTE.findall(line)
    role = URI_TAGS.get(_tag_name(line))
    # exactly one quoted URI attribute, in a tag known to have one: an unquoted or second URI
    # (which a lenient player might still read) is never passed through
    if role is None or len(uris) != 1 or line.count("URI=") != 1:
        raise _unsafe(playlist_path)
    reference = Reference(resolved(playlist_path, uris[0]), role)
    url = _checked_link(link, reference)
    return _URI_ATTRIBUTE.sub(lambda _: f'URI="{url}"', line)


def rewrite_thumbnails_track(text: str, track_path: str, link: Link) -> str:
    """The thumbnails track at `track_path` with each cue's sprite named by `link(reference)`, its
    tile fragment kept. Refused (internal_error) when a cue is anything but one tile of a sprite
    inside the folder: this is a track we wrote (domain/cues.py), so anything else is not ours.
    Parsed by hand for the same reason as playlists: only the cue payload lines matter."""
    blocks = text.replace("\r\n", "\n").strip("\n").split("\n\n")
    if not blocks[0].startswith("WEBVTT"):
        raise RequestRejected(ErrorKind.internal_error, f"{track_path} is not a WebVTT track")
    written = [blocks[0]]
    for block in blocks[1:]:
        lines = block.split("\n")
        timing = next((index for index, line in enumerate(lines) if "-->" in line), None)
        payload = [] if timing is None else lines[timing + 1 :]
        tile = _SPRITE_TILE.fullmatch(payload[0].strip()) if len(payload) == 1 else None
        if timing is None or tile is None:
            raise _unsafe(track_path)
        url = _checked_link(link, Reference(resolved(track_path, tile["name"]), Role.media))
        written.append("\n".join([*lines[: timing + 1], url + tile["fragment"]]))
    return "\n\n".join(written) + "\n"
