"""Every seed's request form is read as this API's, whatever the version header: seed 002's options at
the top level, seed 004's `output` object and file-id `input`. Ambiguity is refused, not guessed."""

from __future__ import annotations

from typing import Any

import pytest

from mediatasks.domain.errors import RequestRejected
from mediatasks.kinds.registry import parse_request

FILE_ID = "file_abcdefgh1234"


def test_seed_002_flat_options_are_the_options() -> None:
    # the vendor SDK's only example of tasks.create
    request = parse_request(
        {"file_id": FILE_ID, "kind": "image", "width": 320, "format": "png", "ref": "thumbnail"}
    )
    assert request.kind == "image"
    assert request.file_id == FILE_ID
    assert request.ref == "thumbnail"
    assert request.options.model_dump(include={"width", "format"}) == {"width": 320, "format": "png"}


def test_flat_and_nested_options_mix() -> None:
    request = parse_request(
        {"url": "https://example.com/a.mp4", "kind": "video", "width": 640, "options": {"height": 360}}
    )
    assert request.options.model_dump(include={"width", "height"}) == {"width": 640, "height": 360}


def test_seed_004_output_object_carries_the_kind_naming_and_options() -> None:
    request = parse_request(
        {"input": FILE_ID, "output": {"kind": "image", "filename": "poster.jpg", "width": 640}}
    )
    assert (request.kind, request.file_id, request.filename, request.input) == (
        "image",
        FILE_ID,
        "poster.jpg",
        None,
    )
    assert request.options.model_dump(include={"width"}) == {"width": 640}
    assert request.output is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://e.com/a.mp4", "kind": "video", "width": 640, "options": {"width": 320}}, "width"),
        ({"input": FILE_ID, "kind": "video", "output": {"kind": "image"}}, "kind"),
        (
            {"input": FILE_ID, "filename": "a.jpg", "output": {"kind": "image", "filename": "b.jpg"}},
            "filename",
        ),
    ],
)
def test_a_field_given_two_ways_is_refused_naming_it(body: dict[str, Any], field: str) -> None:
    with pytest.raises(RequestRejected) as refused:
        parse_request(body)
    assert (refused.value.kind, refused.value.field) == ("invalid_option", field)


def test_an_unknown_top_level_key_is_still_refused_by_name() -> None:
    with pytest.raises(RequestRejected) as refused:
        parse_request({"url": "https://e.com/a.mp4", "kind": "video", "widht": 640})
    assert (refused.value.kind, refused.value.field) == ("invalid_option", "widht")


def test_a_flat_option_of_another_kind_is_refused() -> None:
    with pytest.raises(RequestRejected) as refused:
        parse_request({"url": "https://e.com/a.mp3", "kind": "audio", "width": 640})
    assert (refused.value.kind, refused.value.field) == ("invalid_option", "width")


def test_a_bad_flat_option_names_its_place_in_options() -> None:
    with pytest.raises(RequestRejected) as refused:
        parse_request({"url": "https://e.com/a.mp4", "kind": "video", "format": "avi"})
    assert (refused.value.kind, refused.value.field) == ("invalid_format", "options.format")


def test_the_output_kind_alone_names_the_task_kind() -> None:
    request = parse_request({"input": FILE_ID, "output": {"kind": "import"}})
    assert request.kind == "ingest"


def test_an_output_string_is_still_a_destination() -> None:
    request = parse_request(
        {"url": "https://e.com/a.mp4", "kind": "video", "output": "s3://bucket-x/out.mp4"}
    )
    assert request.destination == "s3://bucket-x/out.mp4"


def test_an_output_object_of_an_unknown_kind_is_kind_unsupported() -> None:
    with pytest.raises(RequestRejected) as refused:
        parse_request({"input": FILE_ID, "output": {"kind": "http"}})
    assert (refused.value.kind, refused.value.field) == ("kind_unsupported", "kind")
    assert "not supported yet" in refused.value.message
