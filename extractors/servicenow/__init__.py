"""ServiceNow Table API: change requests, their approval records, users."""
from extractors.servicenow.extract import STREAMS, TABLES, extract_servicenow, extract_servicenow_table, servicenow_client

__all__ = ["STREAMS", "TABLES", "extract_servicenow", "extract_servicenow_table", "servicenow_client"]
