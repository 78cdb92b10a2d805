"""The `mediatasks` command, shaped like the vendor's CLI: `mediatasks video -i clip.mov --width 1280`
runs the task on this machine; with `--cloud` it runs in the API at MEDIATASKS_API_URL.

Results go to stdout (a path or URL, or JSON with --json), progress and messages to stderr. Exit codes:
0 succeeded, 1 the task failed, 2 usage or validation error (before any request), 3 API, auth or
network error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from mediatasks.cli.flags import given_options, option_flags, options_body, parse_options
from mediatasks.cli.progress import ProgressDisplay
from mediatasks.cli.uploads import UploadFailed, upload_file
from mediatasks.client import ApiError, Client, ClientError
from mediatasks.client.client import current_step
from mediatasks.contract.latest import CompanionView, FileView, RenditionView, TaskView
from mediatasks.domain.errors import RequestRejected, TaskFailure
from mediatasks.domain.tasks import Status, StepName
from mediatasks.kinds.base import Kind
from mediatasks.kinds.registry import KINDS, parse_request
from mediatasks.providers.language import LANGUAGE_FLAGS, LocalLanguage

# The command of each kind, as the vendor's CLI names them.
COMMANDS: dict[str, str] = {
    "video": "video",
    "audio": "audio",
    "image": "image",
    "animation": "animation",
    "adaptive": "adaptive_video",
    "probe": "probe",
    "ingest": "ingest",
    "export": "export",
    "thumbnails": "thumbnails",
    "chapters": "chapters",
    "subtitles": "subtitles",
    "speech": "speech",
    "nsfw": "nsfw",
    "outline": "outline",
    "description": "description",
    "prompt": "prompt",
}
ENV_API_URL = "MEDIATASKS_API_URL"
ENV_API_KEY = "MEDIATASKS_API_KEY"


class ExitCode(IntEnum):
    succeeded = 0
    task_failed = 1
    usage = 2
    api = 3


class TaskFailed(Exception):
    """The task ended without succeeding; its error has been printed, `task` is what to show."""

    def __init__(self, task: dict[str, Any]) -> None:
        super().__init__(task.get("error"))
        self.task = task


def _err(message: str) -> None:
    click.echo(message, err=True)


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


# ---- inputs -------------------------------------------------------------------------------------


def _is_url(value: str) -> bool:
    return value.split("://", 1)[0] in ("http", "https", "s3", "file") and "://" in value


def _input_address(raw: str, *, as_json: bool) -> tuple[str, Any]:
    """(the address to read, the request's `input`) for -i: a path or URL, or with `task`, JSON: a
    URL object (`{"url": ...}`), a File object from an earlier task, or a JSON string."""
    given: Any = raw
    if as_json:
        try:
            given = json.loads(raw)
        except json.JSONDecodeError:
            given = raw  # a bare URL or path is fine too
    if isinstance(given, dict):
        if not isinstance(given.get("url"), str):
            raise click.UsageError('-i must be a URL, a path, or JSON with a "url" (a File object)')
        address = given["url"]
        return address, {"url": address} if set(given) == {"url"} else given
    if not isinstance(given, str):
        raise click.UsageError('-i must be a URL, a path, or JSON with a "url" (a File object)')
    if not _is_url(given) and not Path(given).is_file():
        raise click.UsageError(f"no such file: {given}")
    return given, given


# ---- running a task -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """What a kind command was asked for, validated."""

    kind: Kind
    address: str
    input: Any
    options: BaseModel
    output: str | None
    allow_local_inputs: bool
    language: LocalLanguage = field(default_factory=LocalLanguage)


def _run_locally(run: Run) -> dict[str, Any]:
    from mediatasks.service.local_run import LocalRun, default_output, local_path

    kind = run.kind
    destination = run.output or default_output(kind, run.options, run.address)
    if run.output is None and kind.output.value != "input_file":
        _err(f"writing to {destination} (-o to choose)")
    with ProgressDisplay(kind.name) as display:

        def progress(step: StepName, percent: int) -> None:
            display.update("processing", step.value, percent)

        # the writing kinds' model is configured as serve configures its functions: through the
        # environment this one-run process hands the providers
        os.environ.update(run.language.environment())
        runner = LocalRun(
            kind,
            run.options,
            run.address if _is_url(run.address) else str(local_path(run.address)),
            destination,
            allow_loopback=run.allow_local_inputs,
            on_progress=progress,
            language=run.language.provider,
        )
        try:
            result = runner.run()
        except TaskFailure as failure:
            display.update("failed", None, None)
            _err(f"task failed: {failure.kind}: {failure}")
            error = {"kind": failure.kind, "message": str(failure)}
            raise TaskFailed(_local_task(kind, run, Status.failed, error=error)) from None
        display.update("succeeded", None, 100)
    file = result.file.model_dump(exclude={"location", "renditions", "companions", "object"})
    folder = result.url.rsplit("/", 1)[0]
    renditions = None
    if result.file.renditions is not None:
        renditions = [
            RenditionView(**r.model_dump(), url=f"{folder}/{r.playlist}") for r in result.file.renditions
        ]
    files = None
    if result.file.companions is not None:
        files = [
            CompanionView(**c.model_dump(), url=f"{folder}/{c.filename}") for c in result.file.companions
        ]
    view = FileView(**file, url=result.url, renditions=renditions, files=files)
    return _local_task(kind, run, Status.succeeded, output=view.model_dump(mode="json"))


def _local_task(kind: Kind, run: Run, status: Status, **fields: Any) -> dict[str, Any]:
    """A local run shown as a task (without the id, steps and times only the API keeps)."""
    return {
        "object": "task",
        "kind": kind.name,
        "input": run.address,
        "options": options_body(run.options),
        "status": status.value,
        "output": None,
        "error": None,
        **fields,
    }


def _client(api_url: str | None, api_key: str | None) -> Client:
    if not api_url:
        raise click.UsageError(f"--cloud needs the API's address: --api-url or {ENV_API_URL}")
    if not api_key:
        raise click.UsageError(f"--cloud needs an API key: --api-key or {ENV_API_KEY}")
    return Client(api_url, api_key)


def _cloud_body(run: Run, request_input: Any) -> dict[str, Any]:
    """The create-task body, checked as the API checks it (a bad option exits 2 before any request)."""
    body: dict[str, Any] = {
        "kind": run.kind.name,
        "input": request_input,
        "options": options_body(run.options),
    }
    if run.output is not None and run.output.startswith("s3://"):
        body["output"] = run.output
    parse_request(body)
    return body


def _reachable_input(run: Run, client: Client) -> Any:
    """The request's `input`: as given, or for a local file the id of the file it was uploaded as."""
    if _is_url(run.address):
        return run.input
    try:
        return upload_file(client, Path(run.address))
    except UploadFailed as error:
        raise click.ClickException(str(error)) from None


def _wait_with_progress(client: Client, task: TaskView) -> TaskView:
    with ProgressDisplay(task.kind) as display:

        def progress(seen: TaskView) -> None:
            display.update(seen.status.value, current_step(seen), seen.progress)

        return client.wait(task.id, on_progress=progress)


def _run_in_cloud(run: Run, client: Client) -> dict[str, Any]:
    playlist = (run.kind.encoding is not None and run.kind.encoding.playlist) or (
        run.kind.track is not None and run.kind.track.folder
    )
    download_to = None if run.output is None or run.output.startswith("s3://") else Path(run.output)
    if playlist and download_to is not None:
        raise click.UsageError(
            "an HLS or thumbnails output is many files: with --cloud give -o s3://bucket/key, or none to "
            "keep it in managed storage"
        )
    with client:
        task = client.create(_cloud_body(run, _reachable_input(run, client)))
        _err(f"created {task.id}")
        task = _wait_with_progress(client, task)
        if task.status != Status.succeeded:
            _report_failure(task)
            raise TaskFailed(task.model_dump(mode="json"))
        if download_to is not None and isinstance(task.output, FileView):
            client.download(task.output.url, download_to)
            _err(f"downloaded to {download_to}")
    return task.model_dump(mode="json")


def _report_failure(task: TaskView) -> None:
    if task.error is not None:
        _err(f"task {task.id} {task.status.value}: {task.error.kind}: {task.error.message}")
    else:
        _err(f"task {task.id} {task.status.value}")


# ---- commands -----------------------------------------------------------------------------------


def _run_flags() -> list[click.Parameter]:
    """The flags every kind command has besides its options."""
    return [
        click.Option(
            ["-o", "--output"], help="where to write: a path (folders are made), or s3://bucket/key"
        ),
        click.Option(["--cloud"], is_flag=True, help=f"run it in the API at ${ENV_API_URL}, not here"),
        click.Option(["--api-url"], envvar=ENV_API_URL, help=f"the API's address [env {ENV_API_URL}]"),
        click.Option(["--api-key"], envvar=ENV_API_KEY, help=f"the project's API key [env {ENV_API_KEY}]"),
        click.Option(
            ["--allow-local-inputs"],
            is_flag=True,
            help="locally: let an input URL be on loopback (127.0.0.1)",
        ),
    ]


def _language_flags() -> list[click.Parameter]:
    """What a local run of a writing kind writes with: serve's --llm-* and --extractive flags."""
    return [
        click.Option([spec.flag], is_flag=True, help=f"locally: {spec.help}")
        if spec.metavar is None
        else click.Option([spec.flag], metavar=spec.metavar, help=f"locally: {spec.help}")
        for spec in LANGUAGE_FLAGS
    ]


def _language(values: dict[str, Any]) -> LocalLanguage:
    """The language flags' values, taken out of the command's parameters (a kind without them: the
    bundled model)."""
    given = {spec.field: values.pop(spec.dest) for spec in LANGUAGE_FLAGS if spec.dest in values}
    try:
        return LocalLanguage(**given)
    except ValueError as error:
        raise click.UsageError(str(error)) from None


def _kind_command(name: str, kind: Kind, *, task_json: bool) -> click.Command:
    """`mediatasks <kind>` (prints where the output is) or `mediatasks task <kind>` (prints the task)."""
    input_help = (
        'the input as JSON: {"url": ...} or a File object from an earlier task (or a bare URL or path)'
        if task_json
        else "the input: a local file, or an http(s):// or s3:// URL"
    )

    def command(
        input: str,
        output: str | None,
        cloud: bool,
        api_url: str | None,
        api_key: str | None,
        allow_local_inputs: bool,
        show_json: bool = False,
        **values: Any,
    ) -> None:
        if kind.name == "export" and output is not None:
            raise click.UsageError("export writes to --url; -o is not used")
        address, request_input = _input_address(input, as_json=task_json)
        language = _language(values)
        if cloud and language != LocalLanguage():
            raise click.UsageError("--llm-* and --extractive choose the local model; the API has its own")
        run = Run(
            kind=kind,
            address=address,
            input=request_input,
            options=parse_options(kind.options, given_options(values)),
            output=output,
            allow_local_inputs=allow_local_inputs,
            language=language,
        )

        try:
            task = _run_in_cloud(run, _client(api_url, api_key)) if cloud else _run_locally(run)
        except TaskFailed as failed:
            if task_json or show_json:
                _print_json(failed.task)
            raise
        if task_json or show_json:
            _print_json(task)
        elif task["output"] is not None:
            click.echo(_shown_location(task["output"]["url"]))

    params: list[click.Parameter] = [click.Option(["-i", "--input"], required=True, help=input_help)]
    if not task_json:
        params.append(click.Option(["--json", "show_json"], is_flag=True, help="print the task as JSON"))
    writes = kind.track is not None and kind.track.writes
    return click.Command(
        name,
        callback=command,
        params=[*params, *_run_flags(), *(_language_flags() if writes else []), *option_flags(kind.options)],
        help=f"{kind.summary}.",
        short_help=kind.summary,
    )


def _shown_location(url: str) -> str:
    """A local output as a plain path (what a shell wants), anything else as its URL."""
    from mediatasks.service.local_run import local_path

    return str(local_path(url)) if url.startswith("file://") else url


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="mediatasks")
def cli() -> None:
    """mediatasks: media tasks (transcode, audio, pictures, HLS, probe) on this machine or, with
    --cloud, in your mediatasks API."""


