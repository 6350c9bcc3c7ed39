"""Legal contract: a commercial agreement (parties, dates, term and renewal, law, payment, liability, termination, signatures)."""

from __future__ import annotations

import datetime as dt
from typing import Literal, Optional

from pydantic import Field, field_validator, model_validator

from fieldmill_schemas._common import ISO_CURRENCIES, CurrencyCode, Money, Percent, Record, text


class ContractParty(Record):
    name: str = text(120, "Legal name of the party as written in the preamble.", min_length=1)
    role: Literal["customer", "supplier", "licensor", "licensee", "landlord", "tenant", "discloser", "recipient", "partner", "other"] = Field(
        description="The party's role in the agreement (e.g. the 'Customer', the 'Supplier' / 'Provider')."
    )
    entity_type: Optional[str] = text(60, "Legal form, e.g. 'Delaware corporation', 'limited liability company', 'GmbH'.")
    address: Optional[str] = text(120, "Registered or notice address, on one line.")


class Signatory(Record):
    name: str = text(60, "Name of the person who signed.", min_length=1)
    title: Optional[str] = text(60, "The signer's title, e.g. 'Chief Executive Officer'.")
    party: str = text(100, "Name of the party the person signed for.", min_length=1)
    signed_date: Optional[dt.date] = Field(None, description="Date next to the signature.")


EXAMPLE_DOCUMENT = """MASTER SERVICES AGREEMENT  (Ref. MSA-0192)
This Master Services Agreement is entered into as of 1 February 2024 (the "Effective Date") between
Northwind Analytics Inc., a Delaware corporation, 200 Pine St, San Francisco, CA 94104 ("Provider"), and
Kestrel Foods LLC, a limited liability company, 8 Harbor Road, Portland, ME 04101 ("Customer").
This Agreement replaces the letter of intent dated December 5, 2023.
1. Term. The initial term is twenty-four (24) months from the Effective Date. It renews automatically for successive
12-month periods unless either party gives notice of non-renewal at least 60 days before the end of the then-current term.
2. Fees. Customer shall pay USD 180,000.00 per year, invoiced quarterly, due within 45 days of invoice.
Late amounts bear interest of 1.5% per month.
3. Liability. Each party's total liability is capped at the fees paid in the twelve months before the claim, and in no event
more than $250,000. Neither party is liable for indirect or consequential damages.
4. Termination. Either party may terminate for convenience on 90 days' written notice, or for material breach not cured within 30 days.
5. Confidentiality. Obligations survive for 3 years after termination. 6. Non-solicitation of employees for 12 months.
7. Governing law: State of New York. Disputes: courts of New York County.
Signed: Dana Whitfield, CEO, for Northwind Analytics Inc., 02/01/2024; Omar Haddad, COO, for Kestrel Foods LLC, 2024-02-03.
"""

EXAMPLE_RECORD = {
    "contract_title": "Master Services Agreement", "contract_type": "services", "contract_reference": "MSA-0192",
    "parties": [
        {"name": "Northwind Analytics Inc.", "role": "supplier", "entity_type": "Delaware corporation", "address": "200 Pine St, San Francisco, CA 94104"},
        {"name": "Kestrel Foods LLC", "role": "customer", "entity_type": "limited liability company", "address": "8 Harbor Road, Portland, ME 04101"},
    ],
    "effective_date": "2024-02-01", "execution_date": "2024-02-03", "expiration_date": None, "initial_term_months": 24,
    "auto_renewal": True, "renewal_term_months": 12, "non_renewal_notice_days": 60,
    "governing_law": "New York", "dispute_resolution": "courts", "venue": "courts of New York County",
    "currency": "USD", "contract_value": 180000.0, "fee_period": "annual", "billing_frequency": "quarterly",
    "payment_terms_days": 45, "late_payment_interest_percent": 1.5,
    "price_increase_cap_percent": None, "warranty_period_months": None, "service_level_uptime_percent": None,
    "liability_cap_amount": 250000.0, "liability_cap_months_of_fees": 12, "excludes_consequential_damages": True,
    "indemnification": None, "termination_for_convenience": True, "termination_notice_days": 90, "cure_period_days": 30,
    "confidentiality_survival_years": 3, "non_solicitation": True, "non_solicitation_months": 12, "non_compete": None,
    "exclusivity": None, "assignment_requires_consent": None, "insurance_required": None, "minimum_insurance_amount": None,
    "audit_rights": None, "force_majeure": None, "data_protection_clause": None, "notice_email": None, "supersedes": "letter of intent dated December 5, 2023",
    "signatories": [
        {"name": "Dana Whitfield", "title": "CEO", "party": "Northwind Analytics Inc.", "signed_date": "2024-02-01"},
        {"name": "Omar Haddad", "title": "COO", "party": "Kestrel Foods LLC", "signed_date": "2024-02-03"},
    ],
}


