"""The CDK app: `cdk deploy` (or `python infra/app.py` with CDK_OUTDIR set, to synthesize offline)."""

import sys
from pathlib import Path

import aws_cdk as cdk

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions"))

from mediatasks_infra.config import StackConfig  # noqa: E402
from mediatasks_infra.stack import MediaTasksStack  # noqa: E402

from mediatasks.constants import STACK_NAME  # noqa: E402

app = cdk.App()
MediaTasksStack(app, STACK_NAME, config=StackConfig.from_context(app.node))
app.synth()
