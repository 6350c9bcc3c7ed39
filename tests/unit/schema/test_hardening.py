import datetime as dt
from enum import Enum
from typing import Literal, Optional

import pytest
from pydantic import BaseModel, Field

from fieldmill.schema.hardening import HardeningPolicy, SchemaError, accepts_null, harden


class Colour(str, Enum):
    red = "red"
    blue = "blue"


class Inner(BaseModel):
    code: str = Field(max_length=8)
    count: int


class Outer(BaseModel):
    name: str
    note: Optional[str] = Field(None, max_length=30)
    colour: Colour
    kind: Literal["a", "b"] = "a"
    tags: list[str]
    inners: list[Inner] = Field(max_length=3)
    inner: Inner
    when: dt.date
    ratio: float = Field(ge=0, le=1)


def test_string_without_max_length_gets_the_default():
    out = harden(Outer.model_json_schema(), HardeningPolicy(string_max_length=77))
    assert out["properties"]["name"] == {"title": "Name", "type": "string", "minLength": 0, "maxLength": 77}


def test_nested_models_are_inlined_and_closed():
    out = harden(Outer.model_json_schema())
    inner = out["properties"]["inner"]
    assert inner["type"] == "object" and inner["additionalProperties"] is False
    assert list(inner["properties"]) == ["code", "count"]
    assert inner["properties"]["code"]["maxLength"] == 8
    assert out["properties"]["inners"]["items"]["properties"]["code"]["maxLength"] == 8
    assert "$defs" not in out


def test_optional_fields_accept_null_and_required_stays_original():
    out = harden(Outer.model_json_schema())
    assert accepts_null(out["properties"]["note"])
    assert accepts_null(out["properties"]["kind"])  # has a default: not required
    assert not accepts_null(out["properties"]["name"])
    assert set(out["required"]) == {"name", "colour", "tags", "inners", "inner", "when", "ratio"}
    assert out["properties"]["note"]["anyOf"][0]["maxLength"] == 30


def test_enums_keep_their_values():
    out = harden(Outer.model_json_schema())
    assert out["properties"]["colour"]["enum"] == ["red", "blue"]


def test_lists_get_max_items_and_keep_explicit_ones():
    out = harden(Outer.model_json_schema(), HardeningPolicy(array_max_items=5))
    assert out["properties"]["tags"]["maxItems"] == 5
    assert out["properties"]["inners"]["maxItems"] == 3


def test_numbers_are_bounded():
    out = harden(Outer.model_json_schema())
    count = out["properties"]["inner"]["properties"]["count"]
    assert count["maximum"] == 10**12 - 1 and count["minimum"] == -(10**12 - 1)
    ratio = out["properties"]["ratio"]
    assert (ratio["minimum"], ratio["maximum"]) == (0, 1) and ratio["multipleOf"] == pytest.approx(1e-6)


def test_dates_keep_their_format():
    assert harden(Outer.model_json_schema())["properties"]["when"] == {"title": "When", "type": "string", "format": "date"}


def test_recursive_schemas_are_unrolled_to_a_bounded_depth():
    class Section(BaseModel):
        title: str
        children: list["Section"] = []
        parent: Optional["Section"] = None

    def children(node):
        prop = node["properties"]["children"]
        return next(o for o in prop.get("anyOf", [prop]) if o.get("type") == "array")

    out = harden(Section.model_json_schema(), HardeningPolicy(max_recursion=2))
    level = out
    for _ in range(1):  # two levels of Section: the root's children exist ...
        assert children(level)["maxItems"] > 0
        level = children(level)["items"]
    assert children(level)["maxItems"] == 0  # ... the second level's do not
    from fieldmill.schema.constraint import build_constraint

    assert build_constraint(out).max_output_bytes < 10**6  # bounded


def test_roots_that_are_not_records_are_wrapped():
    from fieldmill.schema.hardening import WRAPPED_KEY, unwrap

    listed = harden({"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}}})
    assert listed[WRAPPED_KEY] == "items" and listed["properties"]["items"]["type"] == "array"
    assert unwrap({"items": [{"sku": "A"}]}, listed) == [{"sku": "A"}]
    mapped = harden({"type": "object", "additionalProperties": {"type": "number"}})
    assert mapped[WRAPPED_KEY] == "value" and mapped["properties"]["value"]["additionalProperties"]["type"] == "number"
    assert harden({"type": "string"})["properties"]["value"]["type"] == "string"


def test_untyped_properties_are_scalar_values():
    out = harden({"type": "object", "properties": {"a": {}, "b": {"description": "anything"}, "c": True}})
    for name in "abc":
        kinds = {o.get("type") for o in out["properties"][name]["anyOf"]}
        assert kinds == {"string", "number", "boolean", "null"}, name


@pytest.mark.parametrize("keyword, schema", [
    ("not", {"type": "object", "properties": {"a": {"not": {"type": "string"}}}}),
    ("prefixItems", {"type": "object", "properties": {"a": {"type": "array", "prefixItems": [{"type": "number"}]}}}),
    ("$ref", {"type": "object", "properties": {"a": {"$ref": "https://example.com/other.json"}}}),
])
def test_what_cannot_be_honoured_is_refused_in_one_line_naming_keyword_and_path(keyword, schema):
    with pytest.raises(SchemaError) as refused:
        harden(schema)
    message = str(refused.value)
    assert "\n" not in message and keyword in message and "$.a" in message


def test_exclusive_bounds_stay_exclusive():
    out = harden({"type": "object", "properties": {"qty": {"type": "integer", "exclusiveMinimum": 0}, "share": {"type": "number", "exclusiveMaximum": 1}}})
    assert out["properties"]["qty"]["anyOf"][0]["minimum"] == 1
    assert out["properties"]["share"]["anyOf"][0]["exclusiveMaximum"] == 1


def test_input_is_not_modified():
    schema = Outer.model_json_schema()
    before = repr(schema)
    harden(schema)
    assert repr(schema) == before
