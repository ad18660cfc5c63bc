"""The FHIR R4 backend: a health adapter reading a trust's or a GP system's FHIR API.

Patients are found with PDS-style searches (`GET /Patient` with family, given, birthdate,
gender, address-postalcode, `_fuzzy-match`, `_max-results`; or by NHS number), and records
are read from Encounter, EpisodeOfCare, Flag or CareTeam searches that a mapping file turns
into health data categories. See `docs/operator-guide.md`, "Connecting a FHIR server".
"""
