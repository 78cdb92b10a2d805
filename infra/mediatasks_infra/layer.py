"""The ffmpeg layer's code, built by the CDK app itself at synth: `cdk synth`/`deploy` work on a
fresh clone with no make step and no Docker (CDK's local bundling runs layers/ffmpeg/build.py)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

from mediatasks_infra.common import LAYER_BUILD_DIR

LAYER_SOURCE = LAYER_BUILD_DIR.parent
BUILD_SCRIPT = LAYER_SOURCE / "build.py"
# What decides the layer's bytes: the build script, its pins and the architecture.
LAYER_INPUTS = ("build.py", "wheels.json")


@jsii.implements(cdk.ILocalBundling)
class BuildLayerLocally:
    """Builds the layer on this machine (hash-checked wheels, no Docker) into CDK's output folder."""

    def __init__(self, architecture: str) -> None:
        self.architecture = architecture

    def try_bundle(self, output_dir: str, *args: Any, **options: Any) -> bool:
        # the build caches its result in layers/ffmpeg/build/<arch> (keyed by the pins it used)
        subprocess.run(
            [sys.executable, str(BUILD_SCRIPT), "--arch", self.architecture], check=True, stdout=sys.stderr
        )
        shutil.copytree(
            LAYER_BUILD_DIR / self.architecture,
            output_dir,
            ignore=shutil.ignore_patterns("MANIFEST.json"),
            dirs_exist_ok=True,
        )
        return True


def layer_code(architecture: str) -> lambda_.Code:
    """The layer's asset, named by a hash of what builds it: CDK bundles it again only when that changes."""
    digest = hashlib.sha256(architecture.encode())
    for name in LAYER_INPUTS:
        digest.update((LAYER_SOURCE / name).read_bytes())
    return lambda_.Code.from_asset(
        str(LAYER_SOURCE),
        exclude=["build"],
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=digest.hexdigest(),
        bundling=cdk.BundlingOptions(
            # never pulled: local bundling always succeeds or fails the synth with the build's error
            image=cdk.DockerImage.from_registry("local-bundling-only"),
            local=BuildLayerLocally(architecture),
        ),
    )
