"""The web console's files, served by the API function from the package (docs/console.md says why:
one origin, so the page may talk to the API alone, and nothing more to deploy).

Only the files the package holds are served, looked up by name in a listing made once: a name is
never joined to a path, so no request reaches another file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

CONSOLE_DIRECTORY = Path(__file__).resolve().parent.parent / "console"
# The vendored libraries (`make console-assets` puts them here, checked against their pinned hashes).
VENDOR_DIRECTORY = CONSOLE_DIRECTORY / "vendor"
INDEX = "index.html"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


@lru_cache(maxsize=1)
def console_files() -> dict[str, Path]:
    """Every servable file by its path under /console ("index.html", "vendor/hls.min.mjs")."""
    return {
        path.relative_to(CONSOLE_DIRECTORY).as_posix(): path
        for path in sorted(CONSOLE_DIRECTORY.rglob("*"))
        if path.is_file() and path.suffix in CONTENT_TYPES
    }


def content_security_policy(storage_origin: str) -> str:
    """Scripts and styles from the console's own files only (no inline code); requests to the API
    (same origin) and to the storage its links point at (media previews, hls.js's segments, upload
    parts); nothing else, no third party."""
    media = f"'self' blob: {storage_origin}"
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {media} data:",
            f"media-src {media}",
            f"connect-src 'self' {storage_origin}",
            # hls.js runs its demuxer in a worker it makes from a blob
            "worker-src 'self' blob:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_type(name: str) -> str:
    return CONTENT_TYPES[Path(name).suffix]


def console_headers(storage_origin: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(storage_origin),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # the files change with each deployment; revalidating them is cheap (they are small)
        "Cache-Control": "no-cache",
    }
