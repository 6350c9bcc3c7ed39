"""How sure the model was of each value: per-field confidence from token log-probabilities.

The engine reports, for every generated token, the log-probability of the token it
chose under the constraint (vLLM's sampled-token logprob, after the grammar's mask).
A token the grammar forces (a key, a comma, the only character that can follow) has
log-probability 0: certain by construction, it says nothing about the model and adds
nothing here.

A field's confidence is the probability the model gave its value as a whole: the
exponential of the summed log-probabilities of the tokens that overlap the value's
JSON literal (quotes included, so the decision to end a string counts; for a number,
the character after it, where the model decided the number was complete). `null` is a
value too: its confidence says how sure the model was that the document does not
state the field. Scores are in [0, 1]; the record's confidence is its least confident
field.
"""

from __future__ import annotations

import math


class SpanError(ValueError):
    pass


def value_spans(text: str) -> dict[str, tuple[int, int]]:
    """Character spans of every scalar (and empty list or object) in a JSON text, by field path
    (compact, as the constraint makes it, or with whitespace between tokens)."""
    spans: dict[str, tuple[int, int]] = {}
    end = _skip(text, _value(text, _skip(text, 0), "", spans))
    if end != len(text):
        raise SpanError(f"trailing text at {end}")
    return spans


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _value(text: str, at: int, path: str, spans: dict[str, tuple[int, int]]) -> int:
    if at >= len(text):
        raise SpanError("unexpected end")
    char = text[at]
    if char == "{":
        return _object(text, at, path, spans)
    if char == "[":
        return _array(text, at, path, spans)
    if char == '"':
        end = _string_end(text, at)
        spans[path] = (at, end)
        return end
    end = at
    while end < len(text) and text[end] not in ",]} \t\r\n":
        end += 1
    if end == at:
        raise SpanError(f"no value at {at}")
    spans[path] = (at, min(end + 1, len(text)) if text[at] not in "tfn" else end)  # a number ends where the model decided it does
    return end


def _string_end(text: str, at: int) -> int:
    index = at + 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == '"':
            return index + 1
        index += 1
    raise SpanError("unterminated string")


def _object(text: str, at: int, path: str, spans: dict[str, tuple[int, int]]) -> int:
    index = _skip(text, at + 1)
    if text.startswith("}", index):
        spans[path] = (at, index + 1)
        return index + 1
    import json

    while True:
        if not text.startswith('"', index):
            raise SpanError(f"expected a key at {index}")
        key_end = _string_end(text, index)
        try:
            key = json.loads(text[index:key_end])
        except ValueError:
            raise SpanError(f"bad key at {index}") from None
        colon = _skip(text, key_end)
        if not text.startswith(":", colon):
            raise SpanError(f"expected ':' at {colon}")
        index = _skip(text, _value(text, _skip(text, colon + 1), f"{path}.{key}" if path else key, spans))
        if text.startswith(",", index):
            index = _skip(text, index + 1)
            continue
        if text.startswith("}", index):
            return index + 1
        raise SpanError(f"expected ',' or '}}' at {index}")


def _array(text: str, at: int, path: str, spans: dict[str, tuple[int, int]]) -> int:
    index = _skip(text, at + 1)
    if text.startswith("]", index):
        spans[path] = (at, index + 1)
        return index + 1
    position = 0
    while True:
        index = _skip(text, _value(text, index, f"{path}[{position}]", spans))
        position += 1
        if text.startswith(",", index):
            index = _skip(text, index + 1)
            continue
        if text.startswith("]", index):
            return index + 1
        raise SpanError(f"expected ',' or ']' at {index}")


def field_confidence(text: str, token_ends: list[int], token_logprobs: list[float]) -> dict[str, float]:
    """Confidence of every field of the JSON `text`, from its tokens' ends (character offsets) and log-probabilities."""
    if not token_ends or len(token_ends) != len(token_logprobs):
        return {}
    try:
        spans = value_spans(text)
    except (SpanError, ValueError, IndexError):
        return {}
    starts = [0] + token_ends[:-1]
    out = {}
    for path, (start, end) in spans.items():
        total = sum(lp for s, e, lp in zip(starts, token_ends, token_logprobs) if s < end and e > start and lp is not None and math.isfinite(lp))
        out[path] = round(math.exp(min(0.0, total)), 6)
    return out


__all__ = ["field_confidence", "value_spans", "SpanError"]
