"""Model output -> validated record, status and per-field errors.

A record that breaks a rule keeps its values: when validation fails, every field that
is valid on its own keeps its typed value, and only the fields named by an error are
null. An error about an object as a whole (a cross-field rule such as "subtotal is the
sum of the lines", on the record or on one line item) nulls nothing: its fields are
each valid, the rule between them is not. The status stays `noncompliant` and `errors`
says which fields and rules failed, so readers who want only clean records filter on
the status, and per-field scores count what was right.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ValidationError

from fieldmill.schema.hardening import non_null_options

COMPLIANT = "compliant"
NONCOMPLIANT = "noncompliant"
FAILED = "failed"


@dataclass
class Checked:
    status: str
    record: dict[str, Any] | None = None  # model_dump(mode="python") when compliant; the valid fields when noncompliant
    errors: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None


def check_output(text: str, model: type[BaseModel], hardened: dict[str, Any], original=None) -> Checked:
    """Parse and validate one output; never raises for bad output.

    `original`: a validator of the user's own JSON Schema (`schema/validation.py`); a record is
    compliant only when the pydantic model and the original both accept it.
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"output is not JSON: {exc.msg} at character {exc.pos}"
        return Checked(NONCOMPLIANT, errors=[{"field": "$", "message": message}], error=message)
    stated = drop_unstated(value, hardened)
    raw: list[dict[str, Any]] = []
    instance = None
    try:
        instance = model.model_validate(stated)
    except ValidationError as exc:
        raw = exc.errors(include_url=False)
    except Exception as exc:  # a validator with a bug of its own must not kill the run
        message = f"validator raised {type(exc).__name__}: {exc}"
        return Checked(NONCOMPLIANT, errors=[{"field": "$", "message": message}], error=message)
    errors = [{"field": _location(e["loc"]), "message": e["msg"]} for e in raw]
    failed = {path for path in (_field_path(e["loc"], hardened) for e in raw) if path is not None}
    if original is not None:
        from fieldmill.schema.hardening import unwrap
        from fieldmill.schema.validation import original_errors

        key = hardened.get("x-fieldmill-wrapped")
        for error in original_errors(original, unwrap(json.loads(json.dumps(stated), parse_float=Decimal), hardened)):
            field = (f"{key}{'' if error['field'] == '$' or error['field'].startswith('[') else '.'}{error['field']}" if error["field"] != "$" else key) if key else error["field"]
            if not any(e["field"] == field for e in errors):
                errors.append({**error, "field": field})
                if not _is_object_path(field, hardened):
                    failed.add(_path_tuple(field))
    if errors:
        return Checked(NONCOMPLIANT, record=partial_record(value, hardened, failed), errors=errors,
                       error=f"{len(errors)} field error(s): " + "; ".join(f"{e['field']}: {e['message']}" for e in errors[:3]))
    return Checked(COMPLIANT, record=instance.model_dump(mode="python", by_alias=True))


def confirmed_by_rules(value: Any, model: type[BaseModel], hardened: dict[str, Any]) -> frozenset[str]:
    """The paths of the numbers in `value` (the model's parsed JSON) that a rule of the schema ties to other values:
    moved up or down (by a tenth of itself, at least 1, in whole units so a step such as cents still holds), the
    record breaks a rule it kept before, both ways. An equality (amount = quantity x unit price, the total the sum
    of its parts) breaks both ways; a bound (at most 100) or an order (discharge after admission) one way at most,
    so neither confirms a value. A value the rules confirm was read in agreement with the others it is tied to.
    About two milliseconds for an invoice: the stated values are validated as they are, without JSON on the way."""
    if not isinstance(value, dict):
        return frozenset()
    stated = drop_unstated(value, hardened)
    before = _broken_rules(model, stated)
    if before is None:
        return frozenset()
    confirmed = []
    for path, number in _numbers(stated, ""):
        step = max(1, round(abs(number) / 10))
        steps = _path_tuple(path)
        if all((_broken_rules(model, _with(stated, steps, moved)) or 0) > before for moved in (number + step, number - step)):
            confirmed.append(path)
    return frozenset(confirmed)


