"""How much of a large input a probe reads, with the MP4 index (moov) at the front and at the end.

A short 640x360 clip is encoded once and repeated by stream copy to about `--megabytes` (default
500 MB), once with `+faststart` (moov at the front) and once as ffmpeg writes it (moov at the end);
a server on 127.0.0.1 started here serves both with byte ranges and counts what it sends. Each is
probed as the product probes it (ranged reads under the fetch policy through the loopback link) and,
as a baseline in the same run, by ffprobe reading the server's URL itself (as it read a presigned
link before: it asks for `bytes=N-` and the server pushes until ffprobe hangs up). Before the
ranged probe, a probe task downloaded the whole input at ingest. Target: <= 2 MB either way.

    .venv/bin/python -m benchmarks.probe_reads [--megabytes 500]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from mediatasks.adapters import ffmpeg
from mediatasks.adapters.fetch import FetchPolicy
from mediatasks.adapters.ranges import CountingReader, UrlRanges
from mediatasks.domain.ffmpeg_args import INPUT_GUARDS
from mediatasks.domain.media import InputLimits
from mediatasks.service.pipeline import probe_input
from tests.support.media import loop_to_size, make_media
from tests.support.servers import RangedFileServer, serve_ranges

TARGET_BYTES = 2 * 1024**2
MB = 1024**2


def ranged_probe(server: RangedFileServer, path: Path) -> tuple[int, int, float, float | None]:
    """The product's probe: (bytes sent, requests, seconds, duration found)."""
    sent, requests = server.sent, server.requests
    reader = CountingReader(
        UrlRanges(server.url_of(path.name), path.stat().st_size, FetchPolicy(allow_loopback=True))
    )
    started = time.perf_counter()
    media = probe_input(reader, InputLimits(), deadline=120)
    return server.sent - sent, server.requests - requests, time.perf_counter() - started, media.duration


def direct_probe(server: RangedFileServer, path: Path) -> tuple[int, int, float]:
    """The baseline: ffprobe opening the server's URL itself."""
    sent, requests = server.sent, server.requests
    argv = [ffmpeg.binaries().ffprobe, "-v", "error", "-protocol_whitelist", "http,tcp", *INPUT_GUARDS]
    started = time.perf_counter()
    subprocess.run(
        [*argv, "-show_format", "-of", "json", server.url_of(path.name)], check=True, capture_output=True
    )
    return server.sent - sent, server.requests - requests, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--megabytes", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mediatasks-probe-reads-") as name:
        folder = Path(name)
        clip = make_media(folder / "unit.mp4", size="640x360", seconds=2, output_args=["-qp", "4"])
        rows = []
        with serve_ranges(folder) as server:
            for front in (True, False):
                where = "moov at front" if front else "moov at end"
                print(f"making a {args.megabytes} MB file with the {where} ...", flush=True)
                large = loop_to_size(
                    clip, folder / f"large-{front}.mp4", args.megabytes * MB, index_at_front=front
                )
                ranged = ranged_probe(server, large)
                direct = direct_probe(server, large)
                rows.append((where, large.stat().st_size, ranged, direct))
                large.unlink()
    print(f"\nprobe of a generated MP4 (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"  {'':14s}{'size MB':>9s}{'ranged MB':>11s}{'requests':>10s}{'s':>7s}{'ffprobe direct MB':>19s}"
          f"{'s':>7s}  target <= {TARGET_BYTES / MB:g} MB")  # fmt: skip
    for where, size, (sent, requests, seconds, duration), (direct_sent, _, direct_seconds) in rows:
        verdict = "ok" if sent <= TARGET_BYTES else "OVER"
        print(f"  {where:14s}{size / MB:9.1f}{sent / MB:11.2f}{requests:10d}{seconds:7.2f}"
              f"{direct_sent / MB:19.2f}{direct_seconds:7.2f}  {verdict} ({duration:.0f} s)")  # fmt: skip
    print("  (before: a probe task's ingest downloaded the whole input, then ffprobe read the stored copy)")


if __name__ == "__main__":
    main()
