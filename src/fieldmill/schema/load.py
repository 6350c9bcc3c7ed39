"""Load a schema by name or path, and describe it to the rest of the product.

A schema spec is one of:

* a built-in name: a module in the top-level `schemas/` folder (installed as
  `fieldmill_schemas`), whose `SCHEMA` attribute is the pydantic model;
* `path/to/file.py:ClassName` or `package.module:ClassName`;
* `path/to/schema.json`: a JSON Schema, turned into a pydantic model here so the same
  validation path serves both.

`LoadedSchema` carries the pydantic model, its JSON Schema, the hardened form and the
decoding constraint, and a hash that changes when any of them (or the validators'
source) changes. Workers reload the schema from the same spec; nothing pickles a
model class across processes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import importlib.util
import inspect
import json
import sys
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, create_model
from pydantic.json_schema import GenerateJsonSchema

from fieldmill.schema.constraint import Constraint, build_constraint
from fieldmill.schema.hardening import HardeningPolicy, SchemaError, harden

BUILTIN_PACKAGE = "fieldmill_schemas"
# A schema may carry a document matching its first example record, for worked-example prompts.
EXAMPLE_DOCUMENT_KEY = "x-example-document"


class FieldmillJsonSchema(GenerateJsonSchema):
    """Pydantic's JSON Schema, with decimals as bounded numbers.

    Pydantic writes a `Decimal` as `number | string` and drops `max_digits`; a decoder
    then may emit an unbounded string. Here a decimal is a number whose digits follow
    `max_digits`/`decimal_places`, tagged `format: decimal` so Arrow maps it to decimal128.
    """

    def decimal_schema(self, schema):  # type: ignore[override]
        out: dict[str, Any] = {"type": "number", "format": "decimal"}
        places = schema.get("decimal_places")
        digits = schema.get("max_digits")
        if places is not None:
            out["multipleOf"] = float(Decimal(1).scaleb(-places))
        if digits is not None:
            limit = float(Decimal(10) ** (digits - (places or 0)) - Decimal(1).scaleb(-(places or 0)))
            out["minimum"], out["maximum"] = -limit, limit
        for key, target in (("ge", "minimum"), ("le", "maximum"), ("gt", "exclusiveMinimum"), ("lt", "exclusiveMaximum")):
            if schema.get(key) is not None:
                out[target] = float(schema[key])
        return out


@dataclass(frozen=True)
class LoadedSchema:
    name: str
    spec: str
    model: type[BaseModel]
    json_schema: dict[str, Any]
    source_digest: str
    policy: HardeningPolicy = field(default_factory=HardeningPolicy)
    original: dict[str, Any] | None = None  # the user's own JSON Schema document, when the schema is one

    @cached_property
    def hardened(self) -> dict[str, Any]:
        # A JSON Schema file is hardened as written; its pydantic model's own JSON Schema would lose
        # what Python validators check (formats, multipleOf) on the way back.
        return harden(self.original if self.original is not None else self.json_schema, self.policy)

    @cached_property
    def validator(self):
        """A JSON Schema validator of the user's original document (None for a pydantic schema, which its model states)."""
        if self.original is None:
            return None
        from fieldmill.schema.validation import original_validator

        return original_validator(self.original)

    @property
    def example_document(self) -> str | None:
        """A document matching the schema's first example record, when the schema has one."""
        value = self.json_schema.get(EXAMPLE_DOCUMENT_KEY)
        return value if isinstance(value, str) and value.strip() else None

    @cached_property
    def constraint(self) -> Constraint:
        return build_constraint(self.hardened)

    @cached_property
    def hash(self) -> str:
        """The schema version: changes with its JSON Schema, bounds or validators."""
        digest = hashlib.sha256()
        digest.update(json.dumps(self.hardened, sort_keys=True).encode())
        digest.update(self.source_digest.encode())
        return digest.hexdigest()[:16]


def load_schema(spec: str, policy: HardeningPolicy | None = None, source: str | None = None) -> LoadedSchema:
    """Resolve `spec` to a schema; raise SchemaError with a one-line reason otherwise.

    `source` is the text of a schema file (`file.json`, `file.py:Class`) read elsewhere, as
    `shipped_source` reads it on the driver: workers on other nodes load the same schema
    without the file existing there.
    """
    try:
        model, name, source, original = _resolve(spec, source)
    except SchemaError:
        raise
    except Exception as exc:  # an import error inside a user's module, a bad JSON file...
        raise SchemaError(f"cannot load schema {spec!r}: {type(exc).__name__}: {' '.join(str(exc).split())}") from exc
    return _loaded(model, name, spec, source, policy, original=original)


