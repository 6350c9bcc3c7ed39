"""The prompt: instructions and fields from the schema, then the document.

Everything that depends only on the schema comes first and is identical for every
document, so vLLM's prefix cache reuses it; the document comes last, inside
delimiters that the document itself cannot close. Whatever the document says, the
output's structure is fixed by the decoding constraint, not by the prompt.

A prompt has a versioned *format*, because a fine-tuned model is trained on the exact
bytes of one format and must be served with the same one:

* `worked-example-v1`: for pretrained models. The schema's worked example (or a
  skeleton of placeholder values) shows the output's layout; a base model needs it,
  and copies it.
* `fields-v1`: for models fine-tuned by `fieldmill finetune`. The field list alone,
  no example and no placeholder values a model could copy; fewer prompt tokens.
* `fields-v2`: `fields-v1` made compact for fine-tuned models: one short type word per
  field (`text`, `date`, `number`, `one of ...`), no length limits or "or null" (the
  constraint enforces both), so a 50-field schema costs about a third fewer prompt
  tokens, which is a third less prefill per document and per training step.

* `fields-v3`: `fields-v2` whose rules never override a field: a field's description
  comes first (a string field that asks for a date "as printed" gets the printed date),
  text is copied as printed, and only fields typed as dates or numbers are normalised
  (`date YYYY-MM-DD`, plain digits). Users' schemas ask for values as printed; `fields-v2`
  told the model to rewrite every date as ISO whatever the field said.

A model folder names its format in its card (`fieldmill-model.json`); a model without
a card gets `worked-example-v1`.
"""

from __future__ import annotations

import json
from typing import Any

from fieldmill.schema.hardening import accepts_null

DOC_OPEN = "<<<DOCUMENT"
DOC_CLOSE = "DOCUMENT>>>"
ANSWER_LEAD = "JSON record for the document above:\n"
_DESCRIPTION_CHARS = 240


WORKED_EXAMPLE = "worked-example-v1"
FIELDS_ONLY = "fields-v1"
FIELDS_COMPACT = "fields-v2"
FIELDS_AS_ASKED = "fields-v3"
PROMPT_FORMATS = (WORKED_EXAMPLE, FIELDS_ONLY, FIELDS_COMPACT, FIELDS_AS_ASKED)
FINETUNE_DEFAULT = FIELDS_AS_ASKED  # the format `fieldmill finetune` teaches unless told otherwise


class PromptFormatError(ValueError):
    pass


def schema_prefix(hardened: dict[str, Any], title: str, example_document: str | None = None, example_style: str = "json",
                  prompt_format: str = WORKED_EXAMPLE) -> str:
    """The part of every prompt that depends only on the schema.

    In `worked-example-v1`, with an example document (the schema's `x-example-document`,
    paired with its first `examples` record) the prompt shows a worked example, document
    then record, in the same layout as the real task: a small base model copies from the
    document far more faithfully when it has seen that done once. `fields-v1` shows none.
    """
    if prompt_format not in PROMPT_FORMATS:
        raise PromptFormatError(f"unknown prompt format {prompt_format!r}; known: {', '.join(PROMPT_FORMATS)}")
    if prompt_format == FIELDS_COMPACT:
        return "\n".join([
            f"Task: extract one {title} record from the document below as JSON.",
            "Rules: take every value from the document and write null when the document does not state it; copy text exactly as written;"
            " dates as YYYY-MM-DD; numbers as plain digits, without currency signs or thousands separators; a list holds each item once, in document order.",
            "Fields:",
            *compact_fields(hardened),
            "",
        ])
    if prompt_format == FIELDS_AS_ASKED:
        return "\n".join([
            f"Task: extract one {title} record from the document below as JSON.",
            "Rules: a field's description comes first, follow it. Take every value from the document; write null only when the document does not state it."
            " Text fields: the value exactly as printed (a value printed over several lines on one line). Date fields: YYYY-MM-DD."
            " Number fields: plain digits, no currency sign or thousands separator. A list holds each item once, in document order.",
            "Fields:",
            *compact_fields(hardened, iso_dates=True),
            "",
        ])
    shown = [] if prompt_format == FIELDS_ONLY else _shown_example(hardened, example_document, example_style)
    lines = [
        f"Task: extract one {title} record from the document below as one line of JSON.",
        "Rules: use only facts stated in the document; write null for a field the document does not state;"
        " copy names and identifiers exactly; dates as YYYY-MM-DD; numbers without currency signs or thousands separators;"
        " a list holds each item once.",
        "",
        "Fields:",
        *describe_fields(hardened),
        "",
        *shown,
    ]
    return "\n".join(lines)


