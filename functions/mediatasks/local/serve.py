"""`mediatasks serve`: the product on this machine, over the embedded AWS emulation. Its flags are
parsed here (the `mediatasks` command hands them over as they are), so the emulator loads only for it."""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import sys
import threading
from pathlib import Path

from mediatasks.domain.outputs import DEFAULT_PREFIX, OutputArea, OutputAreas
from mediatasks.domain.slots import RunningCaps
from mediatasks.providers.language import LANGUAGE_FLAGS, LANGUAGE_FLAGS_HELP, LocalLanguage

# How long stopping may take before serve reports what holds it and exits.
STOP_SECONDS = 20
# With --state-dir: what a serve killed without warning loses at most (SIGTERM and Ctrl-C take a
# last snapshot).
DEFAULT_SNAPSHOT_SECONDS = 10.0


def serve(args: argparse.Namespace) -> int:
    from mediatasks.local.stack import DEMO_TRIGGER_RULES, DEVELOPMENT_PROJECT, LocalStack, SegmentSettings
    from mediatasks.local.state_dir import StateDir, StateDirInUse

    output_areas = OutputAreas(areas=tuple(_output_area(flag) for flag in args.output_bucket))
    print("synthesizing the CDK app and starting the local stack ...", flush=True)
    trigger_rules = json.loads(args.trigger_rules) if args.trigger_rules else DEMO_TRIGGER_RULES
    try:
        state = StateDir(args.state_dir, args.snapshot_seconds) if args.state_dir else None
    except StateDirInUse as error:
        print(f"mediatasks serve: {error}", file=sys.stderr)
        return 2
    stack = LocalStack(
        host=args.host,
        port=args.port,
        allow_local_inputs=args.allow_local_inputs,
        output_areas=output_areas,
        api_key=args.api_key,
        webhook_secret=args.webhook_secret,
        trigger_rules=trigger_rules,
        segments=SegmentSettings(args.segment_above_seconds, args.segment_seconds),
        sweep_seconds=args.sweep_seconds,
        state=state,
        running_caps=_running_caps(args.max_running_tasks, args.max_running_tasks_for),
        language=local_language(args),
    )
    stack.start()
    stopped = threading.Event()
    # Set both explicitly: a process started in the background by a shell inherits SIGINT ignored.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: stopped.set())
    print(f"mediatasks API listening on {stack.url}", flush=True)
    print(f"  AWS emulation (moto) on {stack.cloud.endpoint if stack.cloud else '?'}", flush=True)
    if stack.state is not None:
        print(
            f"  state kept in {stack.state.path} (every {args.snapshot_seconds:g} s and on stop)", flush=True
        )
    if stack.credentials_kept:  # printed by the serve that made them
        print(
            f"  API key and webhook signing secret (project {DEVELOPMENT_PROJECT!r}) as before, "
            f"in {stack.state.credentials_file if stack.state else '?'}",
            flush=True,
        )
    else:
        print(f"  API key (project {DEVELOPMENT_PROJECT!r}): {stack.api_key}", flush=True)
        print(
            f"  webhook signing secret (project {DEVELOPMENT_PROJECT!r}): {stack.webhook_secret}", flush=True
        )
    if args.llm_url:
        print(f"  language model: {args.llm_model} at {args.llm_url}", flush=True)
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
        # Wake up now and then: the kernel may deliver the signal to any of the stack's threads, and
        # Python runs the handler only when the main thread returns to the interpreter, which an
        # untimed wait would never do (seen as a serve that ignored Ctrl-C under load).
        while not stopped.wait(timeout=0.5):
            pass
    finally:
        print("stopping ...", flush=True)
        # Stopping is bounded: should anything still hold the process (a step still running in
        # the emulator), every thread's stack is printed and the process ends with status 1.
        faulthandler.dump_traceback_later(STOP_SECONDS, exit=True)
        stack.stop()
        print("stopped", flush=True)
    # Everything the stack held was in this process's memory and is stopped: end now rather than
    # wait in the interpreter's shutdown for the emulator's leftover threads (seen to hang there).
    sys.stderr.flush()
    os._exit(0)


