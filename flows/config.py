"""changetrail.toml: the sources to read, where the warehouse lives, and the policy knobs.

Non-secret by design: each source names the *environment variable* that holds its credential.
Defaults encode SOC2-CHG-001.
"""
from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GitHubSource(_Strict):
    base_url: str = "https://api.github.com"
    token_env: str = "GITHUB_TOKEN"
    org: str
    repos: list[str] = Field(default_factory=list, description="owner/name; empty = every repo of the org")
    production_environments: list[str] = Field(default_factory=lambda: ["production"])
    staging_environments: list[str] = Field(default_factory=lambda: ["staging"])
    per_page: int = 100
    max_retries: int = 5
    workers: int = Field(0, description="processes extracting repositories in parallel; 0 = one per CPU")


class ServiceNowSource(_Strict):
    base_url: str
    user_env: str = "SERVICENOW_USER"
    password_env: str = "SERVICENOW_PASSWORD"
    page_size: int = 1000


class PagerDutySource(_Strict):
    base_url: str = "https://api.pagerduty.com"
    token_env: str = "PAGERDUTY_TOKEN"
    page_size: int = 100


class SarifSource(_Strict):
    path: Path


class PeopleSource(_Strict):
    path: Path


class Sources(_Strict):
    github: GitHubSource | None = None
    servicenow: ServiceNowSource | None = None
    pagerduty: PagerDutySource | None = None
    sarif: SarifSource | None = None
    people: PeopleSource | None = None


class Warehouse(_Strict):
    path: Path = Path("changetrail.duckdb")
    landing: Path = Path("landing")


class Policy(_Strict):
    """SOC2-CHG-001 as numbers and names. Clause references in the comments."""

    ticket_key_pattern: str = r"CHG[0-9]{7}"                          # §2 Submit
    required_checks: list[str] = Field(default_factory=lambda: ["build", "test"])  # §3 automated tests
    min_reviewers: int = 2                                              # §3 code review
    senior_roles: list[str] = Field(default_factory=lambda: ["senior_engineer", "eng_lead"])
    blocking_severities: list[str] = Field(default_factory=lambda: ["critical", "high"])  # §3 security scan
    emergency_documentation_hours: int = 24                            # §5
    emergency_review_business_days: int = 5                            # §5
    holidays: list[str] = Field(default_factory=list, description="YYYY-MM-DD, excluded from business days")
    rollback_incident_priorities: list[str] = Field(default_factory=lambda: ["P1", "P2", "P3"])  # §4
    rollback_incident_window_hours: int = 24
    post_incident_review_marker: str = "post-incident review"
    rollback_tasks: list[str] = Field(default_factory=lambda: ["deploy:rollback"])


class Reports(_Strict):
    organization: str = "Example Corp"
    out: Path = Path("reports")


class Config(_Strict):
    warehouse: Warehouse = Field(default_factory=Warehouse)
    sources: Sources = Field(default_factory=Sources)
    policy: Policy = Field(default_factory=Policy)
    reports: Reports = Field(default_factory=Reports)
    teams: dict[str, str] = Field(default_factory=dict, description="repo (owner/name) -> team")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    def digest(self) -> str:
        """A stable hash of the effective configuration, recorded with every evaluation run."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


class ConfigError(ValueError):
    pass


def load_config(path: Path | str) -> Config:
    """Read a changetrail.toml; relative paths inside it are relative to the file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file (create one with `changetrail init`)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None
    return _resolve_paths(config, path.parent.resolve())


def _resolve_paths(config: Config, base: Path) -> Config:
    def fix(p: Path) -> Path:
        return p if p.is_absolute() else (base / p)

    config.warehouse.path = fix(config.warehouse.path)
    config.warehouse.landing = fix(config.warehouse.landing)
    config.reports.out = fix(config.reports.out)
    if config.sources.sarif:
        config.sources.sarif.path = fix(config.sources.sarif.path)
    if config.sources.people:
        config.sources.people.path = fix(config.sources.people.path)
    for src in (config.sources.github, config.sources.servicenow, config.sources.pagerduty):
        if src and src.base_url.startswith("file://") and not src.base_url.startswith("file:///"):
            src.base_url = "file://" + str(fix(Path(src.base_url[len("file://"):])))
    return config
