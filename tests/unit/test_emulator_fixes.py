"""The local stack's corrections to moto hold in the process that applies them."""

from __future__ import annotations

import threading

import boto3
from moto import mock_aws

from mediatasks.local.emulator_fixes import apply, dynamodb_paused, serializes_dynamodb_requests

# How long a request is watched for not being answered while the tables are paused.
WATCHED_SECONDS = 0.5


@mock_aws
def test_no_dynamodb_request_is_answered_while_the_tables_are_paused() -> None:
    # moto answers requests on many threads and applies an UpdateItem's SET clauses one by one: a
    # read beside it saw a task `succeeded` with no output yet, unless requests are one at a time
    apply()
    assert serializes_dynamodb_requests()
    client = boto3.client("dynamodb", region_name="us-east-1")
    answered = threading.Event()

    def list_tables() -> None:
        client.list_tables()
        answered.set()

    with dynamodb_paused():
        request = threading.Thread(target=list_tables, daemon=True)
        request.start()
        assert not answered.wait(WATCHED_SECONDS)
    assert answered.wait(30)
    request.join()
