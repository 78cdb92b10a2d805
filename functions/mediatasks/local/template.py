"""The synthesized CloudFormation template, as the local stack reads it.

The local stack runs what the CDK app describes: the state machine's definition, each function's
handler and environment, the table's keys. This module synthesizes the app offline and resolves the
few intrinsic functions those properties use against the local resources.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from mediatasks.constants import STACK_NAME

REPO_ROOT = Path(__file__).resolve().parents[3]
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


# Synthesized templates kept by what they were made from (the CDK app's code and settings, the
# functions' and the layer's files, the CDK library's version), so a stack started again on the same
# tree -- every `serve`, test stack and benchmark -- reads the template instead of running the app
# again (12 s and 16 CPU-seconds on this machine's 2 cores).
SYNTH_CACHE = REPO_ROOT / "cdk.out" / "local-synth"
# What the app's template is made from; a change to any of it makes a new synth.
SYNTH_INPUTS = ("infra", "functions", "cdk.json", "layers/ffmpeg/build")


def synthesize(
    out_dir: Path, architecture: str = "x86_64", context: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Runs the CDK app offline (no CDK CLI, no credentials, no Docker; it builds the ffmpeg layer
    itself) and returns the template; `context` overrides cdk.json's values as `-c` would. A
    template made before from the same inputs is read from SYNTH_CACHE instead."""
    overrides = json.dumps({**(context or {}), "mediatasks:architecture": architecture}, sort_keys=True)
    cached = SYNTH_CACHE / f"{_synth_key(overrides)}.template.json"
    if cached.exists():
        template: dict[str, Any] = json.loads(cached.read_text())
        return template
    env = {
        **os.environ,
        "CDK_OUTDIR": str(out_dir),
        # jsii warns on every run about the machine's Node version; nothing here can act on it
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
    }
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "infra" / "app.py")],
        check=True,
        env={**env, "CDK_CONTEXT_JSON": overrides},
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
    )
    made = out_dir / f"{STACK_NAME}.template.json"
    template = json.loads(made.read_text())
    SYNTH_CACHE.mkdir(parents=True, exist_ok=True)
    # written whole under a name of its own, then renamed: a concurrent reader sees all or nothing
    staged = SYNTH_CACHE / f".{cached.name}.{os.getpid()}"
    shutil.copyfile(made, staged)
    os.replace(staged, cached)
    return template


def _synth_key(overrides: str) -> str:
    """A digest of every input of a synth: the context overrides, the CDK library's version, and
    each file under SYNTH_INPUTS by content (by size and modification time for the layer's large
    binaries, which only `make layer` rewrites)."""
    digest = hashlib.sha256(overrides.encode())
    digest.update(version("aws-cdk-lib").encode())
    for name in SYNTH_INPUTS:
        root = REPO_ROOT / name
        paths = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in paths:
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            digest.update(str(path.relative_to(REPO_ROOT)).encode())
            if name.startswith("layers/"):
                stat = path.stat()
                digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
            else:
                digest.update(path.read_bytes())
    return digest.hexdigest()


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


def route_matches(route: str, path: str) -> bool:
    """Whether API Gateway's resource path `route` (with `{name}` and greedy `{name+}` parameters)
    matches a request's `path`, as API Gateway routes it."""
    pattern = "".join(
        ("[^/]+" if not part.endswith("+}") else ".+") if part.startswith("{") else re.escape(part)
        for part in re.split(r"(\{[^}]+\})", route)
    )
    return re.fullmatch(pattern, path) is not None


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }
