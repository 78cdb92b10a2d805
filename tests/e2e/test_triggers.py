"""S3 event triggers through the local product: an object dropped under a rule's prefix in the
watched bucket becomes a media of the rule's project, on which ops' automation for the rule runs a
workflow of the rule's kind; one object version makes one media and one workflow task."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_plus

import pytest

from mediatasks.local.stack import DEMO_TRIGGER_RULES
from tests.local_product import Api, emulator, new_key
from tests.support.media import MakeClip
from tests.support.waiting import wait_until

WATCHED_BUCKET = "mediatasks-uploads"
(RULE,) = DEMO_TRIGGER_RULES
APPEAR_SECONDS = 60


def originals_from(api: Api, key: str) -> list[dict[str, Any]]:
    """The media originals ingested from the watched bucket's object `key`."""
    source = f"s3://{WATCHED_BUCKET}/{key}"
    status, listing = api.request("GET", "/files?limit=100")
    assert status == 200, listing
    return [file for file in listing["data"] if file["original"] and file["metadata"].get("source") == source]


def tasks_from(api: Api, key: str) -> list[dict[str, Any]]:
    """The workflow tasks ops' automation started on the media made from `key`."""
    media = {file["media_id"] for file in originals_from(api, key)}
    status, listing = api.request("GET", "/tasks?kind=workflow&limit=100")
    assert status == 200, listing
    return [
        task
        for task in listing["data"]
        if task["media_id"] in media and task["metadata"].get("automation_id", "").startswith("auto_ops")
    ]


def first_task_from(api: Api, key: str) -> dict[str, Any]:
    return wait_until(lambda: tasks_from(api, key), APPEAR_SECONDS, f"a task for {key!r}", every=0.3)[0]


@pytest.mark.parametrize(
    "name", ["plain.mp4", "with spaces.mp4", "unicodé 映像.mp4", "plus+and%25 percent?#.mp4"]
)
def test_an_upload_under_the_prefix_becomes_a_media_whose_workflow_succeeds(
    api: Api, make_clip: MakeClip, name: str
) -> None:
    key = RULE["prefix"] + name
    emulator(api, "s3").upload_file(str(make_clip("one-second.mp4", seconds=1)), WATCHED_BUCKET, key)
    task = api.wait(first_task_from(api, key)["id"])
    assert task["status"] == "succeeded", task["error"]
    (original,) = originals_from(api, key)
    assert original["metadata"]["trigger_prefix"] == RULE["prefix"]
    assert task["input"] == original["id"]
    status, page = api.request("GET", f"/tasks?parent_id={task['id']}")
    assert status == 200, page
    (made,) = page["data"]  # the rule's one step
    assert (made["kind"], made["status"], made["input"]) == (RULE["kind"], "succeeded", original["id"])
    assert made["output"]["format"] == RULE["options"]["format"]
    status, automation = api.request("GET", f"/automations/{task['metadata']['automation_id']}")
    assert (status, automation["created_by"], automation["trigger"]["prefix"]) == (200, "ops", RULE["prefix"])


def test_the_same_event_delivered_again_makes_no_second_task(api: Api, make_clip: MakeClip) -> None:
    s3, sqs = emulator(api, "s3"), emulator(api, "sqs")
    key = RULE["prefix"] + "delivered twice.mp4"
    s3.upload_file(str(make_clip("one-second.mp4", seconds=1)), WATCHED_BUCKET, key)
    first = first_task_from(api, key)
    # the event as the emulator's S3 sent it, delivered twice more
    etag = s3.head_object(Bucket=WATCHED_BUCKET, Key=key)["ETag"].strip('"')
    event = {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": WATCHED_BUCKET}, "object": {"key": quote_plus(key), "eTag": etag}},
            }
        ]
    }
    queue_url = sqs.get_queue_url(QueueName="mediatasks-trigger")["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(event))
    api.wait(first["id"])

    def handled() -> bool:  # the trigger deletes a message once it has handled it
        counts = sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return not any(int(count) for count in counts.values())

    wait_until(handled, 30, "the trigger queue's messages, waiting and in flight, to be handled")
    assert len(originals_from(api, key)) == 1
    assert [task["id"] for task in tasks_from(api, key)] == [first["id"]]
    # a new version of the object is a new upload: a second media, a second workflow
    s3.upload_file(str(make_clip("other.mp4", seconds=1, size="160x120")), WATCHED_BUCKET, key)
    wait_until(
        lambda: len(tasks_from(api, key)) >= 2, APPEAR_SECONDS, f"a second task for {key!r}", every=0.3
    )
    assert len(tasks_from(api, key)) == 2


def test_uploads_elsewhere_and_folder_markers_make_no_media(api: Api, make_clip: MakeClip) -> None:
    s3 = emulator(api, "s3")
    outside = "elsewhere/clip.mp4"
    s3.upload_file(str(make_clip("one-second.mp4", seconds=1)), WATCHED_BUCKET, outside)
    s3.put_object(Bucket=WATCHED_BUCKET, Key=RULE["prefix"] + "a folder/", Body=b"")
    marker = RULE["prefix"] + "after.mp4"
    s3.upload_file(str(make_clip("one-second.mp4", seconds=1)), WATCHED_BUCKET, marker)
    first_task_from(api, marker)  # the trigger has handled everything sent before it
    assert originals_from(api, outside) == []
    assert originals_from(api, RULE["prefix"] + "a folder/") == []


def test_another_project_cannot_read_the_watched_bucket(api: Api) -> None:
    other = api.as_project(new_key(api, "trigger-outsider"))
    status, error = other.request(
        "POST", "/tasks", {"input": f"s3://{WATCHED_BUCKET}/{RULE['prefix']}plain.mp4", "kind": "video"}
    )
    assert (status, error["kind"]) == (400, "invalid_input")
