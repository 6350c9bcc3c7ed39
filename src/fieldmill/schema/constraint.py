"""Compile a hardened schema into the decoding constraint and its token budget.

The constraint is a regex for compact JSON (no free whitespace, properties in schema
order, every property present). All three vLLM structured-output backends accept a
regex, so `--backend` changes the engine that enforces it, never the language: the
budget below holds whichever one runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Sequence

from fieldmill.schema.grammar import (
    DIGIT,
    CharClass,
    Literal,
    Node,
    Repeat,
    alt,
    integer_range,
    json_number,
    number_range,
    json_string,
    optional,
    separated,
    seq,
)
from fieldmill.schema.hardening import SchemaError
from fieldmill.schema.patterns import bounded_pattern, pattern_widths

# Formats with a fixed, bounded shape. Their values are what pydantic parses.
_TWO = Repeat(DIGIT, 2, 2)
_MONTH = alt(seq(Literal("0"), CharClass("[1-9]", 1)), seq(Literal("1"), CharClass("[0-2]", 1)))
_DAY = alt(seq(Literal("0"), CharClass("[1-9]", 1)), seq(CharClass("[12]", 1), DIGIT), seq(Literal("3"), CharClass("[01]", 1)))
_DATE = seq(Repeat(DIGIT, 4, 4), Literal("-"), _MONTH, Literal("-"), _DAY)
_TIME = seq(_TWO, Literal(":"), _TWO, Literal(":"), _TWO, optional(seq(Literal("."), Repeat(DIGIT, 1, 6))))
_OFFSET = alt(Literal("Z"), seq(alt(Literal("+"), Literal("-")), _TWO, Literal(":"), _TWO))
_FORMATS: dict[str, Node] = {
    "date": _DATE,
    "time": seq(_TIME, optional(_OFFSET)),
    "date-time": seq(_DATE, Literal("T"), _TIME, optional(_OFFSET)),
}


def _uuid() -> Node:
    hexd = CharClass("[0-9a-fA-F]", 1)
    return seq(*(
        part
        for i, n in enumerate((8, 4, 4, 4, 12))
        for part in ((Literal("-"),) if i else ()) + (Repeat(hexd, n, n),)
    ))


_FORMATS["uuid"] = _uuid()
# Bounded shapes of the common text formats (the lengths of RFC 5321's parts, URIs up to 2,000 characters).
_ALNUM = CharClass("[A-Za-z0-9]", 1)
_LABEL = seq(_ALNUM, Repeat(CharClass("[A-Za-z0-9-]", 1), 0, 62))
_FORMATS["email"] = seq(Repeat(CharClass("[A-Za-z0-9._%+-]", 1), 1, 64), Literal("@"), _LABEL, Repeat(seq(Literal("."), _LABEL), 1, 4))
_FORMATS["uri"] = seq(CharClass("[A-Za-z]", 1), Repeat(CharClass("[A-Za-z0-9+.-]", 1), 0, 15), Literal(":"),
                      Repeat(CharClass("[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]", 1), 1, 2000))
_OCTET = alt(seq(Literal("25"), CharClass("[0-5]", 1)), seq(Literal("2"), CharClass("[0-4]", 1), DIGIT), seq(Literal("1"), DIGIT, DIGIT),
             seq(CharClass("[1-9]", 1), DIGIT), DIGIT)
_FORMATS["ipv4"] = seq(_OCTET, Repeat(seq(Literal("."), _OCTET), 3, 3))


def format_regex(fmt: str) -> str:
    """The bounded shape of a string format's value (without the JSON quotes)."""
    return _FORMATS[fmt].regex()


