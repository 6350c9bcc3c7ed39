import datetime as dt
from decimal import Decimal
from typing import Optional

from pydantic import BaseModel, Field, model_validator

from fieldmill.schema.hardening import harden
from fieldmill.schema.records import COMPLIANT, NONCOMPLIANT, check_output, drop_unstated


class Stay(BaseModel):
    admitted: dt.date
    discharged: dt.date
    ward: str = "general"
    note: Optional[str] = None

    @model_validator(mode="after")
    def _order(self):
        if self.discharged < self.admitted:
            raise ValueError("discharged before admitted")
        return self


HARD = harden(Stay.model_json_schema())


def test_compliant_record_and_defaults_for_unstated_fields():
    checked = check_output('{"admitted":"2026-01-02","discharged":"2026-01-05","ward":null,"note":null}', Stay, HARD)
    assert checked.status == COMPLIANT
    assert checked.record == {"admitted": dt.date(2026, 1, 2), "discharged": dt.date(2026, 1, 5), "ward": "general", "note": None}


def test_a_broken_rule_keeps_every_value():
    """A cross-field rule fails: the record is noncompliant, names the rule, and keeps its typed values."""
    checked = check_output('{"admitted":"2026-01-05","discharged":"2026-01-02","ward":"east","note":null}', Stay, HARD)
    assert checked.status == NONCOMPLIANT
    assert "discharged before admitted" in checked.errors[0]["message"]
    assert checked.record == {"admitted": dt.date(2026, 1, 5), "discharged": dt.date(2026, 1, 2), "ward": "east", "note": None}


def test_type_errors_name_the_field_and_null_only_it():
    checked = check_output('{"admitted":"2026-13-45","discharged":"2026-01-02","ward":null,"note":"x"}', Stay, HARD)
    assert checked.status == NONCOMPLIANT and checked.errors[0]["field"] == "admitted"
    assert checked.record == {"admitted": None, "discharged": dt.date(2026, 1, 2), "ward": None, "note": "x"}


class Line(BaseModel):
    qty: int
    price: Decimal = Field(max_digits=8, decimal_places=2)
    amount: Decimal = Field(max_digits=8, decimal_places=2)

    @model_validator(mode="after")
    def _product(self):
        if self.qty * self.price != self.amount:
            raise ValueError("amount is not qty x price")
        return self


class Bill(BaseModel):
    code: str = Field(pattern=r"^[A-Z]{3}$")
    lines: list[Line]
    total: Decimal = Field(max_digits=8, decimal_places=2)


def test_rules_inside_a_list_item_and_field_validators():
    """A rule on one line item nulls nothing; a field that fails its own check is null, the rest stay typed."""
    from fieldmill.schema.load import FieldmillJsonSchema

    hard = harden(Bill.model_json_schema(schema_generator=FieldmillJsonSchema))
    checked = check_output('{"code":"abc","lines":[{"qty":2,"price":1.5,"amount":3},{"qty":1,"price":2,"amount":5}],"total":8}', Bill, hard)
    assert checked.status == NONCOMPLIANT
    assert {e["field"] for e in checked.errors} == {"code", "lines[1]"}
    assert checked.record == {"code": None, "lines": [{"qty": 2, "price": Decimal("1.5"), "amount": Decimal("3")},
                                                      {"qty": 1, "price": Decimal("2"), "amount": Decimal("5")}], "total": Decimal("8")}


def test_unparseable_output_is_noncompliant_not_an_exception():
    checked = check_output('{"admitted":', Stay, HARD)
    assert checked.status == NONCOMPLIANT and checked.errors[0]["field"] == "$"


def test_drop_unstated_keeps_required_nulls():
    assert drop_unstated({"admitted": None, "ward": None}, HARD) == {"admitted": None}


class OrderLine(BaseModel):
    quantity: int = Field(ge=0, le=1000)
    unit_price: float
    amount: float
    discount_percent: Optional[float] = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _multiplies_out(self):
        if abs(self.quantity * self.unit_price - self.amount) > 0.01:
            raise ValueError("amount is not quantity x unit price")
        return self


class Order(BaseModel):
    lines: list[OrderLine]
    total: float
    paid: Optional[float] = None

    @model_validator(mode="after")
    def _adds_up(self):
        if abs(sum(line.amount for line in self.lines) - self.total) > 0.01:
            raise ValueError("total is not the sum of the lines")
        if self.paid is not None and self.paid > self.total:
            raise ValueError("paid more than the total")
        return self


def test_numbers_that_a_rule_ties_together_are_confirmed_and_bounds_or_orders_are_not():
    from fieldmill.schema.records import confirmed_by_rules

    hard = harden(Order.model_json_schema())
    bill = {"lines": [{"quantity": 3, "unit_price": 4.0, "amount": 12.0, "discount_percent": 100.0},
                      {"quantity": 1, "unit_price": 8.5, "amount": 8.5, "discount_percent": None}], "total": 20.5, "paid": 20.5}
    confirmed = confirmed_by_rules(bill, Order, hard)
    assert confirmed == {"lines[0].quantity", "lines[0].unit_price", "lines[0].amount", "lines[1].quantity", "lines[1].unit_price",
                         "lines[1].amount", "total"}  # paid <= total and the discount's bound break one way only
    wrong = {**bill, "total": 99.0}  # the sum is broken already: nothing more breaks by moving the total
    assert "total" not in confirmed_by_rules(wrong, Order, hard)
    assert confirmed_by_rules(None, Order, hard) == frozenset()
