"""Harden a JSON Schema for constrained decoding.

The input is the JSON Schema of a pydantic model (or a team's own JSON Schema file).
The output is a *normalised* schema that a decoder can follow without running away:

* `$ref`s are inlined (recursive schemas are refused), `allOf` of one schema merged,
  `type: [a, b]` and `oneOf` turned into `anyOf`;
* every string has a `maxLength`, every array a `maxItems`, every map a
  `maxProperties`, and every number and integer a `minimum`/`maximum` (and numbers a
  `multipleOf`) that bound their digits;
* every object lists all its properties in a fixed order with
  `additionalProperties: false`; a property the original does not require may be
  `null` (meaning "not in the document") and keeps its place in `required` only if
  the original required it.

Descriptions, titles, enums, formats and patterns are kept: prompts and Arrow types
are derived from the same normalised schema, and what a regular constraint cannot say
is still validated after decoding.

Real-world schemas, served rather than refused:

* a root that is not an object with properties (an array of records, a map, a scalar)
  is wrapped as `{"items": <root>}` (arrays) or `{"value": <root>}` (the rest);
  `WRAPPED_KEY` in the hardened root says which, so a record can be unwrapped again;
* a property without a type (`{}`, `true`, or only a description) is a scalar JSON value
  (string, number, boolean or null): extraction values are scalars, and a free nested
  value could not be bounded;
* a recursive definition (a tree of sections) is unrolled `max_recursion` levels deep;
  below that the recursive property can only be null (an empty list for a list of them);
* exclusive bounds stay exclusive; an integer's become the inclusive neighbours.

Conditional and dependent schemas (`if`/`then`/`else`, `dependentRequired`, ...) refine
values without changing the record's shape: the constraint leaves them out and the
user's JSON Schema validator checks them after decoding. A keyword the product cannot
honour (`not`, tuple arrays, remote `$ref`s) is refused with one line naming the keyword
and the path.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from typing import Any



class SchemaError(ValueError):
    """The schema cannot be used for constrained decoding."""


@dataclass(frozen=True)
class HardeningPolicy:
    """Bounds applied where the schema itself sets none."""

    string_max_length: int = 200
    array_max_items: int = 20
    map_max_properties: int = 20
    map_key_max_length: int = 64
    integer_max_digits: int = 12
    number_max_int_digits: int = 12
    number_max_frac_digits: int = 6
    max_depth: int = 32
    max_recursion: int = 3  # levels of a recursive definition kept (`fieldmill schema` says so)
    recursive_array_max_items: int = 5  # default list size inside a recursive definition


# Formats whose values have a fixed, bounded shape (see schema/constraint.py).
FIXED_FORMATS = ("date", "time", "date-time", "uuid", "email", "uri", "ipv4")
_KEEP = ("title", "description", "examples", "format", "default")
# Keywords whose meaning a constraint cannot honour and validation alone would only report.
_REFUSED = {"not": "negation", "prefixItems": "tuple arrays"}
WRAPPED_KEY = "x-fieldmill-wrapped"  # on a hardened root that wraps a non-object root: the key that holds it
_ANY = {"type": ["string", "number", "boolean", "null"]}


def harden(schema: dict[str, Any], policy: HardeningPolicy | None = None) -> dict[str, Any]:
    """Return the normalised, bounded form of `schema` (which is left untouched)."""
    policy = policy or HardeningPolicy()
    if schema is True or not isinstance(schema, dict):
        raise SchemaError(f"$: the schema is not a JSON object ({str(schema)[:60]!r})")
    root = copy.deepcopy(schema)
    defs = {**root.pop("definitions", {}), **root.pop("$defs", {})}
    hardener = _Hardener(defs, policy)
    hardener.root = {k: v for k, v in root.items() if k not in ("$schema", "$id")}
    hardened = hardener.node(root, path="$", depth=0, stack=("#",))
    if hardened.get("type") == "object" and "properties" in hardened:
        return hardened
    # Not a record: an array of records, a map, a scalar. Serve it as the one field of a record.
    key = "items" if hardened.get("type") == "array" else "value"
    meta = {k: hardened[k] for k in ("title", "description") if k in hardened}
    return {**meta, "type": "object", "properties": {key: hardened}, "required": [key], "additionalProperties": False, WRAPPED_KEY: key}


def unwrap(record: Any, hardened: dict[str, Any]) -> Any:
    """A record as the user's schema has it: the wrapped root's value, else the record."""
    key = hardened.get(WRAPPED_KEY)
    return record.get(key) if key and isinstance(record, dict) else record


def non_null_options(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The shapes a node's value may take other than null (its `anyOf` options, or the node itself)."""
    return [o for o in node.get("anyOf", [node]) if o.get("type") != "null"]


