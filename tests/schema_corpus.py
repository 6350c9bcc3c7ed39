"""A corpus of JSON Schemas nobody wrote for fieldmill: hand-written ones in the shapes public schemas have
(fixtures/schema_corpus/*.json) and generated ones that vary the keywords users combine.

The generator draws a record of 2-12 properties from the kinds real schemas use (strings with
lengths, patterns and formats; integers and numbers with inclusive, exclusive and `multipleOf`
bounds; enums, consts, booleans, nullable unions, `type` lists; nested objects, arrays of
objects, maps, `$ref`s into `$defs`, `allOf`, `oneOf`, untyped properties, recursion), and
now and then a keyword no constraint can honour (`not`, `if`/`then`), about as often as
public schemas use one.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HAND_WRITTEN = Path(__file__).parent / "fixtures" / "schema_corpus"
WORDS = ["name", "id", "date", "amount", "status", "code", "email", "city", "total", "items", "note", "count", "price", "owner", "url", "level"]


def hand_written() -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(HAND_WRITTEN.glob("*.json"))}


def generated(count: int, seed: int = 0) -> dict[str, dict]:
    rng = random.Random(seed)
    return {f"generated-{i:03d}": _schema(rng) for i in range(count)}


def _leaf(rng: random.Random) -> dict:
    kind = rng.choice(["string", "string", "string", "integer", "number", "boolean", "enum", "date", "nullable", "untyped", "const", "typelist"])
    if kind == "string":
        out: dict = {"type": "string"}
        choice = rng.random()
        if choice < 0.3:
            out["maxLength"] = rng.choice([3, 10, 40, 255])
        if choice < 0.15:
            out["minLength"] = 1
        if rng.random() < 0.2:
            out["pattern"] = rng.choice(["^[A-Z]{2}[0-9]{4}$", "^[a-z]+$", "[0-9]", "^\\+?[0-9 ]{6,15}$", "^[A-Z0-9._%+-]+@[A-Z0-9.-]+$", "^(?!x)[a-z]{1,8}$"])
        elif rng.random() < 0.2:
            out["format"] = rng.choice(["email", "uri", "date-time", "uuid", "hostname", "ipv4", "time"])
        return out
    if kind == "integer":
        out = {"type": "integer"}
        if rng.random() < 0.5:
            out["minimum" if rng.random() < 0.5 else "exclusiveMinimum"] = rng.choice([0, 1, 18])
        if rng.random() < 0.3:
            out["maximum"] = rng.choice([100, 65535])
        if rng.random() < 0.1:
            out["multipleOf"] = rng.choice([5, 10])
        return out
    if kind == "number":
        out = {"type": "number"}
        if rng.random() < 0.4:
            out["minimum"] = 0
        if rng.random() < 0.2:
            out["exclusiveMaximum"] = 100
        if rng.random() < 0.3:
            out["multipleOf"] = rng.choice([0.01, 0.5, 0.1])
        return out
    if kind == "boolean":
        return {"type": "boolean"}
    if kind == "enum":
        return {"enum": rng.sample(["low", "medium", "high", "urgent", "n/a"], rng.randint(2, 4))}
    if kind == "date":
        return {"type": "string", "format": "date"}
    if kind == "nullable":
        return {"type": [rng.choice(["string", "number", "integer"]), "null"]}
    if kind == "const":
        return {"const": rng.choice(["v1", 1, True])}
    if kind == "typelist":
        return {"type": ["string", "number"]}
    return rng.choice([{}, {"description": "free-form"}, True])


def _node(rng: random.Random, depth: int, defs: dict) -> dict:
    roll = rng.random()
    if depth < 3 and roll < 0.12:
        return {"type": "object", "properties": _props(rng, depth + 1, defs, rng.randint(1, 5))}
    if depth < 3 and roll < 0.22:
        return {"type": "array", "items": rng.choice([_leaf(rng), {"type": "object", "properties": _props(rng, depth + 1, defs, rng.randint(1, 4))}]),
                **({"maxItems": rng.choice([5, 20])} if rng.random() < 0.4 else {}), **({"minItems": 1} if rng.random() < 0.2 else {})}
    if depth < 3 and roll < 0.27:
        name = f"def{len(defs)}"
        defs[name] = {"type": "object", "properties": _props(rng, depth + 1, defs, rng.randint(1, 4))}
        return {"$ref": f"#/$defs/{name}"}
    if depth < 3 and roll < 0.30:
        return {"type": "object", "additionalProperties": _leaf(rng)}
    if depth < 3 and roll < 0.33:
        return {"oneOf": [_leaf(rng), {"type": "object", "properties": _props(rng, depth + 1, defs, 2)}]}
    return _leaf(rng)


def _props(rng: random.Random, depth: int, defs: dict, count: int) -> dict:
    props = {}
    for _ in range(count):
        name = rng.choice(WORDS) + rng.choice(["", "_2", "Id", "s", "_at"])
        props[name] = _node(rng, depth, defs)
    return props


def _schema(rng: random.Random) -> dict:
    defs: dict = {}
    props = _props(rng, 0, defs, rng.randint(2, 12))
    schema: dict = {"title": rng.choice(["record", "form", "entry", "report"]), "type": "object", "properties": props}
    if rng.random() < 0.5:
        schema["required"] = rng.sample(list(props), rng.randint(1, len(props)))
    if rng.random() < 0.03:  # a keyword no constraint can honour, about as often as public schemas use one
        schema["properties"]["odd"] = rng.choice([{"not": {"type": "null"}}, {"type": "string", "if": {"minLength": 1}, "then": {"maxLength": 5}}])
    if rng.random() < 0.1:  # recursion
        defs["node"] = {"type": "object", "properties": {"label": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}
        schema["properties"]["tree"] = {"$ref": "#/$defs/node"}
    if rng.random() < 0.08:
        schema = {"type": "array", "items": schema}
    if rng.random() < 0.1:
        schema = {"allOf": [schema, {"type": "object", "properties": {"extra": {"type": "string"}}}]} if schema.get("type") == "object" else schema
    if defs:
        schema["$defs"] = defs
    return schema
