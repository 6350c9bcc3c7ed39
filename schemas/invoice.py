"""Invoice: header, parties with addresses and tax ids, line items, totals, payment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal, Optional

from pydantic import Field, field_validator, model_validator

from fieldmill_schemas._common import ISO_CURRENCIES, CurrencyCode, Money, Percent, Record, text

# Rounding slack when checking sums printed on the invoice, per line.
CENT = Decimal("0.01")


class Address(Record):
    street: str = text(120, "Street and number (and unit), as printed.")
    city: str = text(60, "City or town.")
    postal_code: Optional[str] = text(16, "Postal or ZIP code.")
    region: Optional[str] = text(60, "State, province or region, if printed.")
    country: Optional[str] = text(60, "Country, as printed.")


class Party(Record):
    name: str = text(120, "Legal or trading name of the company or person.", min_length=1)
    tax_id: Optional[str] = text(32, "VAT number, EIN or other tax identifier, exactly as printed.")
    address: Address = Field(description="Postal address of the party.")
    email: Optional[str] = text(80, "Contact e-mail address.")
    phone: Optional[str] = text(32, "Contact telephone number, as printed.")


class LineItem(Record):
    description: str = text(120, "What was sold or done, as written on the line.", min_length=1)
    quantity: Decimal = Field(description="Quantity billed on the line.", max_digits=9, decimal_places=3, ge=0)
    unit: Optional[str] = text(16, "Unit of the quantity (hours, pcs, kg...), if printed.")
    unit_price: Money = Field(description="Price of one unit, before tax.")
    tax_rate_percent: Optional[Percent] = Field(None, description="Tax rate of the line in percent (20 for 20%).")
    amount: Money = Field(description="Line total before tax: quantity times unit price.")

    @model_validator(mode="after")
    def _amount_is_quantity_times_price(self):
        if abs(self.quantity * self.unit_price - self.amount) > CENT:
            raise ValueError(f"line amount {self.amount} is not quantity {self.quantity} x unit price {self.unit_price}")
        return self


EXAMPLE_DOCUMENT = """INVOICE
Invoice no. RX-2207          Date: 12 March 2025
Due: April 11, 2025          Your order: PO-5512
From: Brightline Tools Ltd, 4 Mill Lane, Leeds LS1 4AB, United Kingdom. VAT GB998877665
To: Harper & Cole, 19 King Street, York YO1 9SP
Item | Qty | Unit price | Amount
Cordless drill | 2 | 45.00 | 90.00
Delivery and set-up, hours | 1.5 | 30.00 | 45.00
Subtotal: 135.00   VAT 20%: 27.00   Total due: GBP 162.00
Previous balance (not included): 40.00
Terms: 30 days. Pay by bank transfer to account 12345678, sort code 20-00-00.
"""

EXAMPLE_RECORD = {
    "document_type": "invoice", "invoice_number": "RX-2207", "purchase_order": "PO-5512", "issue_date": "2025-03-12",
    "due_date": "2025-04-11", "service_period_start": None, "service_period_end": None, "currency": "GBP",
    "seller": {"name": "Brightline Tools Ltd", "tax_id": "GB998877665",
               "address": {"street": "4 Mill Lane", "city": "Leeds", "postal_code": "LS1 4AB", "region": None, "country": "United Kingdom"},
               "email": None, "phone": None},
    "buyer": {"name": "Harper & Cole", "tax_id": None,
              "address": {"street": "19 King Street", "city": "York", "postal_code": "YO1 9SP", "region": None, "country": None},
              "email": None, "phone": None},
    "line_items": [
        {"description": "Cordless drill", "quantity": 2, "unit": None, "unit_price": 45.0, "tax_rate_percent": 20, "amount": 90.0},
        {"description": "Delivery and set-up", "quantity": 1.5, "unit": "hours", "unit_price": 30.0, "tax_rate_percent": 20, "amount": 45.0},
    ],
    "subtotal": 135.0, "discount_total": None, "shipping": None, "tax_total": 27.0, "total": 162.0, "amount_paid": None,
    "amount_due": 162.0, "previous_balance": 40.0, "payment_terms": "30 days", "payment_method": "bank_transfer",
    "iban": None, "bic": None, "bank_account": "12345678, sort code 20-00-00", "payment_reference": None, "notes": None,
}


class Invoice(Record):
    document_type: Literal["invoice", "credit_note", "proforma"] = Field(description="Kind of document: a normal invoice, a credit note, or a pro-forma invoice.")
    invoice_number: str = text(40, "The invoice's own number or identifier.", min_length=1)
    purchase_order: Optional[str] = text(40, "The buyer's purchase order number, if referenced.")
    issue_date: dt.date = Field(description="Date the invoice was issued.")
    due_date: Optional[dt.date] = Field(None, description="Date payment is due.")
    service_period_start: Optional[dt.date] = Field(None, description="First day of the period billed, if stated.")
    service_period_end: Optional[dt.date] = Field(None, description="Last day of the period billed, if stated.")
    currency: CurrencyCode = Field(description="ISO 4217 currency code of the amounts (USD, EUR, GBP...).")
    seller: Party = Field(description="The party issuing the invoice and receiving payment.")
    buyer: Party = Field(description="The party billed.")
    line_items: list[LineItem] = Field(description="Each billed line, in order.", min_length=1, max_length=12)
    subtotal: Money = Field(description="Sum of the line amounts before tax and discounts.")
    discount_total: Optional[Money] = Field(None, description="Total discount subtracted, as a positive amount.")
    shipping: Optional[Money] = Field(None, description="Shipping or delivery charge.")
    tax_total: Money = Field(description="Total tax (VAT, sales tax) charged.")
    total: Money = Field(description="Invoice total: subtotal - discount + shipping + tax.")
    amount_paid: Optional[Money] = Field(None, description="Amount already paid, if shown.")
    amount_due: Optional[Money] = Field(None, description="Amount still due, if shown.")
    previous_balance: Optional[Money] = Field(None, description="Balance carried over from earlier invoices, if shown (not part of the total).")
    payment_terms: Optional[str] = text(80, "Payment terms as written, e.g. 'Net 30'.")
    payment_method: Optional[Literal["bank_transfer", "card", "check", "cash", "direct_debit", "other"]] = Field(None, description="How payment is requested.")
    iban: Optional[str] = Field(None, description="IBAN of the seller's account, without spaces.", pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
    bic: Optional[str] = Field(None, description="BIC/SWIFT code of the seller's bank.", pattern=r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")
    bank_account: Optional[str] = text(40, "Account number (and routing number) when no IBAN is given.")
    payment_reference: Optional[str] = text(40, "Reference to quote with the payment.")
    notes: Optional[str] = text(200, "Other remarks printed on the invoice.")

    model_config = Record.model_config | {"json_schema_extra": {"examples": [EXAMPLE_RECORD], "x-example-document": EXAMPLE_DOCUMENT}}

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        if value not in ISO_CURRENCIES:
            raise ValueError(f"{value!r} is not an ISO 4217 currency code")
        return value

    @model_validator(mode="after")
    def _consistent(self):
        if self.due_date and self.due_date < self.issue_date:
            raise ValueError("due_date is before issue_date")
        if self.service_period_start and self.service_period_end and self.service_period_end < self.service_period_start:
            raise ValueError("service_period_end is before service_period_start")
        lines = sum((item.amount for item in self.line_items), Decimal(0))
        if abs(lines - self.subtotal) > CENT * len(self.line_items):
            raise ValueError(f"subtotal {self.subtotal} is not the sum of the line amounts {lines}")
        expected = self.subtotal - (self.discount_total or 0) + (self.shipping or 0) + self.tax_total
        if abs(expected - self.total) > 2 * CENT:
            raise ValueError(f"total {self.total} is not subtotal - discount + shipping + tax = {expected}")
        return self


SCHEMA = Invoice
