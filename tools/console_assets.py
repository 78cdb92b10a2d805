"""Vendors the web console's libraries from the npm registry, each pinned by version and by the
sha512 integrity of its tarball (as a package-lock would pin it): `make console-assets`.

Run with the standard library only (before any virtual environment exists). A file already in
place beside a stamp naming the same integrity is kept; anything else is fetched with `npm pack`
(the registry's ordinary client), its tarball checked against the pin before one file is taken out.
Never a CDN at run time: the console serves these files itself."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Pin:
    package: str
    version: str
    integrity: str  # the registry's dist.integrity: "sha512-" + base64 of the tarball's SHA-512
    member: str  # the file taken from the tarball
    target: Path


PINS = (
    # the HLS player, loaded by the console's preview only when an output is a playlist
    Pin(
        "hls.js",
        "1.7.4",
        "sha512-3GlxGdPvT2YHvQYOt+yOzT/DEior/qJVNIylHA77kgeoBTdQQqi70GwefNEUmHQeNGyjC8U62+bruqW/Tpm+tg==",
        "package/dist/hls.min.mjs",
        ROOT / "functions/mediatasks/console/vendor/hls.min.mjs",
    ),
    # the accessibility checker the browser tests run on each page (never served by the console)
    Pin(
        "axe-core",
        "4.14.1",
        "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==",
        "package/axe.min.js",
        ROOT / "tests/browser/vendor/axe.min.js",
    ),
)


def integrity_of(tarball: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()


def stamp_of(pin: Pin) -> Path:
    return pin.target.with_name(pin.target.name + ".integrity")


def vendor(pin: Pin) -> None:
    stamp = stamp_of(pin)
    if pin.target.exists() and stamp.exists() and stamp.read_text().strip() == pin.integrity:
        return
    with tempfile.TemporaryDirectory() as scratch:
        packed = subprocess.run(
            ["npm", "pack", f"{pin.package}@{pin.version}", "--json", "--pack-destination", scratch],
            check=True,
            capture_output=True,
            text=True,
        )
        (entry,) = json.loads(packed.stdout)
        tarball = Path(scratch) / entry["filename"]
        found = integrity_of(tarball)
        if found != pin.integrity:
            raise SystemExit(f"{pin.package}@{pin.version}: tarball integrity {found} is not the pinned one")
        with tarfile.open(tarball) as archive:
            member = archive.extractfile(pin.member)
            if member is None:
                raise SystemExit(f"{pin.package}@{pin.version} has no file {pin.member}")
            pin.target.parent.mkdir(parents=True, exist_ok=True)
            pin.target.write_bytes(member.read())
    stamp.write_text(pin.integrity + "\n")
    print(f"vendored {pin.package}@{pin.version} -> {pin.target.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    for pin in PINS:
        vendor(pin)
