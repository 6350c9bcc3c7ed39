import json
import textwrap

import pytest

from fieldmill.schema.hardening import SchemaError
from fieldmill.schema.load import builtin_names, load_schema


def test_builtin_by_name():
    schema = load_schema("invoice")
    assert schema.name == "invoice" and "invoice" in builtin_names()
    assert len(schema.hash) == 16


def test_unknown_name_lists_builtins():
    with pytest.raises(SchemaError, match="invoice"):
        load_schema("no_such_schema")


def write_model(tmp_path, body):
    path = tmp_path / "my_schema.py"
    path.write_text(textwrap.dedent(body))
    return path


def test_file_path_and_hash_follow_the_source(tmp_path):
    path = write_model(tmp_path, """
        from pydantic import BaseModel, Field
        class Claim(BaseModel):
            number: str = Field(max_length=10)
    """)
    first = load_schema(f"{path}:Claim")
    assert first.name == "Claim" and first.model.__name__ == "Claim"
    other = tmp_path / "other.py"
    other.write_text(path.read_text().replace("max_length=10", "max_length=11"))
    assert load_schema(f"{other}:Claim").hash != first.hash


def test_module_path():
    assert load_schema("fieldmill_schemas.invoice:Invoice").model.__name__ == "Invoice"


def test_json_schema_file(tmp_path):
    path = tmp_path / "claim.json"
    path.write_text(json.dumps({
        "title": "Claim", "type": "object", "required": ["number", "filed"],
        "properties": {
            "number": {"type": "string", "maxLength": 10, "description": "Claim number."},
            "filed": {"type": "string", "format": "date"},
            "amount": {"type": "number", "minimum": 0},
            "kind": {"enum": ["auto", "home"]},
            "items": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "integer"}}}},
        },
    }))
    schema = load_schema(str(path))
    model = schema.model
    ok = model.model_validate({"number": "C1", "filed": "2026-01-01", "amount": 3.5, "kind": "auto", "items": [{"x": 1}]})
    assert ok.model_dump()["number"] == "C1"
    with pytest.raises(Exception):
        model.model_validate({"number": "C1" * 10, "filed": "2026-01-01"})
    with pytest.raises(Exception):
        model.model_validate({"number": "C1", "filed": "2026-01-01", "kind": "boat"})


@pytest.mark.parametrize("spec", ["missing.py:X", "missing.json", "fieldmill_schemas.invoice:Nope", "a b c"])
def test_bad_specs_are_schema_errors(spec):
    with pytest.raises(SchemaError):
        load_schema(spec)


def test_a_schema_file_reaches_workers_by_content_not_by_path(tmp_path):
    """Workers on other nodes have no such file: the driver ships its text, and the worker loads the same schema version."""
    from fieldmill.schema.load import load_schema, shipped_source

    py = tmp_path / "receipt_schema.py"
    py.write_text("from pydantic import BaseModel, Field\n\nclass Receipt(BaseModel):\n    shop: str = Field(max_length=40)\n    total: float\n")
    js = tmp_path / "receipt.json"
    js.write_text('{"type": "object", "properties": {"shop": {"type": "string", "maxLength": 40}}}')
    for spec in (f"{py}:Receipt", str(js)):
        on_driver = load_schema(spec)
        source = shipped_source(spec)
        elsewhere = spec.replace(str(tmp_path), "/nonexistent/node/path")
        on_worker = load_schema(elsewhere, source=source)
        assert on_worker.hash == on_driver.hash and on_worker.constraint == on_driver.constraint
    assert shipped_source("invoice") is None
