"""The Python functions: one code asset, the runtime, the architecture, tracing, Powertools."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from mediatasks_infra.common import FUNCTIONS_DIR, RUNTIME, acknowledge, override_id
from mediatasks_infra.config import FunctionRole, StackConfig

POWERTOOLS_ACCOUNT = "017000801446"


class FunctionFactory:
    """Functions sharing code, runtime, architecture, tracing and Powertools' published layer
    (referenced by ARN, so synth needs no network), sized per role from the configuration."""

    def __init__(self, scope: Construct, *, config: StackConfig, environment: dict[str, str]) -> None:
        self._scope = scope
        self._config = config
        self._environment = environment
        self.architecture = (
            lambda_.Architecture.ARM_64 if config.architecture == "arm64" else lambda_.Architecture.X86_64
        )
        self._code = lambda_.Code.from_asset(
            str(FUNCTIONS_DIR),
            exclude=["mediatasks/local", "mediatasks/cli", "mediatasks/client", "**/__pycache__"],
        )
        python = RUNTIME.name.replace(".", "")
        self._powertools = lambda_.LayerVersion.from_layer_version_arn(
            scope,
            "PowertoolsLayer",
            f"arn:{cdk.Aws.PARTITION}:lambda:{cdk.Aws.REGION}:{POWERTOOLS_ACCOUNT}:layer:"
            f"AWSLambdaPowertoolsPythonV3-{python}-{config.architecture}:{config.powertools_layer_version}",
        )

    def create(
        self,
        logical_id: str,
        role: FunctionRole,
        *,
        handler: str,
        environment: dict[str, str] | None = None,
        layers: list[lambda_.ILayerVersion] | None = None,
    ) -> lambda_.Function:
        size = self._config.function_sizes[role]
        fn = lambda_.Function(
            self._scope,
            logical_id,
            runtime=RUNTIME,
            architecture=self.architecture,
            handler=handler,
            code=self._code,
            memory_size=size.memory_mb,
            timeout=cdk.Duration.seconds(size.timeout_seconds),
            ephemeral_storage_size=cdk.Size.mebibytes(size.disk_mb),
            layers=[self._powertools, *(layers or [])],
            tracing=lambda_.Tracing.ACTIVE,
            environment={"POWERTOOLS_SERVICE_NAME": "mediatasks", **self._environment, **(environment or {})},
            log_group=logs.LogGroup(self._scope, f"{logical_id}Logs", retention=logs.RetentionDays.ONE_MONTH),
        )
        override_id(fn, logical_id)
        acknowledge(
            fn,
            {
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]": "the AWS managed policy that lets a function write "
                "its own logs; it grants nothing else",
                "AwsSolutions-L1": f"{RUNTIME.name} is the runtime the layer's Pillow wheels and the pinned "
                "Powertools layer are built for; moving runtime means rebuilding both",
            },
        )
        return fn
