"""Model output -> validated record, status and per-field errors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

COMPLIANT = "compliant"
NONCOMPLIANT = "noncompliant"
FAILED = "failed"
STATUSES = (COMPLIANT, NONCOMPLIANT, FAILED)


@dataclass
class Checked:
    status: str
    record: dict[str, Any] | None = None  # model_dump(mode="python") when compliant
    errors: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None


def check_output(text: str, model: type[BaseModel], hardened: dict[str, Any]) -> Checked:
    """Parse and validate one output; never raises for bad output."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"output is not JSON: {exc.msg} at character {exc.pos}"
        return Checked(NONCOMPLIANT, errors=[{"field": "$", "message": message}], error=message)
    value = drop_unstated(value, hardened)
    try:
        instance = model.model_validate(value)
    except ValidationError as exc:
        errors = [{"field": _location(e["loc"]), "message": e["msg"]} for e in exc.errors(include_url=False)]
        return Checked(NONCOMPLIANT, errors=errors, error=f"{len(errors)} field error(s): " + "; ".join(f"{e['field']}: {e['message']}" for e in errors[:3]))
    except Exception as exc:  # a validator with a bug of its own must not kill the run
        message = f"validator raised {type(exc).__name__}: {exc}"
        return Checked(NONCOMPLIANT, errors=[{"field": "$", "message": message}], error=message)
    return Checked(COMPLIANT, record=instance.model_dump(mode="python", by_alias=True))


def drop_unstated(value: Any, node: dict[str, Any]) -> Any:
    """Remove `null`s the model wrote for properties the schema does not require.

    The constraint makes the model write every property, `null` meaning "not in the
    document"; dropping those lets pydantic apply the field's default.
    """
    if isinstance(value, dict):
        options = [o for o in node.get("anyOf", ()) if o.get("type") == "object"]
        target = options[0] if options else node
        props = target.get("properties")
        if props is None:
            return value
        required = set(target.get("required", ()))
        return {
            key: drop_unstated(item, props.get(key, {}))
            for key, item in value.items()
            if not (item is None and key not in required)
        }
    if isinstance(value, list):
        options = [o for o in node.get("anyOf", ()) if o.get("type") == "array"]
        target = options[0] if options else node
        return [drop_unstated(item, target.get("items", {})) for item in value]
    return value


def _location(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "$"


def filled_fields(record: dict[str, Any] | None) -> list[str]:
    """Top-level fields holding a value (not null, not an empty list or string)."""
    if not record:
        return []
    return [k for k, v in record.items() if v not in (None, "", [], {})]
