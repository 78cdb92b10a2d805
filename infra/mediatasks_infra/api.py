"""The REST API: the API function behind a TOKEN authorizer, throttled per stage and per key
(a usage plan), size-limited and rate-limited per address by a web ACL, with access logs."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from mediatasks import constants as c
from mediatasks.domain.playback import PLAYBACK_ROUTE
from mediatasks_infra.common import acknowledge, override_id
from mediatasks_infra.config import StackConfig
from mediatasks_infra.data import Data
from mediatasks_infra.functions import FunctionFactory
from mediatasks_infra.pipeline import Pipeline
from mediatasks_infra.storage import Storage
from mediatasks_infra.webhooks import Webhooks

# Bodies API Gateway passes base64-encoded (a signed PUT's file); JSON bodies stay text.
UPLOAD_MEDIA_TYPES = ("application/octet-stream", "video/*", "audio/*", "image/*")
RATE_LIMITED = {"kind": "rate_limited", "message": "too many requests; retry after the Retry-After seconds"}


def error_body(kind: str, message: str) -> str:
    return json.dumps({"kind": kind, "message": message})


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        functions: FunctionFactory,
        data: Data,
        storage: Storage,
        pipeline: Pipeline,
        webhooks: Webhooks,
    ) -> None:
        super().__init__(scope, construct_id)
        # The key that signs listing cursors; only the API function may read it.
        cursor_secret = secretsmanager.Secret(
            self,
            c.CURSOR_SECRET_ID,
            description="HMAC key signing the API's listing cursors",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
        )
        override_id(cursor_secret, c.CURSOR_SECRET_ID)
        acknowledge(
            cursor_secret,
            {
                "AwsSolutions-SMG4": "rotating the cursor key only ends the cursors clients hold "
                "(they restart from page 1); docs/security.md says how to rotate it by hand"
            },
        )
        self.function = functions.create(
            c.API_FUNCTION_ID,
            "api",
            handler="mediatasks.handlers.api.handler",
            environment={
                c.ENV_STATE_MACHINE_ARN: pipeline.state_machine.state_machine_arn,
                c.ENV_CURSOR_SECRET_ARN: cursor_secret.secret_arn,
                c.ENV_DELIVERY_STATE_MACHINE_ARN: webhooks.state_machine.state_machine_arn,
                c.ENV_IDEMPOTENCY_TABLE: data.idempotency.table_name,
            },
        )
        cursor_secret.grant_read(self.function)
        data.table.grant_read_write_data(self.function)
        data.files.grant_read_write_data(self.function)  # files and media: the API's resources
        # presigned links to published files and the playlists playback serves (files/), and the
        # parts of uploads (uploads/): nothing of the work area
        storage.bucket.grant_read(self.function, f"{c.FILES_PREFIX}*")
        storage.bucket.grant_read(self.function, f"{c.UPLOADS_PREFIX}*")
        # signed PUTs and multipart uploads write the upload area; DELETE /files removes a file's objects
        storage.bucket.grant_put(self.function, f"{c.UPLOADS_PREFIX}*")
        storage.bucket.grant_delete(self.function, f"{c.FILES_PREFIX}*")
        pipeline.state_machine.grant_start_execution(self.function)
        pipeline.state_machine.grant_execution(self.function, "states:StopExecution")
        data.idempotency.grant_read_write_data(self.function)  # Idempotency-Key records
        webhooks.grant_api(self.function, data)
        self.authorizer_function = functions.create(
            c.AUTHORIZER_FUNCTION_ID,
            "authorizer",
            handler="mediatasks.handlers.authorizer.handler",
            environment={c.ENV_KEYS_TABLE: data.keys.table_name},
        )
        data.keys.grant_read_data(self.authorizer_function)
        authorizer = apigw.TokenAuthorizer(
            self,
            "KeyAuthorizer",
            handler=self.authorizer_function,
            identity_source=apigw.IdentitySource.header("Authorization"),
            results_cache_ttl=cdk.Duration.minutes(5),
        )
        self.access_logs = logs.LogGroup(self, "AccessLogs", retention=logs.RetentionDays.THREE_MONTHS)
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name="mediatasks",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # a signed PUT's body is the file: passed to the function base64-encoded, unchanged
            binary_media_types=list(UPLOAD_MEDIA_TYPES),
            # the authorizer names the caller's usage-plan key: the SHA-256 of its API key
            api_key_source_type=apigw.ApiKeySourceType.AUTHORIZER,
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name=config.stage_name,
                tracing_enabled=True,
                throttling_rate_limit=config.api_throttle.rate_limit,
                throttling_burst_limit=config.api_throttle.burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                metrics_enabled=True,
            ),
        )
        self.usage_plan = self.rest_api.add_usage_plan(
            "PerKeyPlan",
            name="mediatasks-per-key",
            description="Every API key's own rate limit (keys are added by `mediatasks keys create`)",
            throttle=apigw.ThrottleSettings(
                rate_limit=config.key_throttle.rate_limit, burst_limit=config.key_throttle.burst_limit
            ),
            api_stages=[apigw.UsagePlanPerApiStage(api=self.rest_api, stage=self.rest_api.deployment_stage)],
        )
        self._gateway_responses()
        integration = apigw.LambdaIntegration(self.function)
        tasks_resource = self.rest_api.root.add_resource("tasks")
        task_resource = tasks_resource.add_resource("{task_id}")
        task_webhooks = task_resource.add_resource("webhooks")
        root = self.rest_api.root
        files_resource, media_resource = root.add_resource("files"), root.add_resource("media")
        file_resource = files_resource.add_resource("{file_id}")
        one_media = media_resource.add_resource("{media_id}")
        automations_resource = root.add_resource("automations")
        automation_resource = automations_resource.add_resource("{automation_id}")
        uploads = root.add_resource("uploads")
        upload = uploads.add_resource("{upload_id}")
        routes = (
            (tasks_resource, "POST"),
            (tasks_resource, "GET"),
            (task_resource, "GET"),
            (task_resource.add_resource("cancel"), "POST"),
            (task_webhooks, "GET"),
            (task_webhooks.add_resource("replay"), "POST"),
            (root.add_resource("webhooks").add_resource("secret"), "POST"),
            *((files_resource, method) for method in ("GET", "POST")),
            *((file_resource, method) for method in ("GET", "PATCH", "DELETE")),
            *((media_resource, method) for method in ("GET", "POST")),
            *((one_media, method) for method in ("GET", "PATCH", "DELETE")),
            *((automations_resource, method) for method in ("GET", "POST")),
            *((automation_resource, method) for method in ("GET", "PATCH", "DELETE")),
            (root.add_resource("signatures"), "POST"),
            (uploads, "POST"),
            (upload, "GET"),
            (upload.add_resource("parts"), "POST"),
            (upload.add_resource("complete"), "POST"),
        )
        for resource, method in routes:
            resource.add_method(
                method,
                integration,
                authorizer=authorizer,
                authorization_type=apigw.AuthorizationType.CUSTOM,
                api_key_required=True,
            )
        # the API's description is public, like the rest of its documentation
        openapi = self.rest_api.root.add_resource("openapi.json").add_method("GET", integration)
        acknowledge(
            openapi,
            {
                "AwsSolutions-APIG4": "the OpenAPI document is public documentation; it holds no data",
                "AwsSolutions-COG4": "the OpenAPI document is public documentation; it holds no data",
            },
        )
        # the web console's files are public like the description: the page asks for a key and
        # keeps it in the browser's session (docs/console.md)
        console_resource = self.rest_api.root.add_resource(c.CONSOLE_ROUTE.strip("/"))
        for resource in (console_resource, console_resource.add_resource("{path+}")):
            acknowledge(
                resource.add_method("GET", integration),
                {
                    "AwsSolutions-APIG4": "the console's HTML, CSS and scripts are public; every call "
                    "the page makes to the API carries the key the user signs in with",
                    "AwsSolutions-COG4": "the console's files are public; its API calls carry the user's key",
                },
            )
        # signed URLs carry their own credential: the API function verifies each one's signature
        signed = self.rest_api.root.add_resource(c.SIGNED_ROUTE.strip("/"))
        for method in ("GET", "PUT"):
            acknowledge(
                signed.add_method(method, integration),
                {
                    "AwsSolutions-APIG4": "a signed URL is its own credential (an HMAC over its method, "
                    "project, path and expiry that the API function verifies); browsers use it without a key",
                    "AwsSolutions-COG4": "a signed URL is its own credential, verified by the API function",
                },
            )
        # an HLS output's playlists, served rewritten (domain/playback.py): a playback URL is its own
        # credential too, verified by the function on every request
        playback = (
            self.rest_api.root.add_resource(PLAYBACK_ROUTE.strip("/"))
            .add_resource("{task_id}")
            .add_resource("{path+}")
            .add_method("GET", integration)
        )
        acknowledge(
            playback,
            {
                "AwsSolutions-APIG4": "a playback URL is its own credential (an HMAC over its project, "
                "task, playlist path and expiry that the API function verifies); players need no key",
                "AwsSolutions-COG4": "a playback URL is its own credential, verified by the API function",
            },
        )
        self.web_acl = self._web_acl(config)
        self._acknowledge_findings()
        cdk.CfnOutput(scope, c.OUTPUT_API_URL, value=self.rest_api.url)
        cdk.CfnOutput(scope, c.OUTPUT_USAGE_PLAN_ID, value=self.usage_plan.usage_plan_id)

    def _gateway_responses(self) -> None:
        # Only a request without the header is UNAUTHORIZED; a key the authorizer does not know gets
        # no usage-plan key, so API Gateway refuses it as INVALID_API_KEY.
        responses = {
            "MissingToken": (
                apigw.ResponseType.UNAUTHORIZED,
                "401",
                error_body("token_missing", "send your API key as `Authorization: Bearer <key>`"),
            ),
            "InvalidToken": (
                apigw.ResponseType.INVALID_API_KEY,
                "401",
                error_body("token_invalid", "the API key is not valid"),
            ),
            "Throttled": (apigw.ResponseType.THROTTLED, "429", json.dumps(RATE_LIMITED)),
            "QuotaExceeded": (apigw.ResponseType.QUOTA_EXCEEDED, "429", json.dumps(RATE_LIMITED)),
            "TooLarge": (
                apigw.ResponseType.REQUEST_TOO_LARGE,
                "413",
                error_body("payload_too_large", "the request is larger than API Gateway accepts"),
            ),
        }
        for name, (response_type, status, body) in responses.items():
            self.rest_api.add_gateway_response(
                name,
                type=response_type,
                status_code=status,
                response_headers={"Retry-After": "'1'"} if status == "429" else None,
                templates={"application/json": body},
            )

    def _web_acl(self, config: StackConfig) -> wafv2.CfnWebACL:
        """Bounds header, body, path and query sizes and each address's request rate before a
        request reaches API Gateway's authorizer or any function."""
        too_large = "payload_too_large"
        rules = [
            _size_rule(1, "HeadersTooLarge", {"headers": _ALL_HEADERS}, c.MAX_HEADER_BYTES, too_large),
            _size_rule(
                2,
                "BodyTooLarge",
                {"body": {"oversizeHandling": "MATCH"}},
                c.MAX_BODY_BYTES,
                too_large,
                # a signed PUT's body is a file, bounded by the function (MAX_SIGNED_PUT_BYTES)
                except_path_suffix=c.SIGNED_ROUTE,
            ),
            _size_rule(3, "PathTooLong", {"uriPath": {}}, c.MAX_PATH_BYTES, too_large),
            _size_rule(4, "QueryTooLong", {"queryString": {}}, c.MAX_QUERY_BYTES, too_large),
            wafv2.CfnWebACL.RuleProperty(
                name="RatePerAddress",
                priority=5,
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP", limit=config.ip_rate_limit, evaluation_window_sec=300
                    )
                ),
                action=_block(429, "rate_limited", retry_after=True),
                visibility_config=_visibility("RatePerAddress"),
            ),
            wafv2.CfnWebACL.RuleProperty(
                name="KnownBadInputs",
                priority=6,
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name="AWSManagedRulesKnownBadInputsRuleSet"
                    )
                ),
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                visibility_config=_visibility("KnownBadInputs"),
            ),
        ]
        web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=cdk.Aws.STACK_NAME,
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            visibility_config=_visibility("mediatasks"),
            custom_response_bodies={
                kind: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content=body
                )
                for kind, body in {
                    too_large: error_body(
                        too_large, "the request's headers, path, query or body are too large"
                    ),
                    "rate_limited": json.dumps(RATE_LIMITED),
                }.items()
            },
            # inspect whole bodies up to the API's own limit (API Gateway's default is 8 KB)
            association_config=wafv2.CfnWebACL.AssociationConfigProperty(
                request_body={
                    "API_GATEWAY": wafv2.CfnWebACL.RequestBodyAssociatedResourceTypeConfigProperty(
                        default_size_inspection_limit="KB_64"
                    )
                }
            ),
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.rest_api.deployment_stage.stage_arn,
            web_acl_arn=web_acl.attr_arn,
        )
        return web_acl

    def _acknowledge_findings(self) -> None:
        acknowledge(
            self.rest_api,
            {
                "AwsSolutions-APIG2": "request bodies and parameters are validated by the API function "
                "with the pydantic models the OpenAPI document is generated from, so the contract has "
                "one source of truth and errors have the contract's shape",
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]": "the AWS managed policy API Gateway's account "
                "role needs to write execution logs",
            },
        )
        for method in self.rest_api.methods:
            acknowledge(
                method,
                {
                    "AwsSolutions-COG4": "callers authenticate with project API keys checked by the "
                    "TOKEN authorizer (SHA-256 lookups in DynamoDB), not Cognito users",
                },
            )


