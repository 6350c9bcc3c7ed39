"""Documents of many kinds, each with a schema written the way a user would write it.

The built-in generators teach three fixed schemas; users bring their own (a 4-field
receipt, a lease, a lab report). This generator teaches the task itself: read the
field list, find each field in the document, copy it, and write null for what the
document does not state. For every document it draws

* a kind (receipt, purchase order, payslip, lease, lab report, ... `KINDS`) and a
  random subset of that kind's fields, written as a JSON Schema in one user's style:
  a naming convention, descriptions or none, dates and amounts typed (`format: date`,
  `number`) or kept as printed text, related fields grouped into an object or not,
  a list of line objects where the kind has one;
* a layout: labelled lines, two columns, a receipt printout, prose sentences, a
  key/value table, HTML;
* distractors: fields of the kind that the schema does not ask for (an order date
  beside the delivery date, the seller's phone beside the buyer's), and schema fields
  the document leaves out (their answer is null).

Gold values are what the document prints: text fields are the printed text exactly
(upper-cased if the printout is), typed fields their normal form (ISO dates, numbers).
"""

from __future__ import annotations

import datetime as dt
import html
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from faker import Faker

from fieldmill.synth.surface import number_words, table_lines

_CENT = Decimal("0.01")
# Locales whose text survives the PDF writer's Latin-1 text layer.
_LOCALES = ("en_US", "en_GB", "en_AU", "en_CA", "en_IE", "de_DE", "fr_FR", "nl_NL", "es_ES", "it_IT")
_CURRENCIES = {"en_US": "USD", "en_GB": "GBP", "en_AU": "AUD", "en_CA": "CAD", "en_IE": "EUR", "de_DE": "EUR", "fr_FR": "EUR", "nl_NL": "EUR",
               "es_ES": "EUR", "it_IT": "EUR"}
_SIGNS = {"USD": "$", "GBP": "£", "EUR": "€", "AUD": "A$", "CAD": "C$"}

# value kinds -> enum values and how documents print them
_ENUMS = {
    "payment": {"cash": ["CASH", "Cash"], "card": ["VISA", "MASTERCARD", "Credit card", "Debit card", "Card"], "bank_transfer": ["Bank transfer", "Wire transfer"]},
    "employment": {"full_time": ["Full-time", "Full time"], "part_time": ["Part-time", "Part time"], "contract": ["Fixed-term contract", "Contractor"]},
    "cabin": {"economy": ["Economy", "ECONOMY", "Y"], "business": ["Business", "BUSINESS", "J"], "first": ["First", "FIRST", "F"]},
    "service": {"standard": ["Standard", "Ground"], "express": ["Express", "Next day"], "economy": ["Economy", "Saver"]},
    "sex": {"female": ["F", "Female"], "male": ["M", "Male"]},
    "flag": {"high": ["H", "High"], "low": ["L", "Low"], "normal": ["", "N", "Normal"]},
}


@dataclass(frozen=True)
class FieldSpec:
    name: str  # canonical snake_case name; other names a user might choose follow
    kind: str  # value kind (see _value)
    labels: tuple[str, ...]  # how documents label it; "" prints the value alone
    description: str
    other_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocKind:
    titles: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    items: tuple[FieldSpec, ...] = ()  # fields of one line of a list (receipt items, lab results)
    items_name: str = "items"
    filler: tuple[str, ...] = ()


def F(name: str, kind: str, labels: str, description: str, other_names: str = "") -> FieldSpec:
    return FieldSpec(name, kind, tuple(labels.split("|")), description, tuple(n for n in other_names.split("|") if n))


