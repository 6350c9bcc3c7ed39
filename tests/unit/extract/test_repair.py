"""Lists bounded before decoding by what the text can hold."""

from fieldmill.extract.repair import bounded_by_text, item_room
from fieldmill.schema.load import load_schema


def test_items_need_a_line_or_a_separator_each():
    assert item_room("") == 0
    assert item_room("Invoice 7\n\n  \nTotal 12.00\n") == 2
    assert item_room("Allergies: penicillin, latex and nuts") == 3  # one line, three items
    assert item_room("Parties: Acme; Beta & Gamma") == 3


def test_every_list_is_bounded_by_the_text_and_the_schema_is_left_alone():
    schema = load_schema("invoice").hardened
    before = schema["properties"]["line_items"]
    items = before["anyOf"][0] if "anyOf" in before else before
    short = bounded_by_text(schema, "Invoice 7\nWidget 2 x 3.00\nTotal 6.00\n")
    after = short["properties"]["line_items"]
    assert (after["anyOf"][0] if "anyOf" in after else after)["maxItems"] == 3
    assert items["maxItems"] > 3  # a copy: the loaded schema keeps its own bound
    assert bounded_by_text(schema, "line\n" * (items["maxItems"] + 1)) is None  # a page: nothing to bound


def test_a_list_that_must_hold_items_keeps_them():
    schema = {"type": "object", "properties": {"codes": {"type": "array", "items": {"type": "string", "maxLength": 8},
                                                          "minItems": 2, "maxItems": 10}}, "required": ["codes"]}
    assert bounded_by_text(schema, "A1")["properties"]["codes"]["maxItems"] == 2
