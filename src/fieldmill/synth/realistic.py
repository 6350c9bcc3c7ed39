"""Documents that look like real ones, with schemas written the way their users write them.

The other generators print clean `Label: value` lines; a model trained on them learns
the generator. Here each document is laid out as its kind is really produced (a shop's
receipt roll, a tax invoice template, a bank statement, a letter, a services agreement,
a clinic note, a filled-in form) on pages of positioned text (`layout.py`), rendered to
PDF and read back by the run's own decoder, so its text has what real text layers have:
labels apart from their values, columns read one after the other, addresses over
several lines, paragraphs broken mid-sentence, upper case, several candidates for one
field (subtotal, tax, rounding, total, cash and change; issue, due and delivery dates;
billing and shipping addresses) and values that are really missing.

Each document comes with a schema in one user's style (`user_schema`): a handful of
fields under that user's names, loose descriptions or none, and for dates and amounts
one of the ways users ask for them: typed (`format: date`, `number`), as printed
("exactly as printed, e.g. 25/12/2018"), or in a stated form ("YYYY-MM-DD", "digits with
two decimals"). The gold answer follows the field's type and description:

* a string field without another instruction takes the value as printed (a multi-line
  value's lines joined by one space, as it reads);
* `format: date` or a description asking for YYYY-MM-DD takes the ISO date;
* `number`/`integer` the value; "two decimals" the digits with exactly two decimals;
* null exactly when the document does not print the fact.

Templates (fonts, pair styles, block order) are numbered per kind; `TRAIN_TEMPLATES`
teach, `HELD_OUT_TEMPLATES` are only for evaluation, so a score on them is a score on
layouts the model never saw.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable

from faker import Faker

from fieldmill.synth.layout import Page, fit_height, render_pdf

TRAIN_TEMPLATES = tuple(range(6))
HELD_OUT_TEMPLATES = (6, 7)
_CENT = Decimal("0.01")


# --- facts: what a document states, and how it prints it ------------------------------------

@dataclass(frozen=True)
class Fact:
    kind: str  # date | money | count | text | address | list | bool
    printed: Any  # the text as printed (a multi-line value: lines joined by "\n"); a list fact: its items' texts
    typed: Any = None  # ISO date, Decimal, int
    example: str | None = None  # another value printed the same way (a user's "e.g." in a description)


@dataclass(frozen=True)
class Locale:
    code: str
    faker: str
    currency: str
    sign: str
    day_first: bool
    comma_decimal: bool


LOCALES = (
    Locale("MY", "en_US", "MYR", "RM", True, False), Locale("SG", "en_US", "SGD", "S$", True, False),
    Locale("AU", "en_AU", "AUD", "$", True, False), Locale("GB", "en_GB", "GBP", "£", True, False),
    Locale("US", "en_US", "USD", "$", False, False), Locale("CA", "en_CA", "CAD", "$", False, False),
    Locale("IE", "en_IE", "EUR", "€", True, False), Locale("DE", "de_DE", "EUR", "€", True, True),
    Locale("FR", "fr_FR", "EUR", "€", True, True), Locale("NL", "nl_NL", "EUR", "€", True, True),
    Locale("IN", "en_IN", "INR", "Rs.", True, False),
)

_SEA_STREETS = ("JALAN", "JLN", "LORONG", "PERSIARAN", "TAMAN")
_SEA_WORDS = ("MAJU", "JAYA", "SENTOSA", "BAHAGIA", "INDAH", "MEGAH", "SETIA", "MUTIARA", "PERMAI", "BUKIT", "KEMBANG", "SRI")
_SEA_CITIES = (("47300", "PETALING JAYA", "SELANGOR"), ("81100", "JOHOR BAHRU", "JOHOR"), ("50450", "KUALA LUMPUR", "W.P."),
               ("10200", "GEORGE TOWN", "PULAU PINANG"), ("30450", "IPOH", "PERAK"), ("88000", "KOTA KINABALU", "SABAH"))


@dataclass
class Ctx:
    rng: random.Random
    fake: Faker
    locale: Locale
    style: random.Random  # the template's own choices: the same for every document of one template
    upper: bool = False
    # Choices added after a kind's first templates were drawn, apart from `style` and `rng` so that adding them leaves
    # every earlier draw (and so every other document of a corpus) as it was: the template's (`layout`) and the
    # document's own (`variety`).
    layout: random.Random = field(default_factory=random.Random)
    variety: random.Random = field(default_factory=random.Random)

    def case(self, text: str) -> str:
        return text.upper() if self.upper else text


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(_CENT, rounding=ROUND_HALF_UP)


def money_text(value: Decimal, locale: Locale, grouped: bool = True) -> str:
    text = f"{value:,.2f}" if grouped else f"{value:.2f}"
    if locale.comma_decimal:
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text


def date_text(day: dt.date, locale: Locale, style: int) -> str:
    """The date in one of the forms a document of this locale prints (`style` picks it)."""
    dm = f"{day:%d/%m/%Y}" if locale.day_first else f"{day:%m/%d/%Y}"
    forms = [dm, f"{day:%d-%m-%Y}" if locale.day_first else f"{day:%m-%d-%Y}", f"{day.day} {day:%b} {day:%Y}", f"{day:%B} {day.day}, {day:%Y}",
             f"{day:%d-%b-%y}".upper(), f"{day:%d.%m.%Y}" if locale.comma_decimal else dm[:-4] + dm[-2:], f"{day:%Y-%m-%d}", f"{day.day} {day:%B} {day:%Y}"]
    return forms[style % len(forms)]


def _ordinal(number: int) -> str:
    return f"{number}{'th' if 10 <= number % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th')}"


def _day(rng: random.Random, start: int = 2016, years: int = 10) -> dt.date:
    return dt.date(start, 1, 1) + dt.timedelta(days=rng.randrange(365 * years))


def day_of(day: dt.date) -> str:
    """An agreement's date in words: `14th day of June, 2011`."""
    return f"{_ordinal(day.day)} day of {day:%B}, {day:%Y}"


def date_fact(ctx: Ctx, day: dt.date, style: int | Callable[[dt.date], str]) -> Fact:
    """The date as printed in a locale's form (`style`, see `date_text`) or in one of its own (a function)."""
    text = style if callable(style) else (lambda d: date_text(d, ctx.locale, style))
    other = _day(random.Random(day.toordinal()))
    return Fact("date", ctx.case(text(day)), day.isoformat(), ctx.case(text(other)))


def money_fact(ctx: Ctx, value: Decimal, grouped: bool = True) -> Fact:
    return Fact("money", money_text(value, ctx.locale, grouped), value)


def text_fact(ctx: Ctx, text: str, kind: str = "text") -> Fact:
    return Fact(kind, ctx.case(text))


def _company(ctx: Ctx) -> str:
    rng, fake = ctx.rng, ctx.fake
    if ctx.locale.code in ("MY", "SG"):
        core = f"{rng.choice(_SEA_WORDS)} {rng.choice(_SEA_WORDS)}" if rng.random() < 0.5 else fake.last_name().upper()
        return f"{core} {rng.choice(['ENTERPRISE', 'TRADING', 'SDN BHD', 'SDN. BHD.', 'RESTAURANT', 'HARDWARE', 'MART', '(M) SDN BHD', 'PTE LTD', 'BOOKSTORE'])}"
    return fake.company().replace("\n", " ")


def _address_lines(ctx: Ctx) -> list[str]:
    rng, fake = ctx.rng, ctx.fake
    if ctx.locale.code in ("MY", "SG"):
        code, city, state = rng.choice(_SEA_CITIES)
        street = f"NO. {rng.randint(1, 199)}, {rng.choice(_SEA_STREETS)} {rng.choice(_SEA_WORDS)} {rng.randint(1, 30)}"
        lines = [street + ",", f"TAMAN {rng.choice(_SEA_WORDS)},", f"{code} {city},", state + "."]
        return lines[: rng.choice([3, 4])] if rng.random() < 0.7 else [f"LOT {rng.randint(1, 900)}, " + lines[0], *lines[2:]]
    street = fake.street_address().replace("\n", ", ")
    city_line = {"US": f"{fake.city()}, {fake.state_abbr()} {fake.postcode()}" if hasattr(fake, "state_abbr") else f"{fake.city()} {fake.postcode()}",
                 "CA": f"{fake.city()}, {fake.postcode()}", "AU": f"{fake.city()} {fake.postcode()}"}.get(ctx.locale.code, f"{fake.postcode()} {fake.city()}")
    lines = [street, city_line]
    if rng.random() < 0.3:
        lines.insert(1, rng.choice(["Unit ", "Suite ", "Level ", "Floor "]) + str(rng.randint(1, 40)))
    if rng.random() < 0.3:
        lines[0] += ","
    return lines


def address_fact(ctx: Ctx) -> Fact:
    return Fact("address", ctx.case("\n".join(_address_lines(ctx))))


