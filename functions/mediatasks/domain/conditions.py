"""A `conditions` step's grammar: which facts of its input File a condition may name, and how its value
reads. A value is an exact match (`"video"`, `1080`) or a comparison written into it: `">60"`,
`">=60"`, `"<1080"`, `"<=1080"`, `"!=audio"`, `"=h264"`. Numeric facts take every operator and a
number; the others take `=` and `!=` only."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

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