def schema_from_document(document: dict[str, Any], spec: str, policy: HardeningPolicy | None = None) -> LoadedSchema:
    """A JSON Schema held in memory (a gold line's own schema), loaded exactly as a `.json` file is."""
    try:
        text = json.dumps(document, sort_keys=True, ensure_ascii=False)
        name = str(document.get("title") or "record")
        return _loaded(model_from_json_schema(document, name), name, spec, text, policy, original=document)
    except SchemaError:
        raise
    except Exception as exc:
        raise SchemaError(f"cannot load schema {spec!r}: {type(exc).__name__}: {exc}") from exc


def _loaded(model: Any, name: str, spec: str, source: str, policy: HardeningPolicy | None, original: dict[str, Any] | None = None) -> LoadedSchema:
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise SchemaError(f"{spec!r} is not a pydantic model")
    try:
        json_schema = model.model_json_schema(schema_generator=FieldmillJsonSchema)
    except Exception as exc:
        raise SchemaError(f"{spec!r}: no JSON Schema: {exc}") from exc
    loaded = LoadedSchema(
        name=name,
        spec=spec,
        model=model,
        json_schema=json_schema,
        source_digest=hashlib.sha256(source.encode()).hexdigest(),
        policy=policy or HardeningPolicy(),
        original=original,
    )
    loaded.constraint  # fail here, on the driver, rather than in every worker
    return loaded


def builtin_names() -> list[str]:
    package = importlib.import_module(BUILTIN_PACKAGE)
    folder = Path(package.__file__).parent
    return sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))


def shipped_source(spec: str) -> str | None:
    """The text of the file a spec names (`file.json`, `file.py:Class`), to send along with the spec; None otherwise."""
    target = spec.rpartition(":")[0] if ":" in spec else spec
    if target.endswith((".json", ".py")) and Path(target).is_file():
        return Path(target).read_text(encoding="utf-8")
    return None


