"""Every alias in the kind registry (`import`, `summary`, ...) is resolved once, at the request:
the task is created under its kind's own name and reaches a terminal status like the kind's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediatasks.kinds.registry import KINDS, parse_request
from tests.e2e.test_speech_intelligence import SAID
from tests.e2e.test_track_kinds import scenes_clip
from tests.local_product import Api
from tests.support.servers import FileServer
from tests.support.speech import speak

pytestmark = pytest.mark.e2e

ALIASES = [(alias, kind.name) for kind in KINDS.values() for alias in kind.aliases]


def test_the_registry_has_aliases_and_the_request_names_their_kind() -> None:
    assert ALIASES
    for alias, name in ALIASES:
        assert parse_request({"kind": alias, "url": "https://example.com/a.mp4"}).kind == name


@pytest.fixture(scope="module")
def spoken_clip(media_dir: Path, file_server: FileServer) -> str:
    scenes_clip(media_dir / "alias.mp4", speak(SAID, media_dir / "alias.wav"))
    return file_server.url_of("alias.mp4")


@pytest.mark.parametrize(("alias", "name"), ALIASES)
def test_a_task_of_an_alias_is_its_kind_s_and_ends(api: Api, spoken_clip: str, alias: str, name: str) -> None:
    created = api.create({"kind": alias, "url": spoken_clip})
    assert created["kind"] == name
    task = api.wait(created["id"])
    assert (task["kind"], task["status"]) == (name, "succeeded"), task["error"]
    assert task["output"] is not None
