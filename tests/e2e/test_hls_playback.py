"""An adaptive_video output plays from its `url`: the API serves the playlists rewritten (signed
playback URLs for playlists, presigned links for segments), a player's every request answered 200;
without its signature, tampered with or expired, a playback URL is refused with 403."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from mediatasks.adapters.ffmpeg import binaries
from mediatasks.domain.playback import PlaybackGrant, playback_url, sign_playback
from tests.local_product import Api, emulator
from tests.support.media import MakeClip
from tests.support.servers import FileServer

SECONDS, FPS = 2, 25


@dataclass
class Player:
    """Fetches what an HLS player fetches at the start of playback: the master playlist, every
    rendition's playlist and every segment; counts the requests and bytes, keeps every playlist."""

    requests: int = 0
    bytes: int = 0
    playlists: dict[str, str] = field(default_factory=dict)

    def get(self, url: str) -> bytes:
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200, url
            body: bytes = response.read()
        self.requests += 1
        self.bytes += len(body)
        return body

    def playlist(self, url: str) -> list[str]:
        text = self.get(url).decode()
        self.playlists[url] = text
        return [line for line in text.splitlines() if line and not line.startswith("#")]


@pytest.fixture(scope="module")
def hls_task(api: Api, make_clip: MakeClip, file_server: FileServer) -> dict[str, Any]:
    make_clip("playback.mp4", size="480x360", seconds=SECONDS)
    task = api.run(
        {
            "kind": "adaptive_video",
            "input": file_server.url_of("playback.mp4"),
            "options": {"quality": "very_low"},
        }
    )
    assert task["status"] == "succeeded", task["error"]
    return task


def refusal(url: str) -> tuple[int, dict[str, Any]]:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=30)
    return refused.value.code, json.loads(refused.value.read())


def test_the_output_url_plays_every_rendition(api: Api, hls_task: dict[str, Any]) -> None:
    output = hls_task["output"]
    master = urlsplit(output["url"])
    assert f"{master.scheme}://{master.netloc}{master.path}" == (
        f"{api.url}/playback/{hls_task['id']}/{output['filename']}"
    )
    assert sorted(parse_qs(master.query)) == ["expiry", "project", "signature"]
    assert [r["height"] for r in output["renditions"]] == [360, 240]
    player = Player()
    renditions = player.playlist(output["url"])
    assert len(renditions) == 2
    assert all(url.startswith(f"{api.url}/playback/{hls_task['id']}/v") for url in renditions)
    segments = [segment for rendition in renditions for segment in player.playlist(rendition)]
    assert len(segments) >= 2
    assert all("Signature=" in segment for segment in segments)
    for segment in segments:
        player.get(segment)
    # every line of every playlist served that names the bucket's files carries a signature
    for text in player.playlists.values():
        named = [line for line in text.splitlines() if "files/" in line or "mediatasks-media" in line]
        assert all("Signature=" in line for line in named), text
    # the rendition URLs the File object lists are playback URLs too
    with urllib.request.urlopen(output["renditions"][1]["url"], timeout=30) as response:
        assert response.headers["Content-Type"] == "application/vnd.apple.mpegurl"
        assert "#EXT-X-ENDLIST" in response.read().decode()


def test_ffmpeg_decodes_both_renditions_over_http(hls_task: dict[str, Any]) -> None:
    """ffprobe reads the output's url as a player does and decodes every frame of each rendition."""
    probe = subprocess.run(
        [binaries().ffprobe, "-v", "error", "-count_frames", "-select_streams", "v",
         "-show_entries", "stream=height,nb_read_frames", "-of", "json", hls_task["output"]["url"]],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    assert probe.stderr == ""
    streams = json.loads(probe.stdout)["streams"]
    assert sorted((s["height"], int(s["nb_read_frames"])) for s in streams) == [
        (240, SECONDS * FPS),
        (360, SECONDS * FPS),
    ]


def test_a_playback_url_without_its_signature_or_tampered_with_is_refused(
    api: Api, hls_task: dict[str, Any]
) -> None:
    url = hls_task["output"]["url"]
    base, query = url.split("?", 1)
    params = {name: values[0] for name, values in parse_qs(query).items()}
    without = {name: value for name, value in params.items() if name != "signature"}
    assert refusal(f"{base}?{urlencode(without)}") == (
        403,
        {"kind": "signature_invalid", "message": "the URL's signature is not valid"},
    )
    assert refusal(base)[0] == 403
    rendition_path = base.rsplit("/", 1)[0] + "/v0/index.m3u8"
    assert refusal(f"{rendition_path}?{query}")[1]["kind"] == "signature_invalid"
    later = params | {"expiry": str(int(params["expiry"]) + 3600)}
    assert refusal(f"{base}?{urlencode(later)}")[1]["kind"] == "signature_invalid"
    other_project = params | {"project": "prj_other"}
    assert refusal(f"{base}?{urlencode(other_project)}")[1]["kind"] == "signature_invalid"


def test_an_expired_playback_url_is_refused(api: Api, hls_task: dict[str, Any]) -> None:
    """Signed with the stack's own key (read from its secret store), but an expiry in the past."""
    secrets = emulator(api, "secretsmanager")
    (entry,) = secrets.list_secrets()["SecretList"]
    secret = secrets.get_secret_value(SecretId=entry["ARN"])["SecretString"].encode()
    params = parse_qs(urlsplit(hls_task["output"]["url"]).query)
    grant = PlaybackGrant(
        project=params["project"][0],
        task_id=hls_task["id"],
        path=hls_task["output"]["filename"],
        expiry=int(time.time()) - 1,
    )
    expired = playback_url(api.url, grant, sign_playback(secret, grant))
    assert refusal(expired) == (
        403,
        {"kind": "signature_expired", "message": "the URL's signature has expired"},
    )
    fresh = grant.model_copy(update={"expiry": int(time.time()) + 60})
    with urllib.request.urlopen(
        playback_url(api.url, fresh, sign_playback(secret, fresh)), timeout=30
    ) as reply:
        assert reply.status == 200  # the same key and grant, unexpired: the refusal was the expiry's


def test_a_web_page_may_play_it_across_origins(hls_task: dict[str, Any]) -> None:
    """hls.js fetches playlists and segments with XHR from the page's origin: both answer CORS."""
    page = {"Origin": "http://console.test"}
    request = urllib.request.Request(hls_task["output"]["url"], headers=page)
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        rendition = next(line for line in response.read().decode().splitlines() if line.startswith("http"))
    with urllib.request.urlopen(urllib.request.Request(rendition, headers=page), timeout=30) as response:
        segment = next(line for line in response.read().decode().splitlines() if line.startswith("http"))
    with urllib.request.urlopen(urllib.request.Request(segment, headers=page), timeout=30) as response:
        assert response.headers["Access-Control-Allow-Origin"] in ("*", "http://console.test")
