"""Playback URLs: what their signature covers, how long the links they hand out live, and the
playlist rewriting that never lets a name out of the task's folder."""

from __future__ import annotations

import pytest

from mediatasks.domain.errors import ErrorKind, RequestRejected
from mediatasks.domain.playback import (
    SESSION_MAX_SECONDS,
    SESSION_MIN_SECONDS,
    PlaybackGrant,
    Reference,
    rewrite_playlist,
    rewrite_thumbnails_track,
    session_seconds,
    sign_playback,
    verify_playback,
)
from mediatasks.domain.signatures import Signed, sign

SECRET = b"k" * 32
NOW = 1_750_000_000
GRANT = PlaybackGrant(project="prj_a", task_id="task_1", path="master.m3u8", expiry=NOW + 60)

MASTER = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-STREAM-INF:BANDWIDTH=1140800,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"
v0/index.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=690800,RESOLUTION=426x240,CODECS="avc1.640015,mp4a.40.2"
v1/index.m3u8
"""

MEDIA = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI="init.mp4"
#EXTINF:4.000000,
segment_00000.ts
#EXTINF:1.000000,
segment_00001.ts
#EXT-X-ENDLIST
"""


def fake_link(reference: Reference) -> str:
    return f"https://signed.test/{reference.role}/{reference.path}?sig=1"


def refusal(text: str, playlist_path: str = "master.m3u8") -> RequestRejected:
    with pytest.raises(RequestRejected) as refused:
        rewrite_playlist(text, playlist_path, fake_link)
    return refused.value


def test_a_signature_covers_every_field_of_its_grant() -> None:
    signature = sign_playback(SECRET, GRANT)
    verify_playback(SECRET, GRANT, signature, NOW)
    for changed in (
        {"project": "prj_b"},
        {"task_id": "task_2"},
        {"path": "v0/index.m3u8"},
        {"expiry": NOW + 61},
    ):
        with pytest.raises(RequestRejected) as refused:
            verify_playback(SECRET, GRANT.model_copy(update=changed), signature, NOW)
        assert refused.value.kind == ErrorKind.signature_invalid
    with pytest.raises(RequestRejected) as refused:
        verify_playback(b"other" * 8, GRANT, signature, NOW)
    assert refused.value.kind == ErrorKind.signature_invalid


def test_a_signature_ends_at_its_expiry() -> None:
    signature = sign_playback(SECRET, GRANT)
    verify_playback(SECRET, GRANT, signature, GRANT.expiry)
    with pytest.raises(RequestRejected) as refused:
        verify_playback(SECRET, GRANT, signature, GRANT.expiry + 1)
    assert refused.value.kind == ErrorKind.signature_expired


def test_a_signed_url_signature_is_no_playback_signature() -> None:
    """The two kinds of URL sign under keys of their own: one is never accepted as the other."""
    signed = Signed(project="prj_a", filename="master.m3u8", method="get", expiry=GRANT.expiry)
    with pytest.raises(RequestRejected) as refused:
        verify_playback(SECRET, GRANT, sign(SECRET, signed), NOW)
    assert refused.value.kind == ErrorKind.signature_invalid


def test_a_session_outlives_watching_the_stream_within_bounds() -> None:
    assert session_seconds(None) == SESSION_MIN_SECONDS
    assert session_seconds(5.2) == SESSION_MIN_SECONDS + 6
    assert session_seconds(3600) == 3600 + SESSION_MIN_SECONDS
    assert session_seconds(48 * 3600) == SESSION_MAX_SECONDS


def test_a_master_playlist_names_its_renditions_by_signed_playlist_links() -> None:
    rewritten = rewrite_playlist(MASTER, "master.m3u8", fake_link)
    assert rewritten.splitlines() == [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        '#EXT-X-STREAM-INF:BANDWIDTH=1140800,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"',
        "https://signed.test/playlist/v0/index.m3u8?sig=1",
        "",
        '#EXT-X-STREAM-INF:BANDWIDTH=690800,RESOLUTION=426x240,CODECS="avc1.640015,mp4a.40.2"',
        "https://signed.test/playlist/v1/index.m3u8?sig=1",
    ]


def test_a_media_playlist_names_its_segments_and_init_segment_by_media_links() -> None:
    rewritten = rewrite_playlist(MEDIA, "v0/index.m3u8", fake_link).splitlines()
    assert '#EXT-X-MAP:URI="https://signed.test/media/v0/init.mp4?sig=1"' in rewritten
    assert "https://signed.test/media/v0/segment_00000.ts?sig=1" in rewritten
    assert "https://signed.test/media/v0/segment_00001.ts?sig=1" in rewritten
    assert [line for line in rewritten if "segment_" in line and "signed.test" not in line] == []
    assert rewritten[-1] == "#EXT-X-ENDLIST"


