"""schemathesis against the running local product's /openapi.json: no input makes it answer 5xx.

Uses schemathesis's Hypothesis strategies directly: its pytest plugin does not run on pytest 9.
"""

from __future__ import annotations

import time

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.openapi import from_url

from tests.local_product import Api

EXAMPLES_PER_OPERATION = 40


def test_no_request_gets_a_server_error(api: Api) -> None:
    schema = from_url(f"{api.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    # tasks: create, list, get, cancel; webhooks: attempts, replay, rotate the secret; files and
    # media: create, list, get, update, delete; signatures: create, read, upload; uploads: create,
    # progress, parts, complete
    assert len(operations) == 24
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
