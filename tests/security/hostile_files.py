"""Hand-built media files for the hostile corpus: containers whose headers lie or that embed files
ffmpeg's demuxers would open on their own. Built byte by byte, since no tool writes them."""

from __future__ import annotations

import struct


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