def accepts_null(node: dict[str, Any]) -> bool:
    if node.get("type") == "null":
        return True
    if "enum" in node:
        return None in node["enum"]
    if "const" in node:
        return node["const"] is None
    return any(accepts_null(o) for o in node.get("anyOf", ()))


def nullable(node: dict[str, Any]) -> dict[str, Any]:
    if accepts_null(node):
        return node
    meta = {k: node[k] for k in ("title", "description") if k in node}
    inner = {k: v for k, v in node.items() if k not in ("title", "description")}
    return {**meta, "anyOf": [inner, {"type": "null"}]}


class _Hardener:
    def __init__(self, defs: dict[str, Any], policy: HardeningPolicy):
        self.defs = defs
        self.policy = policy
        self.root: dict[str, Any] = {}

    def resolve(self, ref: str, path: str) -> tuple[str, dict[str, Any]]:
        if ref == "#":
            return "#", self.root  # the whole schema inside itself: recursion through the root
        for prefix in ("#/$defs/", "#/definitions/"):
            if ref.startswith(prefix):
                name = ref[len(prefix) :]
                if name in self.defs:
                    return name, self.defs[name]
        raise SchemaError(f"{path}: $ref {ref!r} is not a local definition (#/$defs/... or #/definitions/...)")

    def node(self, raw: Any, path: str, depth: int, stack: tuple[str, ...]) -> dict[str, Any]:
        if depth > self.policy.max_depth:
            raise SchemaError(f"{path}: nested deeper than {self.policy.max_depth} levels")
        if raw is True or (isinstance(raw, dict) and _untyped(raw)):
            raw = {**(raw if isinstance(raw, dict) else {}), **_ANY}
        if not isinstance(raw, dict):
            raise SchemaError(f"{path}: expected a schema object, got {str(raw)[:60]!r}")
        raw = dict(raw)
        for keyword, what in _REFUSED.items():
            if keyword in raw:
                raise SchemaError(f"{path}: {keyword!r} ({what}) is not supported: a constraint cannot honour it")
        meta = {k: raw[k] for k in _KEEP if k in raw}

        if "$ref" in raw:
            name, target = self.resolve(raw.pop("$ref"), path)
            if stack.count(name) >= self.policy.max_recursion:
                return {**meta, "type": "null", "x-recursion-cut": name}  # unrolled deep enough: no deeper level
            merged = {**target, **{k: v for k, v in raw.items() if k not in ("$ref",)}}
            return self.node(merged, path, depth + 1, stack + (name,))

        if "allOf" in raw:
            parts = raw.pop("allOf")
            merged = dict(raw)
            for part in parts:
                if "$ref" in part:
                    name, target = self.resolve(part["$ref"], path)
                    if stack.count(name) >= self.policy.max_recursion:
                        continue
                    stack = stack + (name,)
                    part = {**target, **{k: v for k, v in part.items() if k != "$ref"}}
                for key, value in part.items():
                    if key == "properties" and isinstance(merged.get(key), dict) and isinstance(value, dict):
                        merged[key] = {**merged[key], **{k: v if k not in merged[key] or merged[key][k] == v else {"allOf": [merged[key][k], v]}
                                                        for k, v in value.items()}}
                    elif key == "required" and isinstance(merged.get(key), list):
                        merged[key] = merged[key] + [r for r in value if r not in merged[key]]
                    elif key in merged and key not in _KEEP and merged[key] != value:
                        raise SchemaError(f"{path}: allOf with conflicting {key!r} is not supported")
                    else:
                        merged.setdefault(key, value)
            return self.node(merged, path, depth + 1, stack)

        for key in ("oneOf", "anyOf"):
            if key in raw:
                options = raw.pop(key)
                shared = {k: v for k, v in raw.items() if k not in _KEEP}
                branches = [
                    self.node({**shared, **o} if shared and isinstance(o, dict) else o, f"{path}.{key}[{i}]", depth + 1, stack)
                    for i, o in enumerate(options)
                ]
                return {**meta, **_union(branches)}

        if "const" in raw:
            return {**meta, "const": raw["const"]}
        if "enum" in raw:
            values = list(raw["enum"])
            if not values:
                raise SchemaError(f"{path}: empty enum")
            out = {**meta, "enum": values}
            if all(isinstance(v, str) for v in values):
                out["type"] = "string"
            return out

        kind = raw.get("type")
        if isinstance(kind, list):
            if not kind:
                raise SchemaError(f"{path}: 'type' is an empty list")
            branches = [self.node({**raw, "type": k}, path, depth + 1, stack) for k in kind]
            return {**meta, **_union(branches)}
        if kind is None:
            kind = _infer_type(raw, path)

        if kind == "object":
            return {**meta, **self.object(raw, path, depth, stack)}
        if kind == "array":
            return {**meta, **self.array(raw, path, depth, stack)}
        if kind == "string":
            return {**meta, **self.string(raw, path)}
        if kind == "integer":
            return {**meta, **self.integer(raw, path)}
        if kind == "number":
            return {**meta, **self.number(raw, path)}
        if kind in ("boolean", "null"):
            return {**meta, "type": kind}
        raise SchemaError(f"{path}: unsupported type {kind!r}")

    def object(self, raw: dict, path: str, depth: int, stack: tuple[str, ...]) -> dict[str, Any]:
        props = raw.get("properties")
        if props:
            required = [name for name in raw.get("required", []) if name in props]
            out_props = {}
            for name, sub in props.items():
                child = self.node(sub, f"{path}.{name}", depth + 1, stack)
                out_props[name] = child if name in required else nullable(child)
            return {
                "type": "object",
                "properties": out_props,
                "required": required,
                "additionalProperties": False,
            }
        extra = raw.get("additionalProperties", True)
        patterns = raw.get("patternProperties")
        if isinstance(patterns, dict) and patterns and not isinstance(extra, dict):
            extra = next(iter(patterns.values()))  # a map whose keys follow a pattern: its values' schema
        if extra is False:
            return {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
        value = self.node(extra if isinstance(extra, dict) else {}, f"{path}.*", depth + 1, stack)
        key_max = min(
            raw.get("propertyNames", {}).get("maxLength", self.policy.map_key_max_length),
            self.policy.map_key_max_length,
        )
        return {
            "type": "object",
            "additionalProperties": value,
            "propertyNames": {"maxLength": key_max},
            "minProperties": raw.get("minProperties", 0),
            "maxProperties": raw.get("maxProperties", self.policy.map_max_properties),
        }

    def array(self, raw: dict, path: str, depth: int, stack: tuple[str, ...]) -> dict[str, Any]:
        if isinstance(raw.get("items"), list):
            raise SchemaError(f"{path}: 'items' as a list (tuple arrays) is not supported")
        items = self.node(raw.get("items", {}), f"{path}[]", depth + 1, stack)
        low = int(raw.get("minItems", 0))
        ref = raw.get("items", {}).get("$ref") if isinstance(raw.get("items"), dict) else None
        recursive = ref is not None and (ref == "#" or ref.rsplit("/", 1)[-1] in stack)  # a list of the definition it is in: trees multiply
        default = self.policy.recursive_array_max_items if recursive else self.policy.array_max_items
        high = int(raw.get("maxItems", max(default, low)))
        if items.get("x-recursion-cut"):
            if low:
                raise SchemaError(f"{path}: a recursive list with minItems {low} never ends")
            high = 0  # the recursion's last level: no deeper items
        if high < low:
            raise SchemaError(f"{path}: maxItems {high} is below minItems {low}")
        return {"type": "array", "items": items, "minItems": low, "maxItems": high}

    def string(self, raw: dict, path: str) -> dict[str, Any]:
        if raw.get("format") in FIXED_FORMATS:
            return {"type": "string", "format": raw["format"]}
        low = int(raw.get("minLength", 0))
        high = int(raw.get("maxLength", max(self.policy.string_max_length, low)))
        if high < low:
            raise SchemaError(f"{path}: maxLength {high} is below minLength {low}")
        out: dict[str, Any] = {"type": "string", "minLength": low, "maxLength": high}
        pattern = raw.get("pattern")
        if isinstance(pattern, str):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise SchemaError(f"{path}: 'pattern' {pattern!r} is not a regular expression: {exc}") from None
            out["pattern"] = pattern  # kept for validation; the constraint says what of it a grammar can
        if raw.get("format"):
            out["format"] = raw["format"]  # validated after decoding (e.g. hostname, ipv6)
        return out

    def integer(self, raw: dict, path: str) -> dict[str, Any]:
        limit = 10**self.policy.integer_max_digits - 1
        low, high = _bounds(raw, -limit, limit)
        if isinstance(raw.get("exclusiveMinimum"), (int, float)) and not isinstance(raw.get("exclusiveMinimum"), bool) and "minimum" not in raw:
            low = math.floor(raw["exclusiveMinimum"]) + 1 if raw["exclusiveMinimum"] >= -limit else low
        if isinstance(raw.get("exclusiveMaximum"), (int, float)) and not isinstance(raw.get("exclusiveMaximum"), bool) and "maximum" not in raw:
            high = math.ceil(raw["exclusiveMaximum"]) - 1 if raw["exclusiveMaximum"] <= limit else high
        if low > high:
            raise SchemaError(f"{path}: no integer lies between its bounds")
        out = {"type": "integer", "minimum": math.ceil(low), "maximum": math.floor(high)}
        if isinstance(raw.get("multipleOf"), (int, float)) and raw["multipleOf"] > 0:
            out["multipleOf"] = raw["multipleOf"]
        return out

    def number(self, raw: dict, path: str) -> dict[str, Any]:
        limit = 10**self.policy.number_max_int_digits - 1
        low, high = _bounds(raw, -limit, limit)
        step = raw.get("multipleOf")
        if step is not None and (not isinstance(step, (int, float)) or step <= 0):
            raise SchemaError(f"{path}: 'multipleOf' must be a positive number, not {step!r}")
        frac = _fraction_digits(step) if step else self.policy.number_max_frac_digits
        frac = min(frac, self.policy.number_max_frac_digits)
        out = {"type": "number", "minimum": low, "maximum": high, "multipleOf": step if step and _fraction_digits(step) <= frac else (10.0**-frac if frac else 1)}
        for key in ("exclusiveMinimum", "exclusiveMaximum"):
            value = raw.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[key] = value  # validated after decoding: the constraint bounds digits, not values
        if raw.get("format") == "decimal":
            out["format"] = "decimal"
        return out


def _bounds(raw: dict, default_low: float, default_high: float) -> tuple[float, float]:
    """The schema's range, clipped to the policy's digits where the schema is wider."""

    def pick(inclusive: str, exclusive: str) -> float | None:
        for key in (inclusive, exclusive):
            value = raw.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return value
        return None

    low, high = pick("minimum", "exclusiveMinimum"), pick("maximum", "exclusiveMaximum")
    low = default_low if low is None else max(low, default_low)
    high = default_high if high is None else min(high, default_high)
    if low > high:  # the schema asks for numbers beyond the policy: its own bound wins
        high = low if pick("maximum", "exclusiveMaximum") is None else pick("maximum", "exclusiveMaximum")
    return low, high


def _fraction_digits(step: float) -> int:
    text = repr(float(step))
    if "e-" in text:
        mantissa, exponent = text.split("e-")
        return int(exponent) + (len(mantissa.split(".")[1]) if "." in mantissa and mantissa.split(".")[1] != "0" else 0)
    if "." in text:
        frac = text.split(".")[1].rstrip("0")
        return len(frac)
    return 0


def _untyped(raw: dict) -> bool:
    """No type and nothing that implies one (`{}`, or only a description): any scalar JSON value."""
    structural = {"type", "properties", "additionalProperties", "patternProperties", "items", "maxLength", "minLength", "pattern", "format",
                  "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "enum", "const", "$ref", "allOf", "anyOf", "oneOf",
                  "maxItems", "minItems", "required", *_REFUSED}
    return not (structural & set(raw))


def _infer_type(raw: dict, path: str) -> str:
    if "properties" in raw or "additionalProperties" in raw or "patternProperties" in raw or "required" in raw:
        return "object"
    if "items" in raw or "maxItems" in raw or "minItems" in raw:
        return "array"
    if any(k in raw for k in ("maxLength", "minLength", "pattern", "format")):
        return "string"
    if any(k in raw for k in ("minimum", "maximum", "multipleOf", "exclusiveMinimum", "exclusiveMaximum")):
        return "number"
    raise SchemaError(f"{path}: schema without a type")


def _union(branches: list[dict[str, Any]]) -> dict[str, Any]:
    flat: list[dict[str, Any]] = []
    for b in branches:
        inner = b.get("anyOf")
        for item in inner if inner is not None and set(b) <= {"anyOf", "title", "description"} else [b]:
            if item not in flat:
                flat.append(item)
    if len(flat) == 1:
        return flat[0]
    # Null last: a model reads the real type first.
    flat.sort(key=lambda b: b.get("type") == "null")
    return {"anyOf": flat}
