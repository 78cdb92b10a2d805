"""The synthesized CloudFormation template: resources, their key properties, a valid state machine."""

from __future__ import annotations

import importlib
import json
from typing import Any

import boto3
import pytest
from aws_cdk.assertions import Match, Template
from moto import mock_aws

from mediatasks import constants as c
from mediatasks.local.cloud import LocalCloud, _cors_rule
from mediatasks.local.template import public_routes
from mediatasks_infra.app import build_app
from mediatasks_infra.slots import RELEASE_FAILED_STATE, RELEASE_STATE
from tests.support.infrastructure import WITH_TRIGGERS, execution_path

# several CDK synths (each architecture, with and without triggers): 10 s and more
pytestmark = pytest.mark.slow

OUR_FUNCTIONS = {
    c.API_FUNCTION_ID: "mediatasks.handlers.api.handler",
    c.PROBE_FUNCTION_ID: "mediatasks.handlers.steps.probe",
    c.INGEST_FUNCTION_ID: "mediatasks.handlers.steps.ingest",
    c.ENCODE_FUNCTION_ID: "mediatasks.handlers.steps.encode",
    c.UPLOAD_FUNCTION_ID: "mediatasks.handlers.steps.upload",
    c.FAIL_FUNCTION_ID: "mediatasks.handlers.steps.mark_failed",
    c.SPLIT_FUNCTION_ID: "mediatasks.handlers.steps.split",
    c.SEGMENT_FUNCTION_ID: "mediatasks.handlers.steps.encode_segment",
    c.JOIN_FUNCTION_ID: "mediatasks.handlers.steps.join",
    c.AUTHORIZER_FUNCTION_ID: "mediatasks.handlers.authorizer.handler",
    c.TRIGGER_FUNCTION_ID: "mediatasks.handlers.trigger.handler",
    c.AUTOMATIONS_FUNCTION_ID: "mediatasks.handlers.automations.handler",
    c.DELIVER_FUNCTION_ID: "mediatasks.handlers.webhooks.deliver",
    c.DISPATCH_FUNCTION_ID: "mediatasks.handlers.webhooks.dispatch",
    c.RECONCILE_FUNCTION_ID: "mediatasks.handlers.reconciler.execution_ended",
    c.SWEEP_FUNCTION_ID: "mediatasks.handlers.reconciler.sweep",
    c.TRANSCRIBE_FUNCTION_ID: "mediatasks.handlers.steps.transcribe",
    c.TRANSCRIPT_STATUS_FUNCTION_ID: "mediatasks.handlers.steps.transcript_status",
    c.TRACK_FUNCTION_ID: "mediatasks.handlers.steps.track",
    c.MODERATE_FUNCTION_ID: "mediatasks.handlers.steps.moderate",
    c.MODERATION_STATUS_FUNCTION_ID: "mediatasks.handlers.steps.moderation_status",
    c.WORKFLOW_FUNCTION_ID: "mediatasks.handlers.workflows.handle",
    c.HTTP_STEP_FUNCTION_ID: "mediatasks.handlers.workflows.send_http",
    c.WAIT_FOR_SLOT_FUNCTION_ID: "mediatasks.handlers.slots.wait_for_slot",
    c.RELEASE_SLOT_FUNCTION_ID: "mediatasks.handlers.slots.release_slot",
}


@pytest.fixture(scope="module")
def arm64() -> Template:
    _, stack = build_app(WITH_TRIGGERS)
    return Template.from_stack(stack)


def test_holds_the_whole_product(arm64: Template) -> None:
    for resource_type, count in {
        "AWS::ApiGateway::RestApi": 1,
        "AWS::ApiGateway::UsagePlan": 1,
        "AWS::WAFv2::WebACL": 1,
        "AWS::WAFv2::WebACLAssociation": 1,
        "AWS::DynamoDB::Table": 7,
        "AWS::S3::Bucket": 3,  # access logs, managed, watched
        "AWS::SQS::Queue": 2,
        # the trigger queue, the tasks table's stream, the files table's
        "AWS::Lambda::EventSourceMapping": 3,
        "AWS::Lambda::LayerVersion": 1,
        # ours, and CDK's handlers that set the watched bucket's notifications and seed ops' automations
        "AWS::Lambda::Function": len(OUR_FUNCTIONS) + 2,
        "AWS::StepFunctions::StateMachine": 3,  # tasks, webhook deliveries, workflows
        "AWS::KMS::Key": 1,
        "AWS::SNS::Topic": 1,
        # monitoring's 10 (our 24 functions' throttles in 3 alarms of at most 10 metrics), the
        # reconciler's and the sweep's 4, the running slots' queued time
        "AWS::CloudWatch::Alarm": 15,
    }.items():
        arm64.resource_count_is(resource_type, count)


