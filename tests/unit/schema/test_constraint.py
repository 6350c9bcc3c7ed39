import json
import re

from pydantic import BaseModel, Field

from fieldmill.schema.constraint import build_constraint
from fieldmill.schema.hardening import HardeningPolicy, harden
from fieldmill.schema.load import load_schema


class Item(BaseModel):
    label: str = Field(max_length=5)
    qty: int = Field(ge=0, le=99)


class Small(BaseModel):
    title: str = Field(max_length=4)
    items: list[Item] = Field(max_length=2)
    flag: bool
    price: float = Field(ge=0, le=999, multiple_of=0.01)


def constraint(model=Small, **policy):
    return build_constraint(harden(model.model_json_schema(), HardeningPolicy(**policy)))


def longest_small_record() -> str:
    item = {"label": "\U0001f600" * 5, "qty": 99}
    return json.dumps({"title": "\U0001f600" * 4, "items": [item, item], "flag": False, "price": 998.99}, ensure_ascii=False, separators=(",", ":"))


def test_regex_accepts_compact_records_in_schema_order():
    c = constraint()
    assert re.fullmatch(c.regex, '{"title":"ab","items":[{"label":"x","qty":3}],"flag":true,"price":12.5}')
    assert re.fullmatch(c.regex, '{"title":"ab","items":[],"flag":false,"price":0}')


def test_regex_rejects_whitespace_wrong_order_and_overlong_values():
    c = constraint()
    assert not re.fullmatch(c.regex, '{"title": "ab","items":[],"flag":true,"price":1}')
    assert not re.fullmatch(c.regex, '{"items":[],"title":"ab","flag":true,"price":1}')
    assert not re.fullmatch(c.regex, '{"title":"abcde","items":[],"flag":true,"price":1}')
    assert not re.fullmatch(c.regex, '{"title":"a","items":[{"label":"x","qty":3},{"label":"x","qty":3},{"label":"x","qty":3}],"flag":true,"price":1}')
    assert not re.fullmatch(c.regex, '{"title":"a","items":[],"flag":true,"price":1234}')


def test_numbers_outside_their_bounds_cannot_be_decoded():
    c = constraint()
    record = '{{"title":"a","items":[{{"label":"x","qty":{qty}}}],"flag":true,"price":{price}}}'
    for qty, price in (("0", "0"), ("99", "999"), ("42", "999.0"), ("7", "998.99"), ("10", "0.5")):
        assert re.fullmatch(c.regex, record.format(qty=qty, price=price)), (qty, price)
    for qty, price in (("100", "1"), ("-1", "1"), ("007", "1"), ("1", "999.01"), ("1", "-0.5"), ("1", "1000")):
        assert not re.fullmatch(c.regex, record.format(qty=qty, price=price)), (qty, price)


def test_an_age_of_0_to_120_never_decodes_as_200():
    class Patient(BaseModel):
        age_years: int | None = Field(None, ge=0, le=120)
    c = constraint(Patient)
    assert [a for a in range(-50, 1000) if re.fullmatch(c.regex, f'{{"age_years":{a}}}')] == list(range(121))
    assert re.fullmatch(c.regex, '{"age_years":null}')


def test_budget_is_exactly_the_longest_record_in_bytes():
    c = constraint()
    longest = longest_small_record()
    assert re.fullmatch(c.regex, longest)
    assert c.max_output_bytes == len(longest.encode())
    assert c.max_output_tokens == c.max_output_bytes + 1


def test_budget_grows_with_the_bounds():
    assert constraint(array_max_items=50).max_output_bytes == constraint(array_max_items=2).max_output_bytes
    class Free(BaseModel):
        tags: list[str]
    assert constraint(Free, array_max_items=10).max_output_bytes > constraint(Free, array_max_items=2).max_output_bytes


def test_optional_fields_accept_null():
    class Opt(BaseModel):
        a: str | None = Field(None, max_length=3)
    c = constraint(Opt)
    assert re.fullmatch(c.regex, '{"a":null}') and re.fullmatch(c.regex, '{"a":"xyz"}')


def test_builtin_invoice_example_matches_its_constraint():
    schema = load_schema("invoice")
    from fieldmill.model.prompts import example_record

    example = json.dumps(example_record(schema.hardened), ensure_ascii=False, separators=(",", ":"))
    assert re.fullmatch(schema.constraint.regex, example)
    assert schema.constraint.max_output_tokens > len(example.encode())
