"""Synthetic invoices with their exact gold records."""

from __future__ import annotations

import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal

from faker import Faker

from fieldmill.synth.surface import fmt_amount, fmt_date, fmt_quantity, render, table_lines

_LOCALES = {"USD": "en_US", "EUR": "de_DE", "GBP": "en_GB"}
_ITEMS = [
    ("Consulting services", "hours", (80, 220)), ("Software licence, annual", None, (300, 4000)), ("Printer paper A4, box", "box", (20, 60)),
    ("Cloud hosting", "month", (50, 900)), ("Installation labour", "hours", (40, 120)), ("Steel bolts M8", "pcs", (0.1, 2)),
    ("Office chairs", "pcs", (90, 400)), ("Data migration", None, (500, 3000)), ("Training workshop", "day", (600, 2000)), ("Replacement toner", "pcs", (40, 150)),
    ("Website maintenance", "month", (150, 900)), ("Laptop 14\" i5 16GB", "pcs", (600, 1500)), ("Freight charges", None, (40, 400)),
    ("Copywriting", "hours", (40, 110)), ("Safety gloves, pair", "pcs", (2, 9)), ("Hardwood flooring", "m2", (25, 90)), ("Annual support plan", None, (500, 5000)),
    ("Catering for 20 guests", None, (300, 1200)), ("Forklift rental", "day", (120, 300)), ("Legal advice", "hours", (150, 450)), ("Paint, white 10L", "pcs", (30, 80)),
]
# Columns of the line-item table: label variants; description, quantity and amount are always printed.
_COLUMNS = {"description": ["Description", "Item", "Service", "Details"], "quantity": ["Qty", "Quantity", "Units"], "unit": ["Unit", "UoM"],
            "unit_price": ["Unit price", "Price", "Rate", "Unit cost"], "tax_rate_percent": ["Tax %", "VAT %", "Tax rate"], "amount": ["Amount", "Total", "Line total", "Net"]}
_TERMS = ["Net 30", "Net 14", "Due on receipt", "Payable within 30 days", "2/10 Net 30"]
_CENT = Decimal("0.01")


def _money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(_CENT, rounding=ROUND_HALF_UP)


def _party(fake: Faker, rng: random.Random, company: bool, country: str) -> dict:
    return {
        "name": fake.company() if company else fake.name(),
        "tax_id": (fake.bothify("??#########").upper() if rng.random() < 0.5 else fake.bothify("##-#######")) if company and rng.random() < 0.8 else None,
        "address": {
            "street": fake.street_address().replace("\n", " "),
            "city": fake.city(),
            "postal_code": fake.postcode(),
            "region": None,
            "country": country if rng.random() < 0.7 else None,
        },
        "email": fake.company_email() if company and rng.random() < 0.6 else None,
        "phone": fake.phone_number() if rng.random() < 0.4 else None,
    }


def generate(rng: random.Random) -> tuple[dict, list[tuple[str, list[tuple[str, str]]]], str]:
    currency = rng.choice(["USD", "EUR", "GBP"])
    fake = Faker(_LOCALES[currency])
    fake.seed_instance(rng.randrange(1 << 30))
    country = {"USD": "United States", "EUR": "Germany", "GBP": "United Kingdom"}[currency]
    issue = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(900))
    due = issue + dt.timedelta(days=rng.choice([14, 30, 45])) if rng.random() < 0.85 else None
    tax_rate = Decimal(rng.choice(["0", "7", "19", "20", "8.25"]))
    lines = []
    show_unit, show_tax = rng.random() < 0.7, rng.random() < 0.6  # a table without these columns leaves them null
    for description, unit, (low, high) in rng.sample(_ITEMS, rng.choice([1, 2, 2, 3, 3, 4, 4, 5, 6, 8])):
        quantity = Decimal(rng.randint(1, 12)) if rng.random() < 0.85 else Decimal(rng.randint(1, 40)) / 4
        price = _money(rng.uniform(low, high))
        lines.append({"description": description, "quantity": quantity, "unit": unit if show_unit else None, "unit_price": price,
                      "tax_rate_percent": tax_rate if show_tax else None, "amount": _money(quantity * price)})
    subtotal = sum((line["amount"] for line in lines), Decimal(0))
    discount = _money(subtotal * Decimal("0.05")) if rng.random() < 0.2 else None
    shipping = _money(rng.uniform(5, 40)) if rng.random() < 0.25 else None
    tax = _money((subtotal - (discount or 0)) * tax_rate / 100)
    total = subtotal - (discount or 0) + (shipping or 0) + tax
    previous = _money(rng.uniform(50, 500)) if rng.random() < 0.2 else None
    use_iban = currency == "EUR"
    gold = {
        "document_type": "invoice",
        "invoice_number": fake.bothify(rng.choice(["INV-####", "####/??", "A-#####", "2025-###"])).upper(),
        "purchase_order": fake.bothify("PO-######") if rng.random() < 0.4 else None,
        "issue_date": issue,
        "due_date": due,
        "service_period_start": None,
        "service_period_end": None,
        "currency": currency,
        "seller": _party(fake, rng, True, country),
        "buyer": _party(fake, rng, rng.random() < 0.7, country),
        "line_items": lines,
        "subtotal": subtotal,
        "discount_total": discount,
        "shipping": shipping,
        "tax_total": tax,
        "total": total,
        "amount_paid": None,
        "amount_due": total,
        "previous_balance": previous,
        "payment_terms": rng.choice(_TERMS) if rng.random() < 0.7 else None,
        "payment_method": "bank_transfer",
        "iban": fake.iban() if use_iban else None,
        "bic": fake.swift(length=8) if use_iban and rng.random() < 0.7 else None,
        "bank_account": None if use_iban else fake.bothify("#########"),
        "payment_reference": None,
        "notes": rng.choice([None, None, "Thank you for your business.", "Goods remain our property until paid in full."]),
    }
    return gold, _sections(rng, gold), "Invoice"


def _party_lines(party: dict) -> list[tuple[str, str]]:
    address = party["address"]
    out = [("", party["name"]), ("", address["street"]), ("", " ".join(x for x in (address["postal_code"], address["city"]) if x))]
    if address["country"]:
        out.append(("", address["country"]))
    if party["tax_id"]:
        out.append(("Tax ID", party["tax_id"]))
    if party["email"]:
        out.append(("E-mail", party["email"]))
    if party["phone"]:
        out.append(("Phone", party["phone"]))
    return out


def _sections(rng: random.Random, gold: dict) -> list[tuple[str, list[tuple[str, str]]]]:
    cur = gold["currency"]
    money = lambda value: fmt_amount(rng, value, cur)  # noqa: E731
    header = [(rng.choice(["Invoice number", "Invoice No.", "Invoice #"]), gold["invoice_number"]),
              (rng.choice(["Invoice date", "Date", "Issued"]), fmt_date(rng, gold["issue_date"]))]
    if gold["due_date"]:
        header.append((rng.choice(["Due date", "Payment due", "Due"]), fmt_date(rng, gold["due_date"])))
    if gold["purchase_order"]:
        header.append(("PO number", gold["purchase_order"]))
    if rng.random() < 0.3:  # distractor: a second date that is neither issue nor due date
        header.append((rng.choice(["Order date", "Delivery date"]), fmt_date(rng, gold["issue_date"] - dt.timedelta(days=rng.randint(2, 20)))))
    header.append(("Currency", cur))
    columns = [c for c in _COLUMNS if c not in ("unit", "tax_rate_percent") or any(line[c] is not None for line in gold["line_items"])]
    if rng.random() < 0.3:  # some layouts put the amount columns first
        columns = ["quantity", "description"] + [c for c in columns if c not in ("quantity", "description")]
    cell = {"description": lambda line: line["description"], "quantity": lambda line: fmt_quantity(line["quantity"]),
            "unit": lambda line: line["unit"] or "-", "unit_price": lambda line: f"{line['unit_price']:.2f}" if rng.random() < 0.8 else money(line["unit_price"]),
            "tax_rate_percent": lambda line: fmt_quantity(line["tax_rate_percent"]) + rng.choice(["", "%"]), "amount": lambda line: f"{line['amount']:.2f}"}
    labels = [rng.choice(_COLUMNS[c]) for c in columns]
    items = [("", row) for row in table_lines(rng, labels, [[cell[c](line) for c in columns] for line in gold["line_items"]])]
    totals = [("Subtotal", money(gold["subtotal"]))]
    if gold["discount_total"]:
        totals.append(("Discount (5%)", "-" + money(gold["discount_total"])))
    if gold["shipping"]:
        totals.append(("Shipping", money(gold["shipping"])))
    totals += [(rng.choice(["Tax", "VAT", "Sales tax"]), money(gold["tax_total"])), ("Total", money(gold["total"])), ("Amount due", money(gold["amount_due"]))]
    if gold["previous_balance"]:
        totals.append(("Previous balance (not included)", money(gold["previous_balance"])))
    payment = []
    if gold["payment_terms"]:
        payment.append(("Terms", gold["payment_terms"]))
    payment.append(("Payment", "Bank transfer"))
    if gold["iban"]:
        payment.append(("IBAN", gold["iban"]))
    if gold["bic"]:
        payment.append(("BIC", gold["bic"]))
    if gold["bank_account"]:
        payment.append(("Account number", gold["bank_account"]))
    sections = [("", header), (rng.choice(["From", "Seller", "Bill from"]), _party_lines(gold["seller"])),
                (rng.choice(["Bill to", "Customer", "To"]), _party_lines(gold["buyer"]))]
    rng.shuffle(sections)
    sections += [("Items", items), ("Totals", totals), ("Payment", payment)]
    if gold["notes"]:
        sections.append(("Notes", [("", gold["notes"])]))
    return sections


__all__ = ["generate", "render"]