@pytest.mark.parametrize(("logical_id", "handler"), OUR_FUNCTIONS.items())
def test_each_function_runs_an_existing_handler_on_arm64(
    arm64: Template, logical_id: str, handler: str
) -> None:
    props = arm64.to_json()["Resources"][logical_id]["Properties"]
    assert props["Handler"] == handler
    assert props["Architectures"] == ["arm64"]
    assert props["Runtime"] == "python3.12"
    assert props["TracingConfig"] == {"Mode": "Active"}
    module, name = handler.rsplit(".", 1)
    assert callable(getattr(importlib.import_module(module), name))


def test_step_functions_carry_the_ffmpeg_layer(arm64: Template) -> None:
    resources = arm64.to_json()["Resources"]
    layer_id = next(k for k, v in resources.items() if v["Type"] == "AWS::Lambda::LayerVersion")
    for logical_id in (c.PROBE_FUNCTION_ID, c.ENCODE_FUNCTION_ID):
        assert {"Ref": layer_id} in resources[logical_id]["Properties"]["Layers"]
    assert resources[layer_id]["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_encode_has_room_to_work(arm64: Template) -> None:
    props = arm64.to_json()["Resources"][c.ENCODE_FUNCTION_ID]["Properties"]
    assert props["EphemeralStorage"] == {"Size": 10240}
    assert props["Timeout"] == 900


def test_bucket_is_private_encrypted_and_tls_only(arm64: Template) -> None:
    arm64.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": Match.object_like({"ServerSideEncryptionConfiguration": Match.any_value()}),
            "LifecycleConfiguration": {
                "Rules": Match.array_with([Match.object_like({"Prefix": c.WORK_PREFIX})])
            },
        },
    )
    arm64.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                )
            }
        },
    )


def test_a_web_page_may_read_and_upload_through_presigned_links(arm64: Template) -> None:
    """hls.js reads segments, and the console puts a file's parts and reads their ETags, across
    origins; and the local stack applies those same rules to its media bucket."""
    media = arm64.find_resources("AWS::S3::Bucket", {"Properties": {"CorsConfiguration": Match.any_value()}})
    (bucket,) = media.values()
    rules = bucket["Properties"]["CorsConfiguration"]["CorsRules"]
    put = next(rule for rule in rules if rule["AllowedMethods"] == ["PUT"])
    assert put["ExposedHeaders"] == ["ETag"]
    assert _cors_rule(put)["ExposeHeaders"] == ["ETag"]  # S3's own name for the field
    assert any(rule["AllowedMethods"] == ["GET", "HEAD"] for rule in rules)


def test_every_bucket_is_private_encrypted_and_logged(arm64: Template) -> None:
    buckets = arm64.find_resources("AWS::S3::Bucket")
    for logical_id, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
        assert "BucketEncryption" in props
        if logical_id != "AccessLogsBucket":
            assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}


def test_tables_are_encrypted_and_recoverable(arm64: Template) -> None:
    arm64.all_resources_properties(
        "AWS::DynamoDB::Table",
        {
            "SSESpecification": {"SSEEnabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "BillingMode": "PAY_PER_REQUEST",
        },
    )


def test_idempotency_records_expire(arm64: Template) -> None:
    props = arm64.to_json()["Resources"][c.IDEMPOTENCY_TABLE_ID]["Properties"]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_every_route_needs_a_key_checked_by_the_cached_authorizer(arm64: Template) -> None:
    methods = arm64.find_resources("AWS::ApiGateway::Method").values()
    protected = [m for m in methods if m["Properties"]["AuthorizationType"] == "CUSTOM"]
    # tasks 4, webhooks 3, files 5, media 5, automations 5, signatures 1, uploads 4
    assert len(protected) == 27
    assert all(m["Properties"]["ApiKeyRequired"] for m in protected)
    # the description, signed URLs and playback URLs (the signature is the credential, checked by
    # the function)
    assert public_routes(arm64.to_json()) == {
        ("GET", "/openapi.json"),
        ("GET", "/console"),
        ("GET", "/console/{path+}"),
        ("GET", "/signed"),
        ("PUT", "/signed"),
        ("GET", "/playback/{task_id}/{path+}"),
    }
    arm64.has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {
            "Type": "TOKEN",
            "IdentitySource": "method.request.header.Authorization",
            "AuthorizerResultTtlInSeconds": 300,
        },
    )
    arm64.has_resource_properties(
        "AWS::ApiGateway::GatewayResponse", {"ResponseType": "UNAUTHORIZED", "StatusCode": "401"}
    )


