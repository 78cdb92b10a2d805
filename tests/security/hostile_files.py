"""Media files for the hostile corpus: containers whose headers lie or that embed files ffmpeg's
demuxers would open on their own (built byte by byte, since no tool writes them), and files ffmpeg
itself makes whose timing or picture sizes are built to slip past a probe."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

from mediatasks.adapters.ffmpeg import binaries

TEN_HOURS = 36_000
# over the default cap of 7680x4320 pixels, and a gigabyte-class frame once decoded to RGB
HUGE_SIDE = 10_000


def _chunk(tag: bytes, data: bytes) -> bytes:
    return tag + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def _list(kind: bytes, body: bytes) -> bytes:
    return _chunk(b"LIST", kind + body)


def _stream_header(kind: bytes, handler: bytes) -> bytes:
    # fccType, fccHandler, flags, priority+language, initial frames, scale, rate (25/s), start,
    # length, buffer size, quality, sample size, frame rectangle
    return kind + handler + struct.pack("<IHHIIIIIIII", 0, 0, 0, 0, 1, 25, 0, 1, 0, 0, 0) + bytes(8)


def avi_with_gab2_subtitle(jpeg_frame: bytes, width: int, height: int, embedded_file: bytes) -> bytes:
    """A playable one-frame MJPEG AVI whose second stream is a GAB2 subtitle: a whole file (here an
    HLS playlist) that the AVI demuxer probes and opens with the matching demuxer."""
    main_header = struct.pack("<14I", 40000, 0, 0, 0, 1, 0, 2, 0, width, height, 0, 0, 0, 0)
    bitmap_info = struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 24, b"MJPG", len(jpeg_frame), 0, 0, 0, 0)
    video = _list(b"strl", _chunk(b"strh", _stream_header(b"vids", b"MJPG")) + _chunk(b"strf", bitmap_info))
    subtitle = _list(b"strl", _chunk(b"strh", _stream_header(b"txts", bytes(4))) + _chunk(b"strf", b""))
    name = "subtitles".encode("utf-16-le")
    gab2 = (
        b"GAB2\0"
        + struct.pack("<HI", 2, len(name))
        + name
        + struct.pack("<HI", 4, len(embedded_file))
        + embedded_file
    )
    header = _list(b"hdrl", _chunk(b"avih", main_header) + video + subtitle)
    movie = _list(b"movi", _chunk(b"00dc", jpeg_frame) + _chunk(b"01tx", gab2))
    return _chunk(b"RIFF", b"AVI " + header + movie)


def gif_claiming(width: int, height: int) -> bytes:
    """A GIF whose screen is width x height (up to 65535 each) holding a single 1x1 picture."""
    palette = b"\0\0\0\xff\xff\xff"
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0) + palette
    picture = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x4c\x01\x00"
    return b"GIF89a" + screen + picture + b"\x3b"


def _ffmpeg(*args: str) -> bytes:
    """What ffmpeg writes to stdout (a pipe: it cannot seek back to fill in a duration)."""
    argv = [binaries().ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args, "-"]
    return subprocess.run(argv, check=True, capture_output=True).stdout


# Two frames of a test pattern ten hours apart, as H.264.
_TWO_FRAMES_TEN_HOURS_APART = (
    "-f", "lavfi", "-i", "testsrc2=size=160x120", "-frames:v", "2", "-vf", f"setpts=N*{TEN_HOURS}/TB",
    "-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "ultrafast",
)  # fmt: skip


def ten_hours_in_a_few_kb(container: str) -> bytes:
    """Two frames ten hours apart, muxed to a pipe: matroska then has no duration, flv says 0, and
    MPEG-TS's is an estimate from whichever timestamps a probe read."""
    return _ffmpeg(*_TWO_FRAMES_TEN_HOURS_APART, "-f", container)


def ten_hours_claiming_one_second(container: str, folder: Path) -> bytes:
    """Two frames ten hours apart, muxed to a file (so its header holds the real duration), then
    that header patched to say 1 s: matroska's Segment Duration (milliseconds) or flv's
    onMetaData `duration` (seconds), both 8-byte big-endian floats."""
    path = folder / f"ten-hours.{container}"
    argv = [binaries().ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            *_TWO_FRAMES_TEN_HOURS_APART, "-f", container, str(path)]  # fmt: skip
    subprocess.run(argv, check=True, capture_output=True)
    data = bytearray(path.read_bytes())
    marker, one_second = (b"\x44\x89\x88", 1000.0) if container == "matroska" else (b"duration\x00", 1.0)
    at = data.index(marker) + len(marker)
    data[at : at + 8] = struct.pack(">d", one_second)
    return bytes(data)


def huge_jpeg() -> bytes:
    """One HUGE_SIDE x HUGE_SIDE JPEG picture (a few hundred KB of flat colour)."""
    return _ffmpeg(
        "-f", "lavfi", "-i", f"color=c=red:size={HUGE_SIDE}x{HUGE_SIDE}", "-frames:v", "1", "-c:v", "mjpeg",
        "-q:v", "31", "-f", "mjpeg",
    )  # fmt: skip


def growing_mkv(folder: Path) -> bytes:
    """An MJPEG mkv whose first 50 frames are 64x64 and whose last two (at 2.0 s and 2.04 s) are
    HUGE_SIDE x HUGE_SIDE: a probe sees the first frames only."""
    small, large, listing = folder / "small.mkv", folder / "large.mkv", folder / "parts.txt"
    parts = [
        (small, "testsrc2=size=64x64:rate=25", "50"),
        (large, f"color=c=red:size={HUGE_SIDE}x{HUGE_SIDE}:rate=25", "2"),
    ]
    for path, source, frames in parts:
        path.write_bytes(
            _ffmpeg(
                "-f",
                "lavfi",
                "-i",
                source,
                "-frames:v",
                frames,
                "-c:v",
                "mjpeg",
                "-q:v",
                "31",
                "-f",
                "matroska",
            )
        )
    listing.write_text(f"file '{small}'\nfile '{large}'\n")
    return _ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", "-f", "matroska")


def hls(*entries: str) -> bytes:
    """An HLS playlist naming `entries`: what ffmpeg would follow if a demuxer let it."""
    body = "".join(f"#EXTINF:1.0,\n{entry}\n" for entry in entries)
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PLAYLIST-TYPE:VOD\n{body}#EXT-X-ENDLIST\n".encode()
