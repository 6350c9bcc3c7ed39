"""Rank a long document's windows per field, read the first and each field's best (extract/retrieval.py, windows.window_rows)."""

from __future__ import annotations

from fieldmill.document import DOCUMENT, WINDOW, Document, Source, Window
from fieldmill.schema.hardening import harden
from fieldmill.extract.retrieval import choose, field_group, field_queries, list_fields, rank
from fieldmill.extract.windows import window_rows

SCHEMA = harden({"type": "object", "properties": {
    "parties": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "role": {"type": "string"}}},
                "description": "Companies that sign the agreement"},
    "effectiveDate": {"type": "string", "format": "date"},
    "governingLaw": {"type": "string", "description": "Jurisdiction whose laws govern the contract"},
    "termMonths": {"type": ["integer", "null"], "description": "Duration of the agreement in months"},
}})

BOILERPLATE = ("The Supplier shall perform the services with reasonable skill and care. Notices shall be given in writing. "
               "Each party shall bear its own costs. ") * 6
CONTRACT = [
    "MASTER SERVICES AGREEMENT between Acme Holdings Ltd and Bolt GmbH (each a party).",
    BOILERPLATE,
    "TERM. This agreement has a duration of 24 months from commencement and renews for further months unless terminated.",
    BOILERPLATE,
    "GOVERNING LAW. This contract is governed by the laws of England and Wales; the courts of that jurisdiction decide disputes.",
    BOILERPLATE,
    "Effective date: 1 March 2024. Signed by the parties on the dates written below.",
]


def test_words_meet_in_any_of_their_forms():
    from fieldmill.extract.retrieval import english_stem

    assert english_stem(["governed", "governing", "laws", "cured", "parties"]) == english_stem(["govern", "govern", "law", "cure", "party"])
    contract = ["SERVICES AGREEMENT between A Ltd and B Ltd.", BOILERPLATE, "This contract shall be governed by the laws of Ireland."]
    assert rank(contract, {"governingLaw": field_queries(SCHEMA)["governingLaw"]})["governingLaw"][0][0] == 2


def test_a_fields_query_says_what_the_schema_says_about_it():
    queries = field_queries(SCHEMA)
    assert set(queries) == {"parties", "effectiveDate", "governingLaw", "termMonths"}
    assert "name" in queries["parties"] and "role" in queries["parties"] and "Companies that sign" in queries["parties"]
    assert "Law" in queries["governingLaw"] and "Jurisdiction" in queries["governingLaw"]
    assert "march" in queries["effectiveDate"] and "march" not in queries["governingLaw"]  # a date field asks for windows with dates


def test_each_field_ranks_the_window_that_states_it_first():
    ranked = rank(CONTRACT, field_queries(SCHEMA))
    assert ranked["governingLaw"][0][0] == 4 and ranked["termMonths"][0][0] == 2 and ranked["effectiveDate"][0][0] == 6
    assert all(window not in (1, 3, 5) for window, _ in ranked["governingLaw"][:1])


def test_the_first_window_and_each_fields_best_are_read_and_boilerplate_is_not():
    plan = choose(CONTRACT, field_queries(SCHEMA), lists=list_fields(SCHEMA))
    assert plan == [(0, []), (2, ["termMonths"]), (4, ["governingLaw"]), (6, ["effectiveDate"])]  # no boilerplate window
    # "Signed by the parties" outscores the preamble for `parties` (1.4x): enough for a scalar at a 1.25 margin,
    # not for a list, whose items would replace the preamble's
    assert dict(choose(CONTRACT, field_queries(SCHEMA), margin=1.25))[6] == ["parties", "effectiveDate"]
    assert dict(choose(CONTRACT, field_queries(SCHEMA), margin=1.25, lists=list_fields(SCHEMA)))[6] == ["effectiveDate"]
    assert list_fields(SCHEMA) == {"parties"}
    assert choose(["Cover page", "Nothing about any field here"], field_queries(SCHEMA)) == [(0, [])]  # the first is always read


def _windows(text: str, **kwargs) -> list[tuple[Document, Window]]:
    rows = window_rows({DOCUMENT: Document(Source("/d/msa.txt", etag="e"), text).to_bytes()}, **kwargs)
    return [(Document.from_bytes(r[DOCUMENT]), Window.from_bytes(r[WINDOW])) for r in rows]


