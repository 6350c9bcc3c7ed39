"""The user's own JSON Schema, checked as written: a real JSON Schema validator beside the pydantic model.

The pydantic model is built from the *hardened* schema, which adds bounds and keeps
only what decoding can use; a record is compliant only when the user's original
document accepts it too (formats, patterns, exclusive bounds, `multipleOf`, everything
else it says). The validator is the `jsonschema` package's, for the document's
`$schema` (Draft 2020-12 when it names none), with its format checker, and with
`multipleOf` checked in decimal: 0.3 is a multiple of 0.1, which float division denies.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterator


def original_validator(document: dict[str, Any]):
    import jsonschema

    base = jsonschema.validators.validator_for(document, default=jsonschema.Draft202012Validator)

    def multiple_of(validator, step, instance, schema):
        if not validator.is_type(instance, "number"):
            return
        if Decimal(str(instance)) % Decimal(str(step)) != 0:
            yield jsonschema.ValidationError(f"{instance} is not a multiple of {step}")

    checker = base.FORMAT_CHECKER
    return jsonschema.validators.extend(base, {"multipleOf": multiple_of})(document, format_checker=checker)


def original_errors(validator, instance: Any) -> Iterator[dict[str, str]]:
    """{field, message} of every error the user's schema finds in `instance` (field paths as in `errors`)."""
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
        path = ""
        for part in error.absolute_path:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        yield {"field": path or "$", "message": f"{error.message} (schema: {error.validator})"}


__all__ = ["original_validator", "original_errors"]