def _shown_example(hardened: dict[str, Any], example_document: str | None, example_style: str) -> list[str]:
    record = example_record(hardened)
    example = json.dumps(record, ensure_ascii=False, separators=(",", ":")) if example_style == "json" else "\n".join(flat_lines(record))
    if example_document and isinstance(hardened.get("examples"), list) and hardened["examples"]:
        shown = ["Worked example:", "Document:", DOC_OPEN, example_document.strip(), DOC_CLOSE, "", ANSWER_LEAD + example, ""]
    else:
        shown = ["Example of the output format (the values are invented):", example, ""]
    return shown


def schema_title(schema_name: str) -> str:
    """How the task line names the record: `legal_contract` -> `legal contract`."""
    return schema_name.replace("_", " ")


def build_prompt(prefix: str, document: str) -> str:
    body = document.replace(DOC_CLOSE, "DOCUMENT> > >").replace(DOC_OPEN, "< < <DOCUMENT")
    return f"{prefix}\nDocument:\n{DOC_OPEN}\n{body}\n{DOC_CLOSE}\n\n{ANSWER_LEAD}"


def prompt_token_ids(tokenizer, prompt: str) -> list[int]:
    """The prompt's token ids, as every engine and the trainer compute them: text that spells a special
    token (a document holding `<eos>` or `<start_of_turn>`) stays text, never a control token."""
    return tokenizer(prompt, add_special_tokens=True, split_special_tokens=True)["input_ids"]


def answer_token_ids(tokenizer, answer: str) -> list[int]:
    """An answer's (or the start of one's) token ids, as the trainer appends them to the prompt's: no special tokens
    added, text that spells one stays text."""
    return tokenizer(answer, add_special_tokens=False, split_special_tokens=True)["input_ids"]


def describe_fields(node: dict[str, Any], indent: str = "") -> list[str]:
    lines = []
    for name, sub in node.get("properties", {}).items():
        required = name in node.get("required", ()) and not accepts_null(sub)
        kind, children = _kind(sub)
        text = f"{indent}- {name}: {kind}{'' if required else ', or null'}"
        description = (sub.get("description") or _non_null(sub).get("description") or "").strip()
        if description:
            text += ". " + " ".join(description.split())[:_DESCRIPTION_CHARS]
        lines.append(text)
        if children is not None:
            lines += describe_fields(children, indent + "  ")
    return lines


def compact_fields(node: dict[str, Any], indent: str = "", iso_dates: bool = False) -> list[str]:
    """`- name (kind): description` per field, nested fields indented under their object or list.

    `iso_dates` names a date field's form (`date YYYY-MM-DD`), so that only typed dates are
    rewritten and a text field that asks for a printed date is not."""
    lines = []
    for name, sub in node.get("properties", {}).items():
        kind, children = _kind(sub, compact=True, iso_dates=iso_dates)
        description = " ".join((sub.get("description") or _non_null(sub).get("description") or "").split())[:_DESCRIPTION_CHARS]
        lines.append(f"{indent}- {name} ({kind})" + (f": {description}" if description else ""))
        if children is not None:
            lines += compact_fields(children, indent + "  ", iso_dates)
    return lines


