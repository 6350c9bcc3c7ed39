"""Arrow types for records, derived from the hardened JSON Schema.

The `record` column is a struct typed from the schema: dates as date32, date-times as
UTC timestamps, decimals as decimal128, enums as strings, lists as lists, nested
models as structs, maps as maps. A union of several non-null types (rare in
extraction schemas) is kept as its JSON text in a string column.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import uuid
from decimal import Decimal
from typing import Any

import pyarrow as pa

_MAX_DECIMAL_PRECISION = 38


def arrow_type(node: dict[str, Any]) -> pa.DataType:
    options = [o for o in node.get("anyOf", ()) if o.get("type") != "null"]
    if "anyOf" in node:
        return arrow_type(options[0]) if len(options) == 1 else pa.string()
    if "const" in node:
        return _literal_type([node["const"]])
    if "enum" in node:
        return _literal_type(node["enum"])
    kind = node.get("type")
    if kind == "object":
        if "properties" in node:
            if not node["properties"]:
                return pa.struct([pa.field("_empty", pa.null())])
            return pa.struct([pa.field(name, arrow_type(sub)) for name, sub in node["properties"].items()])
        return pa.map_(pa.string(), arrow_type(node["additionalProperties"]))
    if kind == "array":
        return pa.list_(arrow_type(node["items"]))
    if kind == "string":
        return {
            "date": pa.date32(),
            "date-time": pa.timestamp("us", tz="UTC"),
            "time": pa.time64("us"),
        }.get(node.get("format"), pa.string())
    if kind == "integer":
        return pa.int64()
    if kind == "number":
        if node.get("format") == "decimal":
            return _decimal_type(node)
        return pa.float64()
    if kind == "boolean":
        return pa.bool_()
    if kind == "null":
        return pa.null()
    return pa.string()


def _literal_type(values: list[Any]) -> pa.DataType:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.int64()
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pa.float64()
    return pa.string()


def _decimal_type(node: dict[str, Any]) -> pa.DataType:
    step = node.get("multipleOf", 1)
    scale = 0 if step >= 1 else -Decimal(str(step)).normalize().as_tuple().exponent
    int_digits = len(str(int(max(abs(node["minimum"]), abs(node["maximum"])))))
    return pa.decimal128(min(_MAX_DECIMAL_PRECISION, int_digits + scale), scale)


def to_arrow_value(value: Any, kind: pa.DataType) -> Any:
    """A Python value (from `model_dump(mode="python")`) in the shape pyarrow takes for `kind`."""
    if value is None:
        return None
    if pa.types.is_struct(kind):
        if not isinstance(value, dict):
            return None
        return {f.name: to_arrow_value(value.get(f.name), f.type) for f in kind if f.name != "_empty"}
    if pa.types.is_map(kind):
        return [(str(k), to_arrow_value(v, kind.item_type)) for k, v in value.items()]
    if pa.types.is_list(kind):
        return [to_arrow_value(v, kind.value_type) for v in value]
    if isinstance(value, enum.Enum):
        value = value.value
    if pa.types.is_string(kind):
        if isinstance(value, str):
            return value
        if isinstance(value, (uuid.UUID, Decimal)):
            return str(value)
        return json.dumps(value, default=str, ensure_ascii=False)
    if pa.types.is_timestamp(kind) and isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc) if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if pa.types.is_decimal(kind):
        return Decimal(str(value)).quantize(Decimal(1).scaleb(-kind.scale))
    return value
