"""Long documents: a record's facts scattered through tens of pages of the text that surrounds them in life.

`fieldmill synth --schema legal_contract --pages 20-60` (or medical_record) takes the
generator's sections, the ones that state the record's facts, and spreads them at random
depths through filler of the document's kind: definitions, boilerplate clauses and
schedules for a contract; daily progress notes, nursing observations and medication
administration records for a hospital stay. Far from the true values it adds the
distractors long documents have: a superseded draft's date and party in an appendix, the
vital signs of later days, a previous stay. The gold record is the short document's.
"""

from __future__ import annotations

import datetime as dt
import random

from faker import Faker

from fieldmill.synth.surface import fmt_date

CHARS_PER_PAGE = 3000
Section = tuple[str, list[tuple[str, str]]]

_DEFINED = ["Affiliate", "Business Day", "Change of Control", "Confidential Information", "Deliverables", "Documentation", "Fees",
            "Intellectual Property Rights", "Losses", "Personnel", "Services", "Specification", "Territory", "Term", "Working Hours"]
_CLAUSES = ["Assignment", "Counterparts", "Entire Agreement", "Further Assurance", "Notices", "Severability", "Third Party Rights",
            "Variation", "Waiver", "Relationship of the Parties", "Announcements", "Costs", "Set-off", "Anti-Bribery", "Records"]
_SENTENCES = [
    "Each party shall act in good faith in the performance of its obligations under this {doc}.",
    "Nothing in this clause shall limit or exclude any liability which cannot be limited or excluded by law.",
    "The obligations in this clause shall continue in force notwithstanding the expiry or termination of this {doc}.",
    "Any reference to a statute or statutory provision includes any subordinate legislation made under it.",
    "Headings do not affect the interpretation of this {doc}, and words in the singular include the plural.",
    "A reference to writing or written includes e-mail, save where expressly stated otherwise.",
    "The parties shall co-operate with each other and provide such information as is reasonably requested.",
    "No failure or delay by a party to exercise any right or remedy shall operate as a waiver of it.",
    "If any provision is found invalid or unenforceable, it shall be deemed modified to the minimum extent necessary.",
    "This {doc} may be executed in any number of counterparts, each of which is an original.",
    "The Supplier shall keep complete and accurate records relating to the performance of its obligations.",
    "Any change to the scope of work shall be agreed in writing in accordance with the change control procedure.",
]
_NOTES = [
    "Patient seen on the ward round. Comfortable overnight, tolerating oral intake.",
    "Afebrile. Chest clear on auscultation. Mobilising with assistance of one.",
    "Bloods reviewed; no new concerns. Continue current management.",
    "Reviewed by physiotherapy; exercises reinforced. Plan discussed with the patient and family.",
    "Mild nausea this morning, settled with antiemetic. Bowels opened.",
    "Wound clean and dry. Pain controlled on regular analgesia.",
    "Slept well. Observations stable. Encouraged to increase mobility.",
    "Pharmacy medicines reconciliation completed. No changes required.",
    "Dietitian review: appetite improving, supplements offered.",
    "Occupational therapy assessment of home needs arranged.",
]
_DRUGS = ["Paracetamol 1 g PO", "Ondansetron 4 mg IV", "Enoxaparin 40 mg SC", "Omeprazole 20 mg PO", "Lactulose 15 mL PO", "Senna 7.5 mg PO"]


def lengthen(rng: random.Random, kind: str, gold: dict, sections: list[Section], pages: int) -> list[Section]:
    """The generator's sections spread through filler of `kind` until the text is about `pages` pages."""
    fake = Faker("en_GB")
    fake.seed_instance(rng.randrange(1 << 30))
    filler = _contract_filler if kind == "legal_contract" else _clinical_filler
    target = pages * CHARS_PER_PAGE
    body: list[Section] = []
    size = sum(_size(s) for s in sections)
    counter = 0
    while size < target:
        section = filler(rng, fake, gold, counter)
        body.append(section)
        size += _size(section)
        counter += 1
    head, facts = sections[:1], sections[1:]
    for section in facts:  # each fact section at a random depth
        body.insert(rng.randint(0, len(body)), section)
    return head + body + _distractors(rng, fake, kind, gold)


