"""What playing an HLS output from its `url` costs: requests and bytes per playback start, and the
API's time per playlist request.

On the local stack (started here), makes one adaptive_video task from a generated clip (default
10 s at 1280x720: four renditions), then fetches as a player does. Prints:
- the playback start (master playlist, the first rendition's playlist, its first segment) and the
  whole stream: requests and bytes, against the same files read straight from storage (the
  baseline: what the playlists weigh before rewriting);
- the median time of a playlist request through the API (signature checked, task read, playlist
  read and rewritten) against GET /tasks/{id} through the same API in the same run (the baseline:
  an authenticated request that reads the same task).

    .venv/bin/python -m benchmarks.playback [--seconds 10] [--repeat 30]   (from the repository root)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from tests.local_product import Api, emulator, serving
from tests.support.media import make_media
from tests.support.servers import serve_directory


def fetch_once(url: str, headers: dict[str, str] | None = None) -> bytes:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=60) as reply:
        body: bytes = reply.read()
        return body


def throttled_for(error: urllib.error.HTTPError) -> float:
    """How long a 429 asks to wait (its Retry-After); any other refusal is the benchmark's failure."""
    if error.code != 429:
        raise error
    return float(error.headers.get("Retry-After") or 1)


def fetch(url: str, headers: dict[str, str] | None = None) -> bytes:
    """As a player fetches: a 429 (the key's or the stage's throttle) is retried after Retry-After."""
    while True:
        try:
            return fetch_once(url, headers)
        except urllib.error.HTTPError as error:
            time.sleep(throttled_for(error))


def uris(playlist: bytes) -> list[str]:
    return [line for line in playlist.decode().splitlines() if line and not line.startswith("#")]


def median_ms(url: str, repeat: int, headers: dict[str, str] | None = None) -> float:
    """The median time of `repeat` answered requests for `url`; a throttled one is retried after
    its Retry-After and not timed (the wait is the throttle's, not the request's)."""
    times: list[float] = []
    while len(times) < repeat:
        started = time.perf_counter()
        try:
            fetch_once(url, headers)
        except urllib.error.HTTPError as error:
            time.sleep(throttled_for(error))
            continue
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def stored_bytes(api: Api, key: str) -> int:
    return int(emulator(api, "s3").head_object(Bucket="mediatasks-media", Key=key)["ContentLength"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "media").mkdir()
        make_media(root / "media" / "clip.mp4", size="1280x720", seconds=args.seconds)
        with serve_directory(root / "media") as files, serving(root, []) as api:
            task = api.run({"kind": "adaptive_video", "input": files.url_of("clip.mp4")})
            assert task["status"] == "succeeded", task["error"]
            output = task["output"]
            master = fetch(output["url"])
            renditions = uris(master)
            playlists = [fetch(url) for url in renditions]
            segments = [uris(playlist) for playlist in playlists]
            first_segment = fetch(segments[0][0])
            every_segment = sum(len(fetch(url)) for listed in segments for url in listed)

            folder = urlsplit(segments[0][0]).path.split("/mediatasks-media/", 1)[1].rsplit("/", 2)[0]
            stored_master = stored_bytes(api, f"{folder}/{output['filename']}")
            stored_playlists = [stored_bytes(api, f"{folder}/{r['playlist']}") for r in output["renditions"]]
            start = len(master) + len(playlists[0]) + len(first_segment)
            stored_start = stored_master + stored_playlists[0] + len(first_segment)
            whole = len(master) + sum(map(len, playlists)) + every_segment
            stored_whole = stored_master + sum(stored_playlists) + every_segment
            print(f"renditions: {len(renditions)}, segments: {sum(map(len, segments))}")
            print(f"playback start: 3 requests, {start} bytes (stored files: {stored_start} bytes)")
            print(
                f"whole stream: {1 + len(playlists) + sum(map(len, segments))} requests, {whole} bytes "
                f"(stored files: {stored_whole} bytes)"
            )
            print(
                f"master playlist: {len(master)} bytes served, {stored_master} stored; rendition "
                f"playlist: {len(playlists[0])} bytes served, {stored_playlists[0]} stored"
            )
            authorized = {"Authorization": f"Bearer {api.key}"}
            task_ms = median_ms(f"{api.url}/tasks/{task['id']}", args.repeat, authorized)
            master_ms = median_ms(output["url"], args.repeat)
            rendition_ms = median_ms(renditions[0], args.repeat)
            print(f"GET /tasks/{{id}} (baseline): {task_ms:.1f} ms median of {args.repeat}")
            print(f"master playlist request: {master_ms:.1f} ms median of {args.repeat}")
            print(f"rendition playlist request: {rendition_ms:.1f} ms median of {args.repeat}")


if __name__ == "__main__":
    main()
