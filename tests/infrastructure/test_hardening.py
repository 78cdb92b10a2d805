"""What reviewers look for in the template: cdk-nag's AwsSolutions pack, least-privilege IAM,
API limits (per key, per stage, per address, sizes), access logs, triggers and alarms, and the
configuration each comes from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from mediatasks import constants as c
from mediatasks.local.stack import DEMO_TRIGGER_RULES
from mediatasks_infra.app import build_app
from tests.support.infrastructure import WITH_TRIGGERS

# Actions AWS only grants on "*": they take no resource ARN.
# a CDK synth checked by cdk-nag per case: about 10 s
pytestmark = pytest.mark.slow

ACTIONS_WITHOUT_RESOURCES = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "s3:PutBucketNotification",  # CDK's notifications handler: the bucket is named at deploy time
    "dynamodb:ListStreams",  # the stream event source of the webhook dispatcher
    "rekognition:DetectModerationLabels",  # the nsfw track step: moderating image bytes names no resource
    # nsfw on a video: Rekognition's video jobs have no resource type in IAM (it reads the video with
    # the starting function's own S3 grant on the work prefix)
    "rekognition:StartContentModeration",
    "rekognition:GetContentModeration",
}


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    _, stack = build_app(WITH_TRIGGERS)
    resources: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return resources


def of_type(resources: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in resources.items() if v["Type"] == resource_type}


@pytest.mark.parametrize(
    "context",
    [
        {},
        WITH_TRIGGERS,
        WITH_TRIGGERS | {"mediatasks:architecture": "x86_64"},
        WITH_TRIGGERS
        | {
            "mediatasks:triggerBucketName": "customer-uploads",
            "mediatasks:allowedInputBuckets": ["shared-library"],
            "mediatasks:allowedOutputBuckets": ["customer-destination"],
        },
    ],
    ids=["no-triggers", "triggers", "x86_64", "existing-buckets"],
)
def test_cdk_nag_finds_nothing_unacknowledged(context: dict[str, Any], tmp_path: Path) -> None:
    """AwsSolutions runs on every synth (an unacknowledged finding fails it, see the next test)."""
    app, _ = build_app(context, outdir=str(tmp_path))
    app.synth()
    report = tmp_path / "validation-report.json"
    reports = json.loads(report.read_text())["pluginReports"] if report.exists() else []
    assert [r for r in reports if r.get("conclusion") == "failure"] == []


def test_cdk_nag_fails_the_synth_on_a_new_finding(tmp_path: Path) -> None:
    app, stack = build_app(outdir=str(tmp_path))
    s3.Bucket(stack, "CarelessBucket")  # no TLS rule, no access logs
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    violations = json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"][0][
        "violations"
    ]
    rules = {v["ruleName"] for v in violations}
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= rules
    assert {
        path for v in violations for vc in v["violatingConstructs"] for path in [vc["constructPath"]]
    } == {"MediaTasks/CarelessBucket/Resource"}


def test_no_policy_grants_every_action_and_star_resources_only_where_aws_requires(
    resources: dict[str, Any],
) -> None:
    for name, props in of_type(resources, "AWS::IAM::Policy").items():
        for statement in props["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert "*" not in actions, name
            assert not any(action.endswith(":*") for action in actions), (name, actions)
            if statement.get("Resource") == "*":
                assert set(actions) <= ACTIONS_WITHOUT_RESOURCES, (name, actions)


def test_each_key_has_its_own_rate_limit_and_the_stage_one_too(resources: dict[str, Any]) -> None:
    config = json.loads(Path("cdk.json").read_text())["context"]
    (plan,) = of_type(resources, "AWS::ApiGateway::UsagePlan").values()
    assert plan["Throttle"] == {
        "RateLimit": config["mediatasks:keyThrottle"]["rateLimit"],
        "BurstLimit": config["mediatasks:keyThrottle"]["burstLimit"],
    }
    (api,) = of_type(resources, "AWS::ApiGateway::RestApi").values()
    assert api["ApiKeySourceType"] == "AUTHORIZER"
    (stage,) = of_type(resources, "AWS::ApiGateway::Stage").values()
    (settings,) = stage["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == config["mediatasks:apiThrottle"]["rateLimit"]
    assert settings["LoggingLevel"] == "ERROR"
    assert stage["StageName"] == config["mediatasks:stageName"]
    assert "DestinationArn" in stage["AccessLogSetting"]
    assert json.loads(stage["AccessLogSetting"]["Format"])["status"] == "$context.status"


def test_the_web_acl_bounds_sizes_and_rates_before_api_gateway(resources: dict[str, Any]) -> None:
    (acl,) = of_type(resources, "AWS::WAFv2::WebACL").values()

    def size_statement(statement: dict[str, Any]) -> dict[str, Any] | None:
        if "SizeConstraintStatement" in statement:
            return dict(statement["SizeConstraintStatement"])
        parts = statement.get("AndStatement", {}).get("Statements", [])
        return next((found for part in parts if (found := size_statement(part))), None)

    sizes = {
        rule["Name"]: found["Size"] for rule in acl["Rules"] if (found := size_statement(rule["Statement"]))
    }
    assert sizes == {
        "HeadersTooLarge": c.MAX_HEADER_BYTES,
        "BodyTooLarge": c.MAX_BODY_BYTES,
        "PathTooLong": c.MAX_PATH_BYTES,
        "QueryTooLong": c.MAX_QUERY_BYTES,
    }
    # only a signed PUT's body may be larger: it is the file, bounded by the API function
    body_rule = next(rule for rule in acl["Rules"] if rule["Name"] == "BodyTooLarge")
    (_, spared) = body_rule["Statement"]["AndStatement"]["Statements"]
    match = spared["NotStatement"]["Statement"]["ByteMatchStatement"]
    assert (match["FieldToMatch"], match["PositionalConstraint"], match["SearchString"]) == (
        {"UriPath": {}},
        "ENDS_WITH",
        c.SIGNED_ROUTE,
    )
    rate = next(rule for rule in acl["Rules"] if rule["Name"] == "RatePerAddress")
    assert rate["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    assert rate["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    (association,) = of_type(resources, "AWS::WAFv2::WebACLAssociation").values()
    assert "Fn::GetAtt" in association["WebACLArn"]


def test_uploads_reach_the_trigger_through_a_queue_with_a_dead_letter_queue(
    resources: dict[str, Any],
) -> None:
    queue = resources[c.TRIGGER_QUEUE_ID]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 3
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": [c.TRIGGER_DEAD_LETTER_QUEUE_ID, "Arn"]
    }
    assert queue["SqsManagedSseEnabled"] is True
    (mapping,) = [
        props
        for props in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
        if props["FunctionName"] == {"Ref": c.TRIGGER_FUNCTION_ID}
    ]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    (notifications,) = of_type(resources, "Custom::S3BucketNotifications").values()
    (queued,) = notifications["NotificationConfiguration"]["QueueConfigurations"]
    assert queued["Events"] == ["s3:ObjectCreated:*"]
    assert queued["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "incoming/"}]
    env = resources[c.TRIGGER_FUNCTION_ID]["Properties"]["Environment"]["Variables"]
    assert json.loads(env[c.ENV_TRIGGER_RULES]) == DEMO_TRIGGER_RULES


def test_an_existing_bucket_can_be_watched_and_is_readable_only_by_ingest_and_probe() -> None:
    _, stack = build_app(WITH_TRIGGERS | {"mediatasks:triggerBucketName": "customer-uploads"})
    resources = Template.from_stack(stack).to_json()["Resources"]
    assert len(of_type(resources, "AWS::S3::Bucket")) == 2  # no watched bucket of ours
    (notifications,) = of_type(resources, "Custom::S3BucketNotifications").values()
    assert notifications["BucketName"] == "customer-uploads"
    readers = {
        name.split("ServiceRole")[0]
        for name, props in of_type(resources, "AWS::IAM::Policy").items()
        if "customer-uploads" in json.dumps(props)
    }
    # ingest fetches every input, the probe reads a probe task's input in place (in ranges), and
    # CDK's notifications handler may only set that bucket's notifications
    assert readers == {
        c.INGEST_FUNCTION_ID,
        c.PROBE_FUNCTION_ID,
        "WatchedTriggerBucketNotificationsHandlerPolicy175FDCD3",
    }


def test_no_triggers_without_rules() -> None:
    _, stack = build_app({"mediatasks:triggerRules": []})
    resources = Template.from_stack(stack).to_json()["Resources"]
    assert of_type(resources, "AWS::SQS::Queue") == {}
    assert c.TRIGGER_FUNCTION_ID not in resources


def test_function_sizes_and_stage_come_from_context() -> None:
    sizes = json.loads(Path("cdk.json").read_text())["context"]["mediatasks:functionSizes"]
    sizes["encode"] = {"memoryMb": 10240, "timeoutSeconds": 600, "diskMb": 4096}
    _, stack = build_app({"mediatasks:functionSizes": sizes, "mediatasks:stageName": "prod"})
    resources = Template.from_stack(stack).to_json()["Resources"]
    encode = resources[c.ENCODE_FUNCTION_ID]["Properties"]
    assert (encode["MemorySize"], encode["Timeout"], encode["EphemeralStorage"]) == (
        10240,
        600,
        {"Size": 4096},
    )
    (stage,) = of_type(resources, "AWS::ApiGateway::Stage").values()
    assert stage["StageName"] == "prod"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"mediatasks:triggerRules": [{"prefix": "a/", "project": "p", "kind": "video",
                                       "options": {"fps": 0}}]}, "fps"),
        ({"mediatasks:functionSizes": {"api": {"memoryMb": 512, "timeoutSeconds": 29}}}, "lacks"),
        ({"mediatasks:architecture": "sparc"}, "architecture"),
    ],
)  # fmt: skip
def test_bad_configuration_fails_synth_with_a_clear_error(context: dict[str, Any], message: str) -> None:
    with pytest.raises(Exception, match=message):
        build_app(context)


def test_alarms_cover_failures_dead_letters_5xx_and_throttles(resources: dict[str, Any]) -> None:
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    metrics = {
        props.get("MetricName") or "+".join(m["Id"] for m in props.get("Metrics", []))
        for props in alarms.values()
    }
    assert {"ExecutionsFailed", "ExecutionsTimedOut", "5XXError", "4XXError", "BlockedRequests",
            "ApproximateNumberOfMessagesVisible"} <= metrics  # fmt: skip
    throttle_alarms = [
        props for props in alarms.values() if "t0" in "+".join(m["Id"] for m in props.get("Metrics", []))
    ]
    watched = sum(1 for props in throttle_alarms for m in props["Metrics"] if m["Id"].startswith("t"))
    functions = of_type(resources, "AWS::Lambda::Function").values()
    ours = [props for props in functions if str(props.get("Handler", "")).startswith("mediatasks.")]
    assert watched == len(ours)  # every one of ours (not CDK's custom resources' handlers)
    (topic,) = of_type(resources, "AWS::SNS::Topic")
    assert all(props["AlarmActions"] == [{"Ref": topic}] for props in alarms.values())


def test_constants_name_the_resources_the_local_stack_looks_up(resources: dict[str, Any]) -> None:
    for logical_id in (
        c.TASKS_TABLE_ID, c.KEYS_TABLE_ID, c.FILES_TABLE_ID, c.IDEMPOTENCY_TABLE_ID, c.MEDIA_BUCKET_ID,
        c.TRIGGER_BUCKET_ID, c.TRIGGER_QUEUE_ID, c.TRIGGER_DEAD_LETTER_QUEUE_ID, c.STATE_MACHINE_ID,
        c.WEBHOOK_SECRETS_TABLE_ID, c.WEBHOOK_DELIVERIES_TABLE_ID, c.WEBHOOK_KEY_ID,
        c.DELIVERY_STATE_MACHINE_ID, c.DELIVER_FUNCTION_ID, c.DISPATCH_FUNCTION_ID,
    ):  # fmt: skip
        assert logical_id in resources


def test_constants_name_the_stack_outputs_ops_read() -> None:
    _, stack = build_app(WITH_TRIGGERS)
    outputs = set(Template.from_stack(stack).to_json()["Outputs"])
    # besides ours, only the endpoint output CDK's RestApi always adds (the same URL as ApiUrl)
    assert {name for name in outputs if not name.startswith("ApiRestApiEndpoint")} == {
        c.OUTPUT_API_URL, c.OUTPUT_USAGE_PLAN_ID, c.OUTPUT_KEYS_TABLE, c.OUTPUT_MEDIA_BUCKET,
        c.OUTPUT_TRIGGER_BUCKET, c.OUTPUT_ALARM_TOPIC, c.OUTPUT_WEBHOOK_SECRETS_TABLE,
    }  # fmt: skip
