"""Values between Python and DynamoDB: numbers are Decimals there, ints and floats here."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def to_dynamo(value: Any) -> Any:
    return json.loads(json.dumps(value), parse_float=Decimal)


def from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    return value