@cli.group()
def task() -> None:
    """Run a task and print it as JSON (stdout), so tasks compose in shell pipelines:

    mediatasks task video -i "$(mediatasks task probe -i '{"url": "…"}' --cloud | jq .output)" --cloud
    """


for _name, _kind_name in COMMANDS.items():
    cli.add_command(_kind_command(_name, KINDS[_kind_name], task_json=False))
    task.add_command(_kind_command(_name, KINDS[_kind_name], task_json=True))


def _api_flags(command: click.Command) -> click.Command:
    command.params += [
        click.Option(["--api-url"], envvar=ENV_API_URL, help=f"the API's address [env {ENV_API_URL}]"),
        click.Option(["--api-key"], envvar=ENV_API_KEY, help=f"the project's API key [env {ENV_API_KEY}]"),
        click.Option(["--json", "show_json"], is_flag=True, help="print JSON"),
    ]
    return command


@cli.group()
def tasks() -> None:
    """The project's tasks in the API (list, get, cancel, wait)."""


def _show_tasks(found: list[TaskView], show_json: bool) -> None:
    if show_json:
        _print_json([task.model_dump(mode="json") for task in found])
        return
    table = Table("id", "kind", "status", "progress", "error", box=None)
    for task in found:
        error = f"{task.error.kind}: {task.error.message}" if task.error else ""
        table.add_row(task.id, task.kind, task.status.value, f"{task.progress or 0}%", error)
    Console(soft_wrap=True).print(table)


