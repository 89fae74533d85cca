//! The resource types telemed serves and, for each, the search parameters and sort keys
//! it understands. The search parser checks requests against this table and the
//! CapabilityStatement is written from it, so what the server claims and what it does
//! cannot drift apart.

use telemed_domain::record::Section;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceType {
    Patient,
    Practitioner,
    Condition,
    AllergyIntolerance,
    MedicationStatement,
    Immunization,
    Observation,
    DiagnosticReport,
    DocumentReference,
    AuditEvent,
    Appointment,
    Encounter,
    Schedule,
    Slot,
    PractitionerRole,
    Consent,
    Communication,
    MedicationRequest,
    MedicationDispense,
}

/// How a parameter's values are written and compared (FHIR search parameter types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// `system|code`, `code`, `|code`, `system|`.
    Token,
    /// A date with an optional prefix (eq, ne, lt, le, gt, ge, sa, eb).
    Date,
    /// Text matching the start of a word, case-insensitively (`:exact`, `:contains`).
    String,
    /// `<Type>/<id>` or `<id>`, the type being the one the parameter's target refers to.
    Reference,
}

impl ParamKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamKind::Token => "token",
            ParamKind::Date => "date",
            ParamKind::String => "string",
            ParamKind::Reference => "reference",
        }
    }
}

/// What a parameter filters on, independent of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Id,
    LastUpdated,
    /// The patient a clinical resource is about.
    Patient,
    /// The clinician an appointment or encounter is with (practitioner, actor).
    Practitioner,
    /// The schedule a slot is of.
    Schedule,
    /// The kind of visit (video, audio, messaging).
    ServiceType,
    /// The entry's code (code, vaccine-code).
    Code,
    /// The entry's status, in the FHIR vocabulary of its type.
    Status,
    /// Observation category (vital-signs, laboratory).
    Category,
    /// When it happened: onset, effective time, date given.
    Effective,
    /// When it was recorded.
    Recorded,
    Name,
    Family,
    Given,
    Gender,
    BirthDate,
    Email,
    /// An identifier in another system (`system|value`).
    Identifier,
    /// A request's intent (a prescription is an `order`).
    Intent,
    /// The request a dispense was of (`MedicationRequest/<id>`).
    Prescription,
}

