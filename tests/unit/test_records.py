import datetime as dt
from typing import Optional

from pydantic import BaseModel, model_validator

from fieldmill.hardening import harden
from fieldmill.records import COMPLIANT, NONCOMPLIANT, check_output, drop_unstated


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


def test_validator_failure_is_noncompliant_with_field_errors():
    checked = check_output('{"admitted":"2026-01-05","discharged":"2026-01-02","ward":null,"note":null}', Stay, HARD)
    assert checked.status == NONCOMPLIANT and checked.record is None
    assert "discharged before admitted" in checked.errors[0]["message"]


def test_type_errors_name_the_field():
    checked = check_output('{"admitted":"2026-13-45","discharged":"2026-01-02","ward":null,"note":null}', Stay, HARD)
    assert checked.status == NONCOMPLIANT and checked.errors[0]["field"] == "admitted"


def test_unparseable_output_is_noncompliant_not_an_exception():
    checked = check_output('{"admitted":', Stay, HARD)
    assert checked.status == NONCOMPLIANT and checked.errors[0]["field"] == "$"


def test_drop_unstated_keeps_required_nulls():
    assert drop_unstated({"admitted": None, "ward": None}, HARD) == {"admitted": None}