@dataclass(frozen=True)
class Constraint:
    """What the engine is asked to follow, and what that costs at most.

    `grammar`, when set, is a Lark grammar (llguidance's dialect) that replaces the regex
    for one document, such as the grounded grammar of `--grounding strict`; its longest
    output is never longer than the regex's, so `max_output_bytes` still bounds it.
    """

    regex: str
    max_output_bytes: int
    grammar: str | None = None

    def output_type(self):
        """The constraint as an outlines output type, the form every engine consumes:
        `outlines.types.CFG` for a grammar, else `outlines.types.Regex`."""
        from outlines.types import CFG, Regex

        return CFG(self.grammar) if self.grammar else Regex(self.regex)

    @property
    def max_output_tokens(self) -> int:
        # Every token covers at least one byte; one more for the end-of-sequence token.
        return self.max_output_bytes + 1


def build_constraint(hardened: dict[str, Any]) -> Constraint:
    """The record's regex and its budget; and, when the schema says more than a regex can (a pattern
    together with a length), the exact Lark grammar as well (`schema/lark_grammar.py`). An answer continued
    from fixed texts: `stretch_constraint`."""
    from fieldmill.schema.lark_grammar import needs_grammar, record_grammar

    node = value_node(hardened, "$")
    return Constraint(regex=node.regex(), max_output_bytes=node.max_bytes(), grammar=record_grammar(hardened) if needs_grammar(hardened) else None)


def stretch_constraint(values: Sequence[tuple[str, dict[str, Any], str]], tail: str) -> Constraint:
    """Fixed texts with values between them, each value `(lead, schema, field name)` after its fixed `lead`, then the
    fixed `tail`: an answer continued through several of its nulls at once (`extract/doubted.py`)."""
    from fieldmill.schema.lark_grammar import needs_grammar, stretch_grammar

    node = seq(*(part for lead, schema, _ in values for part in ((Literal(lead),) if lead else ()) + (value_node(schema, "$"),)),
               *((Literal(tail),) if tail else ()))
    return Constraint(regex=node.regex(), max_output_bytes=node.max_bytes(),
                      grammar=stretch_grammar(values, tail) if any(needs_grammar(schema) for _, schema, _ in values) else None)


def exact_pattern(schema: dict[str, Any]) -> Node | None:
    """A string's pattern as a bounded node, when that node alone is exactly the schema's strings:
    the pattern is bounded and every match's length lies within `minLength`..`maxLength`."""
    pattern = schema.get("pattern")
    node = bounded_pattern(pattern) if pattern is not None else None
    if node is None:
        return None
    shortest, longest = pattern_widths(pattern)
    if shortest < schema.get("minLength", 0) or longest > schema["maxLength"]:
        return None
    return node


