"""What every scanner-format module returns: reports, each with its findings."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping


@dataclass
class Finding:
    kind: str                                   # e.g. vulnerability, misconfiguration, secret, skipped
    payload: Any                                # the finding object exactly as in the report
    context: Mapping[str, Any] = field(default_factory=dict)   # where in the report it sat


@dataclass
class Report:
    payload: dict[str, Any]                     # the report object without its finding arrays
    findings: Iterable[Finding]                 # iterated once, lazily: the arrays may still be in the file
