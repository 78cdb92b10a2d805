"""cfn-lint on the synthesized template: no errors and no warnings beyond those .cfnlintrc.yaml
justifies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# builds both architectures' ffmpeg layers and synthesizes the app before linting: 10 s and more
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_the_template_passes_cfn_lint(template: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "MediaTasks.template.json"
    path.write_text(json.dumps(template))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,  # reads .cfnlintrc.yaml
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""