impl Target {
    /// The resource type a reference parameter with this target points at.
    pub fn referenced(self) -> Option<ResourceType> {
        match self {
            Target::Patient => Some(ResourceType::Patient),
            Target::Practitioner => Some(ResourceType::Practitioner),
            Target::Schedule => Some(ResourceType::Schedule),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamDef {
    pub name: &'static str,
    pub kind: ParamKind,
    pub target: Target,
    /// The definition in the FHIR specification, for the CapabilityStatement.
    pub definition: &'static str,
    pub doc: &'static str,
}

const fn param(
    name: &'static str,
    kind: ParamKind,
    target: Target,
    definition: &'static str,
    doc: &'static str,
) -> ParamDef {
    ParamDef {
        name,
        kind,
        target,
        definition,
        doc,
    }
}

const ID: ParamDef = param(
    "_id",
    ParamKind::Token,
    Target::Id,
    "http://hl7.org/fhir/SearchParameter/Resource-id",
    "The resource's id",
);
const LAST_UPDATED: ParamDef = param(
    "_lastUpdated",
    ParamKind::Date,
    Target::LastUpdated,
    "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated",
    "When the resource last changed",
);

const fn patient_ref(name: &'static str, definition: &'static str) -> ParamDef {
    param(
        name,
        ParamKind::Reference,
        Target::Patient,
        definition,
        "The patient (required unless the token has a patient context)",
    )
}

/// `patient` on the clinical resources (the one definition they share).
const CLINICAL_PATIENT: ParamDef = patient_ref(
    "patient",
    "http://hl7.org/fhir/SearchParameter/clinical-patient",
);

const FAMILY: ParamDef = param(
    "family",
    ParamKind::String,
    Target::Family,
    "http://hl7.org/fhir/SearchParameter/individual-family",
    "Start of the family name",
);
const GIVEN: ParamDef = param(
    "given",
    ParamKind::String,
    Target::Given,
    "http://hl7.org/fhir/SearchParameter/individual-given",
    "Start of a given name",
);

const PATIENT_PARAMS: &[ParamDef] = &[
    ID,
    LAST_UPDATED,
    param(
        "name",
        ParamKind::String,
        Target::Name,
        "http://hl7.org/fhir/SearchParameter/Patient-name",
        "Start of any part of the name",
    ),
    FAMILY,
    GIVEN,
    param(
        "gender",
        ParamKind::Token,
        Target::Gender,
        "http://hl7.org/fhir/SearchParameter/individual-gender",
        "female | male | other | unknown",
    ),
    param(
        "birthdate",
        ParamKind::Date,
        Target::BirthDate,
        "http://hl7.org/fhir/SearchParameter/individual-birthdate",
        "Date of birth, with prefixes",
    ),
    param(
        "email",
        ParamKind::Token,
        Target::Email,
        "http://hl7.org/fhir/SearchParameter/individual-email",
        "The e-mail address (exact, case-insensitive)",
    ),
    param(
        "identifier",
        ParamKind::Token,
        Target::Identifier,
        "http://hl7.org/fhir/SearchParameter/Patient-identifier",
        "An identifier in another system: system|value, or value",
    ),
];

const PRACTITIONER_PARAMS: &[ParamDef] = &[
    ID,
    param(
        "name",
        ParamKind::String,
        Target::Name,
        "http://hl7.org/fhir/SearchParameter/Practitioner-name",
        "Start of any part of the name",
    ),
    FAMILY,
    GIVEN,
];

const CONDITION_PARAMS: &[ParamDef] = &[
    ID,
    LAST_UPDATED,
    CLINICAL_PATIENT,
    patient_ref(
        "subject",
        "http://hl7.org/fhir/SearchParameter/Condition-subject",
    ),
    param(
        "code",
        ParamKind::Token,
        Target::Code,
        "http://hl7.org/fhir/SearchParameter/clinical-code",
        "ICD-10 or SNOMED CT code",
    ),
    param(
        "clinical-status",
        ParamKind::Token,
        Target::Status,
        "http://hl7.org/fhir/SearchParameter/Condition-clinical-status",
        "active | inactive | resolved",
    ),
    param(
        "onset-date",
        ParamKind::Date,
        Target::Effective,
        "http://hl7.org/fhir/SearchParameter/Condition-onset-date",
        "Onset, with prefixes",
    ),
    param(
        "recorded-date",
        ParamKind::Date,
        Target::Recorded,
        "http://hl7.org/fhir/SearchParameter/Condition-recorded-date",
        "When it was recorded",
    ),
];

const ALLERGY_PARAMS: &[ParamDef] = &[
    ID,
    LAST_UPDATED,
    CLINICAL_PATIENT,
    param(
        "code",
        ParamKind::Token,
        Target::Code,
        "http://hl7.org/fhir/SearchParameter/clinical-code",
        "The substance's code",
    ),
    param(
        "clinical-status",
        ParamKind::Token,
        Target::Status,
        "http://hl7.org/fhir/SearchParameter/AllergyIntolerance-clinical-status",
        "active | inactive | resolved",
    ),
    param(
        "date",
        ParamKind::Date,
        Target::Recorded,
        "http://hl7.org/fhir/SearchParameter/clinical-date",
        "When it was recorded",
    ),
];

const MEDICATION_STATEMENT_PARAMS: &[ParamDef] = &[
    ID,
    LAST_UPDATED,
    CLINICAL_PATIENT,
    patient_ref(
        "subject",
        "http://hl7.org/fhir/SearchParameter/MedicationStatement-subject",
    ),
    param(
        "code",
        ParamKind::Token,
        Target::Code,
        "http://hl7.org/fhir/SearchParameter/clinical-code",
        "RxNorm code of the medication",
    ),
    param(
        "status",
        ParamKind::Token,
        Target::Status,
        "http://hl7.org/fhir/SearchParameter/medications-status",
        "active | stopped | entered-in-error",
    ),
    param(
        "effective",
        ParamKind::Date,
        Target::Effective,
        "http://hl7.org/fhir/SearchParameter/MedicationStatement-effective",
        "When it was started",
    ),
];

const IMMUNIZATION_PARAMS: &[ParamDef] = &[
    ID,
    LAST_UPDATED,
    CLINICAL_PATIENT,
    param(
        "vaccine-code",
        ParamKind::Token,
        Target::Code,
        "http://hl7.org/fhir/SearchParameter/Immunization-vaccine-code",
        "CVX code of the vaccine",
    ),
    param(
        "status",
        ParamKind::Token,
        Target::Status,
        "http://hl7.org/fhir/SearchParameter/Immunization-status",
        "completed | entered-in-error",
    ),
    param(
        "date",
        ParamKind::Date,
        Target::Effective,
        "http://hl7.org/fhir/SearchParameter/clinical-date",
        "When it was given",
    ),
];

const DOCUMENT_PARAMS: &[ParamDef] = &[
    ID,
    LAST_UPDATED,
    CLINICAL_PATIENT,
    patient_ref(
        "subject",
        "http://hl7.org/fhir/SearchParameter/DocumentReference-subject",
    ),
    param(
        "category",
        ParamKind::Token,
        Target::Category,
        "http://hl7.org/fhir/SearchParameter/DocumentReference-category",
        "photo | report | lab_report | scan | imaging | letter | other",
    ),
    param(
        "status",
        ParamKind::Token,
        Target::Status,
        "http://hl7.org/fhir/SearchParameter/DocumentReference-status",
        "current | entered-in-error",
    ),
    param(
        "date",
        ParamKind::Date,
        Target::Recorded,
        "http://hl7.org/fhir/SearchParameter/DocumentReference-date",
        "When it was filed",
    ),
];

const AUDIT_EVENT_PARAMS: &[ParamDef] = &[
    patient_ref(
        "patient",
        "http://hl7.org/fhir/SearchParameter/AuditEvent-patient",
    ),
    param(
        "date",
        ParamKind::Date,
        Target::Recorded,
        "http://hl7.org/fhir/SearchParameter/AuditEvent-date",
        "When it happened",
    ),
];

const OBSERVATION_PARAMS: &[ParamDef] = &[
    ID,
    LAST_UPDATED,
    CLINICAL_PATIENT,
    patient_ref(
        "subject",
        "http://hl7.org/fhir/SearchParameter/Observation-subject",
    ),
    param(
        "code",
        ParamKind::Token,
        Target::Code,
        "http://hl7.org/fhir/SearchParameter/clinical-code",
        "LOINC code",
    ),
    param(
        "category",
        ParamKind::Token,
        Target::Category,
        "http://hl7.org/fhir/SearchParameter/Observation-category",
        "vital-signs | laboratory",
    ),
    param(
        "status",
        ParamKind::Token,
        Target::Status,
        "http://hl7.org/fhir/SearchParameter/Observation-status",
        "final | entered-in-error",
    ),
    param(
        "date",
        ParamKind::Date,
        Target::Effective,
        "http://hl7.org/fhir/SearchParameter/clinical-date",
        "When it was measured, with prefixes",
    ),
];

const DIAGNOSTIC_REPORT_PARAMS: &[ParamDef] = &[
    ID,
    LAST_UPDATED,
    CLINICAL_PATIENT,
    patient_ref(
        "subject",
        "http://hl7.org/fhir/SearchParameter/DiagnosticReport-subject",
    ),
    param(
        "code",
        ParamKind::Token,
        Target::Code,
        "http://hl7.org/fhir/SearchParameter/clinical-code",
        "LOINC code of the panel",
    ),
    param(
        "status",
        ParamKind::Token,
        Target::Status,
        "http://hl7.org/fhir/SearchParameter/DiagnosticReport-status",
        "final | entered-in-error",
    ),
    param(
        "date",
        ParamKind::Date,
        Target::Effective,
        "http://hl7.org/fhir/SearchParameter/clinical-date",
        "When the specimens were taken, with prefixes",
    ),
];

const fn practitioner_ref(name: &'static str, definition: &'static str) -> ParamDef {
    param(
        name,
        ParamKind::Reference,
        Target::Practitioner,
        definition,
        "The clinician",
    )
}

const SERVICE_TYPE: ParamDef = param(
    "service-type",
    ParamKind::Token,
    Target::ServiceType,
    "http://hl7.org/fhir/SearchParameter/Appointment-service-type",
    "video | audio | messaging",
);

const APPOINTMENT_PARAMS: &[ParamDef] = &[
    ID,
    LAST_UPDATED,
    patient_ref(
        "patient",
        "http://hl7.org/fhir/SearchParameter/Appointment-patient",
    ),
    practitioner_ref(
        "practitioner",
        "http://hl7.org/fhir/SearchParameter/Appointment-practitioner",
    ),
    param(
        "date",
        ParamKind::Date,
        Target::Effective,
        "http://hl7.org/fhir/SearchParameter/Appointment-date",
        "When it starts, with prefixes",
    ),
    param(
        "status",
        ParamKind::Token,
        Target::Status,
        "http://hl7.org/fhir/SearchParameter/Appointment-status",
        "booked | arrived | fulfilled | cancelled | noshow",
    ),
    SERVICE_TYPE,
];

const ENCOUNTER_PARAMS: &[ParamDef] = &[
    ID,
    CLINICAL_PATIENT,
    patient_ref(
        "subject",
        "http://hl7.org/fhir/SearchParameter/Encounter-subject",
    ),
    practitioner_ref(
        "practitioner",
        "http://hl7.org/fhir/SearchParameter/Encounter-practitioner",
    ),
    param(
        "date",
        ParamKind::Date,
        Target::Effective,
        "http://hl7.org/fhir/SearchParameter/clinical-date",
        "When it began, with prefixes",
    ),
    param(
        "status",
        ParamKind::Token,
        Target::Status,
        "http://hl7.org/fhir/SearchParameter/Encounter-status",
        "in-progress | finished",
    ),
];

const SCHEDULE_PARAMS: &[ParamDef] = &[
    ID,
    practitioner_ref(
        "actor",
        "http://hl7.org/fhir/SearchParameter/Schedule-actor",
    ),
];

const SLOT_PARAMS: &[ParamDef] = &[
    param(
        "schedule",
        ParamKind::Reference,
        Target::Schedule,
        "http://hl7.org/fhir/SearchParameter/Slot-schedule",
        "The schedule (required): Schedule/<clinician id>",
    ),
    param(
        "start",
        ParamKind::Date,
        Target::Effective,
        "http://hl7.org/fhir/SearchParameter/Slot-start",
        "When it starts (default: the next 7 days; at most 31 days at a time)",
    ),
    param(
        "status",
        ParamKind::Token,
        Target::Status,
        "http://hl7.org/fhir/SearchParameter/Slot-status",
        "free (only free slots are published)",
    ),
    param(
        "service-type",
        ParamKind::Token,
        Target::ServiceType,
        "http://hl7.org/fhir/SearchParameter/Slot-service-type",
        "video | audio | messaging",
    ),
];

const PRACTITIONER_ROLE_PARAMS: &[ParamDef] = &[
    ID,
    practitioner_ref(
        "practitioner",
        "http://hl7.org/fhir/SearchParameter/PractitionerRole-practitioner",
    ),
];

const CONSENT_PARAMS: &[ParamDef] = &[
    ID,
    CLINICAL_PATIENT,
    param(
        "date",
        ParamKind::Date,
        Target::Recorded,
        "http://hl7.org/fhir/SearchParameter/clinical-date",
        "When it was given",
    ),
    param(
        "status",
        ParamKind::Token,
        Target::Status,
        "http://hl7.org/fhir/SearchParameter/Consent-status",
        "active",
    ),
];

const COMMUNICATION_PARAMS: &[ParamDef] = &[
    ID,
    patient_ref(
        "patient",
        "http://hl7.org/fhir/SearchParameter/Communication-patient",
    ),
    patient_ref(
        "subject",
        "http://hl7.org/fhir/SearchParameter/Communication-subject",
    ),
    param(
        "sent",
        ParamKind::Date,
        Target::Effective,
        "http://hl7.org/fhir/SearchParameter/Communication-sent",
        "When it was sent, with prefixes",
    ),
];

const MEDICATION_REQUEST_PARAMS: &[ParamDef] = &[
    ID,
    CLINICAL_PATIENT,
    patient_ref(
        "subject",
        "http://hl7.org/fhir/SearchParameter/MedicationRequest-subject",
    ),
    param(
        "code",
        ParamKind::Token,
        Target::Code,
        "http://hl7.org/fhir/SearchParameter/clinical-code",
        "The medication's code in its catalogue (RxNorm, telemed's starter system)",
    ),
    param(
        "status",
        ParamKind::Token,
        Target::Status,
        "http://hl7.org/fhir/SearchParameter/medications-status",
        "active | cancelled | stopped | completed",
    ),
    param(
        "intent",
        ParamKind::Token,
        Target::Intent,
        "http://hl7.org/fhir/SearchParameter/MedicationRequest-intent",
        "order (every prescription signed in telemed)",
    ),
    param(
        "authoredon",
        ParamKind::Date,
        Target::Recorded,
        "http://hl7.org/fhir/SearchParameter/MedicationRequest-authoredon",
        "When it was signed, with prefixes",
    ),
];

const MEDICATION_DISPENSE_PARAMS: &[ParamDef] = &[
    ID,
    CLINICAL_PATIENT,
    param(
        "prescription",
        ParamKind::Token,
        Target::Prescription,
        "http://hl7.org/fhir/SearchParameter/MedicationDispense-prescription",
        "The MedicationRequest's id",
    ),
    param(
        "whenhandedover",
        ParamKind::Date,
        Target::Effective,
        "http://hl7.org/fhir/SearchParameter/MedicationDispense-whenhandedover",
        "When it was handed over, with prefixes",
    ),
];

/// A key `_sort` accepts (`-` in front for descending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortDef {
    pub name: &'static str,
    pub target: Target,
}

const fn sort(name: &'static str, target: Target) -> SortDef {
    SortDef { name, target }
}

impl ResourceType {
    pub const ALL: [ResourceType; 19] = [
        ResourceType::Patient,
        ResourceType::Practitioner,
        ResourceType::Condition,
        ResourceType::AllergyIntolerance,
        ResourceType::MedicationStatement,
        ResourceType::Immunization,
        ResourceType::Observation,
        ResourceType::DiagnosticReport,
        ResourceType::DocumentReference,
        ResourceType::AuditEvent,
        ResourceType::Appointment,
        ResourceType::Encounter,
        ResourceType::Schedule,
        ResourceType::Slot,
        ResourceType::PractitionerRole,
        ResourceType::Consent,
        ResourceType::Communication,
        ResourceType::MedicationRequest,
        ResourceType::MedicationDispense,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Patient => "Patient",
            ResourceType::Practitioner => "Practitioner",
            ResourceType::Condition => "Condition",
            ResourceType::AllergyIntolerance => "AllergyIntolerance",
            ResourceType::MedicationStatement => "MedicationStatement",
            ResourceType::Immunization => "Immunization",
            ResourceType::Observation => "Observation",
            ResourceType::DiagnosticReport => "DiagnosticReport",
            ResourceType::DocumentReference => "DocumentReference",
            ResourceType::AuditEvent => "AuditEvent",
            ResourceType::Appointment => "Appointment",
            ResourceType::Encounter => "Encounter",
            ResourceType::Schedule => "Schedule",
            ResourceType::Slot => "Slot",
            ResourceType::PractitionerRole => "PractitionerRole",
            ResourceType::Consent => "Consent",
            ResourceType::Communication => "Communication",
            ResourceType::MedicationRequest => "MedicationRequest",
            ResourceType::MedicationDispense => "MedicationDispense",
        }
    }

    pub fn parse(s: &str) -> Option<ResourceType> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The record sections a resource of this type comes from (chart entries).
    pub fn sections(self) -> &'static [Section] {
        match self {
            ResourceType::Condition => &[Section::Problems],
            ResourceType::AllergyIntolerance => &[Section::Allergies],
            ResourceType::MedicationStatement => &[Section::Medications],
            ResourceType::Immunization => &[Section::Immunizations],
            ResourceType::Observation => &[Section::Vitals, Section::Labs],
            ResourceType::DiagnosticReport => &[Section::Labs],
            ResourceType::DocumentReference => &[Section::Documents],
            _ => &[],
        }
    }

