"""Issue 20, finding 4 through the running product: in an allowed output bucket each project writes
under its own prefix only, and no task overwrites (or, failing, deletes) an object it did not write.
`mediatasks serve --output-bucket customer-destination` means s3://customer-destination/<project>/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.local_product import DESTINATION_BUCKET, Api, emulator, new_key
from tests.support.media import MakeClip
from tests.support.servers import FileServer

PRECIOUS = b"an object that was here before any task"


@pytest.fixture(scope="module")
def team_b(api: Api) -> Api:
    return api.as_project(new_key(api, "team-b"))


@pytest.fixture(scope="module")
def clip(make_clip: MakeClip, file_server: FileServer) -> str:
    make_clip("scoping.mp4", size="160x120", seconds=1)
    return file_server.url_of("scoping.mp4")


def _keys(api: Api, prefix: str) -> list[str]:
    listed = emulator(api, "s3").list_objects_v2(Bucket=DESTINATION_BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listed.get("Contents", []))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "video", "output": f"s3://{DESTINATION_BUCKET}/dev/from-b.mp4"}, "output"),
        ({"kind": "video", "output": f"s3://{DESTINATION_BUCKET}/from-b.mp4"}, "output"),
        ({"kind": "video", "output": f"s3://{DESTINATION_BUCKET}/team-bb/x.mp4"}, "output"),
        ({"kind": "video", "output": f"s3://{DESTINATION_BUCKET}/team-b/"}, "output"),
        ({"kind": "video", "output": "s3://another-bucket/team-b/x.mp4"}, "output"),
    ],
)
def test_a_project_writes_nowhere_but_its_own_prefix(
    team_b: Api, clip: str, body: dict[str, Any], field: str
) -> None:
    status, error = team_b.request("POST", "/tasks", {**body, "input": clip})
    assert (status, error["kind"], error["field"]) == (400, "invalid_option", field)
    assert "s3://customer-destination/team-b/" in error["message"]  # where it may write instead


def test_an_export_into_another_projects_prefix_is_refused(api: Api, team_b: Api, clip: str) -> None:
    made = team_b.run({"kind": "audio", "input": clip, "options": {"format": "mp3"}})
    assert made["status"] == "succeeded", made["error"]
    body = {
        "kind": "export",
        "input": made["output"],
        "options": {"url": f"s3://{DESTINATION_BUCKET}/dev/a.mp3"},
    }
    status, error = team_b.request("POST", "/tasks", body)
    assert (status, error["kind"], error["field"]) == (400, "invalid_option", "options.url")


def test_each_project_writes_in_its_own_prefix(api: Api, team_b: Api, clip: str) -> None:
    for project, caller in (("dev", api), ("team-b", team_b)):
        task = caller.run(
            {"kind": "video", "input": clip, "output": f"s3://{DESTINATION_BUCKET}/{project}/same.mp4"}
        )
        assert task["status"] == "succeeded", task["error"]
    assert _keys(api, "dev/same") == ["dev/same.mp4"]
    assert _keys(api, "team-b/same") == ["team-b/same.mp4"]


def test_an_existing_object_is_never_overwritten(api: Api, clip: str) -> None:
    key = "dev/kept/precious.mp4"
    emulator(api, "s3").put_object(Bucket=DESTINATION_BUCKET, Key=key, Body=PRECIOUS)
    task = api.run({"kind": "video", "input": clip, "output": f"s3://{DESTINATION_BUCKET}/{key}"})
    assert (task["status"], task["output"]) == ("failed", None)
    assert task["error"]["kind"] == "output_unwritable", task["error"]
    assert "already exists" in task["error"]["message"]
    body = emulator(api, "s3").get_object(Bucket=DESTINATION_BUCKET, Key=key)["Body"].read()
    assert body == PRECIOUS  # neither overwritten nor deleted by the failing task


def test_a_failing_playlist_withdraws_only_what_it_wrote(api: Api, clip: str) -> None:
    """The master is copied, then a segment name is taken: the task fails, removes its master and
    every other copy it made, and leaves the object that was there."""
    taken = "dev/show/v0/segment_00000.ts"
    emulator(api, "s3").put_object(Bucket=DESTINATION_BUCKET, Key=taken, Body=PRECIOUS)
    task = api.run(
        {
            "kind": "adaptive_video",
            "input": clip,
            "options": {"quality": "very_low"},
            "output": f"s3://{DESTINATION_BUCKET}/dev/show/master.m3u8",
        }
    )
    assert task["status"] == "failed"
    assert task["error"]["kind"] == "output_unwritable", task["error"]
    assert _keys(api, "dev/show/") == [taken]
    assert emulator(api, "s3").get_object(Bucket=DESTINATION_BUCKET, Key=taken)["Body"].read() == PRECIOUS