def _ident(rng: random.Random, patterns: tuple[str, ...]) -> str:
    out = []
    for c in rng.choice(patterns):
        out.append(str(rng.randrange(10)) if c == "#" else rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") if c == "?" else c)
    return "".join(out)


# --- pages: how label/value pairs and tables are laid out -------------------------------------

PAIR_STYLES = ("colon", "gap", "right", "split", "columns")


def pairs(page: Page, items: list[tuple[str, str]], style: str, gap: float = 90.0) -> None:
    """Labelled values in one producer's style; a value's extra lines go under its first."""
    x_value = page.left + gap
    if style == "columns":  # every label first, then every value: the text layer reads them as two blocks
        rows = []
        for label, value in items:
            rows.append((page.y, label))
            page.down(lines=len(value.split("\n")))
        bottom, page.y = page.y, rows[0][0] if rows else page.y
        for y, label in rows:
            page.text(page.left, label, y=y)
        for label, value in items:
            for part in value.split("\n"):
                page.text(x_value, part)
                page.down()
        page.y = bottom
        return
    for label, value in items:
        parts = value.split("\n")
        if style == "colon":
            page.text(page.left, f"{label}: {parts[0]}" if label else parts[0])
        elif style == "gap":
            page.text(page.left, label)
            page.text(x_value, (": " if label else "") + parts[0])
        elif style == "right":
            page.text(page.left, label)
            if len(parts) == 1:
                page.text(page.right, parts[0], align="right")
            else:
                page.down()
                page.text(page.left + 12, parts[0])
        else:  # split: the label on its line, the value under it
            if label:
                page.text(page.left, label)
                page.down()
            page.text(page.left + 8, parts[0])
        page.down()
        for part in parts[1:]:
            page.text(page.left + (12 if style in ("split", "right") else 0 if style == "colon" else gap), part)
            page.down()


def table(page: Page, header: list[str], rows: list[list[str]], widths: list[float], upper: bool) -> None:
    """Columns at fixed positions; numbers right-aligned at their column's right edge."""
    x, positions = page.left, []
    for width in widths:
        positions.append((x, x + width))
        x += width
    for line in ([h.upper() if upper else h for h in header], *rows):
        for (left, right), cell in zip(positions, line):
            numeric = cell.replace(",", "").replace(".", "").replace("-", "").strip().isdigit()
            page.text(right - 4 if numeric else left, cell, align="right" if numeric else "left")
        page.down()


# --- document kinds ---------------------------------------------------------------------------

@dataclass
class Drafted:
    facts: dict[str, Fact]
    pages: list[Page]
    extra: dict[str, Any] = field(default_factory=dict)


def _items(ctx: Ctx, products: tuple[str, ...], count: int) -> list[tuple[str, int, Decimal]]:
    return [(ctx.case(ctx.rng.choice(products)), ctx.rng.choice([1, 1, 1, 2, 3, 4, 6]), _money(ctx.rng.choice([ctx.rng.uniform(0.8, 30), ctx.rng.uniform(5, 180)])))
            for _ in range(count)]


_GROCERIES = ("Milk 1L", "White bread", "Coffee beans 500g", "AA batteries x4", "Notebook A5", "Chicken rice", "Iced lemon tea", "Shampoo 400ml",
              "USB-C cable", "Bananas 1kg", "Printer ink", "Paper towels", "Olive oil 750ml", "Teh tarik", "Nasi lemak", "Pen blue 0.5mm",
              "Roti canai", "Mineral water 1.5L", "Detergent 2kg", "Eggs 10pcs", "Sticky notes", "Glue stick", "Cable ties 100pcs")
_SERVICES = ("Consulting services", "Website maintenance", "Annual licence", "Installation labour", "Freight charges", "Cloud hosting (monthly)",
             "Training workshop", "Spare parts kit", "Office chairs", "Laptop stand", "Design revisions", "Support retainer")


def receipt(ctx: Ctx) -> Drafted:
    rng, style = ctx.rng, ctx.style
    page = Page(226, 1400, font=style.choice(["Courier", "Helvetica", "Courier-Bold"]), size=style.choice([7.0, 7.5, 8.0]), margin=12)
    pair_style = style.choice(["gap", "split", "colon", "right", "columns"])
    centre = style.random() < 0.7
    f: dict[str, Fact] = {}
    f["company"] = text_fact(ctx, _company(ctx).upper() if rng.random() < 0.6 else _company(ctx))
    reg = _ident(rng, ("(######-?)", "Co. Reg. No. ############", "(#######-?)", "ABN ## ### ### ###"))
    f["address"] = address_fact(ctx)
    f["phone"] = text_fact(ctx, ctx.fake.phone_number())
    f["tax_id"] = text_fact(ctx, _ident(rng, ("GST ID : ############", "GST REG NO: ###-#####-##", "VAT No. GB### #### ##", "TIN ##########")).split(":")[-1].strip())
    align = "centre" if centre else "left"
    page.line(f["company"].printed, align, font=page.font.split("-")[0] + "-Bold", size=page.size + 1)
    if rng.random() < 0.7:
        page.line(reg, align)
    for part in f["address"].printed.split("\n"):
        page.line(part, align)
    page.line(ctx.case(rng.choice(["TEL", "Tel", "Phone", "TEL NO"])) + (" : " if rng.random() < 0.5 else " ") + f["phone"].printed, align)
    if rng.random() < 0.7:
        page.line(ctx.case(rng.choice(["GST ID", "GST REG NO", "VAT No", "Tax ID"])) + ": " + f["tax_id"].printed, align)
    else:
        f["tax_id"] = Fact("text", None)
    page.line(ctx.case(style.choice(["TAX INVOICE", "RECEIPT", "CASH SALE", "SIMPLIFIED TAX INVOICE", "OFFICIAL RECEIPT", "Sales Receipt"])), "centre", size=page.size + 1)
    page.down()
    day = _day(rng)
    f["date"] = date_fact(ctx, day, style.randrange(8) if rng.random() < 0.8 else rng.randrange(8))
    hour, minute, second = rng.randrange(7, 23), rng.randrange(60), rng.randrange(60)
    clock = style.choice([f"{hour:02d}:{minute:02d}:{second:02d}", f"{(hour % 12) or 12}:{minute:02d}:{second:02d} {'PM' if hour >= 12 else 'AM'}", f"{hour:02d}:{minute:02d}"])
    f["receipt_no"] = text_fact(ctx, _ident(rng, ("CS#########", "TD#######", "##########", "OR-######", "INV/##/#####", "######")))
    f["cashier"] = text_fact(ctx, ctx.fake.first_name().upper() if rng.random() < 0.5 else ctx.fake.first_name())
    meta = [(ctx.case(rng.choice(["Receipt No", "Doc No", "Invoice No", "Bill No", "Trans #", "DOCUMENT NO"])), f["receipt_no"].printed)]
    date_label = ctx.case(rng.choice(["Date", "DATE", "Date/Time", "Dated"]))
    if style.random() < 0.5:
        meta.append((date_label, f"{f['date'].printed} {clock}"))
    else:
        meta += [(date_label, f["date"].printed), (ctx.case("Time"), clock)]
    if rng.random() < 0.75:
        meta.append((ctx.case(rng.choice(["Cashier", "Served by", "Operator", "SALESPERSON"])), f["cashier"].printed))
    else:
        f["cashier"] = Fact("text", None)
    rng.shuffle(meta) if style.random() < 0.3 else None
    pairs(page, meta, pair_style, gap=56)
    page.down(lines=0.5)
    lines = _items(ctx, _GROCERIES, rng.randint(1, 7))
    rows = [[d, str(q), money_text(p, ctx.locale, False), money_text(p * q, ctx.locale, False)] for d, q, p in lines]
    table(page, ["Item", "Qty", "Price", "Amount"], rows, [90, 24, 40, 48], ctx.upper or style.random() < 0.5)
    page.down(lines=0.5)
    subtotal = sum((p * q for _, q, p in lines), Decimal(0))
    tax_rate = Decimal(style.choice(["0.06", "0.10", "0.07", "0.20", "0.08"]))
    tax = _money(float(subtotal * tax_rate)) if rng.random() < 0.7 else None
    gross = subtotal + (tax or 0)
    rounded = (gross * 20).quantize(Decimal(1), rounding=ROUND_HALF_UP) / 20 if ctx.locale.code in ("MY", "SG", "AU") and rng.random() < 0.6 else gross
    rounded = rounded.quantize(_CENT)
    cash = _money(float(max(rounded, Decimal(1)).to_integral_value(rounding="ROUND_CEILING") + rng.choice([0, 0, 5, 10, 20, 50])))
    f["subtotal"] = money_fact(ctx, subtotal, grouped=False)
    f["tax"] = money_fact(ctx, tax, grouped=False) if tax is not None else Fact("money", None)
    f["total"] = money_fact(ctx, rounded, grouped=False)
    paid_by_card = rng.random() < 0.35
    f["cash"] = money_fact(ctx, cash, grouped=False) if not paid_by_card else Fact("money", None)
    f["change"] = money_fact(ctx, cash - rounded, grouped=False) if not paid_by_card else Fact("money", None)
    sign = ctx.locale.sign if style.random() < 0.5 else ""
    money_line = lambda value: f"{sign}{value}" if sign and style.random() < 0.5 else value  # noqa: E731
    totals = [(ctx.case(rng.choice(["Subtotal", "Sub Total", "Total Excl. Tax", "Total Sales (Excluding GST)"])), f["subtotal"].printed)]
    if tax is not None:
        totals.append((ctx.case(rng.choice(["GST @6%", "Tax", "VAT 20%", "Sales Tax", "GST"])), f["tax"].printed))
    if rounded != gross:
        totals += [(ctx.case("Total Incl. Tax"), money_text(gross, ctx.locale, False)), (ctx.case(rng.choice(["Rounding Adj", "Rounding Adjustment", "Rounding"])),
                                                                                          money_text(rounded - gross, ctx.locale, False))]
    totals.append((ctx.case(rng.choice(["TOTAL", "Total", "Grand Total", "Total Amount", "NETT TOTAL", "Rounded Total"])) + (f" ({ctx.locale.sign})" if style.random() < 0.3 else ""),
                   money_line(f["total"].printed)))
    if paid_by_card:
        totals.append((ctx.case(rng.choice(["VISA", "MASTERCARD", "Card", "Debit Card"])), f["total"].printed))
    else:
        totals += [(ctx.case(rng.choice(["Cash", "CASH TENDERED", "Tendered"])), f["cash"].printed), (ctx.case(rng.choice(["Change", "CHANGE DUE", "Change"])), f["change"].printed)]
    pairs(page, totals, style.choice(["right", "gap", "split", "columns"]), gap=110)
    f["payment_method"] = Fact("text", ctx.case("card" if paid_by_card else "cash"))
    page.down()
    for text in rng.sample(["Thank you for shopping with us!", "Goods sold are not returnable.", "Please keep this receipt.", "*** CUSTOMER COPY ***",
                            "Thank You. Please Come Again", "Exchange within 7 days with receipt"], rng.randint(0, 3)):
        page.line(ctx.case(text), "centre")
    f["items"] = Fact("list", [d for d, _, _ in lines])
    return Drafted(f, [fit_height(page)])


def invoice(ctx: Ctx) -> Drafted:
    rng, style = ctx.rng, ctx.style
    page = Page(595, 842, font=style.choice(["Helvetica", "Times-Roman"]), size=style.choice([8.5, 9.0, 10.0]), margin=48)
    f: dict[str, Fact] = {}
    f["seller"] = text_fact(ctx, _company(ctx))
    f["seller_address"] = address_fact(ctx)
    f["vat_number"] = text_fact(ctx, _ident(rng, ("GB### #### ##", "DE#########", "FR## #########", "ABN ## ### ### ###", "GST-#######", "############")))
    f["buyer"] = text_fact(ctx, _company(ctx))
    f["billing_address"] = address_fact(ctx)
    f["shipping_address"] = address_fact(ctx) if rng.random() < 0.5 else Fact("address", None)
    f["invoice_number"] = text_fact(ctx, _ident(rng, ("INV-#####", "####/##", "??-######", "#######", "INV######")))
    issued = _day(rng)
    date_style = style.randrange(8)
    f["invoice_date"] = date_fact(ctx, issued, date_style)
    f["due_date"] = date_fact(ctx, issued + dt.timedelta(days=rng.choice([14, 30, 45, 60])), date_style) if rng.random() < 0.8 else Fact("date", None)
    f["delivery_date"] = date_fact(ctx, issued - dt.timedelta(days=rng.randint(1, 9)), date_style) if rng.random() < 0.35 else Fact("date", None)
    f["po_number"] = text_fact(ctx, _ident(rng, ("PO-#####", "45########", "PO###-##"))) if rng.random() < 0.5 else Fact("text", None)
    title = style.choice(["TAX INVOICE", "INVOICE", "Invoice", "Commercial Invoice", "VAT INVOICE"])
    header_left = style.random() < 0.5
    page.line(title, "left" if header_left else "right", font="Helvetica-Bold", size=page.size + 6)
    page.down()
    top = page.y
    page.line(f["seller"].printed, font="Helvetica-Bold")
    for part in f["seller_address"].printed.split("\n"):
        page.line(part)
    page.line(f"{rng.choice(['VAT No', 'VAT Reg. No.', 'Tax ID', 'GST No'])}: {f['vat_number'].printed}")
    seller_bottom = page.y
    meta = [(rng.choice(["Invoice No.", "Invoice #", "Invoice Number", "Number"]), f["invoice_number"].printed),
            (rng.choice(["Invoice Date", "Date", "Date of issue", "Issue date"]), f["invoice_date"].printed)]
    if f["due_date"].printed:
        meta.append((rng.choice(["Due Date", "Payment due", "Due"]), f["due_date"].printed))
    if f["delivery_date"].printed:
        meta.append((rng.choice(["Delivery Date", "Date of supply", "Shipped"]), f["delivery_date"].printed))
    if f["po_number"].printed:
        meta.append((rng.choice(["PO Number", "Your order", "P.O. No."]), f["po_number"].printed))
    box = Page(page.width, page.height, page.font, page.size, margin=page.margin, left=page.width * 0.55)
    box.y = top
    pairs(box, meta, style.choice(["gap", "columns", "colon", "split"]), gap=85)
    page.runs += box.runs  # drawn after the seller's block: the text layer reads the two blocks one after the other
    page.y = min(seller_bottom, box.y) - page.leading
    blocks = [(rng.choice(["Bill To", "Invoice to", "Customer", "Billed To"]), f["buyer"].printed + "\n" + f["billing_address"].printed)]
    if f["shipping_address"].printed:
        blocks.append((rng.choice(["Ship To", "Deliver to", "Delivery address"]), f["buyer"].printed + "\n" + f["shipping_address"].printed))
    top = page.y
    for index, (label, value) in enumerate(blocks):
        page.y = top
        x = page.margin + index * 250
        page.text(x, label + ":" if style.random() < 0.5 else label.upper(), font="Helvetica-Bold")
        page.down()
        for part in value.split("\n"):
            page.text(x, part)
            page.down()
    page.down()
    lines = _items(ctx, _SERVICES, rng.randint(1, 6))
    rows = [[d, str(q), money_text(p, ctx.locale), money_text(p * q, ctx.locale)] for d, q, p in lines]
    table(page, ["Description", "Qty", "Unit price", "Amount"], rows, [250, 50, 90, 100], style.random() < 0.3)
    page.down()
    subtotal = sum((p * q for _, q, p in lines), Decimal(0))
    tax = _money(float(subtotal * Decimal(style.choice(["0.2", "0.19", "0.1", "0.21", "0.07"]))))
    total = subtotal + tax
    paid = _money(float(total) * rng.choice([0.25, 0.5])) if rng.random() < 0.25 else None
    f["subtotal"], f["tax"], f["total"] = money_fact(ctx, subtotal), money_fact(ctx, tax), money_fact(ctx, total)
    f["amount_paid"] = money_fact(ctx, paid) if paid else Fact("money", None)
    # what is still to pay: the total on an invoice nothing was paid against (a user asking "amount due" wants it)
    f["balance_due"] = money_fact(ctx, total - paid) if paid else f["total"]
    f["currency"] = Fact("text", ctx.locale.currency)
    totals = [("Subtotal", f["subtotal"].printed), (rng.choice(["VAT", "Tax", "GST", "Sales tax"]) + f" {style.choice(['', '(20%)', '@ rate'])}".rstrip(), f["tax"].printed),
              (rng.choice(["Total", "Total due", "Invoice total", "TOTAL"]) + f" ({ctx.locale.currency})", f["total"].printed)]
    if paid:
        totals += [("Amount paid", f["amount_paid"].printed), ("Balance due", f["balance_due"].printed)]
    box = Page(page.width, page.height, page.font, page.size, margin=page.margin, left=page.width * 0.5)
    box.y = page.y
    pairs(box, totals, style.choice(["right", "columns", "gap"]), gap=120)
    page.runs += box.runs
    page.y = box.y - page.leading
    terms = rng.choice(["Payment within 30 days.", "Please pay by bank transfer quoting the invoice number.", "Late payments incur 1.5% interest per month."])
    page.wrapped(terms)
    page.line(f"IBAN: {_ident(rng, ('GB## ???? #### #### #### ##', 'DE## #### #### #### #### ##', 'NL##????##########'))}")
    f["items"] = Fact("list", [d for d, _, _ in lines])
    return Drafted(f, [page])


def statement(ctx: Ctx) -> Drafted:
    rng, style = ctx.rng, ctx.style
    page = Page(612, 792, font=style.choice(["Helvetica", "Times-Roman", "Courier"]), size=style.choice([8.5, 9.5]), margin=50)
    f: dict[str, Fact] = {}
    f["institution"] = text_fact(ctx, rng.choice([f"{ctx.fake.last_name()} {w}" for w in ("Bank", "Savings Bank", "Energy", "Water", "Credit Union", "Telecom")]))
    f["customer_name"] = text_fact(ctx, ctx.fake.name())
    f["customer_address"] = address_fact(ctx)
    f["account_number"] = text_fact(ctx, _ident(rng, ("##-####-#######", "#### #### #### ####", "###########", "AC-########")))
    end = _day(rng)
    start = end - dt.timedelta(days=rng.choice([29, 30, 90]))
    date_style = style.randrange(8)
    f["statement_date"] = date_fact(ctx, end + dt.timedelta(days=rng.randint(1, 5)), date_style)
    f["period_start"], f["period_end"] = date_fact(ctx, start, date_style), date_fact(ctx, end, date_style)
    f["due_date"] = date_fact(ctx, end + dt.timedelta(days=rng.choice([14, 21, 25])), date_style) if rng.random() < 0.7 else Fact("date", None)
    opening = _money(rng.uniform(0, 5000))
    charges = _money(rng.uniform(20, 900))
    payments = _money(rng.uniform(0, float(opening))) if opening > 0 else Decimal("0.00")
    closing = opening + charges - payments
    f["opening_balance"], f["closing_balance"] = money_fact(ctx, opening), money_fact(ctx, closing)
    f["amount_due"] = money_fact(ctx, closing) if f["due_date"].printed else Fact("money", None)
    page.line(f["institution"].printed, "right" if style.random() < 0.5 else "left", font="Helvetica-Bold", size=page.size + 4)
    page.line(style.choice(["Statement of Account", "Your statement", "ACCOUNT STATEMENT", "Billing Statement"]), size=page.size + 2)
    page.down()
    page.line(f["customer_name"].printed)
    for part in f["customer_address"].printed.split("\n"):
        page.line(part)
    page.down()
    meta = [(rng.choice(["Account number", "Account No.", "Customer account"]), f["account_number"].printed),
            (rng.choice(["Statement date", "Date issued", "Date"]), f["statement_date"].printed),
            (rng.choice(["Statement period", "Billing period", "Period"]), f"{f['period_start'].printed} {rng.choice(['to', '-', 'through'])} {f['period_end'].printed}")]
    pairs(page, meta, style.choice(["gap", "columns", "colon", "split"]), gap=120)
    page.down()
    summary = [(rng.choice(["Opening balance", "Previous balance", "Balance brought forward"]), f["opening_balance"].printed),
               (rng.choice(["New charges", "Purchases", "Charges this period"]), money_text(charges, ctx.locale)),
               (rng.choice(["Payments received", "Payments/credits"]), "-" + money_text(payments, ctx.locale)),
               (rng.choice(["Closing balance", "New balance", "Balance carried forward"]), f["closing_balance"].printed)]
    if f["due_date"].printed:
        summary += [(rng.choice(["Amount due", "Total amount due", "Please pay"]), f["amount_due"].printed),
                    (rng.choice(["Payment due date", "Due date", "Pay by"]), f["due_date"].printed)]
        if rng.random() < 0.5:
            summary.append(("Minimum payment", money_text(_money(float(closing) * 0.05), ctx.locale)))
    pairs(page, summary, style.choice(["right", "gap", "columns"]), gap=200)
    page.down()
    for _ in range(rng.randint(2, 6)):
        when = date_text(start + dt.timedelta(days=rng.randint(0, 28)), ctx.locale, date_style)
        page.text(page.margin, when)
        page.text(page.margin + 90, rng.choice(["Card purchase", "Direct debit", "Transfer in", "Service charge", "Meter reading", "Interest"]))
        page.text(page.right, money_text(_money(rng.uniform(2, 400)), ctx.locale), align="right")
        page.down()
    return Drafted(f, [page])


def letter(ctx: Ctx) -> Drafted:
    rng, style = ctx.rng, ctx.style
    page = Page(595, 842, font=style.choice(["Times-Roman", "Helvetica"]), size=style.choice([10.0, 11.0]), margin=60)
    f: dict[str, Fact] = {}
    f["sender_organisation"] = text_fact(ctx, _company(ctx))
    f["sender_address"] = address_fact(ctx)
    f["recipient_name"] = text_fact(ctx, ctx.fake.name())
    f["recipient_address"] = address_fact(ctx)
    sent = _day(rng)
    f["letter_date"] = date_fact(ctx, sent, style.choice([2, 3, 7, 0]))
    f["reference"] = text_fact(ctx, _ident(rng, ("Our ref: ??/####", "REF-######", "###/??/##")).replace("Our ref: ", "")) if rng.random() < 0.6 else Fact("text", None)
    subject = rng.choice(["Renewal of your policy", "Outstanding balance on your account", "Confirmation of appointment", "Change to your tariff",
                          "Notice of rent review", "Your application", "Termination of services"])
    topic = subject
    if rng.random() < 0.3:  # "Re: Our client: Mr Peter Brown": the person named there is not the one written to
        subject = f"{topic} - {rng.choice(['our client', 'your client', 'tenant', 'patient', 'account holder', 'the estate of'])} {ctx.fake.name()}"
    f["subject"] = text_fact(ctx, subject)
    deadline = sent + dt.timedelta(days=rng.choice([14, 21, 30]))
    f["response_deadline"] = date_fact(ctx, deadline, style.choice([2, 3, 7])) if rng.random() < 0.6 else Fact("date", None)
    f["signatory"] = text_fact(ctx, ctx.fake.name())
    f["signatory_title"] = text_fact(ctx, ctx.fake.job()) if rng.random() < 0.7 else Fact("text", None)
    letterhead_right = style.random() < 0.5
    # Where the sender's address is printed: under the letterhead, in the footer, or on a window envelope's one small
    # line above the recipient's address (then as that line prints it); a date after the recipient's block, after a
    # city or a label; contact lines beside the address; a signature for the organisation.
    layout, variety = ctx.layout, ctx.variety
    sender_place = layout.choice(["letterhead", "letterhead", "footer", "return line"])
    date_after_recipient = layout.random() < 0.35
    date_lead = layout.choice(["", "", "", "Date: ", "city"])
    contacts = _contact_lines(ctx, f["sender_organisation"].printed) if layout.random() < 0.5 else []
    on_behalf = layout.random() < 0.3
    sender_lines = f["sender_address"].printed.split("\n")
    if sender_place == "return line":
        f["sender_address"] = Fact("address", ", ".join(part.rstrip(",") for part in sender_lines))
    side = "right" if letterhead_right else "left"
    bold = page.font.split("-")[0] + "-Bold"
    page.line(f["sender_organisation"].printed, side, font=bold, size=page.size + 3)
    for part in (sender_lines if sender_place == "letterhead" else []) + (contacts if sender_place != "footer" else []):
        page.line(part, side, size=page.size - 1)
    page.down()
    date_line = (_place_name(ctx) + ", " if date_lead == "city" else date_lead) + f["letter_date"].printed
    date_side = "right" if style.random() < 0.5 else "left"
    if not date_after_recipient:
        page.line(date_line, date_side)
        page.down()
    if sender_place == "return line":
        page.line(f"{f['sender_organisation'].printed}, {f['sender_address'].printed}", size=page.size - 2.5)
    if variety.random() < 0.2:
        page.line(variety.choice(["PRIVATE & CONFIDENTIAL", "By email", "Strictly private and confidential", "By post"]), font=bold)
    page.line(f["recipient_name"].printed)
    for part in f["recipient_address"].printed.split("\n"):
        page.line(part)
    page.down()
    if date_after_recipient:
        page.line(date_line, date_side)
        page.down()
    if f["reference"].printed:
        page.line(f"{rng.choice(['Our ref', 'Reference', 'Ref'])}: {f['reference'].printed}")
    page.line(f"{rng.choice(['Re: ', 'Subject: ', ''])}{f['subject'].printed}", font=bold)
    page.down()
    page.line(f"Dear {rng.choice(['Mr', 'Ms', 'Dr'])} {f['recipient_name'].printed.split()[-1]},")
    page.down(lines=0.5)
    body = [ctx.fake.paragraph(nb_sentences=rng.randint(2, 4)) for _ in range(rng.randint(1, 3))]
    if f["response_deadline"].printed:
        body.insert(rng.randint(0, len(body)), f"Please reply no later than {f['response_deadline'].printed}. Letters received after that date cannot be considered.")
    body.insert(0, f"We write regarding {topic.lower()}, following our letter of {date_text(sent - dt.timedelta(days=rng.randint(20, 90)), ctx.locale, 3)}.")
    for paragraph in body:
        page.wrapped(paragraph)
        page.down(lines=0.5)
    page.line(rng.choice(["Yours sincerely,", "Kind regards,", "Yours faithfully,"]))
    page.down(lines=2)
    page.line(f["signatory"].printed)
    if f["signatory_title"].printed:
        page.line(f["signatory_title"].printed)
    if on_behalf:
        page.line(f"For and on behalf of {f['sender_organisation'].printed}")
    if sender_place == "footer":
        footer = [layout.choice(["Registered office:", f"{f['sender_organisation'].printed} | Registered office", ""]), *sender_lines, *contacts]
        size = page.size - 2
        page.y = min(page.y - page.leading, page.margin + len(footer) * size * 1.3)
        for part in footer:
            page.line(part, "centre", size=size)
    return Drafted(f, [page])


def _contact_lines(ctx: Ctx, organisation: str) -> list[str]:
    """A letterhead's telephone and e-mail lines (drawn from the document's own `variety`)."""
    rng = ctx.variety
    domain = "".join(c for c in organisation.split()[0].lower() if c.isalpha()) or "office"
    phone = f"+{rng.choice([1, 44, 49, 61, 65, 33, 31, 353])} {rng.randint(10, 99)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
    mail = f"{rng.choice(['info', 'contact', 'office', 'enquiries'])}@{domain}{rng.choice(['.com', '.co.uk', '.de', '.com.au', '.ie'])}"
    return [f"{rng.choice(['Tel', 'Phone', 'T'])}: {phone}", f"{rng.choice(['Email', 'E-mail', 'E'])}: {mail}"][: rng.choice([1, 2])]


def _place_name(ctx: Ctx) -> str:
    """A city to print before a letter's date (`London, 4 March 2021`), from the document's own `variety`."""
    place = Faker(ctx.locale.faker)
    place.seed_instance(ctx.variety.randrange(1 << 30))
    return place.city()


_LAWS = (("the State of New York", "New York"), ("the State of Delaware", "Delaware"), ("England and Wales", "England and Wales"),
         ("the State of California", "California"), ("the Province of Ontario", "Ontario"), ("Singapore", "Singapore"),
         ("the Commonwealth of Massachusetts", "Massachusetts"), ("Ireland", "Ireland"), ("the State of Texas", "Texas"), ("New South Wales", "New South Wales"))
_NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
_PERIOD_WORDS = {30: "thirty", 45: "forty-five", 60: "sixty", 90: "ninety", 120: "one hundred twenty", 180: "one hundred eighty"}
# Clauses every agreement has and no user asks for: they push the asked ones apart, onto later pages.
_BOILERPLATE = ("Indemnification", "Limitation of Liability", "Assignment", "Force Majeure", "Notices", "Insurance", "Audit Rights",
                "Warranties", "Severability", "Independent Contractors")


def _period(rng: random.Random, count: int, unit: str) -> str:
    """A period as agreements print it: "ninety (90) days", "90 days", "one (1) year", "12 months"."""
    plural = unit + ("s" if count != 1 else "")
    words = _PERIOD_WORDS.get(count) or (_NUMBERS[count - 1] if count <= len(_NUMBERS) else None)
    return rng.choice([f"{words} ({count}) {plural}", f"{count} {plural}"] if words else [f"{count} {plural}"])


def _commitment(ctx: Ctx, roles: tuple[str, str]) -> tuple[str, str]:
    """A minimum purchase commitment: (the sentence that states it, the commitment as printed: amount and period)."""
    rng = ctx.rng
    count = rng.choice([10, 25, 40, 50, 100, 250, 500, 1000, 5000])
    amount = rng.choice([_period(rng, count, rng.choice(["metric ton", "unit", "case", "pallet"])),
                         f"{ctx.locale.currency} {money_text(Decimal(rng.choice([50, 120, 250, 400, 750, 1500]) * 1000), ctx.locale)}"])
    value = f"{amount} {rng.choice(['per calendar quarter', 'in each Contract Year', 'per month', 'per year'])}"
    sentence = rng.choice([f"{roles[1]} shall purchase not less than {value} (the \"Minimum Commitment\").",
                           f"During the Term, {roles[1]} agrees to order a minimum of {value}. A shortfall shall be invoiced at the then-current price."])
    return sentence, value


def agreement(ctx: Ctx) -> Drafted:
    """An agreement as filed: the facts users ask of contracts (CUAD's questions) in clauses among boilerplate.

    Near misses stand beside each asked fact: the signature block's dates beside the effective date, a notice to
    terminate beside the notice of non-renewal, a letter of intent's date, a non-exclusive grant or a clause that
    lets both parties compete (exclusivity and non-compete are then false, as when no clause speaks of them).
    """
    rng, style = ctx.rng, ctx.style
    page = Page(612, 792, font=style.choice(["Times-Roman", "Helvetica"]), size=style.choice([10.0, 10.5, 11.0]), margin=64)
    f: dict[str, Fact] = {}
    kind = rng.choice(["Services Agreement", "Master Services Agreement", "Supply Agreement", "Distribution Agreement", "Consulting Agreement",
                       "License Agreement", "Non-Disclosure Agreement", "Marketing Agreement"])
    first, second = _company(ctx), _company(ctx)
    roles = rng.choice([("Company", "Consultant"), ("Supplier", "Customer"), ("Licensor", "Licensee"), ("Distributor", "Manufacturer"), ("Client", "Provider")])
    effective = _day(rng, 2005, 20)
    f["title"] = text_fact(ctx, kind.upper() if style.random() < 0.6 else kind)
    f["parties"] = Fact("list", [first, second])
    # Agreements filed with a regulator open with the filing's labels, above the title: never its name.
    labels = [rng.choice([f"EXHIBIT 10.{rng.randint(1, 40)}", f"Exhibit 10.{rng.randint(1, 40)}", f"EX-10.{rng.randint(1, 40)}",
                          f"Exhibit {rng.choice('ABCD')}", f"SCHEDULE {rng.randint(1, 9)}"])] if rng.random() < 0.4 else []
    if labels and rng.random() < 0.5:
        labels.append(rng.choice(["CONFIDENTIAL TREATMENT REQUESTED", "Execution Version", "EXECUTION COPY",
                                  "[***] Certain information in this document has been omitted and filed separately."]))
    made_on_day_of = rng.random() < 0.3  # "made and entered into this 14th day of June, 2011"
    f["effective_date"] = date_fact(ctx, effective, day_of if made_on_day_of else style.choice([3, 7, 2]))
    law, state = rng.choice(_LAWS)
    f["governing_law"] = Fact("text", law.replace("the ", "", 1) if law.startswith("the ") else law)
    years = rng.randint(1, 5)
    term_text = rng.choice([_period(rng, years, "year"), f"{years * 12} months", f"{_NUMBERS[years - 1]} year{'s' if years > 1 else ''}"])
    f["term"] = Fact("text", term_text)
    ends = effective.replace(year=effective.year + years) - dt.timedelta(days=1) if (effective.month, effective.day) != (2, 29) else None
    f["expiration_date"] = date_fact(ctx, ends, style.choice([3, 7, 2])) if ends and rng.random() < 0.3 else Fact("date", None)
    f["notice_period"] = Fact("text", _period(rng, rng.choice([30, 60, 90]), "day"))
    renews = rng.random() < 0.5  # a renewal clause states both its term and the notice that stops it; no clause, neither
    f["renewal_term"] = f["non_renewal_notice"] = Fact("text", None)
    if renews:
        f["renewal_term"] = Fact("text", _period(rng, rng.choice([1, 1, 2, 3]), "year") if rng.random() < 0.8 else _period(rng, 12, "month"))
        f["non_renewal_notice"] = Fact("text", _period(rng, rng.choice([30, 45, 60, 90, 120, 180]), "day") if rng.random() < 0.8
                                       else _period(rng, rng.choice([3, 6]), "month"))
    grant = rng.choice(["exclusive", "non-exclusive", None])
    f["exclusivity"] = Fact("bool", grant == "exclusive")
    competes = rng.choice(["restricted", "free", None, None])
    f["non_compete"] = Fact("bool", competes == "restricted")
    sentence, commitment = _commitment(ctx, roles) if rng.random() < 0.35 else ("", None)
    f["minimum_commitment"] = Fact("text", commitment)
    signed = effective + dt.timedelta(days=rng.choice([0, 0, rng.randint(1, 20), -rng.randint(1, 10)]))
    dated_signatures = rng.random() < 0.75
    f["signature_date"] = date_fact(ctx, signed, style.choice([0, 3, 2])) if dated_signatures else Fact("date", None)

    for label in labels:
        page.line(label, style.choice(["left", "right", "centre"]), size=page.size - 1)
    if labels:
        page.down()
    page.line(f["title"].printed, "centre", font=page.font.split("-")[0] + "-Bold", size=page.size + 3)
    page.down()
    entity = lambda: rng.choice(["a Delaware corporation", "a company incorporated in England and Wales", "a limited liability company", "a New York corporation", ""])  # noqa: E731
    e1, e2 = entity(), entity()
    made = "is made and entered into this" if made_on_day_of else "is entered into as of"
    opening = [
        f"This {kind} (the \"Agreement\") {made} {f['effective_date'].printed} (the \"Effective Date\") by and between {first}"
        f"{', ' + e1 if e1 else ''}, with offices at {ctx.fake.address().replace(chr(10), ', ')} (\"{roles[0]}\"), and {second}{', ' + e2 if e2 else ''} (\"{roles[1]}\").",
        "WHEREAS, " + ctx.fake.paragraph(nb_sentences=2)]
    if style.random() < 0.5:
        opening.append("NOW, THEREFORE, in consideration of the mutual covenants herein, the parties agree as follows:")
    term = (f"This Agreement shall commence on the Effective Date and continue for an initial term of {term_text}"
            + (f", ending on {f['expiration_date'].printed}" if f["expiration_date"].printed else "")
            + f", unless terminated earlier in accordance with this Agreement. Either party may terminate this Agreement for convenience upon"
            f" {f['notice_period'].printed}' prior written notice to the other party.")
    if renews:
        term += " " + rng.choice([
            f"Thereafter it shall renew automatically for successive periods of {f['renewal_term'].printed} unless either party gives notice"
            f" of non-renewal at least {f['non_renewal_notice'].printed} before the end of the then-current term.",
            f"This Agreement shall automatically renew for successive renewal terms of {f['renewal_term'].printed} each (each a \"Renewal Term\")"
            f" unless either party notifies the other in writing of its intention not to renew no less than {f['non_renewal_notice'].printed}"
            " prior to the expiration of the then-current term."])
    services = f"{roles[1]} shall provide the services described in Schedule A. "
    if grant == "exclusive":
        services = f"{roles[0]} hereby appoints {roles[1]} as its sole and exclusive {roles[1].lower()} in the Territory, and shall not appoint any other person for that purpose. "
    elif grant == "non-exclusive":
        services += "The rights granted under this Agreement are non-exclusive, and nothing herein prevents either party from entering into similar agreements with third parties. "
    clauses = [("Services", services + ctx.fake.paragraph(nb_sentences=rng.randint(2, 4))),
               ("Fees", f"{roles[0]} shall pay the fees set out in Schedule B within thirty (30) days of receipt of each invoice. {sentence + ' ' if sentence else ''}"
                + ctx.fake.paragraph(nb_sentences=2)),
               ("Term and Termination", term),
               ("Confidentiality", ctx.fake.paragraph(nb_sentences=rng.randint(2, 4)))]
    if competes == "restricted":
        clauses.append(("Non-Competition", f"During the Term and for a period of {_period(rng, rng.choice([6, 12, 24]), 'month')} thereafter, {roles[1]} shall not,"
                        f" directly or indirectly, engage in or own any business that competes with the business of {roles[0]} in the Territory."))
    elif competes == "free":
        clauses.append(("No Restriction", "Nothing in this Agreement restricts either party from developing, acquiring or marketing products or services that"
                        " compete with those of the other party."))
    clauses += [(heading, ctx.fake.paragraph(nb_sentences=rng.randint(3, 6))) for heading in rng.sample(_BOILERPLATE, rng.randint(0, 4))]
    clauses[4:] = rng.sample(clauses[4:], len(clauses) - 4)
    clauses += [("Governing Law", f"This Agreement shall be governed by and construed in accordance with the laws of {law}, without regard to its conflict"
                 f" of laws principles. The courts of {state} shall have exclusive jurisdiction."),
                ("Entire Agreement", "This Agreement constitutes the entire agreement between the parties and supersedes all prior agreements, including"
                 f" the letter of intent dated {date_text(effective - dt.timedelta(days=rng.randint(30, 400)), ctx.locale, 3)}.")]
    upper_headings = style.random() < 0.5
    paragraphs = opening + [f"{number}. {heading.upper() if upper_headings else heading}. {body}" for number, (heading, body) in enumerate(clauses, 1)]
    pages = [page]
    for paragraph in paragraphs:
        if page.full(4):
            page = Page(page.width, page.height, page.font, page.size, page.margin)
            pages.append(page)
        page.wrapped(paragraph)
        page.down(lines=0.6)
    page.line("IN WITNESS WHEREOF, the parties have executed this Agreement as of the "
              + ("date last written below." if dated_signatures else "Effective Date."))
    for name in (first, second):
        if page.full(5):
            page = Page(page.width, page.height, page.font, page.size, page.margin)
            pages.append(page)
        page.down()
        page.line(name.upper())
        page.line(f"By: {ctx.fake.name()}")
        page.line(f"Title: {ctx.fake.job()}")
        if dated_signatures:  # the date last written below is the second signer's; the first may have signed a day or two before
            first_signed = None if name == second else date_text(signed - dt.timedelta(days=rng.choice([0, 1, 2])), ctx.locale, style.choice([0, 3, 2]))
            page.line(f"Date: {first_signed or f['signature_date'].printed}")
    return Drafted(f, pages)


_DIAGNOSES = ("Type 2 diabetes mellitus", "Essential hypertension", "Community-acquired pneumonia", "Acute bronchitis", "Migraine without aura",
              "Iron deficiency anaemia", "Gastro-oesophageal reflux disease", "Osteoarthritis of the knee", "Asthma, moderate persistent", "Urinary tract infection")
_DRUGS = ("Metformin 500 mg twice daily", "Amlodipine 5 mg once daily", "Amoxicillin 500 mg three times daily", "Salbutamol inhaler as needed",
          "Omeprazole 20 mg once daily", "Paracetamol 1 g four times daily", "Ferrous sulfate 200 mg daily", "Atorvastatin 20 mg at night", "Ibuprofen 400 mg as needed")


def clinical_note(ctx: Ctx) -> Drafted:
    rng, style = ctx.rng, ctx.style
    page = Page(612, 792, font=style.choice(["Helvetica", "Courier", "Times-Roman"]), size=style.choice([9.0, 10.0]), margin=50)
    f: dict[str, Fact] = {}
    f["clinic"] = text_fact(ctx, f"{ctx.fake.city()} {rng.choice(['Medical Centre', 'Family Practice', 'General Hospital', 'Health Clinic'])}")
    f["patient_name"] = text_fact(ctx, ctx.fake.name().upper() if style.random() < 0.4 else ctx.fake.name())
    born = dt.date(1935, 1, 1) + dt.timedelta(days=rng.randrange(25000))
    visit = _day(rng)
    date_style = style.randrange(8)
    f["date_of_birth"], f["visit_date"] = date_fact(ctx, born, date_style), date_fact(ctx, visit, date_style)
    f["mrn"] = text_fact(ctx, _ident(rng, ("MRN ########", "#######", "H-######", "??######")).replace("MRN ", ""))
    f["provider"] = text_fact(ctx, f"Dr {ctx.fake.first_name()} {ctx.fake.last_name()}")
    f["diagnosis"] = text_fact(ctx, rng.choice(_DIAGNOSES))
    meds = rng.sample(_DRUGS, rng.randint(0, 3))
    f["medications"] = Fact("list", meds)
    f["follow_up_date"] = date_fact(ctx, visit + dt.timedelta(days=rng.choice([7, 14, 28, 90])), date_style) if rng.random() < 0.6 else Fact("date", None)
    f["allergies"] = text_fact(ctx, rng.choice(["Penicillin", "Sulfa drugs", "Latex", "Peanuts"])) if rng.random() < 0.5 else Fact("text", None)
    page.line(f["clinic"].printed, "centre", font="Helvetica-Bold", size=page.size + 3)
    page.line(style.choice(["CLINIC NOTE", "Consultation Note", "Outpatient Visit", "PROGRESS NOTE"]), "centre")
    page.down()
    header = [(rng.choice(["Patient", "Name", "Patient name"]), f["patient_name"].printed), (rng.choice(["DOB", "Date of birth", "D.O.B."]), f["date_of_birth"].printed),
              (rng.choice(["MRN", "Hospital No", "Patient ID"]), f["mrn"].printed), (rng.choice(["Date of visit", "Visit date", "Seen on", "Date"]), f["visit_date"].printed),
              (rng.choice(["Clinician", "Provider", "Seen by"]), f["provider"].printed)]
    pairs(page, header, style.choice(["gap", "columns", "colon", "split"]), gap=100)
    page.down()
    page.line("History", font="Helvetica-Bold")
    page.wrapped(f"{rng.randint(19, 90)}-year-old presenting with " + rng.choice(["cough and fever for five days.", "headaches for two weeks.", "fatigue and breathlessness.",
                                                                                 "burning on urination.", "knee pain on walking."]) + " " + ctx.fake.paragraph(nb_sentences=2))
    page.line("Assessment", font="Helvetica-Bold")
    page.wrapped(f"{rng.choice(['Impression', 'Diagnosis', 'Assessment'])}: {f['diagnosis'].printed}. " + rng.choice(["Differential includes viral illness.", "", "Stable."]))
    page.line("Plan", font="Helvetica-Bold")
    for med in meds:
        page.line(f"- {med}")
    if not meds:
        page.line("- No medication started")
    if f["allergies"].printed:
        page.line(f"{rng.choice(['Allergies', 'Known allergies', 'ALLERGY'])}: {f['allergies'].printed}")
    else:
        page.line(rng.choice(["Allergies: none known", "NKDA"]))
    if f["follow_up_date"].printed:
        page.wrapped(f"Review in clinic on {f['follow_up_date'].printed}, sooner if symptoms worsen.")
    return Drafted(f, [page])


def form(ctx: Ctx) -> Drafted:
    rng, style = ctx.rng, ctx.style
    page = Page(595, 842, font=style.choice(["Helvetica", "Courier"]), size=style.choice([9.0, 10.0]), margin=44)
    f: dict[str, Fact] = {}
    title = rng.choice(["Insurance Claim Form", "Application Form", "Change of Address Request", "Expense Claim", "Membership Application"])
    f["form_title"] = text_fact(ctx, title.upper())
    f["applicant_name"] = text_fact(ctx, ctx.fake.name())
    f["date_of_birth"] = date_fact(ctx, dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(22000)), style.randrange(8))
    f["reference_number"] = text_fact(ctx, _ident(rng, ("CLM-######", "APP/####/##", "#########", "POL-???-####")))
    f["phone"] = text_fact(ctx, ctx.fake.phone_number())
    f["email"] = text_fact(ctx, ctx.fake.email()) if rng.random() < 0.7 else Fact("text", None)
    f["address"] = address_fact(ctx)
    f["date_signed"] = date_fact(ctx, _day(rng), style.randrange(8))
    f["amount"] = money_fact(ctx, _money(rng.uniform(20, 8000))) if rng.random() < 0.6 else Fact("money", None)
    page.line(f["form_title"].printed, "centre", font="Helvetica-Bold", size=page.size + 4)
    page.line("Please complete in BLOCK CAPITALS and sign overleaf.", "centre", size=page.size - 1)
    page.down()
    boxes = [("Full name", f["applicant_name"].printed), ("Date of birth", f["date_of_birth"].printed), ("Reference number", f["reference_number"].printed),
             ("Telephone", f["phone"].printed), ("Email", f["email"].printed or ""), ("Address", f["address"].printed)]
    if f["amount"].printed:
        boxes.append(("Amount claimed" if "Claim" in title else "Amount", f["amount"].printed))
    two_columns = style.random() < 0.6
    column = 0
    top = page.y
    for label, value in boxes:  # a caption in small type above each filled box
        x = page.margin + (column * 260 if two_columns else 0)
        page.text(x, label.upper() if style.random() < 0.5 else label, size=page.size - 2)
        page.down(size=page.size - 2)
        for part in (value or "").split("\n"):
            page.text(x + 4, part)
            page.down()
        page.down(lines=0.4)
        if two_columns:
            if column == 0:
                column, top_next = 1, page.y
                page.y = top
            else:
                column = 0
                page.y = min(page.y, top_next)
                top = page.y
    page.down()
    page.wrapped("I declare that the information given on this form is true and complete. " + ctx.fake.paragraph(nb_sentences=1))
    page.line(f"Signature: ____________     Date: {f['date_signed'].printed}")
    return Drafted(f, [page])


