"""schemathesis against the running local product's /openapi.json: no input makes it answer 5xx.

Uses schemathesis's Hypothesis strategies directly: its pytest plugin does not run on pytest 9.
"""

from __future__ import annotations

import time

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.openapi import from_url

from tests.local_product import Api, new_key

EXAMPLES_PER_OPERATION = 40


def test_no_request_gets_a_server_error(api: Api) -> None:
    # a project of its own: what the fuzzing makes (tasks, files, automations that would run on
    # every later media) never reaches the tests that share the development project
    project = api.as_project(new_key(api, "fuzzing"))
    try:
        _fuzz(project)
    finally:
        _delete_fuzzed_automations(project)


def _fuzz(api: Api) -> None:
    schema = from_url(f"{api.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    # tasks: create, list, get, cancel; webhooks: attempts, replay, rotate the secret; files,
    # media and automations: create, list, get, update, delete; signatures: create, read, upload;
    # uploads: create, progress, parts, complete; playback: a master or a rendition playlist
    assert len(operations) == 31
    headers = {"Authorization": f"Bearer {api.key}"}
    responses: list[int] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call(base_url=api.url, headers=headers)
            while response.status_code == 429:  # the key's own rate limit: wait as a client would
                time.sleep(float(response.headers.get("Retry-After", "1")))
                response = case.call(base_url=api.url, headers=headers)
            responses.append(response.status_code)
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text}"
            assert "Traceback" not in response.text

        no_server_error()
    assert len(responses) >= len(operations) * 10
    assert {200, 400, 404} <= set(responses)  # past the key check: routed, validated, looked up


def _delete_fuzzed_automations(api: Api) -> None:
    """The automations the fuzzing made would run on every later test's media: they go."""
    while True:
        status, page = api.request("GET", "/automations?limit=100")
        assert status == 200, page
        made = [item["id"] for item in page["data"] if item["created_by"] is None]
        if not made:
            return
        for automation_id in made:
            assert api.request("DELETE", f"/automations/{automation_id}")[0] == 200
