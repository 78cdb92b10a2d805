"""The CDK app: `cdk deploy`, or `python infra/app.py` with CDK_OUTDIR set to synthesize offline."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "infra"), str(ROOT / "functions")]

from mediatasks_infra.app import build_app  # noqa: E402

app, _ = build_app()
app.synth()
