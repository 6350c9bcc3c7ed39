"""Medical record: a hospital discharge summary (patient, stay, diagnoses, vitals, labs, medications, follow-up)."""

from __future__ import annotations

import datetime as dt
from typing import Literal, Optional

from pydantic import Field, model_validator

from fieldmill_schemas._common import Record, short_text, text

# ICD-10-CM: a letter (U is reserved), two characters, then an optional dot and up to four more.
ICD10_PATTERN = r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$"


class Diagnosis(Record):
    description: str = text(100, "The diagnosis as written, e.g. 'Community-acquired pneumonia'.", min_length=1)
    icd10_code: Optional[str] = Field(None, description="ICD-10 code of the diagnosis if printed, e.g. 'J18.9'.", pattern=ICD10_PATTERN)


class Procedure(Record):
    name: str = text(100, "Procedure or operation performed during the stay.", min_length=1)
    date: Optional[dt.date] = Field(None, description="Date the procedure was performed.")


class LabResult(Record):
    test: str = text(40, "Name of the laboratory test, e.g. 'Hemoglobin'.", min_length=1)
    value: float = Field(description="Numeric result of the test.", ge=-1000, le=100000)
    unit: Optional[str] = text(20, "Unit of the result, e.g. 'g/dL' or 'mmol/L'.")
    flag: Optional[Literal["high", "low", "normal", "critical"]] = Field(None, description="Flag printed beside the result (H, L, normal, critical).")


class Medication(Record):
    name: str = text(60, "Drug name, generic or brand, as written.", min_length=1)
    dose: Optional[str] = text(30, "Dose with its unit, e.g. '500 mg'.")
    route: Optional[Literal["oral", "intravenous", "intramuscular", "subcutaneous", "inhaled", "topical", "other"]] = Field(
        None, description="How the drug is given (PO = oral, IV = intravenous, SC = subcutaneous)."
    )
    frequency: Optional[str] = text(30, "How often, as written, e.g. 'twice daily' or 'q8h'.")


EXAMPLE_DOCUMENT = """DISCHARGE SUMMARY - St. Agnes Regional Hospital, Internal Medicine
Patient: Maria Lindqvist    MRN: 00482913    DOB: 14/02/1951    Sex: F
Admitted: 3 Jan 2025 via Emergency Department    Discharged: 2025-01-08
Attending: Dr. Paul Okafor    Primary care: Dr. Ana Ruiz
Previous admission 12 Jun 2023 for a hip fracture.
Chief complaint: fever and productive cough for four days.
HPI: 73-year-old woman with COPD presenting with fever, cough and hypoxia; chest X-ray showed a right lower lobe infiltrate.
Admission vitals: T 38.6 C, HR 104, BP 138/84, RR 24, SpO2 89% on room air. Weight 61.5 kg, height 162 cm.
Diagnoses: 1. Community-acquired pneumonia (J18.9). 2. COPD with acute exacerbation (J44.1).
Procedures: none.
Labs: WBC 14.2 x10^9/L (H); CRP 87 mg/L (H); Sodium 138 mmol/L.
Allergies: penicillin (rash).
Hospital course: treated with IV ceftriaxone, then oral antibiotics; oxygen weaned on day 4.
Condition at discharge: improved. Discharged home. Code status: full code.
Discharge medications: Amoxicillin-clavulanate 875 mg PO twice daily for 5 days; Tiotropium 18 mcg inhaled once daily.
Stopped: ibuprofen.
Follow-up: Dr. Ana Ruiz on 15 January 2025. Diet: regular. Smoking: former smoker.
"""

