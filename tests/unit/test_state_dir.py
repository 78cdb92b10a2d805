"""The state dir's own rules, without an emulator: one serve at a time, the development credentials
kept, a half-written file never taken for a snapshot, binary table values through JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mediatasks.local.state_dir import (
    MANIFEST,
    StateDir,
    StateDirInUse,
    _binary_as_text,
    _binary_from_text,
)


def test_a_second_serve_on_the_same_dir_is_refused_until_the_first_lets_go(tmp_path: Path) -> None:
    first = StateDir(tmp_path / "state", snapshot_seconds=10)
    with pytest.raises(StateDirInUse, match="another mediatasks serve"):
        StateDir(tmp_path / "state", snapshot_seconds=10)
    first.stop()  # never started: no snapshot is taken, the lock is let go
    StateDir(tmp_path / "state", snapshot_seconds=10).stop()
    assert not (tmp_path / "state" / MANIFEST).exists()


def test_the_development_credentials_are_made_once_and_kept(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "state", snapshot_seconds=10)
    made = state.credentials(None, None)
    assert not made.kept
    again = state.credentials(None, None)
    assert again.kept
    assert (again.api_key, again.webhook_secret) == (made.api_key, made.webhook_secret)
    assert state.credentials_file.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o700
    # a key given later is used (and kept); the project's first signing secret stays what it was
    given = state.credentials("mtk_given-later", "whsec_given-later")
    assert (given.api_key, given.webhook_secret, given.kept) == (
        "mtk_given-later",
        made.webhook_secret,
        False,
    )
    assert json.loads(state.credentials_file.read_text())["api_key"] == "mtk_given-later"
    state.stop()


def test_what_a_killed_snapshot_left_half_written_is_removed(tmp_path: Path) -> None:
    (tmp_path / "state" / "objects").mkdir(parents=True)
    (tmp_path / "state" / MANIFEST).write_text('{"format": 1}')
    (tmp_path / "state" / f".{MANIFEST}.half").write_text('{"form')
    (tmp_path / "state" / "objects" / ".body.half").write_bytes(b"\0")
    StateDir(tmp_path / "state", snapshot_seconds=10).stop()
    assert sorted(path.name for path in (tmp_path / "state").rglob("*")) == sorted(
        [MANIFEST, "lock", "objects"]
    )
    assert (tmp_path / "state" / MANIFEST).read_text() == '{"format": 1}'


def test_binary_values_go_through_json_and_a_map_named_like_the_tag_stays_a_map() -> None:
    item = {
        "id": {"S": "whs_1"},
        "secrets": {"L": [{"M": {"ciphertext": {"B": b"\x00\xffsealed"}}}]},
        "set": {"BS": [b"\x01", b"\x02"]},
        "metadata": {"M": {"$base64": {"S": "a user's key"}}},
    }
    assert _binary_from_text(json.loads(json.dumps(_binary_as_text(item)))) == item