_ALL_HEADERS = {"matchPattern": {"all": {}}, "matchScope": "ALL", "oversizeHandling": "MATCH"}


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def _block(status: int, kind: str, *, retry_after: bool = False) -> wafv2.CfnWebACL.RuleActionProperty:
    headers = (
        [wafv2.CfnWebACL.CustomHTTPHeaderProperty(name="Retry-After", value="60")] if retry_after else None
    )
    return wafv2.CfnWebACL.RuleActionProperty(
        block=wafv2.CfnWebACL.BlockActionProperty(
            custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                response_code=status, custom_response_body_key=kind, response_headers=headers
            )
        )
    )


def _size_rule(
    priority: int,
    name: str,
    field: dict[str, object],
    limit: int,
    kind: str,
    *,
    except_path_suffix: str | None = None,
) -> wafv2.CfnWebACL.RuleProperty:
    no_transformation = [wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")]
    statement = wafv2.CfnWebACL.StatementProperty(
        size_constraint_statement=wafv2.CfnWebACL.SizeConstraintStatementProperty(
            field_to_match=field, comparison_operator="GT", size=limit, text_transformations=no_transformation
        )
    )
    if except_path_suffix is not None:
        exempt = wafv2.CfnWebACL.StatementProperty(
            byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                field_to_match={"uriPath": {}},
                positional_constraint="ENDS_WITH",
                search_string=except_path_suffix,
                text_transformations=no_transformation,
            )
        )
        statement = wafv2.CfnWebACL.StatementProperty(
            and_statement=wafv2.CfnWebACL.AndStatementProperty(
                statements=[
                    statement,
                    wafv2.CfnWebACL.StatementProperty(
                        not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=exempt)
                    ),
                ]
            )
        )
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        statement=statement,
        action=_block(413, kind),
        visibility_config=_visibility(name),
    )