    /// The FHIR type a chart entry of `section` is served as (`report`: a lab report,
    /// an entry that groups results).
    pub fn of_section(section: Section, report: bool) -> Option<ResourceType> {
        match section {
            Section::Labs if report => Some(ResourceType::DiagnosticReport),
            Section::Problems => Some(ResourceType::Condition),
            Section::Allergies => Some(ResourceType::AllergyIntolerance),
            Section::Medications => Some(ResourceType::MedicationStatement),
            Section::Immunizations => Some(ResourceType::Immunization),
            Section::Vitals | Section::Labs => Some(ResourceType::Observation),
            Section::Documents => Some(ResourceType::DocumentReference),
            _ => None,
        }
    }

    /// Whether clients may create and update resources of this type (documents are
    /// uploaded as files; practitioners are invited accounts; visits are booked and
    /// their availability set through telemed's own scheduling).
    pub fn writable(self) -> bool {
        matches!(
            self,
            ResourceType::Appointment
                | ResourceType::Patient
                | ResourceType::Condition
                | ResourceType::AllergyIntolerance
                | ResourceType::MedicationStatement
                | ResourceType::Immunization
                | ResourceType::Observation
                | ResourceType::DiagnosticReport
        )
    }

    /// Whether earlier versions are kept (vread, `_history`): chart entries, whose
    /// status changes are versioned.
    pub fn keeps_history(self) -> bool {
        self.is_clinical() && self != ResourceType::DocumentReference
    }

