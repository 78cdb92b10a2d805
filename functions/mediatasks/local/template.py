"""The synthesized CloudFormation template, as the local stack reads it.

The local stack runs what the CDK app describes: the state machine's definition, each function's
handler and environment, the table's keys. This module synthesizes the app offline and resolves the
few intrinsic functions those properties use against the local resources.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediatasks.constants import STACK_NAME

REPO_ROOT = Path(__file__).resolve().parents[3]
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


def synthesize(
    out_dir: Path, architecture: str = "x86_64", context: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Runs the CDK app offline (no CDK CLI, no credentials, no Docker; it builds the ffmpeg layer
    itself) and returns the template; `context` overrides cdk.json's values as `-c` would."""
    env = {
        **os.environ,
        "CDK_OUTDIR": str(out_dir),
        # jsii warns on every run about the machine's Node version; nothing here can act on it
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
    }
    overrides = json.dumps({**(context or {}), "mediatasks:architecture": architecture})
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "infra" / "app.py")],
        check=True,
        env={**env, "CDK_CONTEXT_JSON": overrides},
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
    )
    template: dict[str, Any] = json.loads((out_dir / f"{STACK_NAME}.template.json").read_text())
    return template


def function_arn(logical_id: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{logical_id}"


@dataclass(frozen=True)
class LocalNames:
    """What each template resource is called in the local emulation."""

    refs: dict[str, str]
    types: dict[str, str]

    def arn(self, logical_id: str) -> str:
        name = self.refs.get(logical_id, logical_id)
        arns = {
            "AWS::Lambda::Function": lambda: function_arn(logical_id),
            "AWS::SQS::Queue": lambda: f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}",
            "AWS::S3::Bucket": lambda: f"arn:aws:s3:::{name}",
            "AWS::DynamoDB::Table": lambda: f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}",
        }
        resource_type = self.types.get(logical_id, "")
        if resource_type not in arns:
            raise ValueError(f"no local ARN for {logical_id} ({resource_type or 'not in the template'})")
        return arns[resource_type]()

    def resolve(self, value: Any) -> Any:
        """Resolves Ref, Fn::GetAtt (Arn) and Fn::Join; other values pass through."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            name = value["Ref"]
            pseudo = {
                "AWS::Region": REGION,
                "AWS::AccountId": ACCOUNT_ID,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
            }
            if name in pseudo:
                return pseudo[name]
            return self.refs[name]
        if set(value) == {"Fn::GetAtt"}:
            logical_id, attribute = value["Fn::GetAtt"]
            if attribute != "Arn":
                raise ValueError(f"unsupported attribute {attribute} of {logical_id}")
            return self.arn(logical_id)
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(str(self.resolve(part)) for part in parts)
        return {k: self.resolve(v) for k, v in value.items()}


def public_routes(template: dict[str, Any]) -> set[tuple[str, str]]:
    """(method, path) of the REST API's methods that need no authorizer, e.g. ("GET", "/openapi.json")."""
    resources = resources_of_type(template, "AWS::ApiGateway::Resource")

    def path_of(reference: Any) -> str:
        if isinstance(reference, dict) and "Ref" in reference:
            props = resources[reference["Ref"]]
            return f"{path_of(props['ParentId'])}/{props['PathPart']}"
        return ""  # Fn::GetAtt RootResourceId: the root

    return {
        (props["HttpMethod"], path_of(props["ResourceId"]) or "/")
        for props in resources_of_type(template, "AWS::ApiGateway::Method").values()
        if props.get("AuthorizationType", "NONE") == "NONE"
    }


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }
