"""Trigger rules, S3 event decoding and which s3:// inputs a project may read: pure, no AWS."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_plus

import pytest
from pydantic import ValidationError

from mediatasks.domain.errors import ErrorKind, RequestRejected
from mediatasks.domain.requests import InputBuckets, parse_s3_url
from mediatasks.service.trigger_rules import SourceObject, TriggerRules
from mediatasks.service.triggers import TriggerService, created_objects

RULES = TriggerRules.from_list(
    [
        {"prefix": "incoming/video/", "project": "team-a", "kind": "video",
         "options": {"width": 640, "height": 360}},
        {"prefix": "incoming/audio/", "project": "team-b", "kind": "audio", "options": {"format": "mp3"}},
    ]
)  # fmt: skip
AWKWARD_KEYS = [
    "incoming/video/plain.mp4",
    "incoming/video/with space.mov",
    "incoming/video/unicodé 映像.mkv",
    "incoming/video/plus+sign and %25 percent?query#hash.mp4",
    "incoming/video/deep/er/folders/x.webm",
]


def s3_message(key: str, *, version: str | None = None, event: str = "ObjectCreated:Put") -> dict[str, Any]:
    """An S3 notification as S3 sends it: the key form-encoded (spaces as "+")."""
    detail: dict[str, Any] = {"key": quote_plus(key), "size": 10, "eTag": "etag-1", "sequencer": "00A1"}
    if version:
        detail["versionId"] = version
    return {
        "Records": [
            {"eventName": event, "s3": {"bucket": {"name": "uploads-bucket"}, "object": detail}},
        ]
    }


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_keys_arrive_decoded_and_survive_the_input_url(key: str) -> None:
    (source,) = created_objects(s3_message(key))
    assert source.key == key
    assert parse_s3_url(source.url) == ("uploads-bucket", key)
    rule = RULES.rule_for(source.key)
    assert rule is not None
    assert rule.project == "team-a"
    ingest = rule.file_for(source)
    assert ingest.url == f"s3://uploads-bucket/{key}"
    assert ingest.metadata["source"] == source.url


def test_the_version_id_wins_then_the_sequencer() -> None:
    (versioned,) = created_objects(s3_message("incoming/video/a.mp4", version="v7"))
    (unversioned,) = created_objects(s3_message("incoming/video/a.mp4"))
    assert (versioned.version, unversioned.version) == ("v7", "00A1")
    assert versioned.identity != unversioned.identity


def test_test_events_folders_and_deletions_make_nothing() -> None:
    assert list(created_objects({"Service": "Amazon S3", "Event": "s3:TestEvent"})) == []
    assert list(created_objects(s3_message("incoming/video/folder/"))) == []
    assert list(created_objects(s3_message("incoming/video/a.mp4", event="ObjectRemoved:Delete"))) == []


def test_a_rule_is_ops_one_step_workflow_with_a_stable_id() -> None:
    rule = RULES.rule_for("incoming/audio/show/ep 1.wav")
    assert rule is not None
    assert rule.workflow == [{"kind": "audio", "options": {"format": "mp3"}}]
    again = TriggerRules.from_list(json.loads(RULES.as_json())).rule_for("incoming/audio/x.wav")
    assert again is not None
    assert rule.automation_id == again.automation_id
    assert rule.automation_id.startswith("auto_")
    other = RULES.rule_for("incoming/video/x.mov")
    assert other is not None
    assert other.automation_id != rule.automation_id


def test_the_originals_filename_is_made_safe_from_the_key() -> None:
    rule = RULES.rule_for("incoming/video/x")
    assert rule is not None
    named = rule.file_for(SourceObject("b-b-b", "incoming/video/Été 2026 (final)!.mov", "v"))
    assert named.filename == "t_2026_final.mov"
    unnamed = rule.file_for(SourceObject("b-b-b", "incoming/video/映像.mov", "v"))
    assert unnamed.filename is None  # nothing usable left: the ingest's default name


def test_objects_outside_every_prefix_match_no_rule() -> None:
    assert RULES.rule_for("elsewhere/a.mp4") is None
    assert RULES.rule_for("incoming/a.mp4") is None


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([{"prefix": "in/", "project": "p", "kind": "video"},
          {"prefix": "in/sub/", "project": "q", "kind": "audio"}], "overlap"),
        ([{"prefix": "in/", "project": "p", "kind": "video", "options": {"width": 641}}], "multiple of 2"),
        ([{"prefix": "in/", "project": "p", "kind": "video", "options": {"colour": "red"}}], "colour"),
        ([{"prefix": "in/", "project": "p", "kind": "probe"}], "media"),
        ([{"prefix": "in/", "project": "p", "kind": "video", "output": "s3://bucket/x/"}], "output"),
        ([{"prefix": "in/", "project": "not a project!", "kind": "video"}], "project"),
        ([{"prefix": "", "project": "p", "kind": "video"}], "prefix"),
    ],
)  # fmt: skip
def test_bad_rules_fail_when_read(rules: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TriggerRules.from_list(rules)


def test_the_rules_round_trip_through_the_functions_environment() -> None:
    assert TriggerRules.from_list(json.loads(RULES.as_json())) == RULES


def test_a_project_reads_only_its_own_prefixes_of_the_watched_bucket() -> None:
    buckets = InputBuckets(
        media_bucket="media-bucket",
        allowed=("shared-library",),
        trigger_bucket="uploads-bucket",
        trigger_prefixes=RULES.prefixes_by_project(),
    )
    assert buckets.allows("s3://uploads-bucket/incoming/video/a.mp4", "team-a")
    assert not buckets.allows("s3://uploads-bucket/incoming/video/a.mp4", "team-b")
    assert not buckets.allows("s3://uploads-bucket/elsewhere/a.mp4", "team-a")
    assert buckets.allows("s3://shared-library/any.mp4", "team-b")
    assert buckets.allows("s3://media-bucket/files/team-b/f/x.mp4", "team-b")
    assert not buckets.allows("s3://media-bucket/files/team-a/f/x.mp4", "team-b")
    assert not buckets.allows("s3://media-bucket/work/team-b/x.mp4", "team-b")


class RefusingFiles:
    """A file service that refuses every ingest, as the API would an object it cannot read."""

    def create_file(self, project_id: str, request: Any) -> Any:
        raise RequestRejected(
            ErrorKind.invalid_input, "that s3 bucket is not an allowed input bucket", "input"
        )


def test_an_object_whose_ingest_is_refused_is_dropped_not_retried() -> None:
    # a refusal is final for that object: raising would have SQS retry it three times into the DLQ
    triggers = TriggerService(RULES, RefusingFiles())  # type: ignore[arg-type]
    source = SourceObject("uploads-bucket", "incoming/video/a.mp4", "v1")
    assert triggers.create_task(source) is None
