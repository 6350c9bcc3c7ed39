"""A user's JSON Schema, enforced as written: every row of the rules table, on the schema a user tried."""

import json
import re

import pytest

from fieldmill.schema.records import COMPLIANT, NONCOMPLIANT, check_output
from fieldmill.schema.load import load_schema

USER = {"type": "object", "properties": {
    "code": {"type": "string", "pattern": "^[A-Z]+$"},
    "qty": {"type": "integer", "exclusiveMinimum": 0},
    "email": {"type": "string", "format": "email"},
    "short": {"type": "string", "maxLength": 3, "pattern": "^[A-Z]{1,10}$"},
    "ratio": {"type": "number", "multipleOf": 0.1, "exclusiveMaximum": 1},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 10}, "uniqueItems": True},
    "site": {"type": ["string", "null"], "format": "uri"},
    "host": {"type": ["string", "null"], "format": "ipv4"},
}}
GOOD = {"code": "ABC", "qty": 1, "email": "ann@example.com", "short": "ABC", "ratio": 0.3, "tags": ["a", "b"], "site": "https://example.com/x",
        "host": "10.0.0.1"}


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("user") / "user.json"
    path.write_text(json.dumps(USER))
    return load_schema(str(path))


def check(schema, **changes):
    return check_output(json.dumps({**GOOD, **changes}), schema.model, schema.hardened, schema.validator)


def test_the_good_record_is_compliant(schema):
    assert check(schema).status == COMPLIANT


@pytest.mark.parametrize("field, value", [
    ("code", "lower case"),  # an unbounded pattern is kept and checked, not dropped
    ("qty", 0),  # exclusiveMinimum is exclusive
    ("email", "not-an-email"),  # format: email is checked
    ("short", "ABCD"),  # maxLength holds beside the pattern
    ("ratio", 0.35),  # multipleOf, in decimal
    ("ratio", 1.0),  # exclusiveMaximum
    ("tags", ["a", "a"]),  # what only the original says (uniqueItems): the JSON Schema validator
    ("site", "not a uri"),
    ("host", "300.1.1.1"),
])
def test_each_violation_is_noncompliant_and_names_its_field(schema, field, value):
    checked = check(schema, **{field: value})
    assert checked.status == NONCOMPLIANT, (field, value)
    assert field in {e["field"].split("[")[0] for e in checked.errors}
    assert checked.record[field] is None  # the field that failed its own check is null; the others keep their values
    assert checked.record["code"] == ("ABC" if field != "code" else None)


def test_the_constraint_says_what_a_regex_can_and_the_grammar_the_rest(schema):
    constraint = schema.constraint
    regex = re.compile(constraint.regex)
    assert regex.fullmatch(json.dumps(GOOD, separators=(",", ":")))
    assert not regex.fullmatch(json.dumps({**GOOD, "short": "ABCD"}, separators=(",", ":")))  # the length is in the regex
    assert not regex.fullmatch(json.dumps({**GOOD, "qty": 0}, separators=(",", ":")))  # a positive count never starts with 0
    assert not regex.fullmatch(json.dumps({**GOOD, "email": "nobody"}, separators=(",", ":")))
    assert constraint.grammar is not None  # pattern and length together: the grammar intersects them
    characters = r'/([^"\\\x00-\x1f]|\\["\\\/bfnrt])'  # the length is a count of JSON string characters, no intersected /.{0,3}/
    assert f"/[A-Z]{{1,10}}/ & {characters}{{0,3}}/" in constraint.grammar and f"/[A-Z]{{1,}}/ & {characters}{{0,200}}/" in constraint.grammar


def test_a_pydantic_schema_is_checked_by_its_own_model():
    schema = load_schema("invoice")
    assert schema.validator is None and schema.constraint.grammar is None


def test_conditional_schemas_are_served_and_checked_after_decoding(tmp_path):
    path = tmp_path / "address.json"
    path.write_text(json.dumps({"type": "object", "properties": {"country": {"type": "string"}, "postal_code": {"type": "string"}},
                                "if": {"properties": {"country": {"const": "US"}}}, "then": {"properties": {"postal_code": {"pattern": "^[0-9]{5}$"}}}}))
    schema = load_schema(str(path))
    ok = check_output('{"country":"US","postal_code":"12345"}', schema.model, schema.hardened, schema.validator)
    bad = check_output('{"country":"US","postal_code":"SW1A 1AA"}', schema.model, schema.hardened, schema.validator)
    assert ok.status == COMPLIANT and bad.status == NONCOMPLIANT
    assert bad.errors[0]["field"] == "postal_code" and bad.record["country"] == "US"