def test_alternate_renditions_and_iframe_playlists_are_playlists_and_keys_media() -> None:
    text = "\n".join(
        [
            "#EXTM3U",
            '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",URI="subs/en.m3u8"',
            '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Main",DEFAULT=YES',
            '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=80000,URI="v0/iframes.m3u8"',
            '#EXT-X-KEY:METHOD=AES-128,URI="keys/k0.bin",IV=0x1',
            '#EXT-X-STREAM-INF:BANDWIDTH=1,SUBTITLES="subs"',
            "v0/index.m3u8",
        ]
    )
    rewritten = rewrite_playlist(text, "master.m3u8", fake_link).splitlines()
    assert rewritten[1].endswith('URI="https://signed.test/playlist/subs/en.m3u8?sig=1"')
    assert rewritten[2] == '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Main",DEFAULT=YES'
    assert (
        rewritten[3]
        == '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=80000,URI="https://signed.test/playlist/v0/iframes.m3u8?sig=1"'
    )
    assert (
        rewritten[4] == '#EXT-X-KEY:METHOD=AES-128,URI="https://signed.test/media/keys/k0.bin?sig=1",IV=0x1'
    )
    assert rewritten[6] == "https://signed.test/playlist/v0/index.m3u8?sig=1"


def test_comments_are_dropped_and_crlf_playlists_read() -> None:
    text = "#EXTM3U\r\n# written by s3://bucket/files/prj/x\r\n#EXTINF:4,\r\nsegment_00000.ts\r\n"
    assert rewrite_playlist(text, "v0/index.m3u8", fake_link).splitlines() == [
        "#EXTM3U",
        "#EXTINF:4,",
        "https://signed.test/media/v0/segment_00000.ts?sig=1",
    ]


@pytest.mark.parametrize(
    "uri",
    [
        "../other_task/master.m3u8",
        "v0/../../escape.ts",
        "./segment.ts",
        "/files/prj_a/x/segment.ts",
        "https://attacker.test/segment.ts",
        "//attacker.test/segment.ts",
        "s3://bucket/key.ts",
        "data:video/mp2t;base64,AAAA",
        "segment.ts?X-Amz-Signature=1",
        "segment.ts#t=1",
        "%2e%2e/escape.ts",
        "..\\escape.ts",
        "v0//segment.ts",
        "seg ment.ts",
        "x" * 600,
    ],
)
def test_a_name_that_leaves_the_folder_is_refused(uri: str) -> None:
    as_line = refusal(f"#EXTM3U\n#EXTINF:4,\n{uri}\n", "v0/index.m3u8")
    assert as_line.kind == ErrorKind.internal_error
    assert refusal(f'#EXTM3U\n#EXT-X-MAP:URI="{uri}"\n', "v0/index.m3u8").kind == ErrorKind.internal_error


@pytest.mark.parametrize(
    "tag",
    [
        "#EXT-X-MAP:URI=init.mp4",  # unquoted: a lenient player would still read it
        '#EXT-X-MAP:URI="init.mp4",URI="https://attacker.test/x"',
        '#EXT-X-UNKNOWN:URI="thing.bin"',
        '#EXT-X-MAP:BYTERANGE="1@0",XURI="https://attacker.test/x"',
    ],
)
def test_a_uri_attribute_not_understood_is_refused(tag: str) -> None:
    assert refusal(f"#EXTM3U\n{tag}\n").kind == ErrorKind.internal_error


def test_a_file_that_is_not_a_playlist_is_refused() -> None:
    assert refusal("segment_00000.ts\n").kind == ErrorKind.internal_error


def test_a_link_that_would_break_the_playlist_is_refused() -> None:
    with pytest.raises(ValueError, match="link"):
        rewrite_playlist(MEDIA, "v0/index.m3u8", lambda reference: 'https://x.test/"\n#EXT-X-ENDLIST')


THUMBNAILS = """WEBVTT

1
00:00:00.000 --> 00:00:01.000
sprite_000.jpg#xywh=0,0,96,54

2
00:00:01.000 --> 00:00:02.000
sprite_000.jpg#xywh=96,0,96,54
"""


def test_a_thumbnails_track_names_its_sprites_by_media_links_keeping_the_tile() -> None:
    rewritten = rewrite_thumbnails_track(THUMBNAILS, "thumbnails.vtt", fake_link)
    assert rewritten == THUMBNAILS.replace(
        "sprite_000.jpg#", "https://signed.test/media/sprite_000.jpg?sig=1#"
    )


@pytest.mark.parametrize(
    "payload",
    ["../other/sprite.jpg#xywh=0,0,1,1", "https://elsewhere.test/a.jpg#xywh=0,0,1,1", "sprite.jpg", "a\nb"],
)
def test_a_thumbnails_cue_that_is_not_one_tile_inside_the_folder_is_refused(payload: str) -> None:
    track = f"WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.000\n{payload}\n"
    with pytest.raises(RequestRejected) as refused:
        rewrite_thumbnails_track(track, "thumbnails.vtt", fake_link)
    assert refused.value.kind == ErrorKind.internal_error


def test_a_file_that_is_not_a_webvtt_track_is_refused() -> None:
    with pytest.raises(RequestRejected) as refused:
        rewrite_thumbnails_track("#EXTM3U\n", "thumbnails.vtt", fake_link)
    assert "not a WebVTT track" in refused.value.message
