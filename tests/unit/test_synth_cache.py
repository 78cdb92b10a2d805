"""The local stack's synth cache: a template is reused only for the very inputs it was made from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mediatasks.local import template


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository of the inputs' shape, its cache under it."""
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "app.py").write_text("app = 1\n")
    (tmp_path / "functions").mkdir()
    (tmp_path / "functions" / "handler.py").write_text("def handler(): ...\n")
    (tmp_path / "cdk.json").write_text("{}")
    monkeypatch.setattr(template, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(template, "SYNTH_CACHE", tmp_path / "cdk.out" / "local-synth")
    return tmp_path


def test_any_changed_input_makes_another_key(tree: Path) -> None:
    first = template._synth_key("{}")
    assert template._synth_key("{}") == first
    assert template._synth_key('{"mediatasks:architecture": "arm64"}') != first
    (tree / "functions" / "handler.py").write_text("def handler(): return 1\n")
    assert template._synth_key("{}") != first
    (tree / "functions" / "__pycache__").mkdir()
    changed = template._synth_key("{}")
    (tree / "functions" / "__pycache__" / "handler.pyc").write_bytes(b"\0")
    assert template._synth_key("{}") == changed


def test_a_cached_template_is_read_and_a_new_one_synthesized_once(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[dict[str, str]] = []

    def app(argv: list[str], *, env: dict[str, str], **_: Any) -> None:
        runs.append(env)
        out = Path(env["CDK_OUTDIR"])
        (out / f"{template.STACK_NAME}.template.json").write_text(json.dumps({"Resources": {"n": len(runs)}}))

    monkeypatch.setattr(template.subprocess, "run", app)
    out = tmp_path / "out"
    out.mkdir()
    assert template.synthesize(out) == {"Resources": {"n": 1}}
    assert template.synthesize(out) == {"Resources": {"n": 1}}
    assert len(runs) == 1
    assert template.synthesize(out, context={"mediatasks:triggerRules": []}) == {"Resources": {"n": 2}}
    assert json.loads(runs[1]["CDK_CONTEXT_JSON"])["mediatasks:triggerRules"] == []
    assert [p.name for p in template.SYNTH_CACHE.iterdir() if p.name.startswith(".")] == []
