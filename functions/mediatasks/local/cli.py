"""`mediatasks`: run the product locally, and make sample media to try it with."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

from mediatasks.adapters.ffmpeg import binaries
from mediatasks.domain.outputs import DEFAULT_PREFIX, OutputArea, OutputAreas


def serve(args: argparse.Namespace) -> int:
    from mediatasks.local.stack import DEMO_TRIGGER_RULES, DEVELOPMENT_PROJECT, LocalStack

    print("synthesizing the CDK app and starting the local stack ...", flush=True)
    trigger_rules = json.loads(args.trigger_rules) if args.trigger_rules else DEMO_TRIGGER_RULES
    output_areas = OutputAreas(areas=tuple(_output_area(flag) for flag in args.output_bucket))
    stack = LocalStack(
        host=args.host,
        port=args.port,
        allow_local_inputs=args.allow_local_inputs,
        output_areas=output_areas,
        api_key=args.api_key,
        trigger_rules=trigger_rules,
    )
    stack.start()
    stopped = threading.Event()
    # Set both explicitly: a process started in the background by a shell inherits SIGINT ignored.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: stopped.set())
    print(f"mediatasks API listening on {stack.url}", flush=True)
    print(f"  AWS emulation (moto) on {stack.cloud.endpoint if stack.cloud else '?'}", flush=True)
    print(f"  API key (project {DEVELOPMENT_PROJECT!r}): {stack.api_key}", flush=True)
    if args.allow_local_inputs:
        print("  loopback input URLs are ALLOWED (--allow-local-inputs)", flush=True)
    for area in output_areas.areas:
        print(f"  output destination: s3://{area.bucket}/{area.prefix}", flush=True)
    if stack.watched_bucket:
        print(f"  uploads to s3://{stack.watched_bucket}/ become tasks under these rules:", flush=True)
        for rule in trigger_rules:
            print(f"    {json.dumps(rule)}", flush=True)
    print("press Ctrl-C to stop", flush=True)
    try:
        stopped.wait()
    finally:
        print("stopping ...", flush=True)
        stack.stop()
    return 0


def _output_area(flag: str) -> OutputArea:
    """`NAME` (each project writes under NAME/<project>/) or `NAME/PREFIX` (PREFIX may hold {project})."""
    bucket, _, prefix = flag.partition("/")
    return OutputArea(bucket=bucket, prefix=prefix or DEFAULT_PREFIX)


def create_key(args: argparse.Namespace) -> int:
    """Makes an API key for a project in the keys table (the local stack's, or a deployed one)."""
    import boto3

    from mediatasks.adapters.keys import KeyStore, add_to_usage_plan

    if args.endpoint_url:  # the emulator takes any credentials; a deployed table uses the caller's own
        resource = boto3.resource(
            "dynamodb",
            endpoint_url=args.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - the emulator's placeholder, not a secret
        )
    else:
        resource = boto3.resource("dynamodb")
    key = KeyStore(args.table, resource.Table(args.table)).create(args.project)
    if args.usage_plan_id:
        add_to_usage_plan(key, args.project, args.usage_plan_id)
    print(key)
    print(f"(project {args.project!r}; shown once, stored only as a hash)", file=sys.stderr)
    return 0


def sample(args: argparse.Namespace) -> int:
    """Writes a generated test clip (colour bars with a moving pattern and a tone)."""
    width, _, height = args.size.partition("x")
    argv = [
        binaries().ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={int(width)}x{int(height)}:rate={args.fps}",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", str(args.seconds), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(args.output),
    ]  # fmt: skip
    subprocess.run(argv, check=True)
    print(f"wrote {args.output} ({args.size}, {args.seconds}s, {args.fps} fps, h264/aac)")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="mediatasks", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="run the API locally over the embedded AWS emulation")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument(
        "--allow-local-inputs",
        action="store_true",
        help="let tasks fetch input URLs on loopback (127.0.0.1), e.g. sample files you serve yourself",
    )
    run.add_argument("--api-key", help="the development key to accept (default: a new random one, printed)")
    run.add_argument(
        "--output-bucket",
        action="append",
        default=[],
        metavar="NAME[/PREFIX]",
        help="create a bucket in the emulator and let tasks write their `output` there, each project "
        "under PREFIX with {project} its id (default: NAME/{project}/); repeatable",
    )
    run.add_argument(
        "--trigger-rules",
        metavar="JSON",
        help="the watched bucket's rules as cdk.json's mediatasks:triggerRules (a JSON list; '[]' for "
        "none); default: uploads under incoming/ become mp4 videos of the development project",
    )
    run.set_defaults(func=serve)
    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(
        dest="keys_command", required=True
    )
    create = keys.add_parser("create", help="make a key for a project and print it (once)")
    create.add_argument("--project", required=True)
    create.add_argument(
        "--table",
        default="mediatasks-api-keys",
        help="the keys table: the stack output ApiKeysTableName when deployed (default: the local stack's)",
    )
    create.add_argument("--endpoint-url", help="DynamoDB endpoint, e.g. the local stack's emulator URL")
    create.add_argument(
        "--usage-plan-id",
        help="the stack output UsagePlanId: deployed keys must join the per-key usage plan to be accepted",
    )
    create.set_defaults(func=create_key)
    make = commands.add_parser("sample", help="write a generated sample clip to try the API with")
    make.add_argument("output", type=Path)
    make.add_argument("--seconds", type=float, default=10)
    make.add_argument("--size", default="1280x720")
    make.add_argument("--fps", type=int, default=30)
    make.set_defaults(func=sample)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