def _broken_rules(model: type[BaseModel], stated: Any) -> int | None:
    """How many errors the model finds in `stated` (None: a validator that raised something else says nothing)."""
    try:
        model.model_validate(stated)
    except ValidationError as exc:
        return exc.error_count()
    except Exception:  # noqa: BLE001 - a validator with a bug of its own confirms nothing
        return None
    return 0


def _numbers(value: Any, path: str):
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _numbers(sub, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _numbers(sub, f"{path}[{i}]")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path, value


def _with(value: Any, steps: tuple, new: Any) -> Any:
    """A copy of `value` with the leaf at `steps` replaced (the containers on the way copied, the rest shared)."""
    if not steps:
        return new
    head, rest = steps[0], steps[1:]
    if isinstance(value, list):
        return [_with(v, rest, new) if i == head else v for i, v in enumerate(value)]
    return {k: _with(v, rest, new) if k == head else v for k, v in value.items()}


def _path_tuple(field: str) -> tuple:
    """`a.b[2].c` -> ("a", "b", 2, "c")."""
    out: list = []
    for part in field.replace("[", ".[").split("."):
        if part.startswith("[") and part.endswith("]") and part[1:-1].isdigit():
            out.append(int(part[1:-1]))
        elif part and part != "$":
            out.append(part)
    return tuple(out)


def _is_object_path(field: str, hardened: dict[str, Any]) -> bool:
    return _field_path(_path_tuple(field), hardened) is None


def partial_record(value: Any, hardened: dict[str, Any], failed: set[tuple]) -> dict[str, Any] | None:
    """The typed values of `value` (the model's JSON) by the hardened schema, with the paths in `failed` null."""
    record = _typed(value, hardened, (), failed)
    return record if isinstance(record, dict) else None


def _field_path(loc: tuple, hardened: dict[str, Any]) -> tuple | None:
    """The path of the field an error names, or None when it names an object as a whole (a rule across its fields)."""
    node, path = hardened, []
    for part in loc:
        options = non_null_options(node)
        if isinstance(part, int):
            arrays = [o for o in options if o.get("type") == "array"]
            if not arrays:
                break
            node = arrays[0]["items"]
        else:
            objects = [o for o in options if part in o.get("properties", {})]
            if not objects:
                continue  # a union member's tag in the location, not a property
            node = objects[0]["properties"][part]
        path.append(part)
    is_object = any(o.get("type") == "object" and o.get("properties") for o in non_null_options(node))
    return None if is_object else tuple(path)


def _typed(value: Any, node: dict[str, Any], path: tuple, failed: set[tuple]) -> Any:
    if value is None or path in failed:
        return None
    options = non_null_options(node)
    if isinstance(value, dict):
        objects = [o for o in options if o.get("type") == "object"]
        if not objects:
            return None
        props = objects[0].get("properties")
        if props is None:
            return value
        return {key: _typed(value.get(key), sub, path + (key,), failed) for key, sub in props.items()}
    if isinstance(value, list):
        arrays = [o for o in options if o.get("type") == "array"]
        return [_typed(item, arrays[0]["items"], path + (i,), failed) for i, item in enumerate(value)] if arrays else None
    for option in options:
        try:
            return _scalar(value, option)
        except (TypeError, ValueError, InvalidOperation):
            continue
    return None


def _scalar(value: Any, node: dict[str, Any]) -> Any:
    if "enum" in node or "const" in node:
        if value in node.get("enum", [node.get("const")]):
            return value
        raise ValueError(value)
    kind = node.get("type")
    if kind == "string":
        if not isinstance(value, str):
            raise TypeError(value)
        parse = {"date": dt.date.fromisoformat, "date-time": lambda v: dt.datetime.fromisoformat(v.replace("Z", "+00:00")),
                 "time": dt.time.fromisoformat}.get(node.get("format"))
        return parse(value) if parse else value
    if kind in ("number", "integer") and isinstance(value, (int, float)) and not isinstance(value, bool):
        if kind == "integer":
            return int(value)
        return Decimal(str(value)) if node.get("format") == "decimal" else float(value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    raise TypeError(value)


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

