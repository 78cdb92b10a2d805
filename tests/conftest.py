"""Fixtures shared by every test layer: generated media, a loopback file server, the template, and
the running product (`api`, from tests/local_product.py). Tests that run the product are marked e2e."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.media import MakeClip, make_media
from tests.support.servers import FileServer, serve_directory

pytest_plugins = ["tests.local_product"]

E2E_DIRECTORY = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks e2e every test that runs the local product: all of tests/e2e, and any that uses `api`."""
    for item in items:
        if item.path.is_relative_to(E2E_DIRECTORY) or "api" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def make_clip(media_dir: Path) -> MakeClip:
    """Generates (once per set of arguments) a test file named `name` in the media folder; the
    keywords are make_media's (a 2 s 320x240 25 fps h264/aac MP4 by default). A name asked for
    with other keywords than before is one file a test asked for twice in two ways: refused,
    since the second would overwrite what the first test was given."""
    made: dict[str, dict[str, Any]] = {}

    @functools.cache
    def make(name: str = "clip.mp4", **options: Any) -> Path:
        if made.setdefault(name, options) != options:
            raise AssertionError(f"{name} was made with {made[name]}; name the file made with {options}")
        return make_media(media_dir / name, **options)

    return make


@pytest.fixture(scope="session")
def file_server(media_dir: Path) -> Iterator[FileServer]:
    """Serves the generated media on 127.0.0.1, as a user's storage would over HTTP."""
    with serve_directory(media_dir) as server:
        yield server


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """The CDK app synthesized offline, as `mediatasks serve` runs it (with its trigger rules)."""
    from mediatasks.local.stack import DEMO_TRIGGER_RULES, synthesize_for_local

    return synthesize_for_local(DEMO_TRIGGER_RULES)
