"""Synthetic commercial contracts with their exact gold records.

Contracts are prose: numbered clauses in varied order and wording, counts written
as words and digits, terms in months or years. Distractors: the date of an earlier
agreement being replaced, signature dates that differ from the Effective Date, and
a notice period for termination beside the one for non-renewal.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal

from faker import Faker

from fieldmill.synth.surface import fmt_amount, fmt_count, fmt_date

# contract type -> (titles, (label, role) of the first party, (label, role) of the second)
_KINDS = {
    "services": (["Master Services Agreement", "Professional Services Agreement", "Consulting Agreement"], ("Provider", "supplier"), ("Customer", "customer")),
    "supply": (["Supply Agreement", "Purchase and Supply Agreement"], ("Supplier", "supplier"), ("Buyer", "customer")),
    "license": (["Software License Agreement", "SaaS Subscription Agreement"], ("Licensor", "licensor"), ("Licensee", "licensee")),
    "nda": (["Non-Disclosure Agreement", "Confidentiality Agreement"], ("Disclosing Party", "discloser"), ("Receiving Party", "recipient")),
    "lease": (["Commercial Lease Agreement", "Office Lease"], ("Landlord", "landlord"), ("Tenant", "tenant")),
}
# region -> (faker locale, currency, entity forms as (suffix, description), governing laws, venues for courts, venues for arbitration)
_REGIONS = {
    "us": ("en_US", "USD", [("Inc.", "Delaware corporation"), ("LLC", "limited liability company"), ("Corp.", "New York corporation")],
           ["New York", "Delaware", "California", "Texas"], ["the state and federal courts located in New York County", "the courts of Wilmington, Delaware"],
           ["the American Arbitration Association in New York", "JAMS in San Francisco"]),
    "uk": ("en_GB", "GBP", [("Ltd", "private limited company registered in England and Wales"), ("PLC", "public limited company")],
           ["England and Wales"], ["the courts of England and Wales"], ["the LCIA in London"]),
    "de": ("de_DE", "EUR", [("GmbH", "GmbH"), ("AG", "AG")], ["Germany"], ["the courts of Munich", "the courts of Frankfurt am Main"],
           ["the DIS in Frankfurt"]),
}
_BUSINESSES = ["Analytics", "Logistics", "Foods", "Holdings", "Systems", "Properties", "Labs", "Components", "Health", "Media"]
_TITLES = ["Chief Executive Officer", "CEO", "Chief Financial Officer", "General Counsel", "Managing Director", "COO", "Vice President, Sales"]
_CENT = Decimal("0.01")


def generate(rng: random.Random) -> tuple[dict, list[tuple[str, list[tuple[str, str]]]], str]:
    kind = rng.choice(list(_KINDS))
    titles, first_role, second_role = _KINDS[kind]
    region = rng.choice(list(_REGIONS))
    locale, currency, entities, laws, court_venues, arbitration_venues = _REGIONS[region]
    fake = Faker(locale)
    fake.seed_instance(rng.randrange(1 << 30))
    parties = [_party(rng, fake, entities, role) for _, role in (first_role, second_role)]
    signed = [dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(1200))]
    signed.append(signed[0] + dt.timedelta(days=rng.choice([0, 0, 1, 2, 5])))
    execution = max(signed)
    effective = execution if rng.random() < 0.5 else signed[0] - dt.timedelta(days=rng.randint(1, 20))
    fixed_end = rng.random() < 0.25
    term = None if fixed_end else rng.choice([12, 24, 36, 60])
    renews = None if fixed_end or rng.random() < 0.2 else rng.random() < 0.7
    priced = kind != "nda"
    amount = _money(rng.uniform(1_000, 500_000)) if priced else None
    dispute = rng.choice(["courts", "courts", "arbitration", "mediation_then_arbitration"]) if rng.random() < 0.9 else None
    dated_signatures = rng.random() < 0.85
    gold = {
        "contract_title": rng.choice(titles),
        "contract_type": kind,
        "contract_reference": fake.bothify(rng.choice(["MSA-####", "C-####-??", "AGR/####/##"])).upper() if rng.random() < 0.6 else None,
        "parties": parties,
        "effective_date": effective,
        "execution_date": execution if dated_signatures else None,
        "expiration_date": effective.replace(year=effective.year + rng.choice([1, 2, 3]), day=1) - dt.timedelta(days=1) if fixed_end else None,
        "initial_term_months": term,
        "auto_renewal": renews,
        "renewal_term_months": rng.choice([12, 12, 24]) if renews else None,
        "non_renewal_notice_days": rng.choice([30, 60, 90]) if renews else None,
        "governing_law": rng.choice(laws) if dispute else None,
        "dispute_resolution": dispute,
        "venue": rng.choice(court_venues if dispute == "courts" else arbitration_venues) if dispute else None,
        "currency": currency if priced else None,
        "contract_value": amount,
        "fee_period": ({"lease": "monthly", "license": "annual"}.get(kind) or rng.choice(["annual", "total", "monthly"])) if priced else None,
        "billing_frequency": ({"lease": "monthly"}.get(kind) or rng.choice(["monthly", "quarterly", "annually", "milestones"])) if priced else None,
        "payment_terms_days": rng.choice([15, 30, 45, 60]) if priced else None,
        "late_payment_interest_percent": Decimal(rng.choice(["1", "1.5", "2"])) if priced and rng.random() < 0.5 else None,
        "price_increase_cap_percent": Decimal(rng.choice(["3", "5"])) if priced and rng.random() < 0.3 else None,
        "warranty_period_months": rng.choice([3, 6, 12]) if kind in ("supply", "services") and rng.random() < 0.5 else None,
        "service_level_uptime_percent": rng.choice([99.5, 99.9, 99.95]) if kind == "license" and rng.random() < 0.6 else None,
        "liability_cap_amount": _money(rng.choice([100_000, 250_000, 1_000_000])) if priced and rng.random() < 0.5 else None,
        "liability_cap_months_of_fees": rng.choice([12, 12, 24]) if priced and rng.random() < 0.5 else None,
        "excludes_consequential_damages": True if priced and rng.random() < 0.7 else None,
        "indemnification": rng.choice(["mutual", "by_supplier"]) if priced and rng.random() < 0.5 else None,
        "termination_for_convenience": rng.choice([True, True, False]) if rng.random() < 0.8 else None,
        "termination_notice_days": None,
        "cure_period_days": rng.choice([10, 15, 30]) if rng.random() < 0.7 else None,
        "confidentiality_survival_years": rng.choice([2, 3, 5]) if kind == "nda" or rng.random() < 0.5 else None,
        "non_solicitation": True if rng.random() < 0.35 else None,
        "non_solicitation_months": None,
        "non_compete": rng.choice([True, False]) if rng.random() < 0.25 else None,
        "exclusivity": rng.choice([True, False]) if kind in ("supply", "license") and rng.random() < 0.4 else None,
        "assignment_requires_consent": True if rng.random() < 0.6 else None,
        "insurance_required": True if kind in ("services", "lease") and rng.random() < 0.5 else None,
        "minimum_insurance_amount": None,
        "audit_rights": True if priced and rng.random() < 0.3 else None,
        "force_majeure": True if rng.random() < 0.5 else None,
        "data_protection_clause": True if kind in ("services", "license") and rng.random() < 0.5 else None,
        "notice_email": f"legal@{fake.domain_name()}" if rng.random() < 0.4 else None,
        "supersedes": None,
        "signatories": [{"name": f"{fake.first_name()} {fake.last_name()}", "title": rng.choice(_TITLES), "party": p["name"], "signed_date": d if dated_signatures else None}
                        for p, d in zip(parties, signed)],
    }
    if gold["termination_for_convenience"]:
        gold["termination_notice_days"] = rng.choice([30, 60, 90])
    if gold["non_solicitation"]:
        gold["non_solicitation_months"] = rng.choice([6, 12, 24])
    if gold["insurance_required"]:
        gold["minimum_insurance_amount"] = _money(rng.choice([1_000_000, 2_000_000, 5_000_000]))
        gold["currency"] = currency
    if rng.random() < 0.35:
        earlier = effective - dt.timedelta(days=rng.randint(30, 700))
        gold["supersedes"] = f"{rng.choice(['letter of intent', 'agreement', 'memorandum of understanding'])} dated {fmt_date(rng, earlier)}"
    labels = (first_role[0], second_role[0])
    return gold, _sections(rng, gold, labels), gold["contract_title"]


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(_CENT, rounding=ROUND_HALF_UP)


def _party(rng: random.Random, fake: Faker, entities: list[tuple[str, str]], role: str) -> dict:
    suffix, entity = rng.choice(entities)
    return {
        "name": f"{fake.last_name()} {rng.choice(_BUSINESSES)} {suffix}",
        "role": role,
        "entity_type": entity if rng.random() < 0.8 else None,
        "address": fake.address().replace("\n", ", ") if rng.random() < 0.8 else None,
    }


def _months(rng: random.Random, months: int) -> str:
    if months % 12 == 0 and rng.random() < 0.4:
        years = months // 12
        return f"{fmt_count(rng, years)} year{'s' if years > 1 else ''}"
    return f"{fmt_count(rng, months)} months"


def _sections(rng: random.Random, gold: dict, labels: tuple[str, str]) -> list[tuple[str, list[tuple[str, str]]]]:
    date = lambda value: fmt_date(rng, value)  # noqa: E731
    money = lambda value: fmt_amount(rng, value, gold["currency"])  # noqa: E731
    count = lambda value: fmt_count(rng, value)  # noqa: E731
    described = []
    for party, label in zip(gold["parties"], labels):
        parts = [party["name"]]
        if party["entity_type"]:
            parts.append(f"a {party['entity_type']}")
        if party["address"]:
            parts.append(f"with offices at {party['address']}" if rng.random() < 0.5 else party["address"])
        described.append(", ".join(parts) + f' ("{label}")')
    preamble = (f"This {gold['contract_title']} (the \"Agreement\") is entered into as of {date(gold['effective_date'])} "
                f"(the \"Effective Date\") by and between {described[0]} and {described[1]}.")
    opening = [("", preamble)]
    if gold["contract_reference"]:
        opening.insert(0, (rng.choice(["Ref.", "Contract No.", "Agreement number"]), gold["contract_reference"]))
    if gold["supersedes"]:
        opening.append(("", f"This Agreement supersedes the {gold['supersedes']} between the parties."))

    clauses: list[tuple[str, str]] = []
    if gold["expiration_date"]:
        term = f"This Agreement commences on the Effective Date and remains in force until {date(gold['expiration_date'])}."
    else:
        term = f"The initial term of this Agreement is {_months(rng, gold['initial_term_months'])} from the Effective Date."
    if gold["auto_renewal"]:
        term += (f" Thereafter it renews automatically for successive periods of {_months(rng, gold['renewal_term_months'])} unless either party gives"
                 f" written notice of non-renewal at least {count(gold['non_renewal_notice_days'])} days before the end of the then-current term.")
    elif gold["auto_renewal"] is False:
        term += " This Agreement does not renew automatically; any extension requires a written amendment."
    clauses.append(("Term", term))

    if gold["contract_value"] is not None:
        period = {"annual": "per year", "monthly": "per month", "total": "in total", "quarterly": "per quarter", "one_time": "as a one-time fee"}[gold["fee_period"]]
        billing = {"monthly": "invoiced monthly", "quarterly": "invoiced quarterly in advance", "annually": "invoiced annually in advance",
                   "milestones": "invoiced on completion of each milestone", "upfront": "invoiced upfront"}[gold["billing_frequency"]]
        fees = f"The fees are {fmt_amount(rng, gold['contract_value'], gold['currency'], with_currency=True)} {period}, {billing}. Payment is due within {count(gold['payment_terms_days'])} days of the invoice date."
        if gold["late_payment_interest_percent"] is not None:
            fees += f" Late payments bear interest at {gold['late_payment_interest_percent']}% per month."
        if gold["price_increase_cap_percent"] is not None:
            fees += f" Prices may not increase by more than {gold['price_increase_cap_percent']}% in any contract year."
        clauses.append(("Fees and Payment", fees))
    if gold["warranty_period_months"]:
        clauses.append(("Warranty", f"The {labels[0]} warrants its deliverables for {_months(rng, gold['warranty_period_months'])} from delivery."))
    if gold["service_level_uptime_percent"]:
        clauses.append(("Service Levels", f"The service will be available at least {gold['service_level_uptime_percent']}% of each calendar month."))
    liability = []
    if gold["liability_cap_months_of_fees"]:
        liability.append(f"each party's aggregate liability shall not exceed the fees paid in the {count(gold['liability_cap_months_of_fees'])} months preceding the claim")
    if gold["liability_cap_amount"] is not None:
        liability.append(f"in no event shall either party's total liability exceed {money(gold['liability_cap_amount'])}")
    if liability or gold["excludes_consequential_damages"]:
        text = ("Except for breach of confidentiality, " + "; and ".join(liability) + ". ") if liability else ""
        if gold["excludes_consequential_damages"]:
            text += "Neither party is liable for any indirect, incidental or consequential damages."
        clauses.append(("Limitation of Liability", text.strip()))
    if gold["indemnification"]:
        clauses.append(("Indemnification", "Each party shall indemnify the other against third-party claims arising from its breach."
                        if gold["indemnification"] == "mutual" else f"The {labels[0]} shall indemnify the {labels[1]} against third-party claims of infringement."))
    termination = []
    if gold["termination_for_convenience"]:
        termination.append(f"Either party may terminate this Agreement for convenience on {count(gold['termination_notice_days'])} days' written notice.")
    elif gold["termination_for_convenience"] is False:
        termination.append("Neither party may terminate this Agreement for convenience.")
    if gold["cure_period_days"]:
        termination.append(f"Either party may terminate for material breach not cured within {count(gold['cure_period_days'])} days of notice.")
    if termination:
        clauses.append(("Termination", " ".join(termination)))
    if gold["confidentiality_survival_years"]:
        years = gold["confidentiality_survival_years"]
        clauses.append(("Confidentiality", f"Each party shall keep the other's Confidential Information secret; these obligations survive for"
                        f" {count(years)} years after termination or expiry of this Agreement."))
    if gold["non_solicitation"]:
        clauses.append(("Non-Solicitation", f"During the term and for {count(gold['non_solicitation_months'])} months thereafter, neither party shall solicit the other's employees."))
    if gold["non_compete"] is not None:
        clauses.append(("Competition", "The parties agree not to compete in the territory during the term." if gold["non_compete"]
                        else "Nothing in this Agreement restricts either party from competing with the other."))
    if gold["exclusivity"] is not None:
        clauses.append(("Exclusivity", f"The {labels[1]} is appointed on an exclusive basis." if gold["exclusivity"] else "This Agreement is non-exclusive."))
    if gold["insurance_required"]:
        insured = fmt_amount(rng, gold["minimum_insurance_amount"], gold["currency"], with_currency=True)
        clauses.append(("Insurance", f"The {labels[0]} shall maintain liability insurance of at least {insured} per occurrence."))
    if gold["audit_rights"]:
        clauses.append(("Audit", f"The {labels[1]} may audit the relevant records once per year on reasonable notice."))
    if gold["data_protection_clause"]:
        clauses.append(("Data Protection", "The parties shall comply with applicable data protection laws, including the GDPR, and enter into a data processing agreement."))
    if gold["force_majeure"]:
        clauses.append(("Force Majeure", "Neither party is liable for delay caused by events beyond its reasonable control."))
    general = []
    if gold["assignment_requires_consent"]:
        general.append("Neither party may assign this Agreement without the prior written consent of the other party.")
    if gold["notice_email"]:
        general.append(f"Notices shall be sent in writing, with a copy by e-mail to {gold['notice_email']}.")
    if general:
        clauses.append(("General", " ".join(general)))
    if gold["governing_law"]:
        law = f"This Agreement is governed by the laws of {_law_phrase(gold['governing_law'])}. "
        law += {"courts": f"The parties submit to the exclusive jurisdiction of {gold['venue']}.",
                "arbitration": f"Any dispute shall be finally resolved by arbitration administered by {gold['venue']}.",
                "mediation_then_arbitration": f"Disputes shall first be referred to mediation and, failing settlement, to arbitration administered by {gold['venue']}.",
                }[gold["dispute_resolution"]]
        clauses.append(("Governing Law and Disputes", law))

    first, rest = clauses[0], clauses[1:]
    rng.shuffle(rest)
    numbered = [(f"{i}. {heading}", [("", body)]) for i, (heading, body) in enumerate([first, *rest], 1)]
    signatures = [("", "IN WITNESS WHEREOF, the parties have executed this Agreement.")]
    for signer in gold["signatories"]:
        signatures += [("", f"For {signer['party']}:"), ("By", signer["name"]), ("Title", signer["title"])]
        signatures += [("Date", date(signer["signed_date"]))] if signer["signed_date"] else [("Date", "____________")]
    return [("", opening), *numbered, ("Signatures", signatures)]


def _law_phrase(law: str) -> str:
    return f"the State of {law}" if law in ("New York", "Delaware", "California", "Texas") else law