def test_throttled_callers_get_the_contracts_429(arm64: Template) -> None:
    (response,) = arm64.find_resources(
        "AWS::ApiGateway::GatewayResponse", {"Properties": {"ResponseType": "THROTTLED"}}
    ).values()
    props = response["Properties"]
    assert (props["StatusCode"], props["ResponseParameters"]) == (
        "429",
        {"gatewayresponse.header.Retry-After": "'1'"},
    )
    assert json.loads(props["ResponseTemplates"]["application/json"])["kind"] == "rate_limited"


def test_only_the_authorizer_reads_the_keys(arm64: Template) -> None:
    resources = arm64.to_json()["Resources"]
    readers = [
        name
        for name, resource in resources.items()
        if resource["Type"] == "AWS::IAM::Policy" and c.KEYS_TABLE_ID in json.dumps(resource["Properties"])
    ]
    assert len(readers) == 1
    assert "Authorizer" in readers[0]


def _definition(template: dict[str, Any]) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(LocalCloud(template).state_machine_definition())
    return definition


def test_state_machine_runs_each_kinds_steps_and_catches_every_failure(arm64: Template) -> None:
    definition = _definition(arm64.to_json())
    states = definition["States"]
    # one fetch: the input is stored first, and probed where it was stored
    assert definition["StartAt"] == "Ingest"
    # Split plans a video's encode: whole, or in pieces
    assert execution_path(definition, "video") == ["Ingest", "Probe", "Split", "Encode", "Upload"]
    pieces = ["Ingest", "Probe", "Split", "EncodePieces", "Join", "Upload"]
    assert execution_path(definition, "video", in_pieces=True) == pieces
    assert execution_path(definition, "audio") == ["Ingest", "Probe", "Encode", "Upload"]
    assert execution_path(definition, "ingest") == ["Ingest", "Probe", "Upload"]
    assert execution_path(definition, "export") == ["Ingest", "Probe", "Upload"]
    assert execution_path(definition, "probe") == ["Ingest", "Probe"]
    # the endings' ReleaseSlot states catch nothing: should one fail, the execution fails and the
    # reconciler frees the slot (test_reliability checks them)
    ending = {"RecordFailure", RELEASE_STATE, RELEASE_FAILED_STATE}
    for name, state in states.items():
        if state["Type"] == "Task" and name not in ending:
            assert state["Catch"] == [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}
            ]
    assert states["RecordFailure"]["Next"] == RELEASE_FAILED_STATE
    assert states[RELEASE_FAILED_STATE]["Next"] == "Failed"
    assert states["Failed"]["Type"] == "Fail"


