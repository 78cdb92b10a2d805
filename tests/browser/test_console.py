"""The web console in headless chromium against the local stack: what a person signing in sees."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Console
from tests.local_product import Api
from tests.support.media import MakeClip
from tests.support.servers import FileServer

TASK_MS = 90_000


@pytest.fixture(scope="module")
def clip(make_clip: MakeClip, file_server: FileServer) -> str:
    make_clip("console.mp4", size="320x240", seconds=2)
    return file_server.url_of("console.mp4")


@pytest.fixture(scope="module")
def not_media(file_server: FileServer) -> str:
    (file_server.root / "console-not-media.mp4").write_bytes(b"this is text, not a video" * 40)
    return file_server.url_of("console-not-media.mp4")


# The first load's budget (HTML, CSS, modules, icon, the sign-in's API call and the list's first page,
# uncompressed): hls.js is loaded only by an HLS preview, /openapi.json (260 KB) only by the create
# form and a filter's first use.
FIRST_LOAD_BYTES = 100_000


def test_a_video_task_made_from_the_form_succeeds_live_and_plays(console: Console, clip: str) -> None:
    page = console.page
    loaded: dict[str, int] = {}
    console.open()
    assert console.serious_violations() == []
    console.screenshot("sign-in")
    page.on("requestfinished", lambda request: loaded.update({request.url: sum(request.sizes().values())}))
    console.sign_in()  # opens the page afresh, signs in, shows the task list
    expect(page.locator("#tasks caption")).to_contain_text("page 1")  # its first page is shown
    first_load = sum(loaded.values())
    print(f"console first load: {first_load} bytes in {len(loaded)} requests")
    assert first_load < FIRST_LOAD_BYTES, loaded
    assert not [url for url in loaded if url.endswith("/openapi.json")]
    page.get_by_role("link", name="New task").first.click()
    page.get_by_label("Kind", exact=True).select_option("video")
    page.get_by_label("Input URL").fill(clip)
    page.locator('[data-field="options.width"] input').fill("160")
    assert console.serious_violations() == []
    console.screenshot("new-task")
    page.get_by_role("button", name="Create task").click()

    # the detail page follows the task without a reload, to its end
    expect(page.locator("#task-status")).to_have_text("succeeded", timeout=TASK_MS)
    video = page.locator("#outputs video")
    video.evaluate("video => video.play()")
    page.wait_for_function(
        "video => video.readyState >= 3 && video.currentTime > 0.2", arg=video.element_handle()
    )
    assert console.serious_violations() == []
    console.screenshot("task")

    page.get_by_role("link", name="Tasks").first.click()
    task_id = page.url.split("/")[-1] if "#/tasks/" in page.url else None
    row = page.locator("#tasks tbody tr").first
    expect(row.locator(".status")).to_have_text("succeeded")
    assert task_id is None  # the list is shown, not the task
    assert console.serious_violations() == []
    console.screenshot("tasks")


def test_new_tasks_and_their_statuses_appear_in_the_list_without_a_reload(
    console: Console, api: Api, clip: str
) -> None:
    console.sign_in()
    task = api.create({"kind": "video", "input": clip, "options": {"width": 96}})
    row = console.page.locator(f'#tasks tr[data-task="{task["id"]}"]')
    expect(row).to_be_visible(timeout=TASK_MS)
    expect(row.locator(".status")).to_have_text("succeeded", timeout=TASK_MS)
    shown_at = time.time() * 1000
    finished = api.wait(task["id"])
    lag_ms = shown_at - finished["finished_at"]
    print(f"task success -> shown in the list: {lag_ms:.0f} ms")
    # the list polls every second while it changes, backing off to 8 s while it does not
    assert lag_ms < 9_000


def test_the_filters_offer_every_kind_and_status_once_used_and_filter_the_list(
    console: Console, api: Api, clip: str
) -> None:
    made = api.run({"kind": "video", "input": clip, "options": {"width": 96}})
    console.sign_in()
    page = console.page
    # the description is fetched when a filter is first used (a person focuses it to choose), and
    # each choice shows the list anew, filtered
    for select, value in (("#filter-kind", "video"), ("#filter-status", "succeeded")):
        page.locator(select).focus()
        page.locator(select).select_option(value)
    expect(page.locator(f'#tasks tr[data-task="{made["id"]}"]')).to_be_visible()
    kinds = page.locator("#tasks tbody tr td:nth-child(2)").all_inner_texts()
    assert set(kinds) == {"video"}
    # a reload keeps the chosen filters, shown before anything else is fetched
    page.reload()
    expect(page.locator("#filter-kind")).to_have_value("video")
    expect(page.locator("#filter-status")).to_have_value("succeeded")
    offered = page.locator("#filter-kind option").all_inner_texts()
    assert offered == ["any kind", "video"]
    page.locator("#filter-status").focus()
    expect(page.locator('#filter-kind option[value="nsfw"]')).to_have_count(1)
    expect(page.locator('#filter-kind option[value="video"]')).to_have_count(1)  # the choice, not twice
    assert console.serious_violations() == []


def test_a_failed_task_shows_its_error_kind_and_message(console: Console, api: Api, not_media: str) -> None:
    failed = api.run({"kind": "video", "input": not_media})
    assert failed["status"] == "failed"
    console.sign_in()
    console.open(f"#/tasks/{failed['id']}")
    expect(console.page.locator("#error-kind")).to_have_text(failed["error"]["kind"])
    expect(console.page.locator("#error-message")).to_have_text(failed["error"]["message"])
    assert console.serious_violations() == []
    console.screenshot("failed-task")


def test_a_bad_option_shows_the_apis_message_beside_that_field(console: Console, api: Api, clip: str) -> None:
    status, refusal = api.request("POST", "/tasks", {"kind": "video", "input": clip, "options": {"fps": 500}})
    assert status == 400
    assert refusal["field"] == "options.fps"
    console.sign_in()
    console.open("#/new")
    page = console.page
    page.get_by_label("Kind", exact=True).select_option("video")
    page.get_by_label("Input URL").fill(clip)
    page.locator('[data-field="options.fps"] input').fill("500")
    console.expected_refusals.append(("/tasks", 400))
    page.get_by_role("button", name="Create task").click()
    beside = page.locator('[data-field="options.fps"] .field-error')
    expect(beside).to_have_text(f"{refusal['kind']}: {refusal['message']}")
    assert console.serious_violations() == []
    console.screenshot("bad-option")


def test_a_local_file_is_uploaded_from_the_form_and_becomes_the_tasks_input(
    console: Console, make_clip: MakeClip
) -> None:
    local = make_clip("console-upload.mp4", size="160x120", seconds=1)
    console.sign_in()
    console.open("#/new")
    page = console.page
    page.get_by_label("Kind", exact=True).select_option("video")
    page.get_by_label("Or a local file").set_input_files(str(local))
    page.get_by_role("button", name="Create task").click()
    expect(page.locator("#task-status")).to_have_text("succeeded", timeout=TASK_MS)
    # the parts went straight to the stack's storage, and the task read the stored file
    assert any("/uploads" in url for url in console.requests)
    expect(page.locator("#raw")).to_contain_text('"file_', use_inner_text=False)


def test_an_adaptive_video_plays_through_hlsjs_and_switches_renditions(
    console: Console, api: Api, make_clip: MakeClip, file_server: FileServer
) -> None:
    make_clip("console-hls.mp4", size="480x360", seconds=2)
    task = api.run({"kind": "adaptive_video", "input": file_server.url_of("console-hls.mp4")})
    assert task["status"] == "succeeded", task["error"]
    console.sign_in()
    console.open(f"#/tasks/{task['id']}")
    page = console.page
    video = page.locator("#outputs video.hls")
    levels = video.evaluate(
        """video => new Promise(resolve => {
            const ready = () => video.hls && video.hls.levels.length
                ? resolve(video.hls.levels.length) : setTimeout(ready, 50);
            ready();
        })"""
    )
    assert levels >= 2
    # every fragment hls.js loads, by rendition (hls.js's own events, names as in its docs)
    video.evaluate(
        """video => { video.loadedFragments = [];
            video.hls.on('hlsFragLoaded',
                (_, data) => video.loadedFragments.push([data.frag.level, data.frag.url])); }"""
    )
    page.get_by_label("Rendition").select_option("0")
    video.evaluate("video => video.play()")
    page.wait_for_function(
        "video => video.readyState >= 3 && video.currentTime > 0.1", arg=video.element_handle()
    )
    top = levels - 1
    page.get_by_label("Rendition").select_option(str(top))
    page.wait_for_function(
        "([video, top]) => video.hls.currentLevel === top"
        " && video.loadedFragments.some(([level]) => level === top)",
        arg=[video.element_handle(), top],
    )
    fragments: list[list[Any]] = video.evaluate("video => video.loadedFragments")
    assert {0, top} <= {level for level, _ in fragments}
    assert all(console.statuses[url] == 200 for _, url in fragments)
    assert console.serious_violations() == []
    console.screenshot("hls-task")