def test_window_rows_read_only_the_chosen_windows_and_say_which():
    text = "\n\n".join(CONTRACT)
    everything = _windows(text, chunk_tokens=200, overlap_tokens=0, max_pages=100)
    chosen = _windows(text, chunk_tokens=200, overlap_tokens=0, max_pages=100, queries=field_queries(SCHEMA))
    assert 1 < len(chosen) < len(everything) and {d.windows for d, _ in chosen} == {len(everything)}
    assert [w.index for _, w in chosen] == list(range(len(chosen))) and {w.count for _, w in chosen} == {len(chosen)}
    assert not any(d.text for d, _ in chosen)  # each window carries its own part, the document no longer its text
    read = chosen[0][0].windows_read
    assert [w["start"] for w in read] == [w.start for _, w in chosen] and read[0]["window"] == 0
    assert all(text[r["start"]:r["end"]] == w.text for r, (_, w) in zip(read, chosen))
    assert any("governingLaw" in w["fields"] and "GOVERNING LAW" in text[w["start"]:w["end"]] for w in read)
    assert [w["fields"] for w in everything[0][0].windows_read] == [[]] * len(everything)  # off: every window, for every field
    # the first window is read with the whole schema, a later one with the fields it was chosen for
    assert chosen[0][1].fields == () and all(list(w.fields) == r["fields"] for r, (_, w) in zip(read[1:], chosen[1:]))
    assert {w.fields for _, w in everything} == {()}


def test_a_field_group_is_the_schema_with_only_its_fields():
    schema = {**SCHEMA, "required": list(SCHEMA["properties"]), "examples": [{"termMonths": 1}]}
    group = field_group(schema, ["termMonths", "parties"])
    assert list(group["properties"]) == ["parties", "termMonths"] and group["required"] == ["parties", "termMonths"]  # the schema's order
    assert "examples" not in group and group["properties"]["parties"] is SCHEMA["properties"]["parties"]
    assert field_group(schema, list(SCHEMA["properties"])) is schema and field_group(schema, []) is schema


def test_a_later_window_is_read_for_a_field_only_where_it_stands_out_from_the_first():
    """A wide schema makes every window some field's best by a hair; such a field is left to the first window."""
    opening = "SUPPLY AGREEMENT between Acme Holdings Ltd and Bolt GmbH, dated 1 March 2024."
    later = "9. Governing law. This agreement is governed by the laws of England and Wales, whose courts have jurisdiction."
    read_for = {field: window for window, fields in choose([opening, BOILERPLATE, later], field_queries(SCHEMA)) for field in fields}
    assert read_for["governingLaw"] == 2  # clearly the later window's
    mentioned = opening + " The laws of England and Wales govern this contract; their courts have jurisdiction."
    read_for = {field: window for window, fields in choose([mentioned, BOILERPLATE, later], field_queries(SCHEMA)) for field in fields}
    assert read_for.get("governingLaw", 0) == 0  # the first speaks of it about as much: left to the first window
    # a field whose only words are in every window scores near zero everywhere: its best is noise, not a place
    everywhere = ["Each party signs. " + BOILERPLATE, "Each party signs here too. " + BOILERPLATE, "The party signs. " + BOILERPLATE]
    assert choose(everywhere, {"parties": "party"}, margin=1.0) == [(0, [])]
    assert choose(everywhere, {"parties": "party"}, margin=1.0, floor=0.0) != [(0, [])]


