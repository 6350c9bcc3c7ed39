"""Command-line options generated from a pydantic settings model: one default and one help text per setting.

Every field of `RunConfig` (and of the models it nests, `EngineConfig` and `OcrSettings`) becomes
an option named after the field (`batch_size` -> `--batch-size`); a field's `json_schema_extra`
may rename it (`flag`: `"--schema"`, or a bare name for a positional argument) and name an
environment variable that supplies its default (`env`). A nested model's fields take its
`prefix` (`ocr` -> `--ocr-lang`). The parsed values go back into the model by field path, so a
setting the user did not give keeps the model's own default.
"""

from __future__ import annotations

import argparse
import os
import re
import types
import typing
from typing import Any

from pydantic import BaseModel

_CHOICES = re.compile(r"^\^\(([\w|-]+)\)\$$")


def add_options(parser: argparse.ArgumentParser, model: type[BaseModel], prefix: str = "", path: str = "") -> list[str]:
    """Add an option per field of `model` (nested models: theirs); returns the field paths they fill."""
    paths = []
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        here = f"{path}.{name}" if path else name
        kind, optional = _kind(field.annotation)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            paths += add_options(parser, kind, extra.get("prefix", ""), here)
            continue
        flag = extra.get("flag") or "--" + f"{prefix}{name}".replace("_", "-")
        env = extra.get("env")
        default = os.environ.get(env) or None if env else None
        shown = None if field.is_required() else field.get_default(call_default_factory=True)
        help_text = (field.description or "").rstrip(".") + "."
        if env:
            help_text += f" Default ${env}, else {shown}." if shown is not None else f" Default ${env}."
        elif shown is not None and not isinstance(shown, bool):
            help_text += f" Default {shown}."
        options: dict[str, Any] = {"help": help_text.replace("%", "%%"), "dest": here}
        if not flag.startswith("-"):
            parser.add_argument(here, metavar=flag, help=options["help"])
            paths.append(here)
            continue
        if kind is bool:
            options["action"] = argparse.BooleanOptionalAction if optional else "store_true"
            options["default"] = None if optional else False
        else:
            options["type"] = kind if kind in (int, float) else str
            options["default"] = default  # None: the model's default (a string default is parsed by `type`)
            choices = extra.get("choices") or _pattern_choices(field)
            if choices:
                options["choices"] = list(choices)
            options["required"] = field.is_required()
            if not choices:
                options["metavar"] = flag.lstrip("-").upper().replace("-", "_")
        parser.add_argument(flag, **options)
        paths.append(here)
    return paths


def settings(args: argparse.Namespace, paths: list[str], **given: Any) -> dict[str, Any]:
    """The parsed options as the nested dict the model validates; options left out are left to the model."""
    out: dict[str, Any] = dict(given)
    for path in paths:
        value = getattr(args, path, None)
        if value is None:
            continue
        target = out
        *parents, last = path.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[last] = value
    return out


def _kind(annotation: Any) -> tuple[Any, bool]:
    """The field's type without `None`, and whether `None` was allowed."""
    if isinstance(annotation, str):
        raise TypeError(f"unresolved annotation {annotation!r}")
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return (args[0] if len(args) == 1 else str), True
    return annotation, False


def _pattern_choices(field) -> list[str] | None:
    for meta in field.metadata:
        pattern = getattr(meta, "pattern", None)
        if pattern:
            found = _CHOICES.match(pattern)
            return found.group(1).split("|") if found else None
    return None


__all__ = ["add_options", "settings"]