class LegalContract(Record):
    contract_title: str = text(120, "Title of the agreement as written at the top.", min_length=1)
    contract_type: Literal["services", "supply", "license", "nda", "lease", "distribution", "partnership", "other"] = Field(
        description="Kind of agreement: services (MSA, consulting), supply of goods, software or IP license, non-disclosure, lease, distribution, partnership, other."
    )
    contract_reference: Optional[str] = text(40, "Contract number or reference, if printed.")
    parties: list[ContractParty] = Field(description="The parties to the agreement, in the order of the preamble.", min_length=2, max_length=3)
    effective_date: dt.date = Field(description="Date the agreement takes effect (the 'Effective Date'), not dates of earlier agreements.")
    execution_date: Optional[dt.date] = Field(None, description="Date of the last signature, when the agreement was executed.")
    expiration_date: Optional[dt.date] = Field(None, description="Fixed end date, if the agreement states one; after the effective date.")
    initial_term_months: Optional[int] = Field(None, description="Length of the initial term in months (2 years = 24).", ge=1, le=600)
    auto_renewal: Optional[bool] = Field(None, description="True when the term renews automatically unless notice is given.")
    renewal_term_months: Optional[int] = Field(None, description="Length of each renewal term in months, when it renews automatically.", ge=1, le=120)
    non_renewal_notice_days: Optional[int] = Field(None, description="Days of notice needed to stop the automatic renewal.", ge=0, le=730)
    governing_law: Optional[str] = text(60, "The state or country whose law governs, e.g. 'New York' or 'England and Wales'.")
    dispute_resolution: Optional[Literal["courts", "arbitration", "mediation_then_arbitration", "mediation_then_courts"]] = Field(
        None, description="How disputes are resolved."
    )
    venue: Optional[str] = text(120, "Court or arbitral institution and seat named for disputes.")
    currency: Optional[CurrencyCode] = Field(None, description="ISO 4217 code of the contract's amounts (USD, EUR, GBP...).")
    contract_value: Optional[Money] = Field(None, description="Fees payable under the agreement for one fee period (see fee_period), or in total.")
    fee_period: Optional[Literal["one_time", "monthly", "quarterly", "annual", "total"]] = Field(None, description="Period that contract_value covers.")
    billing_frequency: Optional[Literal["monthly", "quarterly", "annually", "milestones", "upfront"]] = Field(None, description="How often fees are invoiced.")
    payment_terms_days: Optional[int] = Field(None, description="Days after invoice within which payment is due (Net 30 = 30).", ge=0, le=365)
    late_payment_interest_percent: Optional[Percent] = Field(None, description="Interest on late payments in percent, as stated (1.5 for 1.5% per month).")
    price_increase_cap_percent: Optional[Percent] = Field(None, description="Maximum yearly price increase in percent, if capped.")
    warranty_period_months: Optional[int] = Field(None, description="Warranty period in months, if stated.", ge=0, le=240)
    service_level_uptime_percent: Optional[float] = Field(None, description="Committed service availability in percent (99.9 for 99.9%), if any.", ge=0, le=100)
    liability_cap_amount: Optional[Money] = Field(None, description="Fixed maximum amount of a party's total liability, if stated.")
    liability_cap_months_of_fees: Optional[int] = Field(None, description="Liability cap expressed as the fees of this many months (12 for 'fees paid in the prior twelve months').", ge=1, le=120)
    excludes_consequential_damages: Optional[bool] = Field(None, description="True when indirect or consequential damages are excluded.")
    indemnification: Optional[Literal["mutual", "by_supplier", "by_customer", "none"]] = Field(None, description="Who indemnifies whom.")
    termination_for_convenience: Optional[bool] = Field(None, description="True when a party may terminate without cause.")
    termination_notice_days: Optional[int] = Field(None, description="Days of notice for termination for convenience.", ge=0, le=730)
    cure_period_days: Optional[int] = Field(None, description="Days a party has to cure a breach before termination for cause.", ge=0, le=365)
    confidentiality_survival_years: Optional[int] = Field(None, description="Years confidentiality obligations survive after the agreement ends.", ge=0, le=99)
    non_solicitation: Optional[bool] = Field(None, description="True when the parties may not solicit each other's employees.")
    non_solicitation_months: Optional[int] = Field(None, description="Duration of the non-solicitation covenant in months.", ge=1, le=120)
    non_compete: Optional[bool] = Field(None, description="True when the agreement contains a non-compete covenant.")
    exclusivity: Optional[bool] = Field(None, description="True when a party is granted exclusivity.")
    assignment_requires_consent: Optional[bool] = Field(None, description="True when assignment needs the other party's consent.")
    insurance_required: Optional[bool] = Field(None, description="True when a party must carry insurance.")
    minimum_insurance_amount: Optional[Money] = Field(None, description="Minimum insurance coverage required, if stated.")
    audit_rights: Optional[bool] = Field(None, description="True when a party may audit the other's records or compliance.")
    force_majeure: Optional[bool] = Field(None, description="True when the agreement has a force majeure clause.")
    data_protection_clause: Optional[bool] = Field(None, description="True when the agreement has a data protection / GDPR clause or DPA.")
    notice_email: Optional[str] = text(80, "E-mail address for legal notices, if given.")
    supersedes: Optional[str] = text(160, "Earlier agreement this one replaces or amends, if mentioned.")
    signatories: list[Signatory] = Field(description="People who signed, with the party each signed for.", max_length=6)

    model_config = Record.model_config | {"json_schema_extra": {"examples": [EXAMPLE_RECORD], "x-example-document": EXAMPLE_DOCUMENT}}

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str | None) -> str | None:
        if value is not None and value not in ISO_CURRENCIES:
            raise ValueError(f"{value!r} is not an ISO 4217 currency code")
        return value

    @model_validator(mode="after")
    def _consistent(self):
        if self.expiration_date and self.expiration_date <= self.effective_date:
            raise ValueError(f"expiration_date {self.expiration_date} is not after effective_date {self.effective_date}")
        if self.auto_renewal is False and self.renewal_term_months is not None:
            raise ValueError("renewal_term_months is set but the agreement does not renew automatically")
        if self.contract_value is not None and self.contract_value < 0:
            raise ValueError("contract_value is negative")
        if (self.contract_value is not None or self.liability_cap_amount is not None or self.minimum_insurance_amount is not None) and self.currency is None:
            raise ValueError("amounts are given without a currency")
        names = {_normalised(p.name) for p in self.parties}
        for signer in self.signatories:
            if _normalised(signer.party) not in names:
                raise ValueError(f"signatory {signer.name!r} signs for {signer.party!r}, which is not one of the parties")
        return self


def _normalised(name: str) -> str:
    return " ".join(name.casefold().replace(",", " ").replace(".", " ").split())


SCHEMA = LegalContract
