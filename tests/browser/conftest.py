"""Headless Debian chromium driven by Playwright against the console of a local stack (the session's
`api`), each page watched: every request is logged and any not to 127.0.0.1 refused, console errors
collected, an accessibility check (axe-core) run on demand, screenshots kept as artifacts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, sync_playwright

from tests.local_product import Api

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # a muted preview may start without a click (the tests press play through the element)
    "--autoplay-policy=no-user-gesture-required",
]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"  # `make console-assets` vendors it
ARTIFACTS = Path(os.environ.get("MEDIATASKS_ARTIFACTS", "test-artifacts")) / "console"
LOOPBACK = "127.0.0.1"
SERIOUS = ("serious", "critical")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.e2e)


@dataclass
class Console:
    """One browser page on the console, and what it did."""

    page: Page
    api: Api
    requests: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)  # each URL's last response status
    errors: list[str] = field(default_factory=list)
    # (path, status) of API refusals a test provokes: the browser logs each as a failed load
    expected_refusals: list[tuple[str, int]] = field(default_factory=list)

    @property
    def root(self) -> str:
        return f"{self.api.url}/console/index.html"

    def open(self, route: str = "") -> None:
        self.page.goto(self.root + route)

    def sign_in(self) -> None:
        self.open()
        self.page.get_by_label("API key").fill(self.api.key)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_selector("#tasks")

    def serious_violations(self) -> list[str]:
        """axe-core's serious and critical findings on the page as it is now."""
        if not self.page.evaluate("() => typeof window.axe === 'object'"):
            # evaluated over the DevTools protocol: the page's CSP (no inline scripts) stays on
            self.page.evaluate(AXE.read_text(encoding="utf-8"))
        found: list[dict[str, Any]] = self.page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        return [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
            for v in found
            if v["impact"] in SERIOUS
        ]

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if not AXE.exists():
        pytest.fail("run `make console-assets` first: axe-core is not vendored")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def console(chromium: Browser, api: Api) -> Iterator[Console]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watched = Console(page, api)

    def only_loopback(route: Route, request: Request) -> None:
        watched.requests.append(request.url)
        host = urlsplit(request.url).hostname
        if host == LOOPBACK or request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            watched.refused.append(request.url)
            route.abort()

    def on_console(message: ConsoleMessage) -> None:
        provoked = any(
            message.text
            == f"Failed to load resource: the server responded with a status of {status} "
            f"({HTTPStatus(status).phrase})"
            and message.location["url"] == api.url + path
            for path, status in watched.expected_refusals
        )
        if message.type == "error" and not provoked:
            watched.errors.append(f"{message.text} at {message.location}")

    context.route("**/*", only_loopback)
    page.on("response", lambda response: watched.statuses.__setitem__(response.url, response.status))
    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.errors.append(f"uncaught: {error}"))
    yield watched
    context.close()
    assert watched.refused == [], "the console asked for something beyond 127.0.0.1"
    assert watched.errors == [], "the browser's console logged errors"
