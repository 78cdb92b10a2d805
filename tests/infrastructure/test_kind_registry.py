"""The kind registry is the one place a kind is declared: a kind added there, and nowhere else,
is validated by the API, documented in /openapi.json and routed by the synthesized state machine."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from mediatasks.handlers.steps import ExecutionState
from mediatasks.kinds.base import STEP_RESULT
from mediatasks.kinds.registry import KINDS, kind_names, parse_request
from mediatasks_infra.pipeline import STATE_NAMES
from tests.support.infrastructure import execution_path

# Run in a fresh interpreter: the throw-away kind is added to the registry before anything that
# reads it (the API's request union, the CDK app) is imported, exactly as a kind module would be.
THROWAWAY = textwrap.dedent(
    """
    import json
    from typing import Literal

    from pydantic import Field

    from mediatasks.domain.options import StrictOptions
    from mediatasks.domain.requests import TaskRequest
    from mediatasks.domain.tasks import StepName
    from mediatasks.kinds import registry
    from mediatasks.kinds.base import Family, Kind, Output


    class ThrowawayOptions(StrictOptions):
        level: int = Field(default=1, ge=1, le=9)


    class ThrowawayTaskRequest(TaskRequest):
        kind: Literal["throwaway"]
        options: ThrowawayOptions = Field(default_factory=ThrowawayOptions)


    registry.KINDS["throwaway"] = Kind(
        name="throwaway",
        family=Family.utility,
        summary="a kind that exists only in this test",
        request=ThrowawayTaskRequest,
        steps=(StepName.ingest, StepName.upload),
        output=Output.input_file,
    )

    from aws_cdk.assertions import Template

    from mediatasks.domain.errors import RequestRejected
    from mediatasks.handlers.api import openapi_document
    from mediatasks.local.cloud import LocalCloud
    from mediatasks_infra.app import build_app

    flat = registry.parse_request({"kind": "throwaway", "url": "https://example.com/a.mp4", "level": 3})
    try:
        registry.parse_request({"kind": "throwaway", "input": "https://example.com/a.mp4", "level": 0})
        refusal = None
    except RequestRejected as error:
        refusal = [error.kind, error.field]
    schemas = json.loads(openapi_document())["components"]["schemas"]
    _, stack = build_app()
    definition = json.loads(LocalCloud(Template.from_stack(stack).to_json()).state_machine_definition())
    print(json.dumps({
        "parsed": [type(flat).__name__, flat.options.model_dump()],
        "refusal": refusal,
        "schemas": sorted(schemas),
        "definition": definition,
    }))
    """
)


@pytest.fixture(scope="module")
def with_throwaway() -> dict[str, Any]:
    run = subprocess.run([sys.executable, "-c", THROWAWAY], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr[-4000:]
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def test_a_kind_added_to_the_registry_is_validated(with_throwaway: dict[str, Any]) -> None:
    assert with_throwaway["parsed"] == ["ThrowawayTaskRequest", {"level": 3}]
    assert with_throwaway["refusal"] == ["invalid_option", "options.level"]


def test_a_kind_added_to_the_registry_is_documented(with_throwaway: dict[str, Any]) -> None:
    assert {"ThrowawayTaskRequest", "ThrowawayOptions"} <= set(with_throwaway["schemas"])


def test_a_kind_added_to_the_registry_gets_its_own_branch(with_throwaway: dict[str, Any]) -> None:
    definition = with_throwaway["definition"]
    assert execution_path(definition, "throwaway") == ["Ingest", "Upload"]
    # the kinds already there still run their own steps
    for name, kind in KINDS.items():
        states = [STATE_NAMES[step] for step in kind.steps]
        if kind.encoding is not None and kind.encoding.join_args is not None:  # may encode in pieces
            states.insert(states.index("Encode"), "Split")
        assert execution_path(definition, name) == states


def test_every_result_a_later_step_reads_has_a_place_in_the_execution_state() -> None:
    read_later = {STEP_RESULT[step] for kind in KINDS.values() for step in kind.steps[:-1]}
    assert read_later <= set(ExecutionState.model_fields)


@pytest.mark.parametrize("name", kind_names().implemented)
def test_every_name_a_kind_answers_to_parses_as_that_kind(name: str) -> None:
    body: dict[str, Any] = {"kind": name, "input": "https://example.com/a.mp4"}
    if name == "export":
        body = {"kind": name, "input": "s3://bucket-a/a.mp4", "options": {"url": "s3://bucket-b/a.mp4"}}
    if name == "prompt":  # the question is required
        body["options"] = {"prompt": "What is said?"}
    request = parse_request(body)
    assert type(request) is next(kind.request for kind in KINDS.values() if name in kind.names)
