"""The conditions step's grammar: the facts a condition may name and how its value reads."""

from __future__ import annotations

import pytest

from mediatasks.domain.conditions import Comparison, ConditionInvalid, parse_condition


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