@_api_flags
@tasks.command("list")
@click.option("--kind", type=click.Choice(list(KINDS)), help="only tasks of this kind")
@click.option(
    "--status", type=click.Choice([status.value for status in Status]), help="only with this status"
)
@click.option("--limit", type=click.IntRange(1), help="at most this many tasks (default: all)")
def list_tasks(
    kind: str | None,
    status: str | None,
    limit: int | None,
    api_url: str | None,
    api_key: str | None,
    show_json: bool,
) -> None:
    """List the project's tasks, newest first, walking every page."""
    with _client(api_url, api_key) as client:
        found = []
        for listed in client.list(kind=kind, status=status):
            found.append(listed)
            if limit is not None and len(found) >= limit:
                break
    _show_tasks(found, show_json)


def _show_task(task: TaskView, show_json: bool) -> None:
    if show_json:
        _print_json(task.model_dump(mode="json"))
    else:
        _show_tasks([task], show_json=False)
        if isinstance(task.output, FileView):
            click.echo(task.output.url)
        elif isinstance(task.output, dict):  # a workflow's: each step's output by ref
            for ref, file in task.output.items():
                click.echo(f"{ref}: {file.url}")


@_api_flags
@tasks.command("get")
@click.argument("task_id")
def get_task(task_id: str, api_url: str | None, api_key: str | None, show_json: bool) -> None:
    """Show one task."""
    with _client(api_url, api_key) as client:
        _show_task(client.get(task_id), show_json)


