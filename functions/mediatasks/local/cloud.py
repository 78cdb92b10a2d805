"""The embedded AWS emulation: moto in server mode on loopback, holding the template's table, bucket
and state machine, with Step Functions executing the synthesized definition and its Lambda tasks
dispatched in-process to the same Python handlers that run in AWS."""

from __future__ import annotations

import importlib
import json
import logging
import os
import secrets
import socket
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import boto3
import httpx
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.config import default_user_config
from moto.server import ThreadedMotoServer
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)

from mediatasks import constants as c
from mediatasks.local import emulator_fixes
from mediatasks.local.faults import injector
from mediatasks.local.template import ACCOUNT_ID, REGION, LocalNames, function_arn, resources_of_type

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import CORSRuleTypeDef

Handler = Callable[[dict[str, Any], Any], Any]
STATE_MACHINE_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/mediatasks-local-state-machine"
_TABLE_CREATE_KEYS = (
    "KeySchema",
    "AttributeDefinitions",
    "BillingMode",
    "GlobalSecondaryIndexes",
    "StreamSpecification",
)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class LocalLambdaContext:
    """The attributes of Lambda's context object that our handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    invoked_function_arn: str = ""
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "local"
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000)


@dataclass(frozen=True)
class LocalFunction:
    logical_id: str
    handler_path: str
    memory: int
    timeout: int

    def handler(self) -> Handler:
        module_name, function_name = self.handler_path.rsplit(".", 1)
        handler: Handler = getattr(importlib.import_module(module_name), function_name)
        return handler

    def context(self) -> LocalLambdaContext:
        return LocalLambdaContext(
            function_name=self.logical_id,
            memory_limit_in_mb=self.memory,
            timeout_seconds=self.timeout,
            invoked_function_arn=function_arn(self.logical_id),
        )


def invoke_in_process(function: LocalFunction, payload: bytes, response_headers: dict[str, str]) -> bytes:
    """Runs a handler as Lambda would, reporting an exception the way Lambda reports it."""
    event = json.loads(payload or b"{}")
    try:
        result = function.handler()(event, function.context())
    except Exception as error:
        logging.getLogger("mediatasks.local").info(
            "%s raised %s: %s", function.logical_id, type(error).__name__, error
        )
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(
            {"errorType": type(error).__name__, "errorMessage": str(error), "stackTrace": []}
        ).encode()
    return json.dumps(result).encode()


class LocalCloud:
    """Starts moto on loopback and creates the template's resources in it."""

    def __init__(self, template: dict[str, Any], *, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.template = template
        self.faults = injector()
        self.host = host
        self.port = port or free_port(host)
        self.endpoint = f"http://{host}:{self.port}"
        self.names = LocalNames(
            refs={
                c.TASKS_TABLE_ID: "mediatasks-tasks",
                c.CURSOR_SECRET_ID: "mediatasks-listing-cursor",
                c.KEYS_TABLE_ID: "mediatasks-api-keys",
                c.FILES_TABLE_ID: "mediatasks-files",
                c.IDEMPOTENCY_TABLE_ID: "mediatasks-idempotency",
                c.WEBHOOK_SECRETS_TABLE_ID: "mediatasks-webhook-secrets",
                c.WEBHOOK_DELIVERIES_TABLE_ID: "mediatasks-webhook-deliveries",
                c.SLOTS_TABLE_ID: "mediatasks-running-slots",
                c.MEDIA_BUCKET_ID: "mediatasks-media",
                c.TRIGGER_BUCKET_ID: _watched_bucket_name(template),
                c.TRIGGER_QUEUE_ID: "mediatasks-trigger",
                c.TRIGGER_DEAD_LETTER_QUEUE_ID: "mediatasks-trigger-dead-letters",
                c.STATE_MACHINE_ID: f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:mediatasks-tasks",
                c.DELIVERY_STATE_MACHINE_ID: f"arn:aws:states:{REGION}:{ACCOUNT_ID}"
                ":stateMachine:mediatasks-webhook-deliveries",
                c.WORKFLOW_STATE_MACHINE_ID: f"arn:aws:states:{REGION}:{ACCOUNT_ID}"
                ":stateMachine:mediatasks-workflows",
            },
            types={logical_id: resource["Type"] for logical_id, resource in template["Resources"].items()},
        )
        self.functions = {
            logical_id: LocalFunction(
                logical_id=logical_id,
                handler_path=props["Handler"],
                memory=int(props.get("MemorySize", 128)),
                timeout=int(props.get("Timeout", 3)),
            )
            for logical_id, props in resources_of_type(template, "AWS::Lambda::Function").items()
            if logical_id in _OUR_FUNCTIONS
        }
        self._server: ThreadedMotoServer | None = None
        # this process's environment before start() pointed its AWS SDK here; stop() puts it back,
        # so a stack run inside a test process leaves no endpoint behind for the next test
        self._environment_before: dict[str, str] | None = None
        self._moto_before: tuple[Any, Any, Any] | None = None

    def function_environment(self) -> dict[str, str]:
        """The union of our functions' environments from the template, resolved to local names."""
        merged: dict[str, str] = {}
        functions = resources_of_type(self.template, "AWS::Lambda::Function")
        for logical_id in self.functions:
            variables = self.names.resolve(functions[logical_id].get("Environment", {}).get("Variables", {}))
            for name, value in variables.items():
                if merged.get(name, value) != value:
                    raise RuntimeError(
                        f"functions disagree on {name}; the local stack runs them in one process"
                    )
                merged[name] = str(value)
        return merged

    def authorizer_cache_seconds(self) -> int:
        (props,) = resources_of_type(self.template, "AWS::ApiGateway::Authorizer").values()
        return int(props.get("AuthorizerResultTtlInSeconds", 300))

    def state_machine_definition(self, logical_id: str = c.STATE_MACHINE_ID) -> str:
        props = resources_of_type(self.template, "AWS::StepFunctions::StateMachine")[logical_id]
        definition: str = self.names.resolve(props["DefinitionString"])
        return definition

    def _dispatch(self) -> Callable[..., bytes]:
        by_arn = {function_arn(logical_id): fn for logical_id, fn in self.functions.items()}
        by_arn |= {logical_id: fn for logical_id, fn in self.functions.items()}

        def invoke(
            backend: LambdaSimpleBackend,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: dict[str, str],
        ) -> bytes:
            function = by_arn.get(function_name)
            if function is None:
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps(
                    {"errorType": "ResourceNotFoundException", "errorMessage": function_name}
                ).encode()
            if self.faults is not None:
                self.faults.before_invoke(function.logical_id)
            payload = body.encode() if isinstance(body, str) else body
            return invoke_in_process(function, payload, response_headers)

        return invoke

    def start(self, environment: dict[str, str]) -> None:
        """Starts the emulator, points this process's AWS SDK at it and creates the resources."""
        # moto's settings and its Lambda seam are the process's: stop() gives back what was there,
        # so a later mock_aws() in this process (a test) runs neither our handlers nor executions
        self._moto_before = (
            default_user_config["lambda"],
            default_user_config["stepfunctions"],
            LambdaSimpleBackend.invoke,
        )
        default_user_config["lambda"] = {"use_docker": False}
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        # The documented seam of moto's Docker-free Lambda backend: its invoke runs our handlers.
        LambdaSimpleBackend.invoke = self._dispatch()  # type: ignore[method-assign]
        emulator_fixes.apply()
        map_nested_execution_fields()
        self._environment_before = dict(os.environ)
        os.environ.update(
            {
                "MOTO_PORT": str(self.port),
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "POWERTOOLS_TRACE_DISABLED": "true",
                # metrics are CloudWatch's (EMF lines on stdout); locally they would only be noise
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
            }
        )
        os.environ.pop("AWS_PROFILE", None)
        if self.faults is not None:
            self.faults.install()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # the interpreter logs every failed execution at length; a task records why it failed
        logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        self._create_resources()
        os.environ.update(environment)
        _reset_cached_clients()

    def _create_resources(self) -> None:
        dynamodb = boto3.client("dynamodb")
        for table_id in resources_of_type(self.template, "AWS::DynamoDB::Table"):
            dynamodb.create_table(**table_definition(self.template, table_id, self.names.refs[table_id]))
        # a key of its own for each local stack, as each deployment generates one
        boto3.client("secretsmanager").create_secret(
            Name=self.names.refs[c.CURSOR_SECRET_ID], SecretString=secrets.token_urlsafe(48)
        )
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=self.names.refs[c.MEDIA_BUCKET_ID])
        cors = resources_of_type(self.template, "AWS::S3::Bucket")[c.MEDIA_BUCKET_ID].get("CorsConfiguration")
        if cors:  # browsers' players read segments across origins, as from the deployed bucket
            rules = [_cors_rule(rule) for rule in cors["CorsRules"]]
            s3.put_bucket_cors(
                Bucket=self.names.refs[c.MEDIA_BUCKET_ID], CORSConfiguration={"CORSRules": rules}
            )
        sqs = boto3.client("sqs")
        # dead-letter queues first: a queue's redrive policy names its dead-letter queue's ARN
        queues = sorted(
            resources_of_type(self.template, "AWS::SQS::Queue").items(),
            key=lambda item: "RedrivePolicy" in item[1],
        )
        for queue_id, props in queues:
            attributes = {
                name: json.dumps(self.names.resolve(props[name]))
                if name == "RedrivePolicy"
                else str(props[name])
                for name in ("RedrivePolicy", "VisibilityTimeout", "MessageRetentionPeriod")
                if name in props
            }
            sqs.create_queue(QueueName=self.names.refs[queue_id], Attributes=attributes)
        for props in resources_of_type(self.template, "Custom::S3BucketNotifications").values():
            bucket = self.names.resolve(props["BucketName"])
            if bucket != self.names.refs[c.MEDIA_BUCKET_ID]:
                s3.create_bucket(Bucket=bucket)  # the watched bucket, created by the stack or the user's own
            configuration = self.names.resolve(props["NotificationConfiguration"])
            s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)
        for machine_id in resources_of_type(self.template, "AWS::StepFunctions::StateMachine"):
            boto3.client("stepfunctions").create_state_machine(
                name=self.names.refs[machine_id].rsplit(":", 1)[1],
                definition=self.state_machine_definition(machine_id),
                roleArn=STATE_MACHINE_ROLE,
            )
        self._create_keys()

    def _create_keys(self) -> None:
        """The template's KMS keys, each under its aliases (the functions name keys by alias)."""
        kms = boto3.client("kms")
        aliases = resources_of_type(self.template, "AWS::KMS::Alias").values()
        for key_id, props in resources_of_type(self.template, "AWS::KMS::Key").items():
            created = kms.create_key(Description=str(props.get("Description", key_id)))["KeyMetadata"][
                "KeyId"
            ]
            for alias in aliases:
                if alias["TargetKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}:
                    kms.create_alias(AliasName=alias["AliasName"], TargetKeyId=created)

    def create_buckets(self, names: tuple[str, ...]) -> None:
        """Buckets standing in for the user's own, e.g. `output` destinations."""
        s3 = boto3.client("s3")
        for name in names:
            s3.create_bucket(Bucket=name)

    def stop(self) -> None:
        if self._server is not None:
            # moto keeps every service's state in this process, past its server: emptied, so that
            # another stack started here later begins with no tables, buckets or machines
            httpx.post(f"{self.endpoint}/moto-api/reset", timeout=30, trust_env=False).raise_for_status()
            self._server.stop()
            self._server = None
        if self._moto_before is not None:
            default_user_config["lambda"], default_user_config["stepfunctions"], invoke = self._moto_before
            LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
            self._moto_before = None
        if self._environment_before is not None:
            os.environ.clear()
            os.environ.update(self._environment_before)
            self._environment_before = None
            _reset_cached_clients()


_OUR_FUNCTIONS = (
    c.API_FUNCTION_ID,
    c.PROBE_FUNCTION_ID,
    c.INGEST_FUNCTION_ID,
    c.ENCODE_FUNCTION_ID,
    c.UPLOAD_FUNCTION_ID,
    c.FAIL_FUNCTION_ID,
    c.SPLIT_FUNCTION_ID,
    c.SEGMENT_FUNCTION_ID,
    c.JOIN_FUNCTION_ID,
    c.AUTHORIZER_FUNCTION_ID,
    c.TRIGGER_FUNCTION_ID,
    c.AUTOMATIONS_FUNCTION_ID,
    c.DELIVER_FUNCTION_ID,
    c.DISPATCH_FUNCTION_ID,
    c.RECONCILE_FUNCTION_ID,
    c.SWEEP_FUNCTION_ID,
    c.WAIT_FOR_SLOT_FUNCTION_ID,
    c.RELEASE_SLOT_FUNCTION_ID,
    c.TRANSCRIBE_FUNCTION_ID,
    c.TRANSCRIPT_STATUS_FUNCTION_ID,
    c.TRACK_FUNCTION_ID,
    c.MODERATE_FUNCTION_ID,
    c.MODERATION_STATUS_FUNCTION_ID,
    c.WORKFLOW_FUNCTION_ID,
    c.HTTP_STEP_FUNCTION_ID,
)


def _watched_bucket_name(template: dict[str, Any]) -> str:
    """The user's own bucket when the stack watches one by name, else what the emulator calls ours."""
    for props in resources_of_type(template, "Custom::S3BucketNotifications").values():
        if isinstance(props["BucketName"], str):
            return props["BucketName"]
    return "mediatasks-uploads"


def table_definition(template: dict[str, Any], logical_id: str, table_name: str) -> dict[str, Any]:
    """CreateTable arguments for a table as the template defines it."""
    props = resources_of_type(template, "AWS::DynamoDB::Table")[logical_id]
    definition = {"TableName": table_name, **{key: props[key] for key in _TABLE_CREATE_KEYS if key in props}}
    if "StreamSpecification" in definition:  # CloudFormation's form leaves StreamEnabled implied
        definition["StreamSpecification"] = {"StreamEnabled": True, **definition["StreamSpecification"]}
    return definition


def _reset_cached_clients() -> None:
    """Handlers cache their settings and AWS clients (module-level functools caches); the local stack
    has just changed both, so every cache of every loaded handler module is emptied (a list of them
    by hand once missed four, whose clients kept a stopped emulator's address)."""
    from mediatasks import config

    config.settings.cache_clear()
    for name, module in list(sys.modules.items()):
        if not name.startswith("mediatasks.handlers.") or module is None:
            continue
        for value in vars(module).values():
            if getattr(value, "__module__", None) == name and callable(getattr(value, "cache_clear", None)):
                value.cache_clear()


def map_nested_execution_fields() -> None:
    """moto's interpreter (ported from LocalStack without its parameter mapping) hands a
    `states:startExecution(.sync, .sync:2)` state's parameters to boto3 as the state names them
    (`StateMachineArn`, `Input`, `Name`), where the API's members are `stateMachineArn`, `input`,
    `name` (boto3 fails: KeyError 'StateMachineArn'), and hands the API's answers back unmapped, where
    Step Functions gives the state `ExecutionArn`, `Output`, ... and the .sync waiter reads them so.
    This is that mapping, for the one service integration the workflow machine uses: a nested
    execution of another state machine, as in AWS. Mapping twice changes nothing."""
    if getattr(StateTaskServiceSfn, "_fields_mapped", False):
        return
    parameters_as_given = StateTaskServiceSfn._normalise_parameters
    answer_as_given = StateTaskServiceSfn._normalise_response

    def api_parameters(
        self: StateTaskServiceSfn,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        parameters_as_given(self, parameters, boto_service_name, service_action_name)
        if service_action_name is None:  # the state's own parameters, not the waiter's calls
            for name in list(parameters):
                parameters[name[:1].lower() + name[1:]] = parameters.pop(name)

    def state_answer(
        self: StateTaskServiceSfn,
        response: Any,
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        answer_as_given(self, response, boto_service_name, service_action_name)
        if isinstance(response, dict):
            for name in list(response):
                response[name[:1].upper() + name[1:]] = response.pop(name)

    setattr(StateTaskServiceSfn, "_normalise_parameters", api_parameters)  # noqa: B010 - moto's seam
    setattr(StateTaskServiceSfn, "_normalise_response", state_answer)  # noqa: B010 - moto's seam
    setattr(StateTaskServiceSfn, "_fields_mapped", True)  # noqa: B010 - marks the class as mapped


def _cors_rule(rule: dict[str, Any]) -> CORSRuleTypeDef:
    """A CloudFormation CorsRule as S3's PutBucketCors takes it (the same fields, three renamed)."""
    renamed = {"MaxAge": "MaxAgeSeconds", "Id": "ID", "ExposedHeaders": "ExposeHeaders"}
    return cast("CORSRuleTypeDef", {renamed.get(name, name): value for name, value in rule.items()})
