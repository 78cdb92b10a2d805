"""Files, signed URLs and multipart tickets: PATCH semantics, what a signature covers and when it
ends, and an upload id only its project can use."""

from __future__ import annotations

import pytest

from mediatasks.contract.common import Exchange
from mediatasks.contract.versions import ApiVersion, latest_query
from mediatasks.domain.errors import ErrorKind, RequestRejected
from mediatasks.domain.files import FileUpdate
from mediatasks.domain.signatures import (
    DEFAULT_SIGNATURE_SECONDS,
    MAX_SIGNATURE_SECONDS,
    Signed,
    checked_expiry,
    sign,
    verify,
)
from mediatasks.domain.uploads import MIN_PART_BYTES, UploadTicket, part_size_for

SECRET = b"k" * 32
NOW = 1_750_000_000


def refusal(call: object, *args: object) -> RequestRejected:
    with pytest.raises(RequestRejected) as refused:
        call(*args)  # type: ignore[operator]
    return refused.value


def test_patch_leaves_out_what_is_omitted_and_clears_what_is_null() -> None:
    assert FileUpdate.model_validate({"filename": "a.mp4", "ref": None}).changes() == {
        "filename": "a.mp4",
        "ref": None,
    }
    assert FileUpdate.model_validate({}).changes() == {}
    with pytest.raises(ValueError, match="filename"):
        FileUpdate.model_validate({"filename": "../escape.mp4"})


def test_an_expiry_is_in_the_future_and_at_most_a_week_ahead() -> None:
    assert checked_expiry(None, NOW) == NOW + DEFAULT_SIGNATURE_SECONDS
    assert checked_expiry(NOW + MAX_SIGNATURE_SECONDS, NOW) == NOW + MAX_SIGNATURE_SECONDS
    for expiry in (NOW, NOW - 1, NOW + MAX_SIGNATURE_SECONDS + 1):
        refused = refusal(checked_expiry, expiry, NOW)
        assert (refused.kind, refused.field) == (ErrorKind.invalid_option, "expiry")


def test_a_signature_covers_every_field_and_its_method_and_ends_at_its_expiry() -> None:
    signed = Signed(project="prj", folder="a", filename="b.mp4", method="put", expiry=NOW + 60)
    signature = sign(SECRET, signed)
    verify(SECRET, signed, signature, "PUT", NOW)
    for changed in (
        {"project": "other"},
        {"folder": None},
        {"folder": "a/b"},
        {"filename": "c.mp4"},
        {"method": "get"},
        {"expiry": NOW + 3600},
    ):
        tampered = signed.model_copy(update=changed)
        assert (
            refusal(verify, SECRET, tampered, signature, tampered.method, NOW).kind
            == ErrorKind.signature_invalid
        )
    assert (
        refusal(verify, b"another key" * 3, signed, signature, "PUT", NOW).kind == ErrorKind.signature_invalid
    )
    assert refusal(verify, SECRET, signed, signature, "GET", NOW).kind == ErrorKind.signature_invalid
    assert refusal(verify, SECRET, signed, signature, "PUT", NOW + 61).kind == ErrorKind.signature_expired


def test_an_upload_id_names_one_project_s_upload() -> None:
    ticket = UploadTicket(
        project="prj", folder=None, filename="x.bin", size=17 * 1024**2, part_size=8 * 1024**2, upload_id="u1"
    )
    token = ticket.encode(SECRET)
    assert UploadTicket.decode(token, "prj", SECRET) == ticket
    for project, secret, given in (
        ("other", SECRET, token),
        ("prj", b"z" * 32, token),
        ("prj", SECRET, token[:-2]),
    ):
        assert refusal(UploadTicket.decode, given, project, secret).kind == ErrorKind.not_found
    assert (ticket.parts, ticket.expected_size(1), ticket.expected_size(3)) == (3, 8 * 1024**2, 1024**2)
    assert refusal(ticket.check_part_numbers, [0]).field == "part_numbers"


def test_parts_are_big_enough_for_s3_and_few_enough() -> None:
    assert part_size_for(1) == MIN_PART_BYTES
    five_terabytes = 5 * 1024**4
    assert five_terabytes / part_size_for(five_terabytes) <= 10_000


def test_the_new_resources_are_refused_under_2024_03_21() -> None:
    for path in ("/files", "/media/med_x", "/signatures", "/uploads"):
        refused = refusal(latest_query, ApiVersion.v2024_03_21, Exchange("GET", path))
        assert refused.kind == ErrorKind.invalid_version
    assert latest_query(ApiVersion.v2025_08_20, Exchange("GET", "/files", {"page": "2"})) == {"page": "2"}
