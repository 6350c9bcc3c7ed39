"""The built-in schemas: size, descriptions, bounds that fit the bundled model, and validators that bite."""

import copy
import datetime as dt
import random

import pytest
from pydantic import ValidationError

from fieldmill.schema.arrow_types import arrow_type
from fieldmill.evaluate import leaves
from fieldmill.model.source import BUNDLED_MAX_MODEL_LEN
from fieldmill.schema.load import builtin_names, load_schema
from fieldmill.synth import generator_module

BUILTINS = ["invoice", "legal_contract", "medical_record"]


def test_the_three_schemas_are_built_in():
    assert set(BUILTINS) <= set(builtin_names())


def _properties(node, path="$"):
    for option in node.get("anyOf", ()):
        yield from _properties(option, path)
    for name, sub in node.get("properties", {}).items():
        yield f"{path}.{name}", sub
        yield from _properties(sub, f"{path}.{name}")
    if "items" in node:
        yield from _properties(node["items"], f"{path}[]")


@pytest.mark.parametrize("name", BUILTINS)
def test_about_fifty_described_fields(name):
    schema = load_schema(name)
    fields = leaves(arrow_type(schema.hardened))
    assert 45 <= len(fields) <= 60, [f.path for f in fields]
    undescribed = [path for path, node in _properties(schema.hardened) if not node.get("description")]
    assert not undescribed


@pytest.mark.parametrize("name", BUILTINS)
def test_worked_example_is_valid_and_the_budget_fits_the_bundled_context(name):
    schema = load_schema(name)
    schema.model.model_validate(schema.json_schema["examples"][0])
    assert schema.example_document
    # the longest record must leave most of the bundled model's context for the prompt and the document
    assert schema.constraint.max_output_tokens < BUNDLED_MAX_MODEL_LEN * 0.75


def test_schema_versions_differ():
    assert len({load_schema(name).hash for name in BUILTINS}) == len(BUILTINS)


@pytest.mark.parametrize("name", BUILTINS)
def test_generated_gold_records_validate(name):
    rng = random.Random(7)
    model = load_schema(name).model
    for _ in range(60):
        gold, sections, title = generator_module(name).generate(rng)
        model.model_validate(gold)
        assert sections and title


def _gold(name, seed=11, accept=lambda gold: True):
    rng = random.Random(seed)
    while True:
        gold = generator_module(name).generate(rng)[0]
        if accept(gold):
            return load_schema(name).model.model_validate(gold).model_dump(mode="json")


def _shift_date(text, days):
    return (dt.date.fromisoformat(text) + dt.timedelta(days=days)).isoformat()


def _with(**changes):
    return lambda record: record.update(changes)


def _bump_line(record):
    record["line_items"][0]["amount"] = float(record["line_items"][0]["amount"]) + 5


def _low_systolic(record):
    record["systolic_bp_mmhg"], record["diastolic_bp_mmhg"] = 80, 90


WRONG = [
    ("invoice", lambda r: r.update(total=float(r["total"]) + 10), "total"),
    ("invoice", _with(due_date="2019-01-01"), "due_date is before issue_date"),
    ("invoice", _with(currency="XYZ"), "ISO 4217"),
    ("invoice", _bump_line, "line amount"),
    ("medical_record", lambda r: r.update(discharge_date=_shift_date(r["admission_date"], -2)), "before admission_date"),
    ("medical_record", lambda r: r["principal_diagnosis"].update(icd10_code="J18-9"), "pattern"),
    ("medical_record", lambda r: r["principal_diagnosis"].update(icd10_code="U07.1"), "pattern"),
    ("medical_record", _low_systolic, "not above diastolic"),
    ("medical_record", _with(date_of_birth="2099-01-01"), "after admission_date"),
    ("medical_record", _with(oxygen_saturation_percent=140), "less than or equal to 100"),
    ("medical_record", lambda r: r.update(follow_up_date=_shift_date(r["admission_date"], -1)), "follow_up_date"),
    ("legal_contract", lambda r: r.update(expiration_date=r["effective_date"]), "not after effective_date"),
    ("legal_contract", lambda r: r["signatories"][0].update(party="Someone Else Ltd"), "not one of the parties"),
    ("legal_contract", _with(currency="ABC"), "ISO 4217"),
    ("legal_contract", _with(auto_renewal=False, renewal_term_months=12), "does not renew"),
    ("legal_contract", _with(currency=None, contract_value=1000), "without a currency"),
]


@pytest.mark.parametrize("name,mutate,message", WRONG, ids=[f"{w[0]}:{w[2]}" for w in WRONG])
def test_validators_reject_realistic_wrong_records(name, mutate, message):
    accept = {"legal_contract": lambda g: g["currency"] is not None and g["signatories"]}.get(name, lambda g: True)
    wrong = copy.deepcopy(_gold(name, accept=accept))
    mutate(wrong)
    with pytest.raises(ValidationError, match=message):
        load_schema(name).model.model_validate(wrong)
