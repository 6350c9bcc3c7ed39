"""Per-field confidence from scripted token log-probabilities: forced tokens add nothing."""

import math

import pytest

from fieldmill.extract.confidence import field_confidence, value_spans


def test_spans_of_every_leaf_with_quotes_and_number_terminators():
    text = '{"a":"x\\"y","b":[1,22],"c":{"d":null,"e":[]},"f":true}'
    spans = value_spans(text)
    assert text[slice(*spans["a"])] == '"x\\"y"'
    assert text[slice(*spans["b[0]"])] == "1," and text[slice(*spans["b[1]"])] == "22]"
    assert text[slice(*spans["c.d"])] == "null" and text[slice(*spans["c.e"])] == "[]" and text[slice(*spans["f"])] == "true"


def test_confidence_is_the_probability_of_the_value_tokens_and_forced_tokens_count_for_nothing():
    text = '{"city":"Leeds","n":12}'
    # tokens: {"city":"  Le  eds  ","n":  1  2  }   (forced ones at log-probability 0)
    pieces = ['{"city":"', "Le", "eds", '","n":', "1", "2", "}"]
    logprobs = [0.0, math.log(0.9), math.log(0.8), 0.0, math.log(0.5), 0.0, math.log(0.7)]
    ends = [sum(len(p) for p in pieces[: i + 1]) for i in range(len(pieces))]
    confidence = field_confidence(text, ends, logprobs)
    # city: "Le", "eds" and the token that closes the string (forced, 0): 0.9 x 0.8
    assert confidence["city"] == pytest.approx(0.72)
    # n: "1", "2" and "}" (the model decided the number ends there): 0.5 x 1 x 0.7
    assert confidence["n"] == pytest.approx(0.35)


def test_no_logprobs_no_confidence():
    assert field_confidence('{"a":1}', [], []) == {}
    assert field_confidence('{"a":', [5], [0.0]) == {}


def test_json_with_whitespace_parses_and_broken_json_gives_no_confidence():
    spans = value_spans('{"a": "x", "b": [1, 2],\n "c": {"d": null}}')
    assert set(spans) == {"a", "b[0]", "b[1]", "c.d"}
    assert field_confidence('{"a": "x\\', [3], [0.0]) == {}