def _literal(value: Any) -> Node:
    return Literal(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def value_node(schema: dict[str, Any], path: str) -> Node:
    if "anyOf" in schema:
        return alt(*(value_node(s, f"{path}|{i}") for i, s in enumerate(schema["anyOf"])))
    if "const" in schema:
        return _literal(schema["const"])
    if "enum" in schema:
        return alt(*(_literal(v) for v in schema["enum"]))
    kind = schema.get("type")
    if kind == "object":
        return _object(schema, path)
    if kind == "array":
        item = value_node(schema["items"], f"{path}[]")
        return seq(Literal("["), separated(item, ",", schema["minItems"], schema["maxItems"]), Literal("]"))
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        return integer_range(int(schema["minimum"]), int(schema["maximum"]))
    if kind == "number":
        low, high = schema["minimum"], schema["maximum"]
        step = schema.get("multipleOf", 1)
        frac = 0 if step >= 1 else len(f"{step:.12f}".rstrip("0").split(".")[1])
        if float(low).is_integer() and float(high).is_integer() and high >= 0:
            return integer_range(int(low), int(high)) if frac == 0 else number_range(int(low), int(high), frac)
        return json_number(_digits(max(abs(low), abs(high))), frac, negative=low < 0)
    if kind == "boolean":
        return alt(Literal("true"), Literal("false"))
    if kind == "null":
        return Literal("null")
    raise SchemaError(f"{path}: cannot build a constraint for {schema!r}")


def _digits(magnitude: float) -> int:
    return max(1, len(str(int(magnitude))))


def _object(schema: dict[str, Any], path: str) -> Node:
    props = schema.get("properties")
    if props is not None:
        parts: list[Node] = []
        for i, (name, sub) in enumerate(props.items()):
            key = json.dumps(name, ensure_ascii=False)
            parts.append(Literal(("{" if i == 0 else ",") + key + ":"))
            parts.append(value_node(sub, f"{path}.{name}"))
        parts.append(Literal("}" if props else "{}"))
        return seq(*parts)
    key = json_string(1, schema["propertyNames"]["maxLength"])
    entry = seq(key, Literal(":"), value_node(schema["additionalProperties"], f"{path}.*"))
    return seq(Literal("{"), separated(entry, ",", schema.get("minProperties", 0), schema["maxProperties"]), Literal("}"))


def _string(schema: dict[str, Any]) -> Node:
    fmt = schema.get("format")
    if fmt in _FORMATS:
        return seq(Literal('"'), _FORMATS[fmt], Literal('"'))
    node = exact_pattern(schema)
    if node is not None:
        return seq(Literal('"'), node, Literal('"'))
    # A pattern with a length (or an unbounded one) is their intersection, which the record's Lark
    # grammar says exactly; this regex is the length alone, a superset (validation still checks).
    return json_string(schema.get("minLength", 0), schema["maxLength"])


# --- The one text of a record in the constraint's language ---------------------------

_CONTROL = {i: " " for i in range(0x20) if chr(i) not in "\b\f\n\r\t"}


class AnswerError(ValueError):
    """A value that the constraint cannot express (a training target that cannot be emitted)."""


def answer_text(value: Any, hardened: dict[str, Any]) -> str:
    """`value` written as the constraint makes the model write it: compact, keys in schema
    order, every property present (`null` when absent), numbers without exponent or
    trailing zeros. This is the target `fieldmill finetune` trains on."""
    return _render(value, hardened, "$")


def _render(value: Any, node: dict[str, Any], path: str) -> str:
    if "anyOf" in node:
        if value is None and any(o.get("type") == "null" for o in node["anyOf"]):
            return "null"
        errors = []
        for option in node["anyOf"]:
            if option.get("type") == "null":
                continue
            try:
                return _render(value, option, path)
            except AnswerError as exc:
                errors.append(str(exc))
        raise AnswerError(errors[0] if errors else f"{path}: no branch accepts {value!r}")
    if "const" in node or "enum" in node:
        allowed = [node["const"]] if "const" in node else node["enum"]
        if value not in allowed:
            raise AnswerError(f"{path}: {value!r} is not one of {allowed!r}")
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    kind = node.get("type")
    if value is None:
        if kind == "null":
            return "null"
        raise AnswerError(f"{path}: null where the schema requires a {kind}")
    if kind == "object":
        if not isinstance(value, dict):
            raise AnswerError(f"{path}: expected an object, got {type(value).__name__}")
        props = node.get("properties")
        if props is None:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        inner = ",".join(json.dumps(k, ensure_ascii=False) + ":" + _render(value.get(k), sub, f"{path}.{k}") for k, sub in props.items())
        return "{" + inner + "}"
    if kind == "array":
        if not isinstance(value, list):
            raise AnswerError(f"{path}: expected a list, got {type(value).__name__}")
        return "[" + ",".join(_render(v, node["items"], f"{path}[{i}]") for i, v in enumerate(value[: node.get("maxItems")])) + "]"
    if kind == "string":
        text = str(value).translate(_CONTROL)[: node.get("maxLength")]
        return json.dumps(text, ensure_ascii=False)
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("integer", "number"):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise AnswerError(f"{path}: {value!r} is not a number") from None
        step = Decimal(str(node.get("multipleOf", 1))) if kind == "number" else Decimal(1)
        if step < 1:
            number = number.quantize(step.normalize())
        elif number != number.to_integral_value():
            raise AnswerError(f"{path}: {value!r} is not a whole number")
        text = format(number.normalize(), "f")
        return "0" if text in ("-0", "0") else text
    raise AnswerError(f"{path}: cannot write a value for {node!r}")
