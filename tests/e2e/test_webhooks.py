"""Webhooks and idempotent task creation through the local product (`mediatasks serve` with a known
development secret and a short rotation grace), with receivers on 127.0.0.1 started by the tests."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from mediatasks.constants import ENV_WEBHOOK_SECRET_GRACE_SECONDS
from mediatasks.contract.webhooks import verify_signature
from tests.local_product import Api, emulator, new_key, new_project, serving
from tests.support.media import MakeClip
from tests.support.servers import FileServer, Received, WebhookReceiver, webhook_receiver
from tests.support.waiting import wait_until

SECRET = "whsec_e2e-development-secret"
# short enough to wait out in a test, long enough for a replay to be signed inside it
GRACE_SECONDS = 8
# a first try, a retry after about 1 s and one after about 2 s, with room to spare
DELIVERY_SECONDS = 30


@pytest.fixture(scope="module")
def hooks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with serving(
        tmp_path_factory.mktemp("serve-webhooks"),
        ["--webhook-secret", SECRET, "--trigger-rules", "[]"],
        {ENV_WEBHOOK_SECRET_GRACE_SECONDS: str(GRACE_SECONDS)},
    ) as product:
        yield product


@pytest.fixture(scope="module")
def clip_url(make_clip: MakeClip, file_server: FileServer) -> str:
    make_clip("webhooks.mp4", size="160x120", seconds=1)
    return file_server.url_of("webhooks.mp4")


def attempts_of(api: Api, task_id: str) -> list[dict[str, Any]]:
    status, attempts = api.request("GET", f"/tasks/{task_id}/webhooks")
    assert status == 200, attempts
    data: list[dict[str, Any]] = attempts["data"]
    return data


def settled_attempts(api: Api, task_id: str, count: int) -> list[dict[str, Any]]:
    """The task's attempts once `count` of them are logged and the last one ended its delivery."""

    def settled() -> list[dict[str, Any]] | None:
        attempts = attempts_of(api, task_id)
        return attempts if len(attempts) >= count and attempts[-1]["outcome"] != "retrying" else None

    return wait_until(settled, DELIVERY_SECONDS, f"{count} webhook attempts of {task_id}")


def received(receiver: WebhookReceiver, delivery_id: str, count: int = 1) -> list[Received]:
    return wait_until(
        lambda: receiver.delivered(delivery_id) if len(receiver.delivered(delivery_id)) >= count else None,
        DELIVERY_SECONDS,
        f"{count} POSTs of delivery {delivery_id}",
    )


def test_every_delivery_is_signed_with_the_projects_secret(hooks: Api, clip_url: str) -> None:
    assert hooks.webhook_secret == SECRET  # `serve --webhook-secret` is the secret serve prints
    with webhook_receiver() as receiver:
        task = hooks.run({"kind": "probe", "input": clip_url, "webhook_url": receiver.url})
        (attempt,) = settled_attempts(hooks, task["id"], 1)
        (delivery,) = received(receiver, attempt["delivery_id"])
    assert (attempt["event"], attempt["status_code"], attempt["outcome"]) == (
        "task.succeeded",
        200,
        "delivered",
    )
    headers, body = delivery.headers, delivery.body
    assert headers["Mediatasks-Event"] == "task.succeeded"
    assert headers["Content-Type"] == "application/json"
    sent = json.loads(body)
    assert (sent["id"], sent["object"], sent["status"]) == (task["id"], "task", "succeeded")
    assert sent["finished_at"] == task["finished_at"]
    signature = headers["Mediatasks-Signature"]
    assert verify_signature(body, signature, [SECRET])
    assert not verify_signature(body, signature, ["whsec_not-the-projects-secret"])
    assert not verify_signature(body.replace(b"succeeded", b"failed"), signature, [SECRET])
    # received six minutes later, it is older than the default tolerance of five
    assert not verify_signature(body, signature, [SECRET], now=lambda: time.time() + 360)


