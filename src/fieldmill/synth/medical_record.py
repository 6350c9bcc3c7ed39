"""Synthetic hospital discharge summaries with their exact gold records.

Distractors a reader must ignore: an earlier admission date, vital signs at
discharge beside those at admission, and the primary care physician beside the
attending.
"""

from __future__ import annotations

import datetime as dt
import random

from faker import Faker

from fieldmill.synth.surface import fmt_date

_DIAGNOSES = [
    ("Community-acquired pneumonia", "J18.9"), ("COPD with acute exacerbation", "J44.1"), ("Acute on chronic systolic heart failure", "I50.23"),
    ("Atrial fibrillation with rapid ventricular response", "I48.91"), ("Urinary tract infection", "N39.0"), ("Sepsis, unspecified organism", "A41.9"),
    ("Type 2 diabetes mellitus with hyperglycemia", "E11.65"), ("Essential hypertension", "I10"), ("Acute kidney injury", "N17.9"),
    ("Cellulitis of right lower limb", "L03.115"), ("Pulmonary embolism", "I26.99"), ("Upper gastrointestinal bleeding", "K92.2"),
    ("Acute appendicitis", "K35.80"), ("Acute cholecystitis", "K81.0"), ("Ischemic stroke", "I63.9"), ("NSTEMI", "I21.4"),
    ("Hyponatremia", "E87.1"), ("Iron deficiency anemia", "D50.9"), ("Acute pancreatitis", "K85.90"), ("Asthma exacerbation", "J45.901"),
]
_PROCEDURES = ["Laparoscopic appendectomy", "Laparoscopic cholecystectomy", "Upper endoscopy", "Transthoracic echocardiogram", "Cardiac catheterization",
               "CT pulmonary angiogram", "Blood transfusion, 2 units", "Central line placement", "Lumbar puncture", "Thoracentesis"]
_ALLERGIES = ["penicillin", "sulfa drugs", "latex", "codeine", "peanuts", "iodinated contrast", "aspirin", "morphine"]
# (name, unit, low, high, decimals): reference range used to print and to flag.
_LABS = [("Hemoglobin", "g/dL", 12.0, 16.0, 1), ("WBC", "x10^9/L", 4.0, 11.0, 1), ("Sodium", "mmol/L", 135, 145, 0), ("Potassium", "mmol/L", 3.5, 5.1, 1),
         ("Creatinine", "mg/dL", 0.6, 1.2, 2), ("Glucose", "mg/dL", 70, 140, 0), ("CRP", "mg/L", 0, 10, 0), ("Troponin I", "ng/mL", 0, 0.04, 2),
         ("Platelets", "x10^9/L", 150, 400, 0), ("HbA1c", "%", 4.0, 5.6, 1)]
# (name, dose, route, frequencies as written)
_MEDICATIONS = [("Metformin", "500 mg", "oral", ["twice daily", "BID"]), ("Lisinopril", "10 mg", "oral", ["once daily", "daily"]),
                ("Apixaban", "5 mg", "oral", ["twice daily", "BID"]), ("Furosemide", "40 mg", "oral", ["once daily", "every morning"]),
                ("Atorvastatin", "40 mg", "oral", ["at bedtime", "nightly"]), ("Metoprolol succinate", "50 mg", "oral", ["once daily"]),
                ("Insulin glargine", "18 units", "subcutaneous", ["at bedtime"]), ("Albuterol", "2 puffs", "inhaled", ["every 4 hours as needed", "q4h PRN"]),
                ("Amoxicillin", "500 mg", "oral", ["three times daily", "TID"]), ("Pantoprazole", "40 mg", "oral", ["once daily before breakfast"]),
                ("Enoxaparin", "40 mg", "subcutaneous", ["once daily"]), ("Ferrous sulfate", "325 mg", "oral", ["once daily"])]
_ROUTE_WORDS = {"oral": ["PO", "oral", "by mouth"], "subcutaneous": ["SC", "subcutaneous"], "inhaled": ["inhaled", "INH"]}
_STOPPED = ["ibuprofen", "naproxen", "glipizide", "hydrochlorothiazide", "amlodipine", "tramadol"]
_PENDING = ["blood cultures", "urine culture", "pathology of surgical specimen", "hepatitis panel"]
_ADMISSION = {"emergency": ["via the Emergency Department", "through the ED", "emergency admission"], "elective": ["elective admission", "planned admission"],
              "urgent": ["urgent admission from clinic"], "transfer": ["transfer from an outside hospital"]}
_DISPOSITION = {"home": ["Home", "Discharged home"], "home_with_services": ["Home with home health services", "Home with visiting nurse"],
                "skilled_nursing_facility": ["Skilled nursing facility", "SNF"], "rehabilitation": ["Inpatient rehabilitation", "Rehab facility"]}
_CODE = {"full_code": ["Full code", "FULL CODE"], "dnr": ["DNR"], "dnr_dni": ["DNR/DNI"], "comfort_care": ["Comfort care only"]}
_SMOKING = {"never": ["never smoker", "Never smoked"], "former": ["former smoker", "quit smoking"], "current": ["current smoker", "smokes daily"]}
_DEPARTMENTS = ["Internal Medicine", "Cardiology", "General Surgery", "Pulmonology", "Hospital Medicine", "Nephrology"]
_DIETS = ["regular", "low sodium", "diabetic", "cardiac", "soft"]
_ACTIVITIES = ["As tolerated", "No heavy lifting for 2 weeks", "Walk daily, increase gradually"]


def _doctor(fake: Faker) -> str:
    return f"Dr. {fake.first_name()} {fake.last_name()}"


def generate(rng: random.Random) -> tuple[dict, list[tuple[str, list[tuple[str, str]]]], str]:
    fake = Faker(rng.choice(["en_US", "en_GB"]))
    fake.seed_instance(rng.randrange(1 << 30))
    admission = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(1200))
    discharge = admission + dt.timedelta(days=rng.randint(1, 14))
    age = rng.randint(18, 95)
    birth = admission.replace(year=admission.year - age - 1) + dt.timedelta(days=rng.randint(1, 364))
    age = admission.year - birth.year - ((admission.month, admission.day) < (birth.month, birth.day))
    diagnoses = rng.sample(_DIAGNOSES, rng.randint(1, 4))
    with_codes = rng.random() < 0.7
    attending = _doctor(fake)
    pcp = _doctor(fake) if rng.random() < 0.7 else None
    allergies = sorted(rng.sample(_ALLERGIES, rng.choice([0, 0, 1, 1, 2, 3])))
    meds = rng.sample(_MEDICATIONS, rng.randint(1, 5))
    systolic = rng.randint(95, 185)
    gold = {
        "document_type": "discharge_summary",
        "facility_name": None if rng.random() < 0.1 else f"{fake.last_name()} {rng.choice(['General Hospital', 'Medical Center', 'Regional Hospital', 'Memorial Hospital'])}",
        "department": rng.choice(_DEPARTMENTS) if rng.random() < 0.8 else None,
        "patient_name": f"{fake.first_name()} {fake.last_name()}",
        "medical_record_number": fake.bothify(rng.choice(["########", "MRN-######", "H#######"])) if rng.random() < 0.9 else None,
        "date_of_birth": birth if rng.random() < 0.85 else None,
        "sex": rng.choice(["female", "male"]),
        "age_years": age if rng.random() < 0.8 else None,
        "admission_date": admission,
        "discharge_date": discharge,
        "admission_type": rng.choice(["emergency", "emergency", "elective", "urgent", "transfer"]) if rng.random() < 0.85 else None,
        "attending_physician": attending,
        "primary_care_physician": pcp,
        "chief_complaint": None if rng.random() < 0.1 else rng.choice(["shortness of breath", "chest pain", "fever and cough", "abdominal pain", "confusion", "leg swelling", "palpitations"]),
        "history_of_present_illness": None,  # filled below from the age and complaint
        "principal_diagnosis": {"description": diagnoses[0][0], "icd10_code": diagnoses[0][1] if with_codes else None},
        "secondary_diagnoses": [{"description": d, "icd10_code": c if with_codes else None} for d, c in diagnoses[1:]],
        "procedures": [{"name": p, "date": admission + dt.timedelta(days=rng.randint(0, (discharge - admission).days))}
                       for p in rng.sample(_PROCEDURES, rng.choice([0, 0, 1, 1, 2]))],
        "allergies": allergies,
        "no_known_allergies": True if not allergies and rng.random() < 0.6 else None,
        "temperature_c": round(rng.uniform(36.0, 39.9), 1),
        "heart_rate_bpm": rng.randint(55, 135),
        "systolic_bp_mmhg": systolic,
        "diastolic_bp_mmhg": rng.randint(50, min(110, systolic - 20)),
        "respiratory_rate": rng.randint(12, 30),
        "oxygen_saturation_percent": rng.randint(84, 100),
        "weight_kg": round(rng.uniform(45, 130), 1) if rng.random() < 0.7 else None,
        "height_cm": float(rng.randint(150, 195)) if rng.random() < 0.5 else None,
        "lab_results": [_lab(rng, lab) for lab in rng.sample(_LABS, rng.randint(1, 6))],
        "hospital_course": None,
        "condition_at_discharge": rng.choice(["improved", "improved", "stable", "guarded"]) if rng.random() < 0.9 else None,
        "discharge_disposition": None if rng.random() < 0.1 else rng.choice(["home", "home", "home_with_services", "skilled_nursing_facility", "rehabilitation"]),
        "code_status": rng.choice(["full_code", "full_code", "dnr", "dnr_dni"]) if rng.random() < 0.7 else None,
        "discharge_medications": [{"name": n, "dose": d, "route": r, "frequency": rng.choice(f)} for n, d, r, f in meds],
        "medications_stopped": rng.sample(_STOPPED, rng.choice([0, 0, 1, 2])),
        "follow_up_provider": (pcp if pcp and rng.random() < 0.6 else f"{rng.choice(['Cardiology', 'Pulmonology', 'Surgery', 'Diabetes'])} clinic") if rng.random() < 0.85 else None,
        "follow_up_date": None,
        "follow_up_instructions": rng.choice([None, "Repeat blood tests in one week", "Return to the ED if symptoms worsen"]),
        "diet": rng.choice(_DIETS) if rng.random() < 0.6 else None,
        "activity": rng.choice(_ACTIVITIES) if rng.random() < 0.5 else None,
        "smoking_status": rng.choice(["never", "former", "current"]) if rng.random() < 0.7 else None,
        "pending_results": rng.sample(_PENDING, rng.choice([0, 0, 0, 1, 2])),
        "discharging_physician": _doctor(fake) if rng.random() < 0.3 else None,
    }
    if gold["follow_up_provider"]:
        gold["follow_up_date"] = discharge + dt.timedelta(days=rng.randint(4, 30))
    sex_word = "woman" if gold["sex"] == "female" else "man"
    who = f"{age}-year-old {sex_word}" if gold["age_years"] else f"A {sex_word}"
    gold["history_of_present_illness"] = (
        f"{who} presenting with {gold['chief_complaint'] or 'worsening symptoms'} for {rng.randint(1, 10)} days; "
        f"found to have {diagnoses[0][0].lower()}."
    )
    gold["hospital_course"] = rng.choice([
        f"Treated for {diagnoses[0][0].lower()} with good response; symptoms resolved by day {rng.randint(1, 3)}.",
        f"Managed medically for {diagnoses[0][0].lower()}; clinically stable for discharge.",
    ])
    return gold, _sections(rng, gold), rng.choice(["Discharge Summary", "Hospital Discharge Summary", "Discharge Note"])