def _kind(node: dict[str, Any], compact: bool = False, iso_dates: bool = True) -> tuple[str, dict[str, Any] | None]:
    """A short type phrase for a field, and the object whose fields follow it, if any.

    `compact` (`fields-v2`, `fields-v3`) is one short word a kind, without the limits the constraint
    enforces anyway; `iso_dates` names a date field's form (`date YYYY-MM-DD`)."""
    node = _non_null(node)
    if "anyOf" in node:
        return " or ".join(_kind(o, compact, iso_dates)[0] for o in node["anyOf"] if o.get("type") != "null"), None
    if "enum" in node:
        return "one of " + ", ".join(json.dumps(v, ensure_ascii=False) for v in node["enum"] if v is not None), None
    if "const" in node:
        return "always " + json.dumps(node["const"], ensure_ascii=False), None
    kind = node.get("type")
    if kind == "object":
        if node.get("properties"):
            return ("object" if compact else "object (fields below)"), node
        return "object of name to value", None
    if kind == "array":
        item_kind, children = _kind(node["items"], compact, iso_dates)
        if not compact:
            return f"list (at most {node['maxItems']}) of {item_kind}", children
        return ("list of objects" if children is not None else f"list of {item_kind}"), children
    if kind == "string":
        fmt = node.get("format")
        if fmt:
            return {"date": "date YYYY-MM-DD" if iso_dates else "date", "date-time": "date-time YYYY-MM-DDTHH:MM:SS", "time": "time HH:MM:SS"}.get(fmt, fmt), None
        if node.get("pattern"):
            return f"{'text' if compact else 'string'} matching {node['pattern']}", None
        return ("text" if compact else f"text (at most {node['maxLength']} characters)"), None
    if kind == "integer":
        return "integer", None
    if kind == "number":
        return ("decimal number" if node.get("format") == "decimal" and not compact else "number"), None
    if kind == "boolean":
        return "true or false", None
    return str(kind), None


def _non_null(node: dict[str, Any]) -> dict[str, Any]:
    options = [o for o in node.get("anyOf", ()) if o.get("type") != "null"]
    return options[0] if len(options) == 1 else node


def example_record(hardened: dict[str, Any]) -> Any:
    """The schema's own example when it has one, else a skeleton of placeholder values."""
    examples = hardened.get("examples")
    if isinstance(examples, list) and examples and isinstance(examples[0], dict):
        return in_schema_order(examples[0], hardened)
    return skeleton(hardened)


def flat_lines(value: Any, path: str = "") -> list[str]:
    """A record as `path: value` lines: shows the kind of values without a JSON text to copy."""
    if isinstance(value, dict):
        return [line for k, v in value.items() for line in flat_lines(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [line for i, v in enumerate(value) for line in flat_lines(v, f"{path}[{i}]")] or [f"{path}: []"]
    return [f"{path}: {json.dumps(value, ensure_ascii=False)}"]


def in_schema_order(value: Any, node: dict[str, Any]) -> Any:
    """`value` with object keys in the order the constraint makes the model write them."""
    node = _non_null(node)
    if isinstance(value, dict) and node.get("properties"):
        props = node["properties"]
        ordered = {k: in_schema_order(value.get(k), props[k]) for k in props}
        return ordered | {k: v for k, v in value.items() if k not in props}
    if isinstance(value, list) and node.get("type") == "array":
        return [in_schema_order(v, node["items"]) for v in value]
    return value


def skeleton(node: dict[str, Any]) -> Any:
    node = _non_null(node)
    if "anyOf" in node:
        return skeleton(node["anyOf"][0])
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return next((v for v in node["enum"] if v is not None), None)
    kind = node.get("type")
    if kind == "object":
        if "properties" in node:
            return {name: skeleton(sub) for name, sub in node["properties"].items()}
        return {}
    if kind == "array":
        return [skeleton(node["items"])] if node["maxItems"] else []
    if kind == "string":
        return {"date": "2026-01-31", "date-time": "2026-01-31T09:30:00", "time": "09:30:00", "uuid": "00000000-0000-0000-0000-000000000000"}.get(
            node.get("format"), "..."
        )
    if kind == "integer":
        return max(node["minimum"], min(1, node["maximum"]))
    if kind == "number":
        return max(node["minimum"], min(1.5, node["maximum"]))
    if kind == "boolean":
        return False
    return None