def _resolve(spec: str, shipped: str | None = None) -> tuple[Any, str, str, dict[str, Any] | None]:
    if spec.endswith(".json") and ":" not in spec:
        path = Path(spec)
        if shipped is None and not path.is_file():
            raise SchemaError(f"schema file {spec} does not exist")
        text = shipped if shipped is not None else path.read_text(encoding="utf-8")
        document = json.loads(text)
        name = (document.get("title") if isinstance(document, dict) else None) or path.stem
        return model_from_json_schema(document, str(name)), path.stem, text, document
    if ":" in spec:
        target, _, attr = spec.rpartition(":")
        if target.endswith(".py") and shipped is not None:
            module = _module_from_source(Path(target), shipped)
        elif target.endswith(".py"):
            module = _import_file(Path(target))
        else:
            module = importlib.import_module(target)
        if not hasattr(module, attr):
            raise SchemaError(f"{target} has no attribute {attr!r}")
        return getattr(module, attr), attr, _source(module), None
    if spec.isidentifier():
        try:
            module = importlib.import_module(f"{BUILTIN_PACKAGE}.{spec}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{BUILTIN_PACKAGE}.{spec}":
                raise
            raise SchemaError(f"unknown schema {spec!r}; built-in: {', '.join(builtin_names())}") from None
        if not hasattr(module, "SCHEMA"):
            raise SchemaError(f"built-in schema module {spec!r} has no SCHEMA")
        return module.SCHEMA, spec, _source(module), None
    raise SchemaError(f"cannot read schema spec {spec!r}: use a name, file.py:Class, package.module:Class or file.json")


def _import_file(path: Path):
    if not path.is_file():
        raise SchemaError(f"schema file {path} does not exist")
    name = "fieldmill_user_schema_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


def _module_from_source(path: Path, source: str):
    """A user's schema module from its text (the file may not exist on this node)."""
    import types

    name = "fieldmill_user_schema_" + hashlib.sha256(source.encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    module = types.ModuleType(name)
    module.__file__ = str(path)
    module.__fieldmill_source__ = source
    sys.modules[name] = module
    exec(compile(source, str(path), "exec"), module.__dict__)
    return module


def _source(module) -> str:
    if getattr(module, "__fieldmill_source__", None) is not None:
        return module.__fieldmill_source__
    try:
        return inspect.getsource(module)
    except (OSError, TypeError):
        return module.__name__


# --- JSON Schema files -> pydantic models -------------------------------------------

_FORMAT_TYPES = {"date": dt.date, "date-time": dt.datetime, "time": dt.time, "uuid": uuid.UUID}
TEXT_FORMATS = ("email", "uri", "ipv4")


def model_from_json_schema(document: dict[str, Any], name: str) -> type[BaseModel]:
    """A pydantic model that validates what `document` describes (after hardening).

    Hardening first normalises refs, unions and bounds, so the model only meets the
    handful of shapes the hardened form allows.
    """
    hardened = harden(document)
    return _model(hardened, _safe_name(name))


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in name) or "Record"
    return cleaned if cleaned[0].isalpha() else "R" + cleaned


def _multiple_of(node: dict[str, Any]) -> tuple:
    """`multipleOf`, checked in decimal (0.3 is a multiple of 0.1, which float division denies)."""
    step = node.get("multipleOf")
    if not step or step == 1 and node.get("type") == "integer":
        return ()
    unit = Decimal(str(step))

    def check(value):
        if Decimal(str(value)) % unit != 0:
            raise ValueError(f"{value} is not a multiple of {step}")
        return value

    return (AfterValidator(check),)


def _format_check(fmt: str):
    """The text formats the constraint bounds (email, uri, ipv4), checked with the constraint's own shape."""
    import re

    from fieldmill.schema.constraint import format_regex

    shape = re.compile(format_regex(fmt))

    def check(value: str) -> str:
        if not shape.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid {fmt}")
        return value

    return check


def _model(node: dict[str, Any], name: str) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    required = set(node.get("required", []))
    for index, (prop, sub) in enumerate(node["properties"].items()):
        annotation = _annotation(sub, f"{name}_{_safe_name(prop)}")
        description = sub.get("description")
        default = ... if prop in required else None
        attr = prop if prop.isidentifier() and not prop.startswith("_") else f"field_{index}"
        fields[attr] = (annotation, Field(default, alias=prop if attr != prop else None, description=description))
    # python-re: a JSON Schema pattern may use what Rust's regex engine lacks (lookarounds); both search, as JSON Schema does.
    return create_model(name, __config__=ConfigDict(extra="forbid", populate_by_name=True, regex_engine="python-re"), **fields)


def _annotation(node: dict[str, Any], name: str) -> Any:
    if "anyOf" in node:
        options = tuple(_annotation(o, f"{name}_{i}") for i, o in enumerate(node["anyOf"]))
        return Union[options] if len(options) > 1 else options[0]
    if "const" in node:
        return Literal[node["const"]] if node["const"] is not None else type(None)
    if "enum" in node:
        return Literal[tuple(node["enum"])]
    kind = node.get("type")
    if kind == "null":
        return type(None)
    if kind == "boolean":
        return bool
    if kind == "integer":
        return Annotated[int, Field(ge=node["minimum"], le=node["maximum"]), *_multiple_of(node)]
    if kind == "number":
        bounds = {"ge": node["minimum"], "le": node["maximum"], "gt": node.get("exclusiveMinimum"), "lt": node.get("exclusiveMaximum")}
        return Annotated[float, Field(**{k: v for k, v in bounds.items() if v is not None}), *_multiple_of(node)]
    if kind == "string":
        if node.get("format") in _FORMAT_TYPES:
            return _FORMAT_TYPES[node["format"]]
        if node.get("format") in TEXT_FORMATS:
            return Annotated[str, AfterValidator(_format_check(node["format"]))]
        return Annotated[str, StringConstraints(min_length=node["minLength"], max_length=node["maxLength"], pattern=node.get("pattern"))]
    if kind == "array":
        item = _annotation(node["items"], f"{name}_item")
        return Annotated[list[item], Field(min_length=node["minItems"], max_length=node["maxItems"])]
    if kind == "object":
        if "properties" in node and node["properties"]:
            return _model(node, name)
        value = _annotation(node["additionalProperties"], f"{name}_value") if isinstance(node.get("additionalProperties"), dict) else Any
        return Annotated[dict[str, value], Field(max_length=node.get("maxProperties"))]
    raise SchemaError(f"{name}: unsupported schema {node!r}")


__all__ = ["LoadedSchema", "load_schema", "schema_from_document", "builtin_names", "model_from_json_schema", "FieldmillJsonSchema", "SchemaError"]