KINDS: dict[str, Callable[[Ctx], Drafted]] = {"receipt": receipt, "invoice": invoice, "statement": statement, "letter": letter, "agreement": agreement,
                                              "clinical_note": clinical_note, "form": form}
_KIND_WEIGHTS = {"receipt": 4, "invoice": 3, "statement": 2, "letter": 2, "agreement": 3, "clinical_note": 2, "form": 2}


# --- schemas as users write them ----------------------------------------------------------------

@dataclass(frozen=True)
class Ask:
    """A fact a user may ask for: the names they give the field, and what they would say it is."""

    fact: str
    names: tuple[str, ...]
    what: str


def _asks(*rows: tuple[str, str, str]) -> tuple[Ask, ...]:
    return tuple(Ask(fact, tuple(names.split("|")), what) for fact, names, what in rows)


ASKS: dict[str, tuple[Ask, ...]] = {
    "receipt": _asks(
        ("company", "company|store_name|merchant|vendor_name|shop", "name of the shop or company that issued the receipt"),
        ("address", "address|store_address|merchant_address", "address of the shop"),
        ("date", "date|receipt_date|purchase_date|transaction_date", "date of the purchase"),
        ("total", "total|total_amount|grand_total|amount_paid", "total amount paid"),
        ("subtotal", "subtotal|amount_before_tax|net_amount", "amount before tax"),
        ("tax", "tax|gst|tax_amount|vat", "tax charged"),
        ("receipt_no", "receipt_no|receipt_number|invoice_no|bill_number", "number of the receipt"),
        ("phone", "phone|telephone|store_phone", "phone number of the shop"),
        ("tax_id", "gst_id|tax_id|vat_number", "tax registration number of the shop"),
        ("cashier", "cashier|served_by", "name of the cashier"),
        ("cash", "cash|cash_tendered|amount_tendered", "cash given by the customer"),
        ("change", "change|change_due", "change returned"),
        ("items", "items|products|line_items", "what was bought, one entry per line")),
    "invoice": _asks(
        ("seller", "seller|supplier|vendor|issuer", "company that issued the invoice"),
        ("seller_address", "seller_address|supplier_address", "address of the seller"),
        ("vat_number", "vat_number|tax_id|seller_vat", "VAT or tax number of the seller"),
        ("buyer", "buyer|customer|bill_to|client", "customer the invoice is addressed to"),
        ("billing_address", "billing_address|bill_to_address|customer_address", "billing address of the customer"),
        ("shipping_address", "shipping_address|ship_to|delivery_address", "where the goods are delivered"),
        ("invoice_number", "invoice_number|invoice_no|number|invoice_id", "invoice number"),
        ("invoice_date", "invoice_date|date|issue_date|date_of_issue", "date the invoice was issued"),
        ("due_date", "due_date|payment_due|pay_by", "date payment is due"),
        ("delivery_date", "delivery_date|supply_date", "date of delivery or supply"),
        ("po_number", "po_number|purchase_order|order_ref", "customer's purchase order number"),
        ("subtotal", "subtotal|net_total|amount_excl_tax", "total before tax"),
        ("tax", "tax|vat|tax_amount|vat_amount", "tax amount"),
        ("total", "total|total_amount|invoice_total|gross_total", "total including tax"),
        ("amount_paid", "amount_paid|paid", "amount already paid"),
        ("balance_due", "balance_due|amount_due|outstanding", "amount still to pay"),
        ("currency", "currency|currency_code", "currency code"),
        ("items", "items|line_items|services", "description of each line")),
    "statement": _asks(
        ("institution", "institution|bank|provider|company", "who issued the statement"),
        ("customer_name", "customer_name|account_holder|name", "name of the account holder"),
        ("customer_address", "customer_address|address|mailing_address", "customer's address"),
        ("account_number", "account_number|account_no|account", "account number"),
        ("statement_date", "statement_date|date|issue_date", "date of the statement"),
        ("period_start", "period_start|from_date|start_date", "first day of the statement period"),
        ("period_end", "period_end|to_date|end_date", "last day of the statement period"),
        ("opening_balance", "opening_balance|previous_balance", "balance at the start of the period"),
        ("closing_balance", "closing_balance|new_balance|balance", "balance at the end of the period"),
        ("amount_due", "amount_due|total_due|payment_amount", "amount to pay"),
        ("due_date", "due_date|payment_due_date|pay_by", "date payment is due")),
    "letter": _asks(
        ("sender_organisation", "sender|from_organisation|organisation|company", "organisation that sent the letter"),
        ("sender_address", "sender_address|return_address", "sender's address"),
        ("recipient_name", "recipient|recipient_name|addressee|addressee_name|to", "person the letter is addressed to"),
        ("recipient_address", "recipient_address|mailing_address|address", "recipient's address"),
        ("letter_date", "date|letter_date|dated|sent_on", "date of the letter"),
        ("reference", "reference|our_ref|ref", "reference number of the letter"),
        ("subject", "subject|re|topic", "subject of the letter"),
        ("response_deadline", "reply_by|deadline|respond_by", "date by which a reply is requested"),
        ("signatory", "signatory|signed_by|sender_name", "person who signed the letter"),
        ("signatory_title", "signatory_title|job_title|position|signer_title|title_of_signatory", "job title of the person who signed")),
    "agreement": _asks(
        ("title", "title|agreement_type|document_name", "name of the agreement"),
        ("parties", "parties|party_names|contracting_parties", "names of the parties to the agreement"),
        ("effective_date", "effective_date|start_date|commencement_date|date", "date the agreement takes effect"),
        ("expiration_date", "expiration_date|expiry_date|end_date", "date the initial term ends"),
        ("signature_date", "signature_date|date_signed|execution_date", "date the agreement was signed"),
        ("governing_law", "governing_law|jurisdiction|applicable_law", "jurisdiction whose laws govern the agreement"),
        ("term", "term|duration|initial_term", "how long the agreement runs"),
        ("notice_period", "notice_period|termination_notice|notice_to_terminate", "notice needed to terminate"),
        ("renewal_term", "renewal_term|renewal_period|auto_renewal_term", "length of each automatic renewal"),
        ("non_renewal_notice", "non_renewal_notice|notice_of_non_renewal|renewal_notice_period", "notice needed to stop the agreement renewing"),
        ("exclusivity", "exclusivity|exclusive|is_exclusive", "whether the agreement grants exclusive rights"),
        ("non_compete", "non_compete|noncompete|has_non_compete", "whether a party is barred from competing"),
        ("minimum_commitment", "minimum_commitment|minimum_purchase|min_commitment", "minimum quantity or amount a party must buy")),
    "clinical_note": _asks(
        ("clinic", "clinic|facility|practice", "clinic or hospital"),
        ("patient_name", "patient_name|patient|name", "patient's name"),
        ("date_of_birth", "date_of_birth|dob|birth_date", "patient's date of birth"),
        ("mrn", "mrn|patient_id|medical_record_number", "patient's record number"),
        ("visit_date", "visit_date|date|encounter_date|date_of_service", "date of the visit"),
        ("provider", "provider|clinician|doctor", "clinician who saw the patient"),
        ("diagnosis", "diagnosis|assessment|impression", "main diagnosis"),
        ("medications", "medications|meds|prescriptions", "medications in the plan"),
        ("follow_up_date", "follow_up_date|next_visit|review_date", "date of the follow-up visit"),
        ("allergies", "allergies|allergy", "known allergies")),
    "form": _asks(
        ("form_title", "form_title|form_type|form", "kind of form"),
        ("applicant_name", "applicant_name|name|full_name|claimant", "name of the person who filled in the form"),
        ("date_of_birth", "date_of_birth|dob|birth_date", "applicant's date of birth"),
        ("reference_number", "reference_number|reference|claim_number|application_id", "reference number"),
        ("phone", "phone|telephone|phone_number", "telephone number"),
        ("email", "email|email_address", "e-mail address"),
        ("address", "address|home_address|postal_address", "applicant's address"),
        ("date_signed", "date_signed|signature_date|date", "date the form was signed"),
        ("amount", "amount|amount_claimed|claim_amount", "amount claimed or requested")),
}

