"""Builds the CDK app with cdk.json's context as its base, so running the app directly (offline
synth, tests, the local stack) sees the same settings as `cdk deploy`; -c values still win.
cdk-nag's AwsSolutions pack checks every synth: an unacknowledged finding fails it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from mediatasks.constants import STACK_NAME
from mediatasks_infra.config import StackConfig
from mediatasks_infra.stack import MediaTasksStack

CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"


def build_app(
    overrides: dict[str, Any] | None = None, outdir: str | None = None
) -> tuple[cdk.App, MediaTasksStack]:
    context = json.loads(CDK_JSON.read_text())["context"] | (overrides or {})
    app = cdk.App(context=context, outdir=outdir)
    stack = MediaTasksStack(app, STACK_NAME, config=StackConfig.from_context(app.node))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack
