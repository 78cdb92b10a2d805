"""Importing the API Lambda's module (its cold start) loads none of what a request may not need: the
X-Ray SDK (the Tracer is made on the first request), Powertools' OpenAPI models (only /openapi.json
uses them), boto3 and Powertools' idempotency (the services are made on first use). Checked in a
fresh interpreter, tracing enabled as in Lambda."""

from __future__ import annotations

import os
import subprocess
import sys

DEFERRED = (
    "aws_xray_sdk",
    "aws_lambda_powertools.event_handler.openapi.models",
    "aws_lambda_powertools.utilities.idempotency",
    "boto3",
    "mediatasks.service.tasks",
)


def test_api_module_import_loads_nothing_deferred() -> None:
    check = (
        "import sys; import mediatasks.handlers.api; "
        f"loaded = [m for m in {DEFERRED!r} if m in sys.modules]; print(loaded); assert not loaded"
    )
    environment = {name: value for name, value in os.environ.items() if name != "POWERTOOLS_TRACE_DISABLED"}
    done = subprocess.run(
        [sys.executable, "-c", check],
        capture_output=True,
        text=True,
        env=environment | {"PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