# How a field asks for a date or an amount; the gold answer follows (see the module's docstring).
DATE_FORMS = ("printed", "printed", "iso_typed", "iso_text")
MONEY_FORMS = ("printed", "number", "number", "decimal2", "decimal2")


@dataclass(frozen=True)
class Asked:
    """One field of a user's schema: which fact, in which form."""

    key: str
    fact: str
    kind: str
    form: str


def _style_name(name: str, style: str) -> str:
    words = name.split("_")
    return {"snake": name, "camel": words[0] + "".join(w.title() for w in words[1:]), "pascal": "".join(w.title() for w in words),
            "words": " ".join(words).capitalize(), "kebab": "-".join(words)}[style]


def _sentence(rng: random.Random, text: str) -> str:
    text = text[0].upper() + text[1:] if rng.random() < 0.7 else text
    return text + ("." if rng.random() < 0.4 else "")


def _describe(rng: random.Random, ask: Ask, form: str, fact: Fact, kind: str) -> tuple[dict[str, Any], str | None]:
    """The property's type and its description (None: the user wrote none)."""
    what = ask.what
    maybe = (lambda text: text if rng.random() < 0.75 else None)  # noqa: E731
    if kind == "list":
        return {"type": "array", "items": {"type": "string"}}, maybe(_sentence(rng, what))
    if kind == "bool":
        return {"type": "boolean"}, _sentence(rng, rng.choice([what, f"{what} (true or false)", f"true if {what.removeprefix('whether ')}"]))
    if kind == "date":
        example = fact.example
        if form == "iso_typed":
            return {"type": "string", "format": "date"}, maybe(_sentence(rng, what))
        if form == "iso_text":
            prop = {"type": "string"}
            if rng.random() < 0.3:
                prop["pattern"] = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
            return prop, _sentence(rng, rng.choice([f"{what} in YYYY-MM-DD format", f"{what} as YYYY-MM-DD", f"{what}, ISO 8601 (YYYY-MM-DD)",
                                                    f"{what} formatted like 2019-03-14"]))
        says = [f"{what}, exactly as printed", f"{what} as it appears on the document", f"{what} (keep the format printed)", f"{what} as written"]
        if example:
            says += [f"{what} exactly as printed, e.g. {example}", f"{what}, as printed (e.g. {example})"]
        return {"type": "string"}, (_sentence(rng, rng.choice(says)) if rng.random() < 0.85 else None)
    if kind == "money":
        if form == "number":
            return {"type": "number"}, maybe(_sentence(rng, what))
        if form == "decimal2":
            prop = {"type": "string"}
            if rng.random() < 0.3:
                prop["pattern"] = "^-?[0-9]+\\.[0-9]{2}$"
            return prop, _sentence(rng, rng.choice([f"{what}, digits with two decimals", f"{what} as a number with 2 decimal places, no currency symbol",
                                                    f"{what}, e.g. 12.50 (no currency, no thousands separator)", f"{what} with two decimals"]))
        return {"type": "string"}, _sentence(rng, rng.choice([f"{what} as printed, without the currency", f"{what}, exactly as shown (no currency sign)",
                                                               f"{what} as written on the document, without currency"]))
    if kind == "address":
        return {"type": "string"}, maybe(_sentence(rng, rng.choice([what, f"{what}, as printed", f"{what} (all lines)", f"full {what}"])))
    return {"type": "string"}, maybe(_sentence(rng, rng.choice([what, what, f"{what}, as printed"])))


def answer(fact: Fact, form: str) -> Any:
    """The gold value of a fact asked for in `form` (None when the document does not print it)."""
    if fact.printed is None:
        return None
    if fact.kind == "list":
        return list(fact.printed)
    if fact.kind == "bool":
        return fact.printed
    if fact.kind == "date" and form in ("iso_typed", "iso_text"):
        return fact.typed
    if fact.kind == "money" and form == "number":
        return float(fact.typed)
    if fact.kind == "money" and form == "decimal2":
        return f"{fact.typed:.2f}"
    return " ".join(str(fact.printed).split("\n"))


# Facts of one document that look alike (two addresses, a name and a job title, several dates or periods): which
# of them a field asks for is said only by its name and description, not by its kind or its place in the document.
LOOK_ALIKES: dict[str, tuple[tuple[str, ...], ...]] = {
    "receipt": (("total", "subtotal", "cash", "change", "tax"), ("company", "cashier")),
    "invoice": (("seller", "buyer"), ("seller_address", "billing_address", "shipping_address"), ("invoice_date", "due_date", "delivery_date"),
                ("subtotal", "tax", "total", "amount_paid", "balance_due"), ("invoice_number", "po_number", "vat_number")),
    "statement": (("statement_date", "period_start", "period_end", "due_date"), ("opening_balance", "closing_balance", "amount_due"),
                  ("institution", "customer_name")),
    "letter": (("sender_address", "recipient_address"), ("recipient_name", "signatory", "signatory_title"), ("letter_date", "response_deadline"),
               ("sender_organisation", "recipient_name"), ("reference", "subject")),
    "agreement": (("effective_date", "expiration_date", "signature_date"), ("term", "renewal_term", "notice_period", "non_renewal_notice"),
                  ("exclusivity", "non_compete"), ("title", "parties")),
    "clinical_note": (("date_of_birth", "visit_date", "follow_up_date"), ("patient_name", "provider"), ("diagnosis", "medications", "allergies")),
    "form": (("date_of_birth", "date_signed"), ("reference_number", "phone"), ("applicant_name", "form_title")),
}


