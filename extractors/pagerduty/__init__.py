"""PagerDuty REST v2: incidents and their log entries."""
from extractors.pagerduty.extract import INCIDENTS, LOG_ENTRIES, STREAMS, extract_pagerduty, pagerduty_client

__all__ = ["INCIDENTS", "LOG_ENTRIES", "STREAMS", "extract_pagerduty", "pagerduty_client"]
