"""A `conditions` step's grammar: which facts of its input File a condition may name, and how its value
reads. A value is an exact match (`"video"`, `1080`) or a comparison written into it: `">60"`,
`">=60"`, `"<1080"`, `"<=1080"`, `"!=audio"`, `"=h264"`. Numeric facts take every operator and a
number; the others take `=` and `!=` only."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

# the step kind whose conditions these are
CONDITIONS = "conditions"
NUMERIC_PROPS = ("duration", "width", "height", "filesize", "fps")
TEXT_PROPS = ("kind", "format", "codecs.video", "orientation")
METADATA_PREFIX = "metadata."
_METADATA_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# longest first: `>=` must not read as `>` followed by "=60"
Operator = Literal[">=", "<=", "!=", ">", "<", "="]
OPERATORS: tuple[Operator, ...] = (">=", "<=", "!=", ">", "<", "=")
MAX_VALUE_LENGTH = 256


class ConditionInvalid(ValueError):
    """A condition its step cannot be created with: which of its fields is wrong, and why."""

    def __init__(self, field: Literal["prop", "value"], message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Comparison:
    """A parsed condition: the fact it reads, how it compares, and with what."""

    prop: str
    operator: Operator
    operand: float | str


def parse_condition(prop: str, value: str | int | float | bool) -> Comparison:
    """The comparison a `{prop, value}` condition means; raises ConditionInvalid."""
    numeric = prop in NUMERIC_PROPS
    if not numeric and prop not in TEXT_PROPS:
        key = prop.removeprefix(METADATA_PREFIX)
        if not (prop.startswith(METADATA_PREFIX) and _METADATA_KEY.match(key)):
            known = ", ".join((*NUMERIC_PROPS, *TEXT_PROPS, "metadata.<key>"))
            raise ConditionInvalid("prop", f"unknown prop {prop!r}; known: {known}")
    if isinstance(value, bool):
        value = str(value).lower()
    text = str(value)
    if len(text) > MAX_VALUE_LENGTH:
        raise ConditionInvalid("value", f"value is longer than {MAX_VALUE_LENGTH} characters")
    operator: Operator = "="
    if isinstance(value, str):
        operator = next((op for op in OPERATORS if text.startswith(op)), "=")
        text = text.removeprefix(operator) if text.startswith(operator) else text
    if not numeric:
        if operator not in ("=", "!="):
            raise ConditionInvalid("value", f"{prop} is compared with = or != only, not {operator}")
        return Comparison(prop, operator, text)
    try:
        number = float(text.strip())
    except ValueError:
        raise ConditionInvalid(
            "value", f"{prop} is a number: the value must be one, after its operator"
        ) from None
    if not math.isfinite(number):
        raise ConditionInvalid("value", f"{prop} is compared with a finite number")
    return Comparison(prop, operator, number)


Orientation = Literal["landscape", "portrait", "square"]


def orientation_of(width: int | None, height: int | None) -> Orientation | None:
    """A picture's orientation by its size (None when the size is unknown): conditions and the
    vendor's media objects both name it."""
    if not width or not height:
        return None
    return "landscape" if width > height else "portrait" if height > width else "square"


def facts_of(file: Mapping[str, Any], metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The facts a condition may name, read from a File object (and the stored file's metadata)."""
    codecs = file.get("codecs") or {}
    facts: dict[str, Any] = {name: file.get(name) for name in ("duration", "width", "height", "filesize")}
    facts |= {
        "fps": file.get("fps"),
        "kind": file.get("kind"),
        "format": file.get("format"),
        "codecs.video": codecs.get("video"),
        "orientation": orientation_of(file.get("width"), file.get("height")),
    }
    facts |= {f"{METADATA_PREFIX}{key}": value for key, value in metadata.items()}
    return facts


def holds(comparison: Comparison, facts: Mapping[str, Any]) -> bool:
    """Whether the fact compares as the condition says; a fact the file does not have never holds.
    Text compares without regard to case (`H264` is `h264`); booleans read as `true`/`false`."""
    fact = facts.get(comparison.prop)
    if fact is None:
        return False
    if isinstance(comparison.operand, float):
        try:
            number = float(fact)
        except (TypeError, ValueError):
            return False
        return _COMPARE[comparison.operator](number, comparison.operand)
    text = str(fact).lower()
    same = text == comparison.operand.lower()
    return same if comparison.operator == "=" else not same


_COMPARE: dict[Operator, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
}


def evaluate(conditions: Sequence[Mapping[str, Any]], facts: Mapping[str, Any]) -> dict[str, Any]:
    """A conditions step's results: each condition (with the fact it read) passed or failed, and
    whether the steps after it run (every condition passed)."""
    passed: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for condition in conditions:
        comparison = parse_condition(condition["prop"], condition["value"])
        verdict = {
            "prop": condition["prop"],
            "value": condition["value"],
            "actual": facts.get(comparison.prop),
        }
        (passed if holds(comparison, facts) else failed).append(verdict)
    return {"passed": passed, "failed": failed, "continue": not failed}