KINDS: dict[str, DocKind] = {
    "receipt": DocKind(
        ("RECEIPT", "TAX INVOICE", "CASH SALE", "Simplified Tax Invoice", "Sales Receipt"),
        (F("merchant_name", "company", "", "Name of the shop or company that issued the receipt.", "company|store_name|vendor"),
         F("merchant_address", "address", "", "Address of the shop.", "address|store_address"),
         F("merchant_phone", "phone", "Tel|Phone|TEL NO", "Telephone number of the shop.", "phone"),
         F("tax_registration", "taxid", "GST ID|VAT No|GST Reg No|Tax ID", "Tax registration number of the merchant.", "gst_id|vat_number"),
         F("receipt_number", "id", "Receipt No|Doc No|Bill No|Invoice No|Trans #", "Number of the receipt.", "receipt_no|invoice_no"),
         F("date", "date", "Date|DATE", "Date of the purchase.", "purchase_date|receipt_date"),
         F("time", "time", "Time|TIME", "Time of the purchase."),
         F("cashier", "first_name", "Cashier|Served by|Operator", "Name of the cashier."),
         F("subtotal", "money", "Subtotal|Sub Total|SUBTOTAL", "Total before tax."),
         F("tax_amount", "money", "GST|VAT|Tax|Sales Tax", "Tax charged.", "tax|gst"),
         F("total", "money", "TOTAL|Total|Grand Total|Total Amount|Amount Due", "Total amount paid.", "total_amount|amount"),
         F("payment_method", "enum:payment", "Payment|Paid by|Tender", "How the customer paid."),
         F("change_given", "money", "Change|CHANGE", "Change returned to the customer.", "change")),
        items=(F("description", "product", "Item|Description", "What was bought."), F("quantity", "count", "Qty", "Number of units."),
               F("price", "money", "Price|Amount", "Price of the line.")),
        filler=("Thank you for shopping with us!", "Goods sold are not returnable.", "Please keep this receipt for your records.", "*** CUSTOMER COPY ***"),
    ),
    "purchase_order": DocKind(
        ("PURCHASE ORDER", "Purchase Order", "Order Confirmation"),
        (F("po_number", "id", "PO Number|P.O. No.|Order No", "The purchase order number.", "order_number"),
         F("order_date", "date", "Order Date|Date|Dated", "Date the order was placed."),
         F("delivery_date", "date", "Delivery Date|Required By|Deliver By", "Requested delivery date."),
         F("buyer_company", "company", "Buyer|Bill To|Ordered by", "Company placing the order.", "customer"),
         F("buyer_contact", "person", "Contact|Attn|Requested by", "Person at the buyer who placed the order."),
         F("supplier_company", "company", "Supplier|Vendor|To", "Company the order is placed with.", "vendor"),
         F("supplier_email", "email", "Supplier e-mail|Vendor email", "E-mail of the supplier."),
         F("ship_to_address", "address", "Ship To|Delivery Address", "Where the goods are delivered."),
         F("payment_terms", "terms", "Payment Terms|Terms", "Payment terms as written."),
         F("currency", "currency", "Currency", "Currency code of the amounts."),
         F("total_amount", "money", "Total|Order Total|Total Value", "Total value of the order.", "total")),
        items=(F("description", "product", "Description|Item", "Item ordered."), F("quantity", "count", "Qty|Quantity", "Quantity ordered."),
               F("unit_price", "money", "Unit Price|Price", "Price per unit."), F("line_total", "money", "Amount|Total", "Quantity times unit price.")),
        items_name="lines",
        filler=("Please quote the PO number on all invoices.", "Deliveries accepted Monday to Friday, 8am-4pm."),
    ),
    "shipment": DocKind(
        ("SHIPPING LABEL", "Delivery Note", "Consignment Note", "Packing Slip"),
        (F("tracking_number", "tracking", "Tracking No|Tracking #|AWB|Consignment No", "Carrier tracking number.", "awb"),
         F("ship_date", "date", "Ship Date|Dispatched|Date", "Date the parcel was shipped."),
         F("sender_name", "company", "From|Sender|Shipper", "Who sent the parcel.", "shipper"),
         F("sender_address", "address", "Sender address|Return address", "Sender's address."),
         F("recipient_name", "person", "To|Recipient|Deliver to|Consignee", "Who receives the parcel.", "consignee"),
         F("recipient_address", "address", "Delivery address|Address", "Recipient's address."),
         F("recipient_phone", "phone", "Phone|Tel", "Recipient's phone number."),
         F("weight_kg", "weight", "Weight|Gross weight", "Weight in kilograms."),
         F("packages", "count", "Pieces|Packages|No. of parcels", "Number of packages."),
         F("service_level", "enum:service", "Service|Service level", "Delivery service.")),
        filler=("Handle with care.", "Signature required on delivery.", "Do not bend."),
    ),
    "hotel_bill": DocKind(
        ("Guest Folio", "HOTEL INVOICE", "Statement of Account"),
        (F("hotel_name", "hotel", "", "Name of the hotel."),
         F("guest_name", "person", "Guest|Guest Name|Name", "Name of the guest."),
         F("room_number", "room", "Room|Room No", "Room number."),
         F("arrival_date", "date", "Arrival|Check-in|Arrival Date", "Check-in date.", "check_in"),
         F("departure_date", "date", "Departure|Check-out|Departure Date", "Check-out date.", "check_out"),
         F("nights", "count", "Nights|No. of nights", "Number of nights."),
         F("room_rate", "money", "Rate|Room rate|Nightly rate", "Price of one night."),
         F("total", "money", "Total|Balance Due|Total Charges", "Total of the bill."),
         F("confirmation_number", "id", "Confirmation No|Folio No|Reservation", "Booking or folio number.")),
        filler=("We hope you enjoyed your stay.", "Checkout time is 11:00."),
    ),
    "flight": DocKind(
        ("E-TICKET RECEIPT", "Booking Confirmation", "Itinerary"),
        (F("passenger_name", "person_upper", "Passenger|Passenger Name|Name", "Name of the passenger.", "passenger"),
         F("booking_reference", "pnr", "Booking reference|PNR|Confirmation code", "Booking reference (PNR).", "pnr"),
         F("flight_number", "flight", "Flight|Flight No", "Flight number."),
         F("origin", "city", "From|Departure|Origin", "Departure city or airport."),
         F("destination", "city", "To|Arrival|Destination", "Arrival city or airport."),
         F("departure_date", "date", "Date|Departure date", "Date of departure."),
         F("departure_time", "time", "Departs|Departure time", "Time of departure."),
         F("seat", "seat", "Seat", "Seat number."),
         F("fare", "money", "Fare|Total fare|Amount paid", "Price of the ticket.", "price"),
         F("cabin_class", "enum:cabin", "Class|Cabin", "Travel class."),
         F("ticket_number", "ticket", "Ticket number|E-ticket No", "Ticket number.")),
        filler=("Check-in closes 45 minutes before departure.", "Baggage allowance: 1 x 23 kg."),
    ),
    "job_offer": DocKind(
        ("Offer of Employment", "Offer Letter", "Employment Offer"),
        (F("candidate_name", "person", "Dear|Candidate", "Name of the person offered the job.", "employee_name"),
         F("employer", "company", "Company|Employer", "Company making the offer.", "company"),
         F("position_title", "job", "Position|Job title|Role", "Title of the job offered.", "job_title|position"),
         F("start_date", "date", "Start date|Commencement date", "First day of work."),
         F("annual_salary", "money", "Salary|Annual base salary|Gross annual salary", "Yearly gross salary.", "salary"),
         F("employment_type", "enum:employment", "Employment type|Contract type", "Kind of employment."),
         F("manager_name", "person", "Reporting to|Manager", "Who the employee reports to.", "manager"),
         F("probation_months", "count", "Probation period (months)|Probation (months)", "Length of probation in months."),
         F("offer_expiry_date", "date", "Please respond by|Offer valid until", "Date the offer expires.")),
        filler=("We look forward to welcoming you to the team.", "This offer is subject to satisfactory references."),
    ),
    "payslip": DocKind(
        ("PAYSLIP", "Pay Statement", "Earnings Statement"),
        (F("employee_name", "person", "Employee|Name", "Name of the employee.", "employee"),
         F("employee_id", "id", "Employee ID|Staff No|Emp #", "Employee number."),
         F("employer", "company", "", "Employer's name.", "company"),
         F("pay_period_start", "date", "Period from|Pay period start", "First day of the pay period."),
         F("pay_period_end", "date", "Period to|Pay period end", "Last day of the pay period."),
         F("pay_date", "date", "Pay date|Payment date", "Date the salary was paid."),
         F("gross_pay", "money", "Gross pay|Total earnings|Gross", "Earnings before deductions."),
         F("tax_withheld", "money", "Income tax|Tax|PAYE", "Income tax deducted."),
         F("net_pay", "money", "Net pay|Take home pay|NET PAY", "Amount paid to the employee."),
         F("hours_worked", "hours", "Hours|Hours worked", "Hours worked in the period.")),
        filler=("This is a computer-generated document.", "Keep this statement for tax purposes."),
    ),
    "utility_bill": DocKind(
        ("Electricity Bill", "Your Energy Statement", "Water Bill", "Gas Bill"),
        (F("supplier", "company", "", "Company sending the bill.", "provider"),
         F("customer_name", "person", "Customer|Account holder|Name", "Name of the customer.", "customer"),
         F("account_number", "account", "Account number|Account No|Customer ref", "Customer account number."),
         F("service_address", "address", "Supply address|Service address|Premises", "Address supplied."),
         F("bill_date", "date", "Bill date|Statement date|Date of issue", "Date of the bill.", "statement_date"),
         F("period_start", "date", "Billing period from|Period start", "Start of the billing period."),
         F("period_end", "date", "Billing period to|Period end", "End of the billing period."),
         F("usage", "usage", "Usage|Consumption|Units used", "Consumption in the period."),
         F("amount_due", "money", "Amount due|Total due|Please pay", "Amount to pay.", "total"),
         F("due_date", "date", "Due date|Pay by|Payment due", "Date payment is due.")),
        filler=("Pay online, by phone or by direct debit.", "Meter readings are estimated where marked E."),
    ),
    "lab_report": DocKind(
        ("LABORATORY REPORT", "Pathology Report", "Test Results"),
        (F("patient_name", "person", "Patient|Name|Patient name", "Full name of the patient.", "patient"),
         F("date_of_birth", "dob", "DOB|Date of birth|Born", "Patient's date of birth.", "dob"),
         F("sex", "enum:sex", "Sex|Gender", "Patient's sex."),
         F("accession_number", "id", "Accession #|Lab No|Specimen ID", "Laboratory accession number.", "lab_number"),
         F("collected_date", "date", "Collected|Collection date|Specimen collected", "Date the specimen was collected."),
         F("reported_date", "date", "Reported|Report date", "Date the results were reported."),
         F("ordering_physician", "doctor", "Ordering physician|Requested by|Referring doctor", "Doctor who ordered the tests.", "physician"),
         F("laboratory", "lab", "", "Name of the laboratory.", "lab_name")),
        items=(F("test", "test", "Test", "Name of the test."), F("value", "lab_value", "Result", "Numeric result."),
               F("unit", "lab_unit", "Units", "Unit of the result."), F("flag", "enum:flag", "Flag", "H, L or normal.")),
        items_name="results",
        filler=("Results should be interpreted in clinical context.", "Reference ranges are age and sex specific."),
    ),
    "lease": DocKind(
        ("Residential Lease Agreement", "Tenancy Agreement", "Lease"),
        (F("landlord_name", "person", "Landlord|Lessor", "Name of the landlord.", "landlord"),
         F("tenant_name", "person", "Tenant|Lessee", "Name of the tenant.", "tenant"),
         F("property_address", "address", "Premises|Property|Address of the premises", "Address of the rented property.", "address"),
         F("lease_start", "date", "Commencement date|Start date|Term begins", "First day of the lease.", "start_date"),
         F("lease_end", "date", "End date|Term ends|Expiry date", "Last day of the lease.", "end_date"),
         F("monthly_rent", "money", "Monthly rent|Rent|Rent per month", "Rent per month.", "rent"),
         F("security_deposit", "money", "Security deposit|Deposit|Bond", "Deposit paid.", "deposit"),
         F("term_months", "count", "Term (months)|Lease term in months", "Length of the lease in months."),
         F("pets_allowed", "bool", "Pets allowed|Pets", "Whether pets are allowed.")),
        filler=("The tenant shall keep the premises in good repair.", "Rent is payable in advance on the first day of each month."),
    ),
    "claim": DocKind(
        ("Insurance Claim Form", "Claim Notification", "Motor Claim"),
        (F("claim_number", "id", "Claim number|Claim No|Claim ref", "The claim's number."),
         F("policy_number", "policy", "Policy number|Policy No", "Insurance policy number."),
         F("claimant_name", "person", "Claimant|Policyholder|Insured", "Person making the claim.", "claimant"),
         F("incident_date", "date", "Date of incident|Date of loss|Accident date", "When the loss happened."),
         F("incident_location", "city", "Location|Place of incident|Where", "Where the loss happened."),
         F("vehicle_registration", "plate", "Vehicle registration|Reg. No|Plate", "Registration of the vehicle."),
         F("claim_amount", "money", "Amount claimed|Estimated loss|Claim amount", "Amount claimed."),
         F("police_report", "bool", "Reported to police|Police report filed", "Whether the police were informed."),
         F("claimant_email", "email", "Email|E-mail", "Claimant's e-mail.")),
        filler=("Please attach photos and repair estimates.", "Making a false claim is a criminal offence."),
    ),
    "vehicle_sale": DocKind(
        ("Bill of Sale", "Vehicle Purchase Agreement", "Vehicle Sales Invoice"),
        (F("seller_name", "person", "Seller|Sold by", "Name of the seller.", "seller"),
         F("buyer_name", "person", "Buyer|Purchaser|Sold to", "Name of the buyer.", "buyer"),
         F("vin", "vin", "VIN|Vehicle identification number|Chassis No", "Vehicle identification number."),
         F("make", "make", "Make|Manufacturer", "Vehicle make."),
         F("model", "car_model", "Model", "Vehicle model."),
         F("year", "year", "Year|Model year", "Model year."),
         F("mileage", "mileage", "Odometer|Mileage", "Odometer reading."),
         F("sale_price", "money", "Sale price|Purchase price|Price", "Price paid.", "price"),
         F("sale_date", "date", "Date of sale|Sale date|Date", "Date of the sale.")),
        filler=("The vehicle is sold as seen.", "The seller confirms the vehicle is free of finance."),
    ),
    "event_ticket": DocKind(
        ("ADMIT ONE", "E-Ticket", "Your Tickets"),
        (F("event_name", "event", "", "Name of the event.", "event"),
         F("venue", "venue", "Venue|Location", "Where the event takes place."),
         F("event_date", "date", "Date", "Date of the event."),
         F("start_time", "time", "Doors|Start|Time", "Start time."),
         F("ticket_holder", "person", "Name|Ticket holder", "Name on the ticket.", "holder"),
         F("section", "section", "Section|Block", "Section of the seat."),
         F("seat", "seat", "Seat|Row/Seat", "Seat."),
         F("price", "money", "Price|Face value", "Price of the ticket."),
         F("order_number", "id", "Order #|Order number", "Order number.")),
        filler=("No re-entry.", "Present this ticket on your phone or printed."),
    ),
    "certificate": DocKind(
        ("Certificate of Completion", "CERTIFICATE", "Training Certificate"),
        (F("recipient_name", "person", "Awarded to|This certifies that|Name", "Person who completed the course.", "name"),
         F("course_title", "course", "Course|Programme|For completing", "Title of the course.", "course"),
         F("issuer", "company", "Issued by|Provider", "Organisation that issued the certificate."),
         F("completion_date", "date", "Date|Date of completion|Completed on", "Date the course was completed.", "date"),
         F("certificate_id", "id", "Certificate ID|Certificate No|Credential ID", "Certificate number."),
         F("hours", "count", "Hours|Duration (hours)|CPD hours", "Length of the course in hours."),
         F("expiry_date", "date", "Valid until|Expires", "Date the certificate expires.")),
        filler=("Verify this certificate online.",),
    ),
}