def _apart(rng: random.Random, kind: str, chosen: list[Ask]) -> list[Ask]:
    """`chosen` with some members of each group of look-alikes dropped (one at least kept): a schema that asks
    for the job title without the name, the recipient's address without the sender's, the expiry date alone."""
    dropped: set[str] = set()
    for group in LOOK_ALIKES.get(kind, ()):
        present = [a.fact for a in chosen if a.fact in group and a.fact not in dropped]
        if len(present) > 1 and rng.random() < 0.7:
            keep = rng.choice(present)
            dropped |= {fact for fact in present if fact != keep and rng.random() < 0.6}
    kept = [a for a in chosen if a.fact not in dropped]
    return kept if len(kept) >= 2 else chosen


# Names that do not say which of a document's look-alike facts a field asks for (`address` beside `senderAddress`,
# `date` beside `dueDate`, `field_3`): only the field's description does. Training schemas (look_alikes) use them so
# that a model learns to read the description, not to guess from the name or from where a fact is printed.
VAGUE_NAMES = {"date": ("date", "day", "when"), "address": ("address", "location"), "money": ("amount", "value", "sum"),
               "text": ("value", "details", "info", "text"), "list": ("items", "entries"), "bool": ("flag", "check")}


def _vaguely_named(rng: random.Random, kind: str, chosen: list[Ask]) -> set[str]:
    """Facts of `chosen` to name vaguely: often one member of each look-alike group asked together, now and then any."""
    facts = {a.fact for a in chosen}
    vague = set()
    for group in LOOK_ALIKES.get(kind, ()):
        present = [fact for fact in group if fact in facts]
        if len(present) > 1 and rng.random() < 0.5:
            vague.add(rng.choice(present))
    return vague | {a.fact for a in chosen if rng.random() < 0.1}