def _lab(rng: random.Random, lab: tuple) -> dict:
    name, unit, low, high, decimals = lab
    span = high - low
    value = round(rng.uniform(max(0.0, low - span * 0.4), high + span * 0.8), decimals)
    value = float(value)
    flag = "high" if value > high else "low" if value < low else None
    return {"test": name, "value": value, "unit": unit, "flag": flag}


def _fmt_number(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def _sections(rng: random.Random, gold: dict) -> list[tuple[str, list[tuple[str, str]]]]:
    date = lambda value: fmt_date(rng, value)  # noqa: E731
    sex = {"female": rng.choice(["F", "Female"]), "male": rng.choice(["M", "Male"])}[gold["sex"]]
    header = [("Facility", gold["facility_name"])] if gold["facility_name"] else []
    if gold["department"]:
        header.append((rng.choice(["Service", "Department"]), gold["department"]))
    patient = [("Patient", gold["patient_name"])]
    if gold["medical_record_number"]:
        patient.append((rng.choice(["MRN", "Medical record no.", "Hospital number"]), gold["medical_record_number"]))
    if gold["date_of_birth"]:
        patient.append((rng.choice(["DOB", "Date of birth"]), date(gold["date_of_birth"])))
    patient.append(("Sex", sex))
    how = f" ({rng.choice(_ADMISSION[gold['admission_type']])})" if gold["admission_type"] else ""
    stay = [(rng.choice(["Admitted", "Admission date", "Date of admission"]), date(gold["admission_date"]) + how),
            (rng.choice(["Discharged", "Discharge date", "Date of discharge"]), date(gold["discharge_date"])),
            (rng.choice(["Attending", "Attending physician", "Consultant"]), gold["attending_physician"])]
    if gold["primary_care_physician"]:
        stay.append((rng.choice(["PCP", "Primary care physician", "GP"]), gold["primary_care_physician"]))
    history = [("Chief complaint", gold["chief_complaint"])] if gold["chief_complaint"] else []
    history.append(("History of present illness", gold["history_of_present_illness"]))
    if rng.random() < 0.5:  # distractor: an earlier stay
        earlier = gold["admission_date"] - dt.timedelta(days=rng.randint(60, 900))
        history.append(("", f"Previous admission on {date(earlier)} for {rng.choice(['a hip fracture', 'pneumonia', 'chest pain', 'a fall'])}."))
    if gold["smoking_status"]:
        history.append(("Social history", rng.choice(_SMOKING[gold["smoking_status"]])))
    if gold["allergies"]:
        history.append(("Allergies", ", ".join(gold["allergies"])))
    elif gold["no_known_allergies"]:
        history.append(("Allergies", rng.choice(["NKDA", "No known drug allergies", "NKA"])))
    vitals = [("Admission vitals", _vitals(rng, gold["temperature_c"], gold["heart_rate_bpm"], gold["systolic_bp_mmhg"], gold["diastolic_bp_mmhg"],
                                           gold["respiratory_rate"], gold["oxygen_saturation_percent"]))]
    body = [x for x in (f"Weight {_fmt_number(gold['weight_kg'])} kg" if gold["weight_kg"] else None,
                        f"Height {_fmt_number(gold['height_cm'])} cm" if gold["height_cm"] else None) if x]
    if body:
        vitals.append(("", ", ".join(body)))
    if rng.random() < 0.6:  # distractor: vitals at discharge
        vitals.append(("Vitals at discharge", _vitals(rng, 36.8, rng.randint(60, 90), 124, 76, 16, 97)))
    diagnoses = [("Principal diagnosis", _diagnosis(gold["principal_diagnosis"]))]
    diagnoses += [("Secondary diagnosis" if len(gold["secondary_diagnoses"]) == 1 else f"Secondary diagnosis {i}", _diagnosis(d))
                  for i, d in enumerate(gold["secondary_diagnoses"], 1)]
    procedures = [("", f"{p['name']} on {date(p['date'])}") for p in gold["procedures"]] or [("", rng.choice(["None", "No procedures performed."]))]
    labs = [("", f"{lab['test']} {_fmt_number(lab['value'])} {lab['unit']}" + {"high": " (H)", "low": " (L)", None: ""}[lab["flag"]]) for lab in gold["lab_results"]]
    course = [("", gold["hospital_course"])]
    outcome = []
    if gold["condition_at_discharge"]:
        outcome.append(("Condition at discharge", gold["condition_at_discharge"].capitalize()))
    if gold["discharge_disposition"]:
        outcome.append((rng.choice(["Disposition", "Discharged to"]), rng.choice(_DISPOSITION[gold["discharge_disposition"]])))
    if gold["code_status"]:
        outcome.append(("Code status", rng.choice(_CODE[gold["code_status"]])))
    meds = [("", f"{m['name']} {m['dose']} {rng.choice(_ROUTE_WORDS[m['route']])} {m['frequency']}") for m in gold["discharge_medications"]]
    if gold["medications_stopped"]:
        meds.append((rng.choice(["Stopped", "Discontinued"]), ", ".join(gold["medications_stopped"])))
    follow = []
    if gold["follow_up_provider"]:
        follow.append(("Follow-up", f"{gold['follow_up_provider']} on {date(gold['follow_up_date'])}"))
    if gold["follow_up_instructions"]:
        follow.append(("Instructions", gold["follow_up_instructions"]))
    if gold["diet"]:
        follow.append(("Diet", gold["diet"]))
    if gold["activity"]:
        follow.append(("Activity", gold["activity"]))
    if gold["pending_results"]:
        follow.append(("Pending at discharge", ", ".join(gold["pending_results"])))
    signer = gold["discharging_physician"] or gold["attending_physician"]
    middle = [("Diagnoses", diagnoses), ("Procedures", procedures), ("Laboratory results", labs), ("Hospital course", course)]
    rng.shuffle(middle)
    sections = [("", header), ("Patient", patient), ("Admission", stay), ("History", history), ("Examination", vitals), *middle,
                ("Discharge", outcome), ("Discharge medications", meds)]
    if follow:
        sections.append(("Follow-up and instructions", follow))
    sections.append(("", [("", f"{rng.choice(['Electronically signed by', 'Dictated by'])} {signer}")]))
    return sections


def _vitals(rng: random.Random, temp_c: float, hr: int, sys_bp: int, dia_bp: int, rr: int, spo2: int) -> str:
    temperature = f"T {temp_c:.1f} C" if rng.random() < 0.6 else f"Temp {temp_c * 9 / 5 + 32:.1f} F ({temp_c:.1f} C)"
    return f"{temperature}, {rng.choice(['HR', 'Pulse'])} {hr}, BP {sys_bp}/{dia_bp}, RR {rr}, SpO2 {spo2}%"


def _diagnosis(diagnosis: dict) -> str:
    return f"{diagnosis['description']} ({diagnosis['icd10_code']})" if diagnosis["icd10_code"] else diagnosis["description"]
