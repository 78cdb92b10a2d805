"""Workflow tasks against the product: the vendor SDK's create call reaches the workflow's
validation, and a valid workflow is refused, not accepted, while running one is not built."""

from __future__ import annotations

import pytest
from ittybit import Ittybit
from ittybit.core.api_error import ApiError

from tests.local_product import Api

pytestmark = pytest.mark.e2e
INPUT = "https://example.com/a.mp4"


def sdk(api: Api) -> Ittybit:
    return Ittybit(base_url=api.url, api_key=api.key, version="2025-08-20")


def test_the_sdk_sees_a_bad_step_named_by_its_path(api: Api) -> None:
    steps = [
        {"kind": "image", "ref": "thumbnail"},
        {"kind": "video", "next": [{"kind": "image", "width": 3}]},
    ]
    with pytest.raises(ApiError) as refused:
        sdk(api).tasks.create(request={"kind": "workflow", "url": INPUT, "workflow": steps})
    assert refused.value.status_code == 400
    assert isinstance(refused.value.body, dict)
    assert (refused.value.body["kind"], refused.value.body["field"]) == (
        "invalid_option",
        "workflow[1].next[0].width",
    )


def test_a_valid_workflow_is_refused_while_running_one_is_not_built(api: Api) -> None:
    steps = [{"kind": "image", "ref": "thumbnail"}, {"kind": "video", "next": [{"kind": "subtitles"}]}]
    status, body = api.request("POST", "/tasks", {"kind": "workflow", "url": INPUT, "workflow": steps})
    assert (status, body["kind"], body["field"]) == (400, "kind_unsupported", "kind")
    assert "cannot run them yet" in body["message"]
    status, page = api.request("GET", "/tasks")
    assert status == 200
    assert all(task["kind"] != "workflow" for task in page["data"])