def test_pieces_are_a_distributed_map_over_the_manifest_each_retried_on_its_own(arm64: Template) -> None:
    definition = _definition(arm64.to_json())
    pieces = definition["States"]["EncodePieces"]
    assert pieces["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    reader = pieces["ItemReader"]
    assert reader["ReaderConfig"] == {"InputType": "JSON"}
    assert reader["Parameters"]["Key.$"] == "$.segments.manifest.key"
    assert pieces["ResultPath"] is None  # the pieces' results stay out of the execution's state
    piece = pieces["ItemProcessor"]["States"]["EncodePiece"]
    assert any("ProcessingFailed" in retry["ErrorEquals"] for retry in piece["Retry"])
    # a piece that failed for good records its own error on the task, then fails the map
    (catch,) = piece["Catch"]
    assert pieces["ItemProcessor"]["States"][catch["Next"]]["Next"] == "PieceFailed"
    assert pieces["Catch"][0]["Next"] == "RecordFailure"


def test_state_machine_definition_is_valid_asl(arm64: Template) -> None:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client = boto3.client("stepfunctions", region_name="us-east-1")
        client.create_state_machine(
            name="check",
            definition=json.dumps(_definition(arm64.to_json())),
            roleArn="arn:aws:iam::123456789012:role/x",
        )


def test_offline_synth_matches_the_in_process_app(arm64: Template, template: dict[str, Any]) -> None:
    """The local stack's template (a subprocess synth for this machine) has the same definition."""
    assert _definition(template) == _definition(arm64.to_json())


def test_x86_64_is_selectable() -> None:
    _, stack = build_app({"mediatasks:architecture": "x86_64"})
    resources = Template.from_stack(stack).to_json()["Resources"]
    assert resources[c.ENCODE_FUNCTION_ID]["Properties"]["Architectures"] == ["x86_64"]


def test_a_delivery_is_a_wait_loop_around_one_post(arm64: Template) -> None:
    definition = json.loads(LocalCloud(arm64.to_json()).state_machine_definition(c.DELIVERY_STATE_MACHINE_ID))
    states = definition["States"]
    assert definition["StartAt"] == "Attempt"
    assert (states["Attempt"]["Next"], states["Backoff"]["Next"]) == ("Outcome", "Attempt")
    assert states["Backoff"]["SecondsPath"] == "$.wait_seconds"
    nexts = {choice["StringEquals"]: choice["Next"] for choice in states["Outcome"]["Choices"]}
    assert nexts == {"retrying": "Backoff", "delivered": "Delivered"}
    assert states[states["Outcome"]["Default"]]["Type"] == "Fail"
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        boto3.client("stepfunctions", region_name="us-east-1").create_state_machine(
            name="check", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/x"
        )


def test_only_the_api_encrypts_and_only_the_signing_functions_decrypt_secrets(arm64: Template) -> None:
    resources = arm64.to_json()["Resources"]
    users: dict[str, set[str]] = {}
    for resource in resources.values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in (a for a in actions if a.startswith("kms:")):
                for role in resource["Properties"]["Roles"]:
                    users.setdefault(action, set()).add(role["Ref"])
    assert set(users) == {"kms:Encrypt", "kms:Decrypt"}
    (encrypts,) = users["kms:Encrypt"]
    assert encrypts.startswith(c.API_FUNCTION_ID)
    # webhooks' deliveries and workflows' http steps sign with the project's secrets
    signers = sorted(role.split("ServiceRole")[0] for role in users["kms:Decrypt"])
    assert signers == sorted([c.DELIVER_FUNCTION_ID, c.HTTP_STEP_FUNCTION_ID])


def test_the_tasks_stream_reaches_the_dispatcher_for_ended_tasks_only(arm64: Template) -> None:
    resources = arm64.to_json()["Resources"]
    assert resources[c.TASKS_TABLE_ID]["Properties"]["StreamSpecification"] == {
        "StreamViewType": "NEW_AND_OLD_IMAGES"
    }
    (mapping,) = [
        props
        for props in (
            r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"
        )
        if props["FunctionName"] == {"Ref": c.DISPATCH_FUNCTION_ID}
    ]
    (pattern,) = [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]]
    assert pattern["dynamodb"]["NewImage"]["status"] == {"S": ["succeeded", "failed", "cancelled"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_files_stream_reaches_the_automations_for_stored_originals_only(arm64: Template) -> None:
    resources = arm64.to_json()["Resources"]
    assert resources[c.FILES_TABLE_ID]["Properties"]["StreamSpecification"] == {
        "StreamViewType": "NEW_AND_OLD_IMAGES"
    }
    (mapping,) = [
        props
        for props in (
            r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"
        )
        if props["FunctionName"] == {"Ref": c.AUTOMATIONS_FUNCTION_ID}
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [c.FILES_TABLE_ID, "StreamArn"]}
    (pattern,) = [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]]
    assert pattern["dynamodb"]["NewImage"] == {"original": {"BOOL": [True]}, "status": {"S": ["ready"]}}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # it starts workflow tasks: it knows both machines (a workflow's, and its steps')
    variables = resources[c.AUTOMATIONS_FUNCTION_ID]["Properties"]["Environment"]["Variables"]
    assert {c.ENV_STATE_MACHINE_ARN, c.ENV_WORKFLOW_STATE_MACHINE_ARN} <= set(variables)


def _resources_granted(resources: dict[str, Any], action: str) -> set[str]:
    """Every S3 object resource (as `bucket/pattern`) some policy grants `action` on."""
    granted = set()
    for resource in resources.values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if action not in actions:
                continue
            targets = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            for target in targets:
                text = json.dumps(target)
                if ":s3:::" in text:
                    granted.add(text.split(":s3:::", 1)[1].rstrip('"]}').replace('"', ""))
    return granted


def test_outputs_are_granted_only_under_their_prefix() -> None:
    """A plain bucket name is each project's own folder; an entry names its prefix."""
    areas = ["plain-destination", {"bucket": "deliveries", "prefix": "renders/{project}/"}]
    _, stack = build_app({"mediatasks:allowedOutputBuckets": areas})
    resources = Template.from_stack(stack).to_json()["Resources"]
    for action in ("s3:PutObject", "s3:DeleteObject*"):
        granted = _resources_granted(resources, action)
        # a {project} prefix is chosen per task: IAM can name the part before it
        assert {"plain-destination/*", "deliveries/renders/*"} <= granted, granted
        assert "deliveries/*" not in granted
    environment = resources[c.UPLOAD_FUNCTION_ID]["Properties"]["Environment"]["Variables"]
    assert json.loads(environment[c.ENV_ALLOWED_OUTPUT_BUCKETS]) == [
        {"bucket": "plain-destination", "prefix": "{project}/"},
        {"bucket": "deliveries", "prefix": "renders/{project}/"},
    ]
