"""`mediatasks serve --state-dir DIR`: the local stack's state kept on disk across a restart.

moto keeps everything in memory. The local stack snapshots what a restart must keep to DIR when it
stops and every few seconds while it runs, and restores it on start before the API accepts a
request: every DynamoDB table's items (tasks, files, media, keys as stored: hashed, webhook
secrets, idempotency records, deliveries), every bucket's objects with their metadata, the
multipart uploads under way with their parts, the KMS keys that seal the webhook secrets and the
Secrets Manager secret that signs cursors and upload ids. Step Functions executions and queued SQS
messages are not kept: a task that was running when serve stopped is failed as interrupted after
the restart (`Reconciler.restarted`), and one still waiting is started.

Why snapshots of the data rather than pickling moto's backends: the backends hold locks, open
temporary files (S3 bodies), threads and the Step Functions interpreter's running executions, none
of which survive a pickle or mean anything in a new process; the data does. Most of it is read
and written through the emulator's own API (S3 objects, secrets). Three things go to moto's
backends in this process instead, each for a reason the API cannot meet:
- the tables are read while no DynamoDB request is answered (`emulator_fixes.dynamodb_paused`),
  so a snapshot is one moment's (a task's transaction writes the task and its listing counters
  together), and restored as the typed items they were (binary attributes included);
- KMS exports no key material by design, and a moto ciphertext names its key's id: the keys come
  back with their ids and material;
- a multipart upload's id is in the upload ids the API handed out, and S3 chooses a new one for
  every upload: it comes back under its own id, and its parts through the API.

A snapshot is the manifest `state.json` (everything but object bodies) and one file per object
body or upload part under `objects/`, each named by what identifies that version of the object, so
an unchanged object is copied once, not at every snapshot. Every file is written to a temporary
name and renamed into place, the manifest last, and a body no longer named by the manifest is
removed only after it: a serve killed in the middle of a snapshot leaves the previous one whole.
The tables are read before the buckets, so an output a `succeeded` task names is in the snapshot
too."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import boto3
from moto.dynamodb.models import dynamodb_backends
from moto.kms.models import kms_backends
from moto.s3.models import s3_backends

from mediatasks.config import settings
from mediatasks.domain.keys import new_api_key
from mediatasks.domain.webhooks import new_secret
from mediatasks.handlers.reconciler import reconciler
from mediatasks.local.emulator_fixes import dynamodb_paused
from mediatasks.local.template import ACCOUNT_ID, REGION

logger = logging.getLogger("mediatasks.local")
MANIFEST = "state.json"
OBJECTS = "objects"
CREDENTIALS = "development.json"
LOCK = "lock"
FORMAT = 1
# What get_object answers that put_object takes again, as the API names them.
_OBJECT_HEADERS = ("ContentType", "ContentDisposition", "ContentEncoding", "ContentLanguage", "CacheControl")


class StateDirInUse(RuntimeError):
    """Another serve is running on the same state dir."""


@dataclass(frozen=True)
class DevelopmentCredentials:
    api_key: str
    webhook_secret: str
    # True when they were read from the state dir (made and printed by an earlier serve)
    kept: bool


@dataclass(frozen=True)
class SnapshotFigures:
    seconds: float
    items: int
    objects: int
    # bytes of object bodies and parts copied by this snapshot (unchanged ones are not copied again)
    copied_bytes: int
    written: bool


def _write_atomically(path: Path, data: bytes) -> None:
    """The file holds `data` or what it held before, never part of it, even if the process dies."""
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as temporary:
        temporary.write(data)
        temporary.flush()
        os.fsync(temporary.fileno())
    os.chmod(temporary.name, 0o600)
    os.replace(temporary.name, path)


def _copy_atomically(path: Path, body: IO[bytes]) -> int:
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as temporary:
        copied = 0
        while chunk := body.read(1 << 20):
            temporary.write(chunk)
            copied += len(chunk)
        temporary.flush()
        os.fsync(temporary.fileno())
    os.replace(temporary.name, path)
    return copied


def _version_name(*identity: str) -> str:
    """The body file of one version of an object (or of an upload's part)."""
    return hashlib.sha256("\0".join(identity).encode()).hexdigest()


def _object_identity(bucket: str, listed: dict[str, Any]) -> tuple[str, ...]:
    modified: datetime = listed["LastModified"]
    return (bucket, listed["Key"], listed["ETag"], modified.isoformat(), str(listed["Size"]))


def _binary_as_text(value: Any) -> Any:
    """A table item (DynamoDB's typed form) with its binary values as base64, for JSON."""
    if isinstance(value, bytes):
        return {"$base64": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {name: _binary_as_text(inner) for name, inner in value.items()}
    if isinstance(value, list):
        return [_binary_as_text(inner) for inner in value]
    return value


def _binary_from_text(value: Any) -> Any:
    if isinstance(value, dict):
        if value.keys() == {"$base64"} and isinstance(value["$base64"], str):
            return base64.b64decode(value["$base64"])  # a typed item's maps hold typed values, never a string
        return {name: _binary_from_text(inner) for name, inner in value.items()}
    if isinstance(value, list):
        return [_binary_from_text(inner) for inner in value]
    return value


class StateDir:
    """The state of one local stack in a folder: taken by `snapshot`, given back by `restore`."""

    def __init__(self, path: Path, snapshot_seconds: float) -> None:
        self.path = path
        self._snapshot_seconds = snapshot_seconds
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        (path / OBJECTS).mkdir(mode=0o700, exist_ok=True)
        self._lock = (path / LOCK).open("w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise StateDirInUse(f"another mediatasks serve is using the state dir {path}") from None
        for leftover in [*path.glob(".*.*"), *(path / OBJECTS).glob(".*")]:
            leftover.unlink()  # what a snapshot killed mid-write left
        # the object versions and upload parts already copied under objects/, by what identifies
        # them: their entries in the manifest
        self._known: dict[tuple[str, ...], dict[str, Any]] = {}
        self._last_manifest = b""
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def credentials_file(self) -> Path:
        return self.path / CREDENTIALS

    def credentials(self, api_key: str | None, webhook_secret: str | None) -> DevelopmentCredentials:
        """The development project's key and signing secret: the key given, else the one an
        earlier serve on this dir made, else a new one; the secret an earlier serve made, else the
        one given, else a new one. Kept here (readable by this user only) for the next serve."""
        stored: dict[str, str] = (
            json.loads(self.credentials_file.read_text()) if self.credentials_file.exists() else {}
        )
        chosen = {
            "api_key": api_key or stored.get("api_key") or new_api_key(),
            # the project's first secret is made once: the one made then stays (rotate it by the API)
            "webhook_secret": stored.get("webhook_secret") or webhook_secret or new_secret(),
        }
        if chosen != stored:
            _write_atomically(self.credentials_file, json.dumps(chosen).encode())
        return DevelopmentCredentials(**chosen, kept=chosen == stored)

    def restore(self) -> bool:
        """Puts the last snapshot into the emulator (its resources just created, empty) and ends or
        starts the tasks whose executions did not survive; False when this dir holds none yet."""
        manifest_file = self.path / MANIFEST
        if not manifest_file.exists():
            return False
        manifest = json.loads(manifest_file.read_text())
        if manifest.get("format") != FORMAT:
            raise RuntimeError(f"{manifest_file} is of another format ({manifest.get('format')})")
        _restore_tables(manifest["tables"])
        _restore_kms_keys(manifest["kms_keys"])
        secretsmanager = boto3.client("secretsmanager")
        for name, value in manifest["secrets"].items():
            secretsmanager.put_secret_value(SecretId=name, SecretString=value)
        self._restore_buckets(manifest["buckets"], manifest["objects"], manifest["uploads"])
        self._last_manifest = manifest_file.read_bytes()
        report = reconciler().restarted(settings().sweep_max_start_attempts)
        logger.info(
            "restored %s: %d interrupted tasks failed, %d waiting ones started",
            manifest_file,
            len(report.interrupted),
            len(report.sweep.started),
        )
        return True

    def _restore_buckets(
        self, buckets: list[str], objects: list[dict[str, Any]], uploads: list[dict[str, Any]]
    ) -> None:
        s3: Any = boto3.client("s3")  # its answers go back to it as they were given
        existing = {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}
        notifications: dict[str, dict[str, Any]] = {}
        for bucket in buckets:
            if bucket not in existing:
                s3.create_bucket(Bucket=bucket)
            answer = s3.get_bucket_notification_configuration(Bucket=bucket)
            configuration: dict[str, Any] = {
                name: value for name, value in answer.items() if name != "ResponseMetadata"
            }
            if configuration:  # an object restored is not an upload: no notification for it
                notifications[bucket] = configuration
                s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
        entry_of: dict[tuple[str, str], dict[str, Any]] = {}
        for entry in objects:
            with (self.path / OBJECTS / entry["body"]).open("rb") as body:
                s3.put_object(Bucket=entry["bucket"], Key=entry["key"], Body=body, **entry["headers"])
            entry_of[entry["bucket"], entry["key"]] = entry
        for upload in uploads:
            self._restore_upload(s3, upload)
        for bucket, configuration in notifications.items():
            s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)
        # the restored objects have new modification times: known by them, they are not copied again
        for bucket in buckets:
            for listed in _listed_objects(s3, bucket):
                if (bucket, listed["Key"]) in entry_of:
                    self._known[_object_identity(bucket, listed)] = entry_of[bucket, listed["Key"]]

    def _restore_upload(self, s3: Any, upload: dict[str, Any]) -> None:
        created = s3.create_multipart_upload(Bucket=upload["bucket"], Key=upload["key"])["UploadId"]
        for part in upload["parts"]:
            with (self.path / OBJECTS / part["body"]).open("rb") as body:
                s3.upload_part(
                    Bucket=upload["bucket"],
                    Key=upload["key"],
                    UploadId=created,
                    PartNumber=part["number"],
                    Body=body,
                )
        multiparts = s3_backends[ACCOUNT_ID]["aws"].get_bucket(upload["bucket"]).multiparts
        multipart = multiparts.pop(created)
        multipart.id = upload["upload_id"]
        multiparts[multipart.id] = multipart
        for part in upload["parts"]:
            self._known[upload["bucket"], upload["key"], multipart.id, str(part["number"]), part["etag"]] = (
                part
            )

    def snapshot(self) -> SnapshotFigures:
        """Writes the emulator's state to the dir (unless nothing changed since the last one)."""
        started = time.monotonic()
        tables = _table_items()  # before the buckets: what a task names is in them by then
        s3 = boto3.client("s3")
        buckets = sorted(bucket["Name"] for bucket in s3.list_buckets()["Buckets"])
        copied = [0]
        objects = [entry for bucket in buckets for entry in self._objects(s3, bucket, copied)]
        uploads = [self._upload(bucket, multipart, copied) for bucket, multipart in _multipart_uploads()]
        secretsmanager = boto3.client("secretsmanager")
        manifest = {
            "format": FORMAT,
            "tables": tables,
            "kms_keys": _kms_keys(),
            "secrets": {
                listed["Name"]: secretsmanager.get_secret_value(SecretId=listed["ARN"])["SecretString"]
                for listed in secretsmanager.list_secrets()["SecretList"]
            },
            "buckets": buckets,
            "objects": objects,
            "uploads": uploads,
        }
        data = json.dumps(manifest, sort_keys=True).encode()
        written = data != self._last_manifest
        if written:
            _write_atomically(self.path / MANIFEST, data)
            self._last_manifest = data
            named = {entry["body"] for entry in objects} | {
                part["body"] for upload in uploads for part in upload["parts"]
            }
            for body in (self.path / OBJECTS).iterdir():
                if body.name not in named:
                    body.unlink(missing_ok=True)
            self._known = {
                identity: entry for identity, entry in self._known.items() if entry["body"] in named
            }
        return SnapshotFigures(
            seconds=time.monotonic() - started,
            items=sum(len(items) for items in tables.values()),
            objects=len(objects),
            copied_bytes=copied[0],
            written=written,
        )

    def _objects(self, s3: Any, bucket: str, copied: list[int]) -> Iterator[dict[str, Any]]:
        for listed in _listed_objects(s3, bucket):
            identity = _object_identity(bucket, listed)
            if identity not in self._known:
                try:
                    answer = s3.get_object(Bucket=bucket, Key=listed["Key"], IfMatch=listed["ETag"])
                except s3.exceptions.NoSuchKey:
                    continue  # deleted since the listing
                except s3.exceptions.ClientError as error:
                    if error.response["Error"]["Code"] == "PreconditionFailed":
                        continue  # replaced since the listing: the next snapshot copies the new one
                    raise
                body = _version_name(*identity)
                with answer["Body"] as stream:
                    copied[0] += _copy_atomically(self.path / OBJECTS / body, stream)
                headers = {name: answer[name] for name in _OBJECT_HEADERS if answer.get(name)}
                if answer.get("Metadata"):
                    headers["Metadata"] = answer["Metadata"]
                self._known[identity] = {
                    "bucket": bucket,
                    "key": listed["Key"],
                    "body": body,
                    "headers": headers,
                }
            yield self._known[identity]

    def _upload(self, bucket: str, multipart: Any, copied: list[int]) -> dict[str, Any]:
        parts = []
        for number, part in sorted(dict(multipart.parts).items()):
            identity = (bucket, multipart.key_name, multipart.id, str(number), part.etag)
            if identity not in self._known:
                body = _version_name(*identity)
                _write_atomically(self.path / OBJECTS / body, part.value)
                copied[0] += part.size
                self._known[identity] = {"number": number, "etag": part.etag, "body": body}
            parts.append(self._known[identity])
        return {"bucket": bucket, "key": multipart.key_name, "upload_id": multipart.id, "parts": parts}

    def start(self) -> None:
        """Snapshots every `snapshot_seconds` from now on, on a thread of its own."""
        self._thread = threading.Thread(target=self._run, name="state-snapshots", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self._snapshot_seconds):
            try:
                self.snapshot()
            except Exception:  # the next one tries again; the last good snapshot stays
                logger.exception("the state snapshot to %s failed", self.path)

    def stop(self) -> None:
        """Takes a last snapshot (if the stack got as far as starting the snapshots: a stack that
        failed to start must not replace a good snapshot with what it held) and lets another serve
        use the dir."""
        self._stopped.set()
        try:
            if self._thread is not None:
                self._thread.join()
                figures = self.snapshot()
                logger.info("state kept in %s (%.2f s)", self.path, figures.seconds)
        finally:
            self._lock.close()


def _listed_objects(s3: Any, bucket: str) -> Iterator[dict[str, Any]]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        yield from page.get("Contents", [])


def _table_items() -> dict[str, list[Any]]:
    backend = dynamodb_backends[ACCOUNT_ID][REGION]
    with dynamodb_paused():
        return {
            name: [_binary_as_text(item.to_json()["Attributes"]) for item in table.all_items()]
            for name, table in backend.tables.items()
        }


def _restore_tables(tables: dict[str, list[Any]]) -> None:
    backend = dynamodb_backends[ACCOUNT_ID][REGION]
    with dynamodb_paused():
        for name, items in tables.items():
            if name not in backend.tables:
                logger.warning("the state dir holds table %s, which this stack no longer has", name)
                continue
            for item in items:
                backend.put_item(name, _binary_from_text(item))


def _kms_keys() -> list[dict[str, Any]]:
    return [
        {
            "id": key.id,
            "material": base64.b64encode(key.key_material).decode(),
            "aliases": sorted(key.aliases),
        }
        for key in list(kms_backends[ACCOUNT_ID][REGION].keys.values())
    ]


def _restore_kms_keys(keys: list[dict[str, Any]]) -> None:
    """Each key again under its id, with its material and aliases, in place of the new key the
    stack just made under the same alias."""
    backend = kms_backends[ACCOUNT_ID][REGION]
    for stored in keys:
        made = [key for key in backend.keys.values() if set(stored["aliases"]) & set(key.aliases)]
        for key in made:
            backend.keys.pop(key.id)
        key = backend.create_key(None, "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", "", None)
        backend.keys.pop(key.id)
        key.arn = key.arn.replace(key.id, stored["id"])
        key.id = stored["id"]
        key.key_material = base64.b64decode(stored["material"])
        backend.keys[key.id] = key
        for alias in stored["aliases"]:
            backend.create_alias(key.id, alias)


def _multipart_uploads() -> Iterator[tuple[str, Any]]:
    for bucket in list(s3_backends[ACCOUNT_ID]["aws"].buckets.values()):
        for multipart in list(bucket.multiparts.values()):
            yield bucket.name, multipart