# The words a document prints beside a fact, which users take for a field's name (`to` for a letter's addressee,
# `due` for what an invoice still asks, `from`/`to` for a statement's period): one word, several facts across kinds,
# so only the description and the document say which. Training schemas (look_alikes) use them, always described.
HEADER_NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "letter": {"recipient_name": ("to", "to", "attn", "attention"), "sender_organisation": ("from",), "subject": ("re", "regarding"),
               "letter_date": ("dated",), "response_deadline": ("by", "reply")},
    "invoice": {"buyer": ("to", "sold_to", "invoice_to"), "seller": ("from",), "balance_due": ("due", "amount_due", "total_due", "balance"),
                "due_date": ("due", "due_on"), "invoice_date": ("dated",), "shipping_address": ("ship_to", "deliver_to")},
    "statement": {"period_start": ("from",), "period_end": ("to",), "amount_due": ("due", "pay"), "due_date": ("due", "by")},
    "receipt": {"total": ("amount", "paid"), "cash": ("tendered",)},
    "form": {"applicant_name": ("name", "applicant"), "date_signed": ("dated", "signed")},
}


def _header_named(rng: random.Random, kind: str, chosen: list[Ask]) -> dict[str, str]:
    """Facts of `chosen` to name by a header word (`HEADER_NAMES`), and the word: about a third of those that have one."""
    words = HEADER_NAMES.get(kind, {})
    return {a.fact: rng.choice(words[a.fact]) for a in chosen if a.fact in words and rng.random() < 0.35}


