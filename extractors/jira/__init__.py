"""Jira Cloud / Data Center issues as change requests (with changelog approvals and users)."""
from extractors.jira.extract import STREAMS, extract_jira, jira_client, reading_context, search_jql

__all__ = ["STREAMS", "extract_jira", "jira_client", "reading_context", "search_jql"]
