import datetime as dt
from decimal import Decimal
from enum import Enum
from typing import Optional

import pyarrow as pa
from pydantic import BaseModel, Field

from fieldmill.schema.arrow_types import arrow_type, to_arrow_value
from fieldmill.schema.hardening import harden
from fieldmill.schema.load import FieldmillJsonSchema


class Kind(str, Enum):
    a = "a"


class Line(BaseModel):
    name: str
    amount: Decimal = Field(max_digits=8, decimal_places=2)


class Rec(BaseModel):
    when: dt.date
    at: Optional[dt.datetime] = None
    count: int
    ratio: float
    ok: bool
    kind: Kind
    tags: list[str]
    lines: list[Line]
    extra: dict[str, int]


def record_type():
    return arrow_type(harden(Rec.model_json_schema(schema_generator=FieldmillJsonSchema)))


def test_types_follow_the_schema():
    t = record_type()
    assert t.field("when").type == pa.date32()
    assert t.field("at").type == pa.timestamp("us", tz="UTC")
    assert t.field("count").type == pa.int64() and t.field("ratio").type == pa.float64() and t.field("ok").type == pa.bool_()
    assert t.field("kind").type == pa.string()
    assert t.field("tags").type == pa.list_(pa.string())
    line = t.field("lines").type.value_type
    assert line.field("amount").type == pa.decimal128(8, 2) and line.field("name").type == pa.string()
    assert t.field("extra").type == pa.map_(pa.string(), pa.int64())


def test_values_convert_into_the_type():
    rec = Rec(when="2026-03-01", at="2026-03-01T10:00:00+02:00", count=3, ratio=0.5, ok=True, kind="a", tags=["x"],
              lines=[{"name": "n", "amount": "12.5"}], extra={"k": 1})
    t = record_type()
    value = pa.array([to_arrow_value(rec.model_dump(mode="python"), t)], type=t)[0].as_py()
    assert value["when"] == dt.date(2026, 3, 1)
    assert value["at"] == dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone.utc)
    assert value["kind"] == "a" and value["lines"][0]["amount"] == Decimal("12.50")
    assert value["extra"] == [("k", 1)]
