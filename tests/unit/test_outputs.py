"""Where a project may write outside managed storage (allowedOutputBuckets)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mediatasks.config import Settings
from mediatasks.domain.outputs import OutputAreas

AREAS = OutputAreas.parse(["shared-out", {"bucket": "deliveries", "prefix": "renders/{project}/final/"}])


@pytest.mark.parametrize(
    ("bucket", "key", "project", "allowed"),
    [
        ("shared-out", "team-a/clip.mp4", "team-a", True),
        ("shared-out", "team-a/deep/er/clip.mp4", "team-a", True),
        # a plain bucket name is each project's own folder: never another's, never the root
        ("shared-out", "team-a/clip.mp4", "team-b", False),
        ("shared-out", "clip.mp4", "team-a", False),
        ("shared-out", "team-a", "team-a", False),
        ("shared-out", "team-a/", "team-a", False),
        ("shared-out", "team-ab/clip.mp4", "team-a", False),
        ("deliveries", "renders/team-a/final/x.webm", "team-a", True),
        ("deliveries", "renders/team-a/x.webm", "team-a", False),
        ("deliveries", "team-a/x.webm", "team-a", False),
        ("elsewhere", "team-a/x.webm", "team-a", False),
        # a project id holding '/' could name another project's folder: it gets none
        ("shared-out", "team-a/b/x.mp4", "team-a/b", False),
    ],
)
def test_each_project_writes_under_its_own_prefix_only(
    bucket: str, key: str, project: str, allowed: bool
) -> None:
    assert AREAS.allows(bucket, key, project) is allowed


def test_the_environment_form_round_trips_and_plain_names_still_parse() -> None:
    assert OutputAreas.parse(AREAS.to_json()) == AREAS
    assert OutputAreas.parse("a-bucket, b-bucket").where("p") == "s3://a-bucket/p/, s3://b-bucket/p/"
    assert (
        Settings.model_validate({"allowed_output_buckets": AREAS.to_json()}).allowed_output_buckets == AREAS
    )


@pytest.mark.parametrize(
    "entry",
    [
        {"bucket": "b-bucket", "prefix": "{project}/{project}/"},
        {"bucket": "b-bucket", "prefix": "{team}/"},
        {"bucket": "b-bucket", "prefix": "/{project}/"},
        {"bucket": "Bad_Bucket"},
        {"bucket": "b-bucket", "extra": 1},
    ],
)
def test_a_malformed_entry_is_refused(entry: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        OutputAreas.parse([entry])