EXAMPLE_RECORD = {
    "document_type": "discharge_summary", "facility_name": "St. Agnes Regional Hospital", "department": "Internal Medicine",
    "patient_name": "Maria Lindqvist", "medical_record_number": "00482913", "date_of_birth": "1951-02-14", "sex": "female",
    "age_years": 73, "admission_date": "2025-01-03", "discharge_date": "2025-01-08", "admission_type": "emergency",
    "attending_physician": "Dr. Paul Okafor", "primary_care_physician": "Dr. Ana Ruiz",
    "chief_complaint": "fever and productive cough for four days",
    "history_of_present_illness": "73-year-old woman with COPD presenting with fever, cough and hypoxia; chest X-ray showed a right lower lobe infiltrate.",
    "principal_diagnosis": {"description": "Community-acquired pneumonia", "icd10_code": "J18.9"},
    "secondary_diagnoses": [{"description": "COPD with acute exacerbation", "icd10_code": "J44.1"}],
    "procedures": [], "allergies": ["penicillin"], "no_known_allergies": False,
    "temperature_c": 38.6, "heart_rate_bpm": 104, "systolic_bp_mmhg": 138, "diastolic_bp_mmhg": 84, "respiratory_rate": 24,
    "oxygen_saturation_percent": 89, "weight_kg": 61.5, "height_cm": 162,
    "lab_results": [
        {"test": "WBC", "value": 14.2, "unit": "x10^9/L", "flag": "high"},
        {"test": "CRP", "value": 87, "unit": "mg/L", "flag": "high"},
        {"test": "Sodium", "value": 138, "unit": "mmol/L", "flag": None},
    ],
    "hospital_course": "Treated with IV ceftriaxone, then oral antibiotics; oxygen weaned on day 4.",
    "condition_at_discharge": "improved", "discharge_disposition": "home", "code_status": "full_code",
    "discharge_medications": [
        {"name": "Amoxicillin-clavulanate", "dose": "875 mg", "route": "oral", "frequency": "twice daily"},
        {"name": "Tiotropium", "dose": "18 mcg", "route": "inhaled", "frequency": "once daily"},
    ],
    "medications_stopped": ["ibuprofen"], "follow_up_provider": "Dr. Ana Ruiz", "follow_up_date": "2025-01-15",
    "follow_up_instructions": None, "diet": "regular", "activity": None, "smoking_status": "former",
    "pending_results": [], "discharging_physician": None,
}


