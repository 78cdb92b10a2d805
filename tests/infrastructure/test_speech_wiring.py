"""The track kinds in the CDK template: their steps in the state machine, the Wait loop that polls a
speech recognition job, and the Transcribe permissions, each held to our own tasks' jobs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mediatasks import constants as c
from mediatasks.local.cloud import LocalCloud
from mediatasks.local.template import resources_of_type
from tests.support.infrastructure import execution_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def definition(template: dict[str, Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(LocalCloud(template).state_machine_definition())
    return parsed


@pytest.mark.parametrize("kind", ["speech", "subtitles", "chapters"])
def test_kinds_that_read_speech_recognise_it_first(definition: dict[str, Any], kind: str) -> None:
    assert execution_path(definition, kind) == ["Ingest", "Probe", "Transcribe", "MakeTrack", "Upload"]


def test_thumbnails_need_no_speech(definition: dict[str, Any]) -> None:
    assert execution_path(definition, "thumbnails") == ["Ingest", "Probe", "MakeTrack", "Upload"]


@pytest.mark.parametrize(
    ("start", "job", "result"),
    [("Transcribe", "Transcript", "transcript"), ("Moderate", "Moderation", "moderation")],
)
def test_a_provider_job_is_polled_by_a_wait_loop(
    definition: dict[str, Any], start: str, job: str, result: str
) -> None:
    states = definition["States"]
    assert states[start]["Next"] == f"{job}Ready"
    (pending,) = states[f"{job}Ready"]["Choices"]
    assert pending == {"Variable": f"$.{result}.done", "BooleanEquals": False, "Next": f"WaitFor{job}"}
    assert states[f"WaitFor{job}"]["Seconds"] >= 1
    assert states[f"WaitFor{job}"]["Next"] == f"{job}Status"
    assert states[f"{job}Status"]["Next"] == f"{job}Ready"
    assert states[f"{job}Status"]["Catch"][0]["Next"] == "RecordFailure"
    assert states[f"{job}Ready"]["Default"] == "MakeTrack"


def _statements(template: dict[str, Any], function_id: str) -> list[dict[str, Any]]:
    role = resources_of_type(template, "AWS::Lambda::Function")[function_id]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in resources_of_type(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Roles"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def _transcribe_grants(template: dict[str, Any], function_id: str) -> dict[str, Any]:
    grants: dict[str, Any] = {}
    for statement in _statements(template, function_id):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            if action.startswith("transcribe:"):
                grants[action] = statement["Resource"]
    return grants


def test_transcribe_permissions_are_the_jobs_of_our_tasks(template: dict[str, Any]) -> None:
    jobs = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":transcribe:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":transcription-job/mediatasks-*",
            ],
        ]
    }
    assert _transcribe_grants(template, c.TRANSCRIBE_FUNCTION_ID) == {
        "transcribe:StartTranscriptionJob": jobs
    }
    assert _transcribe_grants(template, c.TRANSCRIPT_STATUS_FUNCTION_ID) == {
        "transcribe:GetTranscriptionJob": jobs,
        "transcribe:DeleteTranscriptionJob": jobs,
    }
    for other in (c.TRACK_FUNCTION_ID, c.ENCODE_FUNCTION_ID, c.API_FUNCTION_ID):
        assert _transcribe_grants(template, other) == {}


def test_speech_functions_reach_only_the_work_prefix(template: dict[str, Any]) -> None:
    for function_id in (c.TRANSCRIBE_FUNCTION_ID, c.TRANSCRIPT_STATUS_FUNCTION_ID):
        s3_resources = [
            json.dumps(statement["Resource"])
            for statement in _statements(template, function_id)
            if any(str(a).startswith("s3:") for a in statement["Action"])
        ]
        assert s3_resources
        assert all(f"/{c.WORK_PREFIX}*" in resource for resource in s3_resources), s3_resources


def test_the_deployment_recognises_speech_with_transcribe(template: dict[str, Any]) -> None:
    functions = resources_of_type(template, "AWS::Lambda::Function")
    for function_id in (c.TRANSCRIBE_FUNCTION_ID, c.TRANSCRIPT_STATUS_FUNCTION_ID):
        variables = functions[function_id]["Environment"]["Variables"]
        assert variables.get(c.ENV_SPEECH_PROVIDER, "transcribe") == "transcribe"


def test_nsfw_moderates_before_its_track_without_speech(definition: dict[str, Any]) -> None:
    assert execution_path(definition, "nsfw") == ["Ingest", "Probe", "Moderate", "MakeTrack", "Upload"]


def test_each_rekognition_action_is_held_by_the_one_function_that_calls_it(template: dict[str, Any]) -> None:
    holders: dict[str, set[str]] = {}
    for function_id in resources_of_type(template, "AWS::Lambda::Function"):
        for statement in _statements(template, function_id):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                if action.startswith("rekognition:"):
                    holders.setdefault(action, set()).add(function_id)
    assert holders == {
        "rekognition:DetectModerationLabels": {c.TRACK_FUNCTION_ID},  # a picture's frames, as bytes
        "rekognition:StartContentModeration": {c.MODERATE_FUNCTION_ID},
        "rekognition:GetContentModeration": {c.MODERATION_STATUS_FUNCTION_ID},
    }


@pytest.mark.parametrize("kind", ["outline", "description", "prompt"])
def test_the_text_kinds_read_the_transcript_first(definition: dict[str, Any], kind: str) -> None:
    assert execution_path(definition, kind) == ["Ingest", "Probe", "Transcribe", "MakeTrack", "Upload"]


def test_the_track_step_may_invoke_the_configured_bedrock_model_only(template: dict[str, Any]) -> None:
    config = json.loads(Path("cdk.json").read_text())["context"]
    model_id = config["mediatasks:bedrockModelId"]
    function = resources_of_type(template, "AWS::Lambda::Function")[c.TRACK_FUNCTION_ID]
    assert function["Environment"]["Variables"][c.ENV_BEDROCK_MODEL_ID] == model_id
    holders = {
        function_id: statement
        for function_id in resources_of_type(template, "AWS::Lambda::Function")
        for statement in _statements(template, function_id)
        if "bedrock" in json.dumps(statement["Action"])
    }
    assert list(holders) == [c.TRACK_FUNCTION_ID]
    statement = holders[c.TRACK_FUNCTION_ID]
    assert statement["Action"] == "bedrock:InvokeModel"
    assert f":foundation-model/{model_id}" in json.dumps(statement["Resource"])
