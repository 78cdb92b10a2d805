from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

LAYER_BUILD = Path(__file__).resolve().parents[2] / "layers" / "ffmpeg" / "build.py"


@pytest.fixture(scope="session", autouse=True)
def ffmpeg_layers() -> None:
    """Both architectures' layers, built from the hash-pinned wheels (a no-op once built)."""
    for arch in ("arm64", "x86_64"):
        subprocess.run([sys.executable, str(LAYER_BUILD), "--arch", arch], check=True, capture_output=True)
