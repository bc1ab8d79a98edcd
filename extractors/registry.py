"""Every (system, stream) changetrail lands, and the raw table each one loads into.

Derived from the sources' stream declarations, so adding a stream to a source registers it;
the load step, the schema and EV-03 (quarantined records per stream) all read this list.
"""
from __future__ import annotations

from extractors.cloudtrail.extract import STREAMS as _CLOUDTRAIL
from extractors.deploylog.extract import STREAMS as _DEPLOYLOG
from extractors.github.streams import STREAMS as _GITHUB
from extractors.gitlab.streams import STREAMS as _GITLAB
from extractors.jira.extract import STREAMS as _JIRA
from extractors.k8s_audit.extract import STREAMS as _K8S_AUDIT
from extractors.pagerduty.extract import STREAMS as _PAGERDUTY
from extractors.people.extract import STREAMS as _PEOPLE
from extractors.sarif.extract import STREAMS as _SARIF
from extractors.scanners.extract import STREAMS as _SCANNERS
from extractors.servicenow.extract import STREAMS as _SERVICENOW

ALL_STREAMS: list[tuple[str, str]] = list(dict.fromkeys(
    (stream.system, stream.name) for stream in (*_GITHUB, *_GITLAB, *_SERVICENOW, *_JIRA, *_PAGERDUTY, *_SARIF, *_PEOPLE,
                                            *_K8S_AUDIT, *_CLOUDTRAIL, *_SCANNERS, *_DEPLOYLOG)
))


def raw_table_name(system: str, stream: str) -> str:
    """'github', 'pull_requests' -> 'raw.github__pull_requests' (the name is checked, it ends up in SQL)."""
    if (system, stream) not in ALL_STREAMS:
        raise KeyError(f"unknown stream {system}/{stream}; known: {', '.join(f'{s}/{n}' for s, n in ALL_STREAMS)}")
    return f"raw.{system}__{stream}"
