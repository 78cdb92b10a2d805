"""The conditions step's grammar: the facts a condition may name and how its value reads."""

from __future__ import annotations

import pytest

from mediatasks.domain.conditions import Comparison, ConditionInvalid, evaluate, facts_of, parse_condition


@pytest.mark.parametrize(
    ("prop", "value", "comparison"),
    [
        ("duration", ">60", Comparison("duration", ">", 60.0)),
        ("duration", ">=60.5", Comparison("duration", ">=", 60.5)),
        ("height", "<=1080", Comparison("height", "<=", 1080.0)),
        ("width", "<1920", Comparison("width", "<", 1920.0)),
        ("fps", "!=30", Comparison("fps", "!=", 30.0)),
        ("width", 1280, Comparison("width", "=", 1280.0)),
        ("filesize", "1000", Comparison("filesize", "=", 1000.0)),
        ("kind", "video", Comparison("kind", "=", "video")),
        ("codecs.video", "!=h264", Comparison("codecs.video", "!=", "h264")),
        ("format", "=mp4", Comparison("format", "=", "mp4")),
        ("metadata.team", "news", Comparison("metadata.team", "=", "news")),
        ("metadata.draft", True, Comparison("metadata.draft", "=", "true")),
    ],
)
def test_a_value_is_an_exact_match_or_a_comparison_written_into_it(
    prop: str, value: str | int | bool, comparison: Comparison
) -> None:
    assert parse_condition(prop, value) == comparison


@pytest.mark.parametrize(
    ("prop", "value", "field"),
    [
        ("colour", "red", "prop"),
        ("metadata.", "x", "prop"),
        ("metadata.bad key", "x", "prop"),
        ("duration", ">sixty", "value"),
        ("duration", "nan", "value"),
        ("duration", ">inf", "value"),
        ("orientation", ">portrait", "value"),
        ("kind", "<=video", "value"),
        ("format", "x" * 300, "value"),
    ],
)
def test_a_condition_that_cannot_be_read_names_its_field(prop: str, value: str, field: str) -> None:
    with pytest.raises(ConditionInvalid) as refused:
        parse_condition(prop, value)
    assert refused.value.field == field


FILE = {
    "kind": "video",
    "format": "mp4",
    "width": 1920,
    "height": 1080,
    "duration": 61.5,
    "fps": 25.0,
    "filesize": 1_000_000,
    "codecs": {"video": "h264", "audio": "aac"},
}


@pytest.mark.parametrize(
    ("prop", "value", "passes"),
    [
        ("duration", ">60", True),
        ("duration", "<=60", False),
        ("width", 1920, True),
        ("height", "<=1080", True),
        ("height", "<1080", False),
        ("fps", ">=25", True),
        ("filesize", "!=1000000", False),
        ("kind", "!=audio", True),
        ("kind", "video", True),
        ("format", "=MP4", True),  # text compares without regard to case
        ("codecs.video", "h264", True),
        ("orientation", "landscape", True),
        ("orientation", "!=landscape", False),
        ("metadata.team", "news", True),
        ("metadata.reviewed", True, True),
        ("metadata.missing", "!=x", False),  # a fact the file lacks never holds
    ],
)
def test_a_condition_holds_as_its_value_says(prop: str, value: str | int | bool, passes: bool) -> None:
    facts = facts_of(FILE, {"team": "News", "reviewed": True})
    results = evaluate([{"prop": prop, "value": value}], facts)
    assert results["continue"] is passes
    assert len(results["passed" if passes else "failed"]) == 1


def test_every_condition_must_pass_for_next_to_run() -> None:
    facts = facts_of(FILE, {})
    results = evaluate([{"prop": "duration", "value": ">60"}, {"prop": "height", "value": ">1080"}], facts)
    assert results["continue"] is False
    assert results["passed"] == [{"prop": "duration", "value": ">60", "actual": 61.5}]
    assert results["failed"] == [{"prop": "height", "value": ">1080", "actual": 1080}]