def user_schema(rng: random.Random, kind: str, facts: dict[str, Fact], look_alikes: bool = False) -> tuple[dict[str, Any], list[Asked]]:
    """A schema of 3-10 fields in one user's style, and what each field asks for. With `look_alikes` (training
    corpora), look-alike facts are asked apart more often, fields are listed out of the document's order more often
    and some are named vaguely (`VAGUE_NAMES`, always with a description), so that a model learns which fact a field
    asks for from its name and description, not from its neighbours or its place."""
    asks = list(ASKS[kind])
    count = rng.randint(3, min(10, len(asks)))
    chosen = rng.sample(asks, count)
    if look_alikes:
        chosen = _apart(rng, kind, chosen)
    if rng.random() < (0.3 if look_alikes else 0.6):
        chosen.sort(key=asks.index)  # most users list fields in the document's order
    style = rng.choice(["snake", "snake", "snake", "camel", "camel", "pascal", "words", "kebab"])
    vague = _vaguely_named(rng, kind, chosen) if look_alikes else set()
    header = _header_named(rng, kind, chosen) if look_alikes else {}
    properties: dict[str, Any] = {}
    asked = []
    for position, ask in enumerate(chosen, 1):
        fact = facts[ask.fact]
        form = rng.choice(DATE_FORMS) if fact.kind == "date" else rng.choice(MONEY_FORMS) if fact.kind == "money" else "typed" if fact.kind == "bool" else "printed"
        if ask.fact in vague:
            name = rng.choice(VAGUE_NAMES[fact.kind]) if rng.random() < 0.75 else f"field_{position}"
        elif ask.fact in header:
            name = header[ask.fact]
        else:
            name = rng.choice(ask.names)
        key = _style_name(name, style)
        while key in properties:
            key += "_2"
        prop, description = _describe(rng, ask, form, fact, fact.kind)
        if (ask.fact in vague or ask.fact in header) and not description:
            description = _sentence(rng, ask.what)
        if description:
            prop["description"] = description
        if rng.random() < 0.3 and prop["type"] != "array":
            prop["type"] = [prop["type"], "null"]
        properties[key] = prop
        asked.append(Asked(key, ask.fact, fact.kind, form))
    schema: dict[str, Any] = {"title": rng.choice([kind.replace("_", " "), kind, kind.replace("_", " ").title(), f"{kind}_fields", f"my {kind.replace('_', ' ')}"]),
                              "type": "object", "properties": properties}
    if rng.random() < 0.5:
        schema["required"] = [a.key for a in asked if rng.random() < 0.6 and facts[a.fact].printed is not None]
    return schema, asked


# --- a corpus -----------------------------------------------------------------------------------

def draft(rng: random.Random, kind: str, template: int) -> Drafted:
    if kind not in KINDS:
        raise ValueError(f"no realistic documents of kind {kind!r}; kinds: {', '.join(KINDS)}")
    locale = rng.choice(LOCALES)
    fake = Faker(locale.faker)
    seed = rng.randrange(1 << 30)
    fake.seed_instance(seed)
    style = random.Random(f"{kind}:{template}")
    ctx = Ctx(rng, fake, locale, style, upper=kind == "receipt" and style.random() < 0.6,
              layout=random.Random(f"{kind}:{template}:layout"), variety=random.Random(f"{seed}:variety"))
    return KINDS[kind](ctx)


def generate(rng: random.Random, templates: tuple[int, ...] = TRAIN_TEMPLATES, kind: str | None = None,
             schema: tuple[dict[str, Any], list[Asked]] | None = None,
             look_alikes: bool = False) -> tuple[dict[str, Any], list[Asked], dict[str, Any], bytes]:
    """One document: (schema, what its fields ask, gold record, PDF bytes). A given `schema` is used as is;
    `look_alikes`: as `user_schema`'s."""
    kind = kind or rng.choices(list(_KIND_WEIGHTS), weights=list(_KIND_WEIGHTS.values()))[0]
    drafted = draft(rng, kind, rng.choice(templates))
    if schema is None:
        schema = user_schema(rng, kind, drafted.facts, look_alikes)
    document, asked = schema
    gold = {a.key: answer(drafted.facts[a.fact], a.form) for a in asked}
    return document, asked, gold, render_pdf(drafted.pages)


__all__ = ["generate", "user_schema", "LOOK_ALIKES", "VAGUE_NAMES", "HEADER_NAMES", "answer", "draft", "KINDS", "ASKS", "Fact", "Asked", "TRAIN_TEMPLATES", "HELD_OUT_TEMPLATES"]
