"""Surface forms: the many ways a document prints the same value."""

from __future__ import annotations

import datetime as dt
import html
import random
from decimal import Decimal

from fieldmill.extract import evidence

_DATE_FORMATS = ("{d:%B} {d.day}, {d:%Y}", "{d:%m}/{d:%d}/{d:%Y}", "{d:%Y}-{d:%m}-{d:%d}", "{d.day} {d:%b} {d:%Y}", "{d:%d}.{d:%m}.{d:%Y}")
_CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


def date_forms(value: dt.date) -> list[str]:
    return [f.format(d=value) for f in _DATE_FORMATS]


def fmt_date(rng: random.Random, value: dt.date) -> str:
    return rng.choice(date_forms(value))


def amount_forms(value: Decimal, currency: str) -> list[str]:
    plain = f"{value:.2f}"
    grouped = f"{value:,.2f}"
    european = grouped.replace(",", "_").replace(".", ",").replace("_", ".")
    sign = _CURRENCY_SIGNS.get(currency, "")
    forms = [plain, grouped, f"{grouped} {currency}", f"{currency} {grouped}", european + f" {currency}"]
    if sign:
        forms += [f"{sign}{grouped}", f"{sign} {plain}"]
    return forms


def currency_forms(code: str) -> list[str]:
    """How a document may state a currency: its code or its sign."""
    return [code] + ([_CURRENCY_SIGNS[code]] if code in _CURRENCY_SIGNS else [])


def fmt_amount(rng: random.Random, value: Decimal, currency: str, with_currency: bool = False) -> str:
    """One printed form of the amount; `with_currency` picks a form that shows the currency's code or sign."""
    forms = amount_forms(value, currency)
    if with_currency:
        forms = [f for f in forms if any(mark in f for mark in currency_forms(currency))]
    return rng.choice(forms)


def fmt_quantity(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def table_lines(rng: random.Random, header: list[str], rows: list[list[str]], upper: bool = False) -> list[str]:
    """A table as documents print it: pipes, markdown, tabs, aligned columns, or bare rows without a header."""
    style = rng.choice(["pipes", "spaces", "tabs", "markdown", "compact"])
    if upper:
        header = [h.upper() for h in header]
    if style == "pipes":
        return [" | ".join(header)] + [" | ".join(r) for r in rows]
    if style == "markdown":
        return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]
    if style == "tabs":
        return ["\t".join(header)] + ["\t".join(r) for r in rows]
    if style == "compact":
        return ["  ".join(r) for r in rows]
    widths = [max(len(x) for x in col) + 2 for col in zip(header, *rows)]
    return ["".join(x.ljust(w) for x, w in zip(header, widths)).rstrip()] + ["".join(x.ljust(w) for x, w in zip(r, widths)).rstrip() for r in rows]


def render(rng: random.Random, title: str, sections: list[tuple[str, list[tuple[str, str]]]], fmt: str) -> str:
    """Render titled sections of (label, value) pairs as plain text, markdown-ish text or HTML."""
    if fmt == "html":
        parts = [f"<html><head><title>{html.escape(title)}</title><style>td{{padding:2px}}</style>",
                 "<script>window.analytics && analytics.track('view');</script></head><body>", f"<h1>{html.escape(title)}</h1>"]
        for heading, pairs in sections:
            if heading:
                parts.append(f"<h2>{html.escape(heading)}</h2>")
            if pairs and all(label for label, _ in pairs):
                parts.append("<table>" + "".join(f"<tr><td>{html.escape(l)}</td><td>{html.escape(v)}</td></tr>" for l, v in pairs) + "</table>")
            else:
                parts += [f"<p>{html.escape((l + ': ' if l else '') + v)}</p>" for l, v in pairs]
        parts.append("</body></html>")
        return "\n".join(parts)
    separator = rng.choice([": ", " - ", ":  ", "\t"])
    lines = [title.upper() if rng.random() < 0.5 else title, "=" * len(title) if rng.random() < 0.5 else ""]
    for heading, pairs in sections:
        if heading:
            lines += ["", heading.upper() if rng.random() < 0.3 else heading]
        lines += [(label + separator + value) if label else value for label, value in pairs]
    return "\n".join(lines).strip() + "\n"


def number_words(value: int) -> str:
    """English words for 0..999 ('twenty-four', 'one hundred and five')."""
    words = evidence.number_words(value)
    if words is None:
        raise ValueError(f"{value} is out of range for number_words")
    return words


def fmt_count(rng: random.Random, value: int) -> str:
    """A count as a contract writes it: one of `count_forms`."""
    if value >= 1000:
        return str(value)
    return rng.choice(count_forms(value))


def count_forms(value: int) -> list[str]:
    """Every way `fmt_count` writes a count: '24', 'twenty-four (24)' or 'twenty-four' (from 1,000 on, digits only)."""
    return [str(value), f"{number_words(value)} ({value})", number_words(value)] if 0 <= value < 1000 else [str(value)]