def test_a_failing_receiver_is_retried_with_one_delivery_id_then_replayed(hooks: Api, clip_url: str) -> None:
    with webhook_receiver(answers=[500, 500]) as receiver:
        task = hooks.run({"kind": "probe", "input": clip_url, "webhook_url": receiver.url})
        attempts = settled_attempts(hooks, task["id"], 3)
        assert [a["status_code"] for a in attempts] == [500, 500, 200]
        assert [a["outcome"] for a in attempts] == ["retrying", "retrying", "delivered"]
        assert [a["attempt"] for a in attempts] == [1, 2, 3]
        assert len({a["delivery_id"] for a in attempts}) == 1
        assert all(a["error"] == "the receiver answered HTTP 500" for a in attempts[:2])
        assert attempts[1]["attempted_at"] - attempts[0]["attempted_at"] >= 500  # it backed off
        delivery_id = attempts[0]["delivery_id"]
        assert len(received(receiver, delivery_id, 3)) == 3
        # the task ended before its webhook was tried, and the tries changed nothing on it
        status, after = hooks.request("GET", f"/tasks/{task['id']}")
        assert status == 200
        assert (after["status"], after["finished_at"]) == ("succeeded", task["finished_at"])
        assert after["finished_at"] <= attempts[0]["attempted_at"]

        status, replay = hooks.request("POST", f"/tasks/{task['id']}/webhooks/replay")
        assert status == 202, replay
        assert (replay["event"], replay["task_id"]) == ("task.succeeded", task["id"])
        assert replay["delivery_id"] != delivery_id
        attempts = settled_attempts(hooks, task["id"], 4)
        (replayed,) = received(receiver, replay["delivery_id"])
    assert len(attempts) == 4
    assert (attempts[3]["delivery_id"], attempts[3]["outcome"]) == (replay["delivery_id"], "delivered")
    assert verify_signature(replayed.body, replayed.headers["Mediatasks-Signature"], [SECRET])


def test_during_a_rotation_both_secrets_sign_and_after_it_only_the_new_one(hooks: Api, clip_url: str) -> None:
    key, old = new_project(hooks, "rotating")
    assert old is not None  # the project's first key made its secret
    project = hooks.as_project(key)

    def replayed_delivery(receiver: WebhookReceiver, task_id: str) -> Received:
        status, replay = project.request("POST", f"/tasks/{task_id}/webhooks/replay")
        assert status == 202, replay
        return received(receiver, replay["delivery_id"])[0]

    with webhook_receiver() as receiver:
        task = project.run({"kind": "probe", "input": clip_url, "webhook_url": receiver.url})
        (first,) = received(receiver, settled_attempts(project, task["id"], 1)[0]["delivery_id"])
        assert verify_signature(first.body, first.headers["Mediatasks-Signature"], [old])

        status, rotation = project.request("POST", "/webhooks/secret")
        assert status == 201, rotation
        new = rotation["secret"]
        assert new != old
        during = replayed_delivery(receiver, task["id"])
        assert during.headers["Mediatasks-Signature"].count("v1=") == 2
        assert verify_signature(during.body, during.headers["Mediatasks-Signature"], [old])
        assert verify_signature(during.body, during.headers["Mediatasks-Signature"], [new])

        wait_until(
            lambda: time.time() * 1000 >= rotation["previous_expires_at"],
            GRACE_SECONDS + 5,
            "the old secret's announced end",
        )
        after = replayed_delivery(receiver, task["id"])
    assert verify_signature(after.body, after.headers["Mediatasks-Signature"], [new])
    assert not verify_signature(after.body, after.headers["Mediatasks-Signature"], [old])
    # the development project's secret was not touched
    assert hooks.request("GET", f"/tasks/{task['id']}/webhooks")[0] == 404


def test_concurrent_posts_with_one_idempotency_key_make_one_task(hooks: Api, clip_url: str) -> None:
    project = hooks.as_project(new_key(hooks, "idempotent"))
    body = {"kind": "probe", "input": clip_url, "metadata": {"order": "1234"}}
    headers = {"Idempotency-Key": "order-1234-probe"}
    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(lambda _: project.request("POST", "/tasks", body, headers), range(20)))
    assert [status for status, _ in replies] == [201] * 20, replies
    task_ids = {reply["id"] for _, reply in replies}
    assert len(task_ids) == 1
    (task_id,) = task_ids
    project.wait(task_id)
    status, listing = project.request("GET", "/tasks?limit=100")
    assert (status, [task["id"] for task in listing["data"]]) == (200, [task_id])
    run_id = listing["data"][0]["run_id"]
    sfn = emulator(hooks, "stepfunctions")
    (machine,) = [m for m in sfn.list_state_machines()["stateMachines"] if m["name"] == "mediatasks-tasks"]
    executions = sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
    inputs = [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]) for e in executions]
    assert [
        e["name"] for e, state in zip(executions, inputs, strict=True) if state["task_id"] == task_id
    ] == [run_id]

    assert project.request("POST", "/tasks", body, headers) == replies[0]  # later, the same reply
    status, error = project.request("POST", "/tasks", {**body, "metadata": {"order": "9999"}}, headers)
    assert (status, error["kind"], error["field"]) == (422, "idempotency_key_reused", "Idempotency-Key")
    # keys are per project: another project's same key is its own
    other = hooks.as_project(new_key(hooks, "idempotent-other"))
    status, theirs = other.request("POST", "/tasks", body, headers)
    assert status == 201
    assert theirs["id"] != task_id