def local_language(args: argparse.Namespace) -> LocalLanguage:
    """The --llm-* and --extractive flags."""
    try:
        return LocalLanguage(**{spec.field: getattr(args, spec.dest) for spec in LANGUAGE_FLAGS})
    except ValueError as error:
        raise SystemExit(f"mediatasks: {error}") from None


def add_language_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("language model", LANGUAGE_FLAGS_HELP)
    for spec in LANGUAGE_FLAGS:
        if spec.metavar is None:
            group.add_argument(spec.flag, action="store_true", help=spec.help)
        else:
            group.add_argument(spec.flag, metavar=spec.metavar, help=spec.help)


def _output_area(flag: str) -> OutputArea:
    """`NAME` (each project writes under NAME/<project>/) or `NAME/PREFIX` (PREFIX may hold {project})."""
    bucket, _, prefix = flag.partition("/")
    return OutputArea(bucket=bucket, prefix=prefix or DEFAULT_PREFIX)


def _running_caps(default: int | None, per_project: list[str]) -> RunningCaps | None:
    """--max-running-tasks and each --max-running-tasks-for PROJECT=N; None keeps cdk.json's."""
    if default is None and not per_project:
        return None
    projects = {}
    for flag in per_project:
        project, _, count = flag.partition("=")
        if not project or not count.isdigit():
            raise SystemExit(f"--max-running-tasks-for takes PROJECT=N, not {flag!r}")
        projects[project] = int(count)
    return (
        RunningCaps(projects=projects) if default is None else RunningCaps(default=default, projects=projects)
    )


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 (no cap) or more")
    return value


def parser() -> argparse.ArgumentParser:
    run = argparse.ArgumentParser(
        prog="mediatasks serve", description="run the API locally over the embedded AWS emulation"
    )
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument(
        "--allow-local-inputs",
        action="store_true",
        help="let tasks fetch input URLs on loopback (127.0.0.1), e.g. sample files you serve yourself",
    )
    run.add_argument("--api-key", help="the development key to accept (default: a new random one, printed)")
    run.add_argument(
        "--webhook-secret",
        help="the development project's webhook signing secret (default: a new random one, printed)",
    )
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
    run.add_argument(
        "--segment-above-seconds",
        type=float,
        metavar="N",
        help="encode a video longer than N seconds in pieces, in parallel (default: cdk.json's "
        "mediatasks:segmentAboveSeconds, and whenever one encode would not fit in a step)",
    )
    run.add_argument(
        "--segment-seconds",
        type=float,
        metavar="N",
        help="the pieces' length, about N seconds each (default: cdk.json's mediatasks:segmentSeconds)",
    )
    run.add_argument(
        "--sweep-seconds",
        type=int,
        metavar="N",
        help="run the sweep every N seconds, starting tasks that waited N seconds for their execution "
        "(default: the stack's, every 5 minutes for tasks waiting 2)",
    )
    run.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="keep tasks, files, media, keys, uploads and stored objects in DIR across restarts (made "
        "if missing; a task running when serve stopped ends failed, interrupted); default: in memory",
    )
    run.add_argument(
        "--snapshot-seconds",
        type=float,
        default=DEFAULT_SNAPSHOT_SECONDS,
        metavar="N",
        help="with --state-dir, write the state every N seconds too: a serve killed without warning "
        f"loses at most that much (default: {DEFAULT_SNAPSHOT_SECONDS:g})",
    )
    run.add_argument(
        "--max-running-tasks",
        type=_count,
        metavar="N",
        help="run at most N tasks of a project at once, the others wait `queued` in the order they were "
        "made (0: no cap; default: cdk.json's mediatasks:maxRunningTasksPerProject)",
    )
    run.add_argument(
        "--max-running-tasks-for",
        action="append",
        default=[],
        metavar="PROJECT=N",
        help="a project's own cap on running tasks (as mediatasks:runningTasksByProject); repeatable",
    )
    add_language_flags(run)
    return run


def main(argv: list[str] | None = None) -> int:
    return serve(parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