def _size(section: Section) -> int:
    heading, pairs = section
    return len(heading) + sum(len(label) + len(value) + 3 for label, value in pairs)


def _contract_filler(rng: random.Random, fake: Faker, gold: dict, counter: int) -> Section:
    doc = rng.choice(["Agreement", "Contract"])
    roll = rng.random()
    if roll < 0.35:
        terms = rng.sample(_DEFINED, rng.randint(3, 6))
        return (f"Definitions ({counter + 1})", [("", f'"{t}" means {fake.sentence(nb_words=rng.randint(12, 24)).rstrip(".")} as set out in this {doc}.') for t in terms])
    if roll < 0.8:
        clause = rng.choice(_CLAUSES)
        text = " ".join(rng.choice(_SENTENCES).format(doc=doc) for _ in range(rng.randint(3, 7)))
        return (f"{clause}", [("", f"{counter + 1}.{i + 1} {part}") for i, part in enumerate(_split_sentences(text))])
    rows = [("", f"{i + 1}. {fake.catch_phrase()}: {fake.sentence(nb_words=10)}") for i in range(rng.randint(4, 9))]
    return (f"Schedule {counter + 1} - {rng.choice(['Service Description', 'Specification', 'Service Levels', 'Implementation Plan'])}", rows)


def _clinical_filler(rng: random.Random, fake: Faker, gold: dict, counter: int) -> Section:
    admitted = gold.get("admission_date") or dt.date(2024, 1, 1)
    day = admitted + dt.timedelta(days=counter % 30 + 1)
    roll = rng.random()
    if roll < 0.5:
        notes = " ".join(rng.sample(_NOTES, rng.randint(2, 4)))
        return (f"Progress note, day {counter % 30 + 1} ({fmt_date(rng, day)})", [("", notes), ("Signed", f"Dr. {fake.first_name()} {fake.last_name()}, registrar")])
    if roll < 0.8:  # later vital signs: not the admission ones
        return (f"Nursing observations {fmt_date(rng, day)}", [("", f"{h:02d}:00 T {rng.uniform(36.1, 37.6):.1f} C, HR {rng.randint(60, 95)}, "
                                                                     f"BP {rng.randint(105, 140)}/{rng.randint(60, 90)}, RR {rng.randint(12, 20)}, SpO2 {rng.randint(94, 99)}%")
                                                                 for h in sorted(rng.sample(range(6, 23), 3))])
    given = rng.sample(_DRUGS, rng.randint(2, 4))
    return (f"Medication administration record {fmt_date(rng, day)}", [("", f"{d} given at {rng.randint(6, 22):02d}:00 by {fake.first_name()}") for d in given])


def _distractors(rng: random.Random, fake: Faker, kind: str, gold: dict) -> list[Section]:
    if kind == "legal_contract":
        effective = gold.get("effective_date") or dt.date(2024, 1, 1)
        draft = effective - dt.timedelta(days=rng.randint(40, 400))
        return [("Appendix - Document history", [
            ("", f"Draft 1 was circulated on {fmt_date(rng, draft)} between {fake.company()} and {fake.company()}; it is superseded and of no effect."),
            ("", f"Comments were received from {fake.name()} ({fake.company()}) on {fmt_date(rng, draft + dt.timedelta(days=7))}."),
        ])]
    admitted = gold.get("admission_date") or dt.date(2024, 1, 1)
    earlier = admitted - dt.timedelta(days=rng.randint(200, 900))
    return [("Appendix - Previous correspondence", [
        ("", f"Letter of {fmt_date(rng, earlier)} regarding a previous stay under Dr. {fake.first_name()} {fake.last_name()}; not relevant to this admission."),
    ])]


def _split_sentences(text: str) -> list[str]:
    return [s.strip() + "." for s in text.split(".") if s.strip()]


__all__ = ["lengthen", "CHARS_PER_PAGE"]