    /// A clinical type belongs to one patient's record (its compartment).
    pub fn is_clinical(self) -> bool {
        !self.sections().is_empty()
    }

    pub fn search_params(self) -> &'static [ParamDef] {
        match self {
            ResourceType::Patient => PATIENT_PARAMS,
            ResourceType::Practitioner => PRACTITIONER_PARAMS,
            ResourceType::Condition => CONDITION_PARAMS,
            ResourceType::AllergyIntolerance => ALLERGY_PARAMS,
            ResourceType::MedicationStatement => MEDICATION_STATEMENT_PARAMS,
            ResourceType::Immunization => IMMUNIZATION_PARAMS,
            ResourceType::Observation => OBSERVATION_PARAMS,
            ResourceType::DiagnosticReport => DIAGNOSTIC_REPORT_PARAMS,
            ResourceType::DocumentReference => DOCUMENT_PARAMS,
            ResourceType::AuditEvent => AUDIT_EVENT_PARAMS,
            ResourceType::Appointment => APPOINTMENT_PARAMS,
            ResourceType::Encounter => ENCOUNTER_PARAMS,
            ResourceType::Schedule => SCHEDULE_PARAMS,
            ResourceType::Slot => SLOT_PARAMS,
            ResourceType::PractitionerRole => PRACTITIONER_ROLE_PARAMS,
            ResourceType::Consent => CONSENT_PARAMS,
            ResourceType::Communication => COMMUNICATION_PARAMS,
            ResourceType::MedicationRequest => MEDICATION_REQUEST_PARAMS,
            ResourceType::MedicationDispense => MEDICATION_DISPENSE_PARAMS,
        }
    }

    pub fn sorts(self) -> &'static [SortDef] {
        const PATIENT: &[SortDef] = &[
            sort("_lastUpdated", Target::LastUpdated),
            sort("birthdate", Target::BirthDate),
            sort("name", Target::Name),
        ];
        const PRACTITIONER: &[SortDef] = &[sort("name", Target::Name)];
        const CONDITION: &[SortDef] = &[
            sort("_lastUpdated", Target::LastUpdated),
            sort("onset-date", Target::Effective),
            sort("recorded-date", Target::Recorded),
        ];
        const ALLERGY: &[SortDef] = &[
            sort("_lastUpdated", Target::LastUpdated),
            sort("date", Target::Recorded),
        ];
        const MEDICATION: &[SortDef] = &[
            sort("_lastUpdated", Target::LastUpdated),
            sort("effective", Target::Effective),
        ];
        const DOCUMENTS: &[SortDef] = &[sort("date", Target::Recorded)];
        const SENT: &[SortDef] = &[sort("sent", Target::Effective)];
        const BY_DATE: &[SortDef] = &[
            sort("_lastUpdated", Target::LastUpdated),
            sort("date", Target::Effective),
        ];
        match self {
            ResourceType::Patient => PATIENT,
            ResourceType::Practitioner => PRACTITIONER,
            ResourceType::Condition => CONDITION,
            ResourceType::AllergyIntolerance => ALLERGY,
            ResourceType::MedicationStatement => MEDICATION,
            ResourceType::Immunization
            | ResourceType::Observation
            | ResourceType::DiagnosticReport => BY_DATE,
            ResourceType::DocumentReference | ResourceType::AuditEvent => DOCUMENTS,
            ResourceType::Appointment | ResourceType::Encounter => BY_DATE,
            ResourceType::Communication => SENT,
            ResourceType::Schedule
            | ResourceType::Slot
            | ResourceType::PractitionerRole
            | ResourceType::Consent
            | ResourceType::MedicationRequest
            | ResourceType::MedicationDispense => &[],
        }
    }

    /// The references `_include` follows from this type (`Type:param`).
    pub fn includes(self) -> &'static [Include] {
        use ResourceType::{Observation as Obs, Patient as Pat, Practitioner as Pra};
        macro_rules! inc {
            ($name:literal, $target:expr) => {
                Include {
                    name: $name,
                    target: $target,
                }
            };
        }
        match self {
            ResourceType::Condition => &[
                inc!("Condition:patient", Pat),
                inc!("Condition:subject", Pat),
            ],
            ResourceType::AllergyIntolerance => &[inc!("AllergyIntolerance:patient", Pat)],
            ResourceType::MedicationStatement => &[
                inc!("MedicationStatement:patient", Pat),
                inc!("MedicationStatement:subject", Pat),
            ],
            ResourceType::Immunization => &[inc!("Immunization:patient", Pat)],
            ResourceType::Observation => &[
                inc!("Observation:patient", Pat),
                inc!("Observation:subject", Pat),
            ],
            ResourceType::DiagnosticReport => &[
                inc!("DiagnosticReport:patient", Pat),
                inc!("DiagnosticReport:subject", Pat),
                inc!("DiagnosticReport:result", Obs),
            ],
            ResourceType::DocumentReference => &[
                inc!("DocumentReference:patient", Pat),
                inc!("DocumentReference:subject", Pat),
            ],
            ResourceType::Appointment => &[
                inc!("Appointment:patient", Pat),
                inc!("Appointment:practitioner", Pra),
            ],
            ResourceType::Encounter => &[
                inc!("Encounter:patient", Pat),
                inc!("Encounter:practitioner", Pra),
            ],
            ResourceType::PractitionerRole => &[inc!("PractitionerRole:practitioner", Pra)],
            _ => &[],
        }
    }
}

/// A reference `_include` follows: its name (`Type:param`) and the type it leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Include {
    pub name: &'static str,
    pub target: ResourceType,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_and_names_its_parameters_once() {
        for t in ResourceType::ALL {
            assert_eq!(ResourceType::parse(t.as_str()), Some(t));
            let mut names: Vec<_> = t.search_params().iter().map(|p| p.name).collect();
            let n = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), n, "{} names a parameter twice", t.as_str());
            for s in t.sections() {
                assert_eq!(
                    ResourceType::of_section(*s, t == ResourceType::DiagnosticReport),
                    Some(t)
                );
            }
            // A clinical type can always be narrowed to one patient.
            if t.is_clinical() {
                assert!(t
                    .search_params()
                    .iter()
                    .any(|p| p.target == Target::Patient));
            }
        }
        assert_eq!(ResourceType::parse("patient"), None);
    }
}
