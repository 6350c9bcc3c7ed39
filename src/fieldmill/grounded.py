"""`--grounding strict`: a per-document grammar in which free text can only be copied from the document.

The record's constraint (`constraint.py`) is one regex for the schema. Under strict
grounding every *free-text* string field (names, identifiers, addresses, descriptions:
a string without an enum, a format or a pattern) becomes either `null` or a JSON string
whose value is a contiguous span of the document, through llguidance's substring
lexeme (`%regex {"substring_chunks": [...]}`). Enums, dates and numbers keep their own
regexes: the schema normalises them, so they are rarely printed verbatim.

The chunks are the document's words, spaces and punctuation marks, each already
escaped as JSON string content, so any run of chunks is a valid JSON string body whose
decoded value is that run of the document, quotes, backslashes and line breaks included.
A span is also bounded to the field's `maxLength` in JSON characters, which is at most
its length in characters: the grammar's longest record is no longer than the regex's,
so the token budget derived from the regex still holds.

The grammar is Lark, as llguidance reads it (vLLM's `guidance` backend takes it as a
`grammar` structured output). Everything but the span fields is embedded as the
constraint's own regex terminals.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fieldmill.constraint import value_node

_CHUNK = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)
_CONTROL = {i: " " for i in range(0x20) if chr(i) not in "\n\r\t"}


def is_free_text(node: dict[str, Any]) -> bool:
    return node.get("type") == "string" and not ({"enum", "const", "format", "pattern"} & set(node))


def chunks(text: str) -> list[str]:
    """The document as JSON-escaped words, whitespace runs and single punctuation marks."""
    return [json.dumps(piece, ensure_ascii=False)[1:-1] for piece in _CHUNK.findall(text.translate(_CONTROL))]


def grounded_grammar(hardened: dict[str, Any], text: str) -> str:
    """A Lark grammar for `hardened` in which free-text strings are null or spans of `text`."""
    builder = _Builder()
    start = builder.value(hardened, "$")
    lines = ["%llguidance {}", f"start: {start}", f"SPAN: %regex {json.dumps({'substring_chunks': chunks(text)}, ensure_ascii=False)}"]
    lines += [f"{name}: {body}" for name, body in builder.rules]
    return "\n".join(lines) + "\n"


class _Builder:
    def __init__(self):
        self.rules: list[tuple[str, str]] = []
        self._spans: dict[tuple[int, int], str] = {}

    def rule(self, body: str) -> str:
        name = f"r{len(self.rules)}"
        self.rules.append((name, body))
        return name

    def span(self, low: int, high: int) -> str:
        """A terminal: a JSON string whose content is a document span of `low`..`high` JSON characters."""
        key = (low, high)
        if key not in self._spans:
            name = f"SPAN_{low}_{high}"
            self._spans[key] = name
            self.rules.append((name, f'"\\"" (SPAN & /(?s:.{{{low},{high}}})/) "\\""'))
        return self._spans[key]

    def value(self, node: dict[str, Any], path: str) -> str:
        """A Lark expression for `node`: a regex terminal where no span is inside, else rules."""
        if not has_free_text(node):
            return _regex_terminal(value_node(node, path).regex())
        if "anyOf" in node:
            return "(" + " | ".join(self.value(o, f"{path}|{i}") for i, o in enumerate(node["anyOf"])) + ")"
        kind = node.get("type")
        if kind == "string":
            return self.span(node.get("minLength", 0), node["maxLength"])
        if kind == "array":
            item = self.rule(self.value(node["items"], f"{path}[]"))
            low, high = node["minItems"], node["maxItems"]
            if high == 0:
                return '"[]"'
            rest = f'("," {item}){{{max(low - 1, 0)},{high - 1}}}' if high > 1 else ""
            body = f"{item} {rest}".strip()
            return f'"[" {body} "]"' if low > 0 else f'"[" ({body})? "]"'
        # an object with properties (maps of free text keep the regex: their keys are not spans)
        parts = []
        for i, (name, sub) in enumerate(node["properties"].items()):
            parts.append(json.dumps(("{" if i == 0 else ",") + json.dumps(name, ensure_ascii=False) + ":", ensure_ascii=False))
            parts.append(self.value(sub, f"{path}.{name}"))
        parts.append('"}"' if node["properties"] else '"{}"')
        return self.rule(" ".join(parts))


def has_free_text(node: dict[str, Any]) -> bool:
    """Whether a schema (node) has a free-text string field anywhere, so that strict grounding changes it."""
    if "anyOf" in node:
        return any(has_free_text(o) for o in node["anyOf"])
    if node.get("type") == "array":
        return has_free_text(node["items"])
    if node.get("type") == "object":
        return any(has_free_text(s) for s in node.get("properties", {}).values())
    return is_free_text(node)


def _regex_terminal(regex: str) -> str:
    return "/" + regex.replace("/", "\\/") + "/"


__all__ = ["grounded_grammar", "chunks", "is_free_text", "has_free_text"]