@dataclass(frozen=True)
class Drawn:
    """One value: its typed gold form, and the text a document prints."""

    typed: Any
    printed: str
    text: str  # the gold when the schema keeps the field as printed text


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(_CENT, rounding=ROUND_HALF_UP)


def _date_text(rng: random.Random, day: dt.date, us: bool) -> str:
    """A printed date; all-digit day/month orders follow the locale (month first in the US)."""
    forms = [f"{day:%m/%d/%Y}" if us else f"{day:%d/%m/%Y}", f"{day:%Y-%m-%d}", f"{day.day} {day:%b} {day:%Y}", f"{day:%B} {day.day}, {day:%Y}",
             f"{day:%d-%b-%Y}".upper(), f"{day.day} {day:%B} {day:%Y}"] + ([f"{day:%m/%d/%y}"] if us else [f"{day:%d.%m.%Y}", f"{day:%d/%m/%y}"])
    return rng.choice(forms)


def _draw(kind: str, rng: random.Random, fake: Faker, currency: str) -> Drawn:
    """A value of `kind`; `printed` is its text in the document."""
    def plain(text: str) -> Drawn:
        return Drawn(text, text, text)

    if kind.startswith("enum:"):
        value, forms = rng.choice(list(_ENUMS[kind[5:]].items()))
        printed = rng.choice(forms)
        return Drawn(value, printed, printed)
    if kind in ("date", "dob"):
        day = (dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(22000))) if kind == "dob" else dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(2600))
        text = _date_text(rng, day, currency == "USD")
        return Drawn(day.isoformat(), text, text)
    if kind == "time":
        hour, minute = rng.randrange(24), rng.randrange(60)
        text = rng.choice([f"{hour:02d}:{minute:02d}", f"{(hour % 12) or 12}:{minute:02d} {'PM' if hour >= 12 else 'AM'}", f"{hour:02d}:{minute:02d}:{rng.randrange(60):02d}"])
        return plain(text)
    if kind == "money":
        value = _money(rng.choice([rng.uniform(1, 80), rng.uniform(20, 900), rng.uniform(500, 90000)]))
        number = rng.choice([f"{value:.2f}", f"{value:,.2f}"] + ([f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")] if currency == "EUR" else []))
        sign = rng.choice(["", "", _SIGNS.get(currency, ""), currency + " "])
        return Drawn(float(value), f"{sign}{number}", number)
    if kind in ("count", "year", "hours", "mileage"):
        value = {"count": lambda: rng.randint(1, 48), "year": lambda: rng.randint(1998, 2025), "hours": lambda: rng.randint(20, 180),
                 "mileage": lambda: rng.randint(5000, 240000)}[kind]()
        printed = f"{value:,}" if kind == "mileage" and rng.random() < 0.5 else str(value)
        if kind == "count" and rng.random() < 0.15:
            printed = f"{number_words(value)} ({value})"
        suffix = {"mileage": rng.choice([" km", " miles", ""]), "hours": rng.choice(["", " h", " hrs"])}.get(kind, "")
        return Drawn(value, printed + suffix, printed + suffix)
    if kind in ("weight", "usage", "lab_value"):
        value = {"weight": lambda: round(rng.uniform(0.2, 40), 1), "usage": lambda: float(rng.randint(80, 2400)),
                 "lab_value": lambda: round(rng.uniform(0.1, 300), rng.choice([0, 1, 2]))}[kind]()
        unit = {"weight": rng.choice([" kg", "kg", " KG"]), "usage": rng.choice([" kWh", " m3", " units"]), "lab_value": ""}[kind]
        return Drawn(value, f"{value:g}{unit}", f"{value:g}{unit}")
    if kind == "bool":
        value = rng.random() < 0.5
        printed = rng.choice([("Yes", "No"), ("YES", "NO"), ("Y", "N"), ("[x]", "[ ]"), ("Permitted", "Not permitted")])[0 if value else 1]
        return Drawn(value, printed, printed)
    if kind == "currency":
        return plain(currency)
    if kind == "address":
        street, city, code = fake.street_address().replace("\n", " "), fake.city(), fake.postcode()
        text = rng.choice([f"{street}, {code} {city}", f"{street}, {city} {code}", f"{street}, {city}"])
        return plain(text)
    makers = {
        "company": fake.company, "person": fake.name, "first_name": fake.first_name, "person_upper": lambda: f"{fake.last_name()}/{fake.first_name()}".upper(),
        "phone": fake.phone_number, "email": fake.email, "city": fake.city, "job": fake.job,
        "id": lambda: fake.bothify(rng.choice(["??-#####", "#######", "####-####", "?#####", "??/####/##", "INV###-##", "#####-?"])).upper(),
        "taxid": lambda: fake.bothify(rng.choice(["##########", "?##########", "##-#######", "???#########"])).upper(),
        "tracking": lambda: fake.bothify(rng.choice(["1Z###?##########", "##########", "??#########??"])).upper(),
        "pnr": lambda: fake.bothify("??????").upper(), "flight": lambda: fake.bothify("??###").upper(),
        "seat": lambda: f"{rng.randint(1, 40)}{rng.choice('ABCDEF')}", "ticket": lambda: fake.bothify("###-##########"),
        "room": lambda: str(rng.randint(101, 1290)), "account": lambda: fake.bothify(rng.choice(["##########", "###-####-##", "??########"])).upper(),
        "policy": lambda: fake.bothify(rng.choice(["POL-#######", "??#########", "###/####/##"])).upper(),
        "plate": lambda: fake.license_plate(), "vin": lambda: fake.bothify("?##??###?#???####", letters="ABCDEFGHJKLMNPRSTUVWXYZ").upper(),
        "make": lambda: rng.choice(["Toyota", "Ford", "Volkswagen", "Honda", "BMW", "Renault", "Hyundai", "Skoda"]),
        "car_model": lambda: rng.choice(["Corolla", "Focus", "Golf", "Civic", "320d", "Clio", "i30", "Octavia"]),
        "hotel": lambda: f"{rng.choice(['Grand', 'Park', 'Royal', 'Harbour', 'City'])} {rng.choice(['Hotel', 'Inn', 'Suites', 'Plaza Hotel'])} {fake.city()}",
        "product": lambda: rng.choice(["Milk 1L", "White bread", "Coffee beans 500g", "AA batteries x4", "Notebook A5", "Chicken rice", "Iced tea",
                                       "Shampoo 400ml", "USB-C cable", "Bananas", "Printer ink", "Paper towels", "Olive oil 750ml", "Teh tarik"]),
        "test": lambda: rng.choice(["Hemoglobin", "WBC", "Platelets", "Sodium", "Potassium", "Creatinine", "Glucose", "ALT", "TSH", "CRP", "HbA1c"]),
        "lab_unit": lambda: rng.choice(["g/dL", "10^9/L", "mmol/L", "umol/L", "U/L", "mg/L", "%", "mIU/L"]),
        "doctor": lambda: f"Dr. {fake.first_name()} {fake.last_name()}", "lab": lambda: f"{fake.last_name()} {rng.choice(['Diagnostics', 'Laboratories', 'Pathology'])}",
        "terms": lambda: rng.choice(["Net 30", "Net 60", "30 days from invoice", "Payment on delivery", "14 days net"]),
        "event": lambda: f"{fake.last_name()} {rng.choice(['Live', 'in Concert', 'Festival', 'Tour 2025', 'Comedy Night'])}",
        "venue": lambda: f"{fake.city()} {rng.choice(['Arena', 'Hall', 'Theatre', 'Stadium'])}", "section": lambda: rng.choice(["A", "B", "C", "Stalls", "Balcony", "112"]),
        "course": lambda: rng.choice(["First Aid at Work", "Advanced Excel", "Food Safety Level 2", "Project Management Fundamentals", "Fire Warden Training"]),
    }
    return plain(str(makers[kind]()))


# --- the schema, as a user writes it ------------------------------------------------------

_STYLES = ("snake", "snake", "snake", "camel", "camel", "pascal", "words")


def _style_name(name: str, style: str) -> str:
    words = name.split("_")
    if style == "camel":
        return words[0] + "".join(w.title() for w in words[1:])
    if style == "pascal":
        return "".join(w.title() for w in words)
    if style == "words":
        return " ".join(words).capitalize()
    return name


@dataclass
class _Field:
    spec: FieldSpec
    key: str
    typed: bool  # typed value (date format, number, boolean, enum) or the printed text
    present: bool


def _property(field: _Field, rng: random.Random, describe: bool) -> dict[str, Any]:
    kind = field.spec.kind
    if not field.typed:
        prop: dict[str, Any] = {"type": "string"}
    elif kind.startswith("enum:"):
        prop = {"type": "string", "enum": list(_ENUMS[kind[5:]])}
    elif kind in ("date", "dob"):
        prop = {"type": "string", "format": "date"}
    elif kind in ("count", "year", "hours", "mileage"):
        prop = {"type": "integer"}
    elif kind in ("money", "weight", "usage", "lab_value"):
        prop = {"type": "number"}
    elif kind == "bool":
        prop = {"type": "boolean"}
    else:
        prop = {"type": "string"}
    if describe:
        note = "" if field.typed or kind not in ("date", "dob", "money", "count", "time") else rng.choice([" As printed.", " Exactly as written.", ""])
        prop["description"] = field.spec.description + note
    if rng.random() < 0.3:  # some users spell nullability out
        prop["type"] = [prop["type"], "null"]
    return prop


def _gold(kind: str, drawn: Drawn, typed: bool, upper: bool) -> Any:
    """The answer for a drawn value: typed, or the text as the document prints it (upper-cased with it)."""
    if typed and (not isinstance(drawn.typed, str) or kind.startswith(("enum:", "date", "dob"))):
        return drawn.typed
    value = drawn.typed if typed else drawn.text
    return value.upper() if upper else value


def _typed_choice(kind: str, rng: random.Random) -> bool:
    if kind.startswith("enum:") or kind == "bool":
        return rng.random() < 0.8
    if kind in ("date", "dob", "money", "count", "year", "hours", "mileage", "weight", "usage", "lab_value"):
        return rng.random() < 0.65
    return True  # text kinds are text either way


# --- rendering ------------------------------------------------------------------------------

_LAYOUTS = ("lines", "lines", "columns", "receipt", "prose", "table", "html")


def _prose(rng: random.Random, label: str, printed: str) -> str:
    label_l = label.lower()
    return rng.choice([f"The {label_l} is {printed}.", f"{label}: {printed}.", f"{printed} is given as the {label_l}.",
                       f"Please note the {label_l} of {printed}.", f"It records {label_l} {printed}."])


def _render(rng: random.Random, title: str, entries: list[tuple[str, str]], items: list[str], filler: list[str], layout: str) -> tuple[str, str]:
    """The document text and its format (`txt` or `html`)."""
    if layout == "html":
        rows = "".join(f"<tr><td>{html.escape(l)}</td><td>{html.escape(v)}</td></tr>" if l else f"<tr><td colspan=2><b>{html.escape(v)}</b></td></tr>"
                       for l, v in entries)
        body = f"<h1>{html.escape(title)}</h1><table>{rows}</table>"
        if items:
            body += "<pre>" + html.escape("\n".join(items)) + "</pre>"
        body += "".join(f"<p>{html.escape(f)}</p>" for f in filler)
        return f"<html><head><title>{html.escape(title)}</title></head><body>{body}</body></html>", "html"
    lines = [title]
    if layout == "prose":
        head = [v for l, v in entries if not l]
        sentences = [_prose(rng, l, v) for l, v in entries if l]
        lines = head + [title, ""]
        while sentences:
            take = rng.randint(2, 4)
            lines += [" ".join(sentences[:take]), ""]
            sentences = sentences[take:]
        lines += items + [""] + filler
        return "\n".join(lines).strip() + "\n", "txt"
    if layout == "table":
        lines += ["", "| Field | Value |", "|---|---|"] + [f"| {l} | {v} |" if l else f"| | {v} |" for l, v in entries]
    elif layout == "columns":
        labelled = [f"{l}: {v}" if l else v for l, v in entries]
        for i in range(0, len(labelled), 2):
            pair = labelled[i:i + 2]
            lines.append(pair[0].ljust(rng.randint(36, 48)) + (pair[1] if len(pair) > 1 else ""))
    else:
        sep = rng.choice([": ", ":  ", " - ", "\t", " : ", "..... "])
        head = [v for l, v in entries if not l]
        body = [f"{l}{sep}{v}" for l, v in entries if l]
        lines = (head + [title] if layout == "receipt" else [title] + head) + [""] + body
    if items:
        lines += [""] + items
    lines += [""] + filler
    return "\n".join(lines).strip() + "\n", "txt"


def generate(rng: random.Random, html: bool = True) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    """One document: (JSON Schema, gold record, document text, format `txt` or `html` (only if `html`))."""
    kind_name = rng.choice(list(KINDS))
    kind = KINDS[kind_name]
    locale = rng.choice(_LOCALES)
    fake = Faker(locale)
    fake.seed_instance(rng.randrange(1 << 30))
    currency = _CURRENCIES[locale]
    layout = rng.choice(_LAYOUTS if html else [l for l in _LAYOUTS if l != "html"])
    upper = layout == "receipt" and rng.random() < 0.6
    style = rng.choice(_STYLES)
    describe = rng.random() < 0.7

    wanted = rng.sample(kind.fields, rng.randint(min(2, len(kind.fields)), len(kind.fields)))
    fields = []
    for spec in kind.fields:  # schema order: the kind's order, or shuffled below
        if spec in wanted:
            name = rng.choice(spec.other_names) if spec.other_names and rng.random() < 0.25 else spec.name
            fields.append(_Field(spec, _style_name(name, style), _typed_choice(spec.kind, rng), rng.random() > 0.15))
    if rng.random() < 0.3:
        rng.shuffle(fields)
    keys = set()
    for f in fields:  # other names can collide with a canonical one
        while f.key in keys:
            f.key += "_2"
        keys.add(f.key)

    entries: list[tuple[str, str]] = []
    gold: dict[str, Any] = {}
    for spec in kind.fields:
        field = next((f for f in fields if f.spec is spec), None)
        shown = field.present if field else rng.random() < 0.6  # fields nobody asked for are distractors
        drawn = _draw(spec.kind, rng, fake, currency)
        if shown:
            label = rng.choice(spec.labels)
            entries.append((label.upper() if upper else label, drawn.printed.upper() if upper else drawn.printed))
        if field:
            gold[field.key] = _gold(spec.kind, drawn, field.typed, upper) if shown else None
    if layout != "prose" and rng.random() < 0.3:
        rng.shuffle(entries)

    properties = {f.key: _property(f, rng, describe and rng.random() < 0.85) for f in fields}
    items_lines: list[str] = []
    if kind.items and rng.random() < 0.8:
        items_key = _style_name(kind.items_name, style)
        item_fields = [f for f in kind.items if f.name in ("description", "test") or rng.random() < 0.75]
        typed = {f.name: _typed_choice(f.kind, rng) for f in item_fields}
        rows, values = [], []
        for _ in range(rng.randint(1, 6)):
            row, value = [], {}
            for spec in item_fields:
                drawn = _draw(spec.kind, rng, fake, currency)
                row.append((drawn.printed.upper() if upper else drawn.printed) or "-")
                value[_style_name(spec.name, style)] = _gold(spec.kind, drawn, typed[spec.name], upper) if drawn.printed else None
            rows.append(row)
            values.append(value)
        header = [rng.choice(spec.labels) for spec in item_fields]
        items_lines = table_lines(rng, header, rows, upper)
        item_props = {_style_name(s.name, style): _property(_Field(s, "", typed[s.name], True), rng, describe) for s in item_fields}
        properties[items_key] = {"type": "array", "items": {"type": "object", "properties": item_props}}
        if describe:
            properties[items_key]["description"] = f"Each {rng.choice(['line', 'row', 'entry'])} of the {kind.items_name} table, in order."
        gold[items_key] = values
    title = rng.choice(kind.titles)
    schema: dict[str, Any] = {"title": kind_name.replace("_", " "), "type": "object", "properties": properties}
    required = rng.choice(["none", "some", "all"])
    if required != "none":
        schema["required"] = [k for k in properties if (required == "all" or rng.random() < 0.4) and gold.get(k) is not None]
    filler = rng.sample(kind.filler, rng.randint(0, len(kind.filler))) if kind.filler else []
    text, fmt = _render(rng, title.upper() if upper else title, entries, items_lines, filler, layout)
    return schema, gold, text, fmt


__all__ = ["generate", "KINDS", "DocKind", "FieldSpec"]