@_api_flags
@tasks.command("cancel")
@click.argument("task_id")
def cancel_task(task_id: str, api_url: str | None, api_key: str | None, show_json: bool) -> None:
    """Cancel a task that has not ended."""
    with _client(api_url, api_key) as client:
        _show_task(client.cancel(task_id), show_json)


@_api_flags
@tasks.command("wait")
@click.argument("task_id")
def wait_task(task_id: str, api_url: str | None, api_key: str | None, show_json: bool) -> None:
    """Wait for a task to end, showing its progress; exits 1 unless it succeeded."""
    with _client(api_url, api_key) as client:
        task = _wait_with_progress(client, client.get(task_id))
    _show_task(task, show_json)
    if task.status != Status.succeeded:
        _report_failure(task)
        raise TaskFailed(task.model_dump(mode="json"))


@cli.group()
def keys() -> None:
    """API keys (stored as hashes in the keys table)."""


@keys.command("create")
@click.option("--project", required=True, help="the project the key belongs to")
@click.option(
    "--table",
    default="mediatasks-api-keys",
    show_default=True,
    help="the keys table: the stack output ApiKeysTableName when deployed (default: the local stack's)",
)
@click.option(
    "--secrets-table",
    default="mediatasks-webhook-secrets",
    show_default=True,
    help="the webhook secrets table: the stack output WebhookSecretsTableName when deployed "
    "(default: the local stack's); a project's first key makes its signing secret",
)
@click.option("--endpoint-url", help="DynamoDB and KMS endpoint, e.g. the local stack's emulator URL")
@click.option(
    "--usage-plan-id",
    help="the stack output UsagePlanId: deployed keys must join the per-key usage plan to be accepted",
)
def create_key(
    project: str, table: str, secrets_table: str, endpoint_url: str | None, usage_plan_id: str | None
) -> None:
    """Make a key for a project and print it (once), and the project's webhook signing secret when
    it has none yet (on stderr, once)."""
    import boto3

    from mediatasks.adapters.keys import KeyStore, add_to_usage_plan
    from mediatasks.adapters.webhooks import SecretStore
    from mediatasks.constants import WEBHOOK_KEY_ALIAS
    from mediatasks.service.webhooks import create_first_secret

    # the emulator takes any credentials; a deployed stack is reached with the caller's own
    session = (
        boto3.Session(
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - the emulator's placeholder, not a secret
        )
        if endpoint_url
        else boto3.Session()
    )
    resource = session.resource("dynamodb", endpoint_url=endpoint_url)
    key = KeyStore(table, resource.Table(table)).create(project)
    if usage_plan_id:
        add_to_usage_plan(key, project, usage_plan_id)
    secrets = SecretStore(
        secrets_table,
        WEBHOOK_KEY_ALIAS,
        resource.Table(secrets_table),
        session.client("kms", endpoint_url=endpoint_url),
    )
    secret = create_first_secret(secrets, project)
    click.echo(key)
    _err(f"(project {project!r}; shown once, stored only as a hash)")
    if secret is not None:
        _err(f"webhook signing secret: {secret} (shown once)")


