"""The CDK app builds the ffmpeg layer itself at synth (local bundling, no Docker, no make step)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from mediatasks import constants as c
from mediatasks_infra.app import build_app

pytestmark = pytest.mark.slow  # a synth that stages the layer: seconds


def _layer_asset(template: dict[str, Any], outdir: Path) -> Path:
    (layer,) = (
        resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::LayerVersion" and c.FFMPEG_LAYER_ID in logical_id
    )
    asset_hash = layer["Content"]["S3Key"].removesuffix(".zip")
    return outdir / f"asset.{asset_hash}"


@pytest.mark.parametrize("architecture", ["arm64", "x86_64"])
def test_synth_stages_a_layer_it_built(tmp_path: Path, architecture: str) -> None:
    app, stack = build_app({"mediatasks:architecture": architecture}, outdir=str(tmp_path))
    app.synth()
    asset = _layer_asset(Template.from_stack(stack).to_json(), tmp_path)
    for tool in ("ffmpeg", "ffprobe"):
        assert os.access(asset / "bin" / tool, os.X_OK)
    assert (asset / "python" / "PIL").is_dir()
    assert not (asset / "MANIFEST.json").exists()  # the build's own record stays out of the layer
    machine = "aarch64" if architecture == "arm64" else "x86-64"
    assert _elf_machine(asset / "bin" / "ffmpeg") == machine


def _elf_machine(binary: Path) -> str:
    """The ELF header's e_machine field, named as `file` names it."""
    code = int.from_bytes(binary.read_bytes()[18:20], "little")
    return {0xB7: "aarch64", 0x3E: "x86-64"}.get(code, hex(code))