def test_a_window_read_for_one_field_speaks_only_for_it_and_a_list_from_where_it_was_found():
    """A window of boilerplate ranked for the governing law must not add its clauses to the parties; a window
    chosen for a list (the signatures block for the signatories) gives the list, not the first window's guess."""
    from fieldmill.extract.merge import WindowResult, focus, merge_windows

    first = WindowResult({"parties": ["Acme Holdings Ltd", "Bolt GmbH"], "effectiveDate": None, "governingLaw": None, "termMonths": 24})
    law = WindowResult({"parties": ["4.1 Each party shall bear its own costs"], "effectiveDate": None, "governingLaw": "England and Wales",
                        "termMonths": 12})
    signed = WindowResult({"parties": ["Kelly Ltd"], "effectiveDate": "2024-03-01", "governingLaw": None, "termMonths": None})
    plan = [{"window": 0, "fields": []}, {"window": 4, "fields": ["governingLaw", "termMonths"]}, {"window": 6, "fields": ["effectiveDate"]}]
    merged = merge_windows(focus([first, law, signed], plan), SCHEMA).record
    assert merged["parties"] == ["Acme Holdings Ltd", "Bolt GmbH"]  # the first window's list, not the clauses'
    assert merged["governingLaw"] == "England and Wales" and str(merged["effectiveDate"]) == "2024-03-01"
    assert [w.record["termMonths"] for w in focus([first, law, signed], plan)] == [24, 12, None]  # a scalar: first and chosen window merge
    chosen = [*plan[:2], {"window": 6, "fields": ["effectiveDate", "parties"]}]
    assert merge_windows(focus([first, law, signed], chosen), SCHEMA).record["parties"] == ["Kelly Ltd"]  # where retrieval found it
    empty = WindowResult({**signed.record, "parties": []})
    assert merge_windows(focus([first, law, empty], chosen), SCHEMA).record["parties"] == ["Acme Holdings Ltd", "Bolt GmbH"]
    every = [{"window": i, "fields": []} for i in range(3)]  # --retrieval off: every window speaks for every field
    assert "Kelly Ltd" in merge_windows(focus([first, law, signed], every), SCHEMA).record["parties"]


def test_a_scalar_the_window_reading_it_last_leaves_null_has_its_next_ranked_window_in_reserve():
    """The second pass (retrieval.plan_reads): a field whose window gives null is read again where it ranks next."""
    from fieldmill.extract.retrieval import plan_reads

    assert plan_reads(CONTRACT, field_queries(SCHEMA), lists=list_fields(SCHEMA)).reserve == {}  # every ranked window is read already
    opening = "SUPPLY AGREEMENT between Acme Holdings Ltd and Bolt GmbH, dated 1 March 2024."
    mentioned = opening + " The laws of England and Wales govern this contract; their courts have jurisdiction."
    later = "9. Governing law. This agreement is governed by the laws of England and Wales, whose courts have jurisdiction."
    plan = plan_reads([mentioned, BOILERPLATE, later], field_queries(SCHEMA), lists=list_fields(SCHEMA))
    assert "governingLaw" not in {f for _, fields in plan.chosen for f in fields}  # left to the first window...
    assert plan.reserve == {0: [(2, ["governingLaw"])]}  # ... which, if it leaves it null, looks where it ranks next
    # a field chosen for a later window keeps its next-ranked one for that window's second pass; a list never does
    texts = [opening, later, BOILERPLATE, "Schedule 2 repeats that the laws of England govern disputes under this schedule."]
    plan = plan_reads(texts, field_queries(SCHEMA), lists=list_fields(SCHEMA))
    position = [window for window, _ in plan.chosen].index(1)
    assert "governingLaw" in dict(plan.chosen)[1] and plan.reserve[position] == [(3, ["governingLaw"])]
    assert all("parties" not in fields for spares in plan.reserve.values() for _, fields in spares)
    text = "\n\n".join(texts)
    windows = _windows(text, chunk_tokens=40, overlap_tokens=0, max_pages=100, queries=field_queries(SCHEMA), lists=list_fields(SCHEMA))
    spares = [spare for _, w in windows for spare in w.reserve]
    assert spares and all(text[s.start:s.start + len(s.text)] == s.text for s in spares)  # document offsets
    assert any("Schedule 2" in s.text and s.fields == ("governingLaw",) for s in spares)


def test_the_second_pass_reads_at_most_a_few_spare_windows_per_document():
    """A wide schema has a spare window for nearly every field: only the best `second_reads` reads are kept."""
    from fieldmill.extract.retrieval import plan_reads

    fields = {f"clause{i}": f"clause {word}" for i, word in enumerate(["alpha", "bravo", "charlie", "delta", "echo"])}
    texts = ["Cover page of the agreement; clause alpha bravo charlie delta echo are defined below.", BOILERPLATE]
    texts += [f"Clause {word}: the {word} clause applies. " * (6 - i) for i, word in enumerate(["alpha", "bravo", "charlie", "delta", "echo"])]
    texts += [f"As said, clause {word} stands." for word in ["alpha", "bravo", "charlie", "delta", "echo"]]
    everything = plan_reads(texts, fields, second_reads=10).reserve
    few = plan_reads(texts, fields, second_reads=2).reserve
    reads = lambda reserve: {(last, w) for last, spares in reserve.items() for w, _ in spares}  # noqa: E731
    assert len(reads(everything)) > 2
    assert len(reads(few)) == 2 and reads(few) <= reads(everything)