@cli.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
    add_help_option=False,
)
@click.pass_context
def serve(context: click.Context) -> None:
    """Run the API locally over the embedded AWS emulation (`mediatasks serve --help` for its flags)."""
    from mediatasks.local.serve import main as serve_main

    context.exit(serve_main(context.args))


@cli.command()
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seconds", type=click.FloatRange(0, min_open=True), default=10, show_default=True)
@click.option("--size", default="1280x720", show_default=True, help="WIDTHxHEIGHT")
@click.option("--fps", type=click.IntRange(1, 120), default=30, show_default=True)
def sample(output: Path, seconds: float, size: str, fps: int) -> None:
    """Write a generated test clip (colour bars with a moving pattern and a tone) to try tasks with."""
    from mediatasks.adapters.ffmpeg import binaries

    width, _, height = size.partition("x")
    if not (width.isdigit() and height.isdigit()):
        raise click.BadParameter("expected WIDTHxHEIGHT, e.g. 1280x720", param_hint="--size")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise click.UsageError(f"cannot make the folder {output.parent}: {error.strerror}") from None
    argv = [
        binaries().ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={int(width)}x{int(height)}:rate={fps}",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(output),
    ]  # fmt: skip
    made = subprocess.run(argv, capture_output=True, text=True, check=False)
    if made.returncode != 0:
        raise click.UsageError(f"ffmpeg could not write {output}: {made.stderr.strip()[-500:]}")
    click.echo(f"wrote {output} ({size}, {seconds:g}s, {fps} fps, h264/aac)")


def main(argv: list[str] | None = None) -> int:
    """Runs the command and turns every expected failure into a message and an exit code."""
    try:
        cli.main(args=argv, prog_name="mediatasks", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.exceptions.Abort:
        _err("aborted")
        return ExitCode.usage
    except click.ClickException as error:
        error.show()
        return ExitCode.usage
    except RequestRejected as rejected:
        field = f" (field {rejected.field})" if rejected.field else ""
        _err(f"error: {rejected.kind.value}: {rejected.message}{field}")
        return ExitCode.usage
    except TaskFailed:
        return ExitCode.task_failed
    except ApiError as error:
        _err(f"error: the API answered {error.status}: {error}")
        return ExitCode.api
    except ClientError as error:
        _err(f"error: {error}")
        return ExitCode.api
    return ExitCode.succeeded


if __name__ == "__main__":
    sys.exit(main())
