"""The FHIR R4 server standing in for a trust's system (see `bench.fhirserver`)."""

from bench.fhirserver import FhirData, FhirServer, fhir_server, patient_resource, record_resource

__all__ = ["FhirData", "FhirServer", "fhir_server", "patient_resource", "record_resource"]
