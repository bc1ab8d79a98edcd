"""The people directory CSV: who is who across GitHub, ServiceNow and PagerDuty."""
from extractors.people.extract import COLUMNS, KINDS, ROLES, STREAMS, extract_people

__all__ = ["COLUMNS", "KINDS", "ROLES", "STREAMS", "extract_people"]
