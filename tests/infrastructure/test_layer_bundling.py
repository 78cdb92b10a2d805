"""The CDK app builds the ffmpeg layer itself at synth (local bundling, no Docker, no make step)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
from concurrent.futures import ThreadPoolExecutor
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


def _layer_build_module() -> Any:
    """layers/ffmpeg/build.py, which CDK's bundling runs as a script, as a module."""
    path = Path(__file__).resolve().parents[2] / "layers" / "ffmpeg" / "build.py"
    spec = importlib.util.spec_from_file_location("layer_build", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_builds_side_by_side_make_one_whole_layer_that_a_copy_never_sees_half_made(tmp_path: Path) -> None:
    layer_build = _layer_build_module()
    out = tmp_path / "build" / "x86_64"
    with ThreadPoolExecutor(2) as pool:
        builds = [pool.submit(layer_build.build, "x86_64", out) for _ in range(2)]
        copies = 0
        while not all(build.done() for build in builds):
            if out.exists():  # what a synth's bundling does with it meanwhile
                shutil.copytree(out, tmp_path / f"copy-{copies}")
                copies += 1
        sizes = {build.result() for build in builds}
    assert len(sizes) == 1
    # no staging folder left beside it
    assert sorted(path.name for path in out.parent.iterdir() if path.is_dir()) == ["x86_64"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    # the layer, and every copy taken while the builds ran, is whole
    for layer in (out, *sorted(tmp_path.glob("copy-*"))):
        assert os.access(layer / "bin" / "ffmpeg", os.X_OK), layer
        assert (layer / "python" / "PIL" / "Image.py").is_file(), layer
    print(f"{copies} copies taken while building")
