"""`fieldmill synth`: deterministic corpora whose documents state every gold value in some surface form."""

import datetime as dt
import json
import random
import re
from decimal import Decimal
from pathlib import Path

import pytest

from fieldmill.documents import decode_document
from fieldmill.schema.hardening import accepts_null
from fieldmill.schema.load import load_schema
from fieldmill.synth import GOLD, generator_module, generators, write_corpus
from fieldmill.synth.surface import amount_forms, count_forms, currency_forms, date_forms, fmt_quantity, number_words

BUILTINS = ["invoice", "legal_contract", "medical_record"]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_every_builtin_schema_has_a_generator():
    assert sorted(generators()) == BUILTINS


@pytest.mark.parametrize("name", BUILTINS)
def test_same_seed_same_bytes_other_seed_other_documents(name, tmp_path):
    write_corpus(name, 6, str(tmp_path / "a"), seed=5)
    write_corpus(name, 6, str(tmp_path / "b"), seed=5)
    write_corpus(name, 6, str(tmp_path / "c"), seed=6)
    a, b, c = (_files(tmp_path / x) for x in "abc")
    assert a == b
    assert a.keys() == c.keys() and a[GOLD] != c[GOLD]
    assert {Path(k).suffix for k in a} == {".txt", ".html", ".pdf", ".jsonl"}


def _non_null(node):
    options = [o for o in node.get("anyOf", ()) if o.get("type") != "null"]
    return options[0] if options else node


def _expected(value, node, path, currency):
    """(path, surface forms) for every stated scalar of the gold record that a document must print.

    Enums and booleans are printed as phrases ("Home with visiting nurse", "may terminate
    for convenience"), so they have no literal form to look for.
    """
    node = _non_null(node)
    if value is None or "enum" in node or "const" in node or node.get("type") == "boolean":
        return
    if node.get("type") == "object":
        for key, sub in node["properties"].items():
            yield from _expected(value.get(key), sub, f"{path}.{key}", currency)
    elif node.get("type") == "array":
        for index, item in enumerate(value):
            yield from _expected(item, node["items"], f"{path}[{index}]", currency)
    elif node.get("format") == "date":
        yield path, date_forms(dt.date.fromisoformat(value))
    elif node.get("type") == "integer":
        years = [f"{form} year" for form in count_forms(value // 12)] if path.endswith("_months") and value % 12 == 0 else []
        yield path, count_forms(value) + years
    elif node.get("type") == "number":
        number = Decimal(str(value))
        forms = {str(value), fmt_quantity(number), f"{float(value):g}", *amount_forms(number, currency or "USD")}
        if number == number.to_integral():
            forms.add(str(int(number)))
        yield path, sorted(forms)
    elif path.endswith(".currency"):
        yield path, currency_forms(value)
    else:
        yield path, [value]


def _squash(text):
    return " ".join(text.casefold().split())


@pytest.mark.parametrize("name", BUILTINS)
def test_documents_state_the_gold_values(name, tmp_path):
    lines = write_corpus(name, 9, str(tmp_path), seed=21)
    hardened = load_schema(name).hardened
    missing = []
    for line in lines:
        data = (tmp_path / line["name"]).read_bytes()
        decoded = decode_document(line["name"], data)
        assert decoded.reason is None, decoded.message
        text = _squash(decoded.text)
        record = line["record"]
        for path, forms in _expected(record, hardened, "$", record.get("currency")):
            if not any(_squash(str(form)) in text for form in forms):
                missing.append(f"{line['name']} {path}: none of {forms[:4]}")
    assert not missing, "\n".join(missing[:20])


def test_gold_lines_name_the_documents_and_hold_valid_records(tmp_path):
    write_corpus("medical_record", 3, str(tmp_path), seed=1, formats=("pdf",))
    model = load_schema("medical_record").model
    lines = [json.loads(line) for line in (tmp_path / GOLD).read_text().splitlines()]
    assert [line["name"] for line in lines] == [f"docs/medical_record-000{i}.pdf" for i in range(3)]
    for line in lines:
        assert (tmp_path / line["name"]).read_bytes().startswith(b"%PDF-")
        model.model_validate(line["record"])


def test_number_words():
    assert [number_words(n) for n in (0, 13, 24, 60, 105, 999)] == [
        "zero", "thirteen", "twenty-four", "sixty", "one hundred and five", "nine hundred and ninety-nine"]


def test_unknown_schema_has_no_generator(tmp_path):
    with pytest.raises(ValueError, match="no synthetic generator"):
        write_corpus("no_such_schema", 1, str(tmp_path))


@pytest.mark.parametrize("name", BUILTINS)
def test_optional_values_are_sometimes_absent(name):
    rng = random.Random(3)
    golds = [generator_module(name).generate(rng)[0] for _ in range(60)]
    hardened = load_schema(name).hardened
    optional = [k for k, node in hardened["properties"].items() if accepts_null(node)]
    sometimes_absent = [k for k in optional if any(g[k] is None for g in golds)]
    assert len(sometimes_absent) >= 0.6 * len(optional), sorted(set(optional) - set(sometimes_absent))


def test_generic_documents_carry_their_schema_and_state_their_text_values(tmp_path):
    """Each generic document has its own JSON Schema; its record validates and every text value is printed in it."""
    from fieldmill.schema.constraint import answer_text
    from fieldmill.schema.load import schema_from_document

    lines = write_corpus("generic", 30, str(tmp_path), seed=2)
    assert len({json.dumps(line["schema"], sort_keys=True) for line in lines}) == 30
    kinds = set()
    for line in lines:
        schema = schema_from_document(line["schema"], "s")
        record = schema.model.model_validate(line["record"]).model_dump(mode="json", by_alias=True)
        assert re.fullmatch(schema.constraint.regex, answer_text(record, schema.hardened))
        text = " ".join(decode_document(line["name"].rsplit("/", 1)[-1], (tmp_path / line["name"]).read_bytes()).text.split())
        for key, value in record.items():
            prop = line["schema"]["properties"][key]
            if isinstance(value, str) and "format" not in prop and "enum" not in prop:
                assert " ".join(value.split()) in text, (key, value, line["name"])
        kinds.add(line["schema"]["title"])
    assert len(kinds) >= 8
    assert any(None in line["record"].values() for line in lines)  # fields the document does not state
