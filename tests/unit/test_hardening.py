import datetime as dt
from enum import Enum
from typing import Literal, Optional

import pytest
from pydantic import BaseModel, Field

from fieldmill.hardening import HardeningPolicy, SchemaError, accepts_null, harden


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


def test_recursive_schemas_are_refused():
    class Node(BaseModel):
        child: Optional["Node"] = None

    with pytest.raises(SchemaError, match="recursive"):
        harden(Node.model_json_schema())


def test_root_must_be_an_object():
    with pytest.raises(SchemaError):
        harden({"type": "string"})


def test_input_is_not_modified():
    schema = Outer.model_json_schema()
    before = repr(schema)
    harden(schema)
    assert repr(schema) == before