class MedicalRecord(Record):
    document_type: Literal["discharge_summary", "progress_note", "consultation_note", "emergency_note", "other"] = Field(
        description="Kind of clinical document."
    )
    facility_name: Optional[str] = text(100, "Hospital or clinic that wrote the document.")
    department: Optional[str] = text(60, "Ward, service or department, e.g. 'Cardiology'.")
    patient_name: str = text(80, "Full name of the patient.", min_length=1)
    medical_record_number: Optional[str] = text(24, "The patient's medical record number (MRN) or hospital number, exactly as printed.")
    date_of_birth: Optional[dt.date] = Field(None, description="The patient's date of birth.")
    sex: Optional[Literal["female", "male", "other", "unknown"]] = Field(None, description="The patient's sex (F = female, M = male).")
    age_years: Optional[int] = Field(None, description="Age in years at admission, if stated.", ge=0, le=120)
    admission_date: dt.date = Field(description="Date of admission for this stay (not earlier admissions).")
    discharge_date: Optional[dt.date] = Field(None, description="Date of discharge; on or after the admission date.")
    admission_type: Optional[Literal["emergency", "urgent", "elective", "transfer"]] = Field(
        None, description="How the patient was admitted (via the emergency department = emergency; planned = elective; from another hospital = transfer)."
    )
    attending_physician: Optional[str] = text(80, "Attending or responsible physician for the stay.")
    primary_care_physician: Optional[str] = text(80, "The patient's primary care physician / GP, if named.")
    chief_complaint: Optional[str] = text(160, "Reason for admission in the patient's or writer's words.")
    history_of_present_illness: Optional[str] = text(240, "Short summary of the history of the present illness.")
    principal_diagnosis: Diagnosis = Field(description="The main diagnosis responsible for the stay (listed first).")
    secondary_diagnoses: list[Diagnosis] = Field(description="Other diagnoses treated or relevant during the stay.", max_length=5)
    procedures: list[Procedure] = Field(description="Procedures and operations performed; empty if none.", max_length=4)
    allergies: list[short_text(40)] = Field(description="Substances the patient is allergic to, one per item (just the substance).", max_length=8)
    no_known_allergies: Optional[bool] = Field(None, description="True when the document states no known allergies (NKDA/NKA).")
    temperature_c: Optional[float] = Field(None, description="Body temperature at admission in degrees Celsius (convert from Fahrenheit if needed).", ge=25, le=45)
    heart_rate_bpm: Optional[int] = Field(None, description="Heart rate / pulse at admission, beats per minute.", ge=10, le=300)
    systolic_bp_mmhg: Optional[int] = Field(None, description="Systolic blood pressure at admission (first number of 'BP 138/84').", ge=40, le=300)
    diastolic_bp_mmhg: Optional[int] = Field(None, description="Diastolic blood pressure at admission (second number of 'BP 138/84').", ge=20, le=200)
    respiratory_rate: Optional[int] = Field(None, description="Respiratory rate at admission, breaths per minute.", ge=2, le=80)
    oxygen_saturation_percent: Optional[int] = Field(None, description="Oxygen saturation (SpO2) at admission in percent.", ge=30, le=100)
    weight_kg: Optional[float] = Field(None, description="Body weight in kilograms (convert from pounds if needed).", ge=0.3, le=400)
    height_cm: Optional[float] = Field(None, description="Height in centimetres.", ge=20, le=250)
    lab_results: list[LabResult] = Field(description="Laboratory results listed in the document.", max_length=8)
    hospital_course: Optional[str] = text(240, "Short summary of the hospital course.")
    condition_at_discharge: Optional[Literal["improved", "stable", "unchanged", "guarded", "critical", "deceased"]] = Field(
        None, description="Condition of the patient at discharge."
    )
    discharge_disposition: Optional[Literal[
        "home", "home_with_services", "skilled_nursing_facility", "rehabilitation", "transferred", "against_medical_advice", "deceased"
    ]] = Field(None, description="Where the patient went at discharge.")
    code_status: Optional[Literal["full_code", "dnr", "dnr_dni", "comfort_care"]] = Field(None, description="Resuscitation / code status.")
    discharge_medications: list[Medication] = Field(description="Medications to take after discharge.", max_length=8)
    medications_stopped: list[short_text(60)] = Field(description="Medications stopped or discontinued, names only.", max_length=6)
    follow_up_provider: Optional[str] = text(80, "Clinician or clinic for the follow-up appointment.")
    follow_up_date: Optional[dt.date] = Field(None, description="Date of the follow-up appointment; after the discharge date.")
    follow_up_instructions: Optional[str] = text(200, "Other follow-up instructions, as written.")
    diet: Optional[str] = text(60, "Diet at discharge, e.g. 'low sodium'.")
    activity: Optional[str] = text(80, "Activity instructions at discharge.")
    smoking_status: Optional[Literal["never", "former", "current", "unknown"]] = Field(None, description="Tobacco smoking status.")
    pending_results: list[short_text(80)] = Field(description="Tests whose results were still pending at discharge.", max_length=4)
    discharging_physician: Optional[str] = text(80, "Physician who signed or dictated the summary, if different from the attending.")

    model_config = Record.model_config | {"json_schema_extra": {"examples": [EXAMPLE_RECORD], "x-example-document": EXAMPLE_DOCUMENT}}

    @model_validator(mode="after")
    def _consistent(self):
        if self.discharge_date and self.discharge_date < self.admission_date:
            raise ValueError(f"discharge_date {self.discharge_date} is before admission_date {self.admission_date}")
        if self.date_of_birth and self.date_of_birth > self.admission_date:
            raise ValueError(f"date_of_birth {self.date_of_birth} is after admission_date {self.admission_date}")
        if self.follow_up_date and self.follow_up_date < (self.discharge_date or self.admission_date):
            raise ValueError(f"follow_up_date {self.follow_up_date} is before the discharge")
        if self.systolic_bp_mmhg is not None and self.diastolic_bp_mmhg is not None and self.systolic_bp_mmhg <= self.diastolic_bp_mmhg:
            raise ValueError(f"systolic pressure {self.systolic_bp_mmhg} is not above diastolic {self.diastolic_bp_mmhg}")
        if self.no_known_allergies and self.allergies:
            raise ValueError("no_known_allergies is true but allergies are listed")
        if (self.discharge_disposition == "deceased") != (self.condition_at_discharge == "deceased") and None not in (
            self.discharge_disposition, self.condition_at_discharge
        ):
            raise ValueError("deceased must be both the condition and the disposition, or neither")
        return self


SCHEMA = MedicalRecord
