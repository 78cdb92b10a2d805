from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mediatasks.local.stack import DEMO_TRIGGER_RULES

LAYER_BUILD = Path(__file__).resolve().parents[2] / "layers" / "ffmpeg" / "build.py"

# the whole product: `mediatasks serve`'s trigger rules on top of cdk.json
WITH_TRIGGERS = {"mediatasks:triggerRules": DEMO_TRIGGER_RULES}


@pytest.fixture(scope="session", autouse=True)
def ffmpeg_layers() -> None:
    """Both architectures' layers, built from the hash-pinned wheels (a no-op once built)."""
    for arch in ("arm64", "x86_64"):
        subprocess.run([sys.executable, str(LAYER_BUILD), "--arch", arch], check=True, capture_output=True)
