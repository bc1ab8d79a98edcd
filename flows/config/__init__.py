"""changetrail.toml: the sources to read, where the warehouse lives, and the policy knobs.

Non-secret by design: each source names the *environment variable* that holds its credential.
Defaults encode SOC2-CHG-001.

The sections live beside this file: sources.py ([sources.*]), policy.py ([policy]); the smaller
ones (warehouse, reports, sealing, retention, exceptions) and loading are here, [schedules] is in
flows/schedules.py. Everything is importable from `flows.config`.
"""
from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from flows.config.base import _Strict
from flows.schedules import Schedules
from flows.config.policy import (Approvers, TicketCategories, Categories, Schedule, SENSITIVE_PATHS,
                                 CategoryRule, CATEGORY_RULES, TICKET_CATEGORY_NAMES, REQUIRED_TICKET_FIELDS,
                                 Policy)
from flows.config.sources import (GitHubSource, GitLabSource, ServiceNowSource, PagerDutySource, JiraSource,
                                  SarifSource, PeopleSource, ScannersSource, DeployLogSource, K8S_RESOURCES,
                                  K8sAuditSource, CloudTrailSource, Sources)


__all__ = [  # `from flows.config import ...` for every section, wherever it is defined
    "Approvers", "TicketCategories", "Categories", "Schedule", "SENSITIVE_PATHS", "CategoryRule",
    "CATEGORY_RULES", "TICKET_CATEGORY_NAMES", "REQUIRED_TICKET_FIELDS", "Policy", "GitHubSource",
    "GitLabSource", "ServiceNowSource", "PagerDutySource", "JiraSource", "SarifSource", "PeopleSource",
    "ScannersSource", "DeployLogSource", "K8S_RESOURCES", "K8sAuditSource", "CloudTrailSource", "Sources",
    "Warehouse", "SampleTier", "EvidencePack", "Reports", "Sealing", "Retention", "Exceptions", "Config",
    "ConfigError", "load_config", "DATABASE_URI_SCHEMES", "is_database_uri", "Schedules",
]


class Warehouse(_Strict):
    # a file (relative to this config) or a DuckDB URI kept as written: "file:/srv/ct.duckdb",
    # "md:changetrail" (MotherDuck, token from $motherduck_token); README "Scaling past one machine"
    path: Path = Field(Path("changetrail.duckdb"), description="DuckDB warehouse: a file or a DuckDB URI (file:, md:)")
    landing: Path = Path("landing")
    # DuckDB's buffer pool defaults to 80 % of RAM; a limit makes it spill to temp files instead
    # (benchmarks/RESULTS.md: the L profile stays under 4 GB with "3GB")
    memory_limit: str | None = Field(None, pattern=r"^\d+(\.\d+)?\s*([KMGTkmgt]i?[Bb])$",
                                     description="DuckDB memory_limit, e.g. \"3GB\" (unset: DuckDB's default, 80 % of RAM)")
    threads: int | None = Field(None, ge=1, description="DuckDB worker threads (unset: one per CPU)")
    # the daily run (evidence-run, run_pipeline) evaluates incrementally; quarter close and re-evaluations in full
    incremental: bool = Field(True, description="daily runs rebuild only the models whose inputs changed and copy"
                              " the controls the new data cannot touch (warehouse/incremental.py)")

    def connect(self, read_only: bool = False):
        """The warehouse connection with these settings (warehouse/schema.connect); `read_only`
        opens an existing warehouse for reading (reports, the CLI's read commands)."""
        import duckdb

        from warehouse.results_store import ensure_readable
        from warehouse.schema import configure, connect

        if not read_only:
            return connect(self.path, memory_limit=self.memory_limit, threads=self.threads)
        con = duckdb.connect(str(self.path), read_only=True)
        configure(con, self.memory_limit, self.threads)
        ensure_readable(con)
        return con


class SampleTier(_Strict):
    min_population: int = Field(..., ge=1, description="this size applies from this population size up")
    size: int = Field(..., ge=1, description="changes sampled (capped at the population)")


class EvidencePack(_Strict):
    """`changetrail report evidence-pack` (reports/evidence_pack/): the auditor's signed pack."""

    signing_key_env: str = Field("CHANGETRAIL_SIGNING_KEY", description="environment variable holding the Ed25519 "
                                 "private key: base64 of the 32 raw bytes, or the path of a PEM (PKCS#8) file")
    signing_key_file: Path | None = Field(None, description="PEM key file used when the variable is unset "
                                          "(`changetrail demo` writes one); neither = a one-off key, said so in the pack")
    sample_seed: int | None = Field(None, description="random seed of the sample; unset = derived from the period")
    sample_sizes: list[SampleTier] = Field(default_factory=lambda: [
        SampleTier(min_population=251, size=25), SampleTier(min_population=53, size=15),
        SampleTier(min_population=13, size=5), SampleTier(min_population=5, size=2),
        SampleTier(min_population=1, size=1)], description="sample size by population size (largest tier that applies)")
    oversample_emergency: int = Field(5, ge=0, description="extra emergency changes sampled on top of the base sample")
    oversample_major: int = Field(5, ge=0, description="extra Major changes sampled on top of the base sample")


class Reports(_Strict):
    organization: str = "Example Corp"
    out: Path = Path("reports")
    evidence_pack: EvidencePack = Field(default_factory=EvidencePack)


class Sealing(_Strict):
    """`changetrail seal` (warehouse/sealing.py): a quarter can be sealed this long after it ends."""

    grace_days: int = Field(15, ge=0, description="days after the quarter's end before it may be sealed (--force overrides, recorded)")


class Retention(_Strict):
    """`changetrail retention` (warehouse/retention.py): raw evidence older than this may be removed (§7)."""

    years: int = Field(3, ge=1, description="keep landing files and raw rows at least this many years (policy §7: 3)")


class Exceptions(_Strict):
    """The exceptions register (warehouse/exceptions.py): documented, approved deviations."""

    path: Path = Field(Path("exceptions.yaml"), description="YAML or CSV the compliance team edits; absent = none")
    approver_roles: list[str] = Field(default_factory=lambda: ["ciso", "eng_lead"],
                                      description="an exception counts only if its approver has one of these roles")
    allow_retroactive: bool = Field(False, description="count exceptions approved after the deployment they cover")


class Config(_Strict):
    warehouse: Warehouse = Field(default_factory=Warehouse)
    sources: Sources = Field(default_factory=Sources)
    policy: Policy = Field(default_factory=Policy)
    reports: Reports = Field(default_factory=Reports)
    sealing: Sealing = Field(default_factory=Sealing)
    exceptions: Exceptions = Field(default_factory=Exceptions)
    retention: Retention = Field(default_factory=Retention)
    schedules: Schedules = Field(default_factory=Schedules)
    teams: dict[str, str] = Field(default_factory=dict, description="repo (owner/name) -> team")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    def environments(self, kind: Literal["production", "staging"]) -> list[str]:
        """Environment names of that kind across every configured code host (GitHub, GitLab)."""
        hosts = [src for src in (self.sources.github, self.sources.gitlab) if src is not None]
        names = {name for src in hosts for name in getattr(src, f"{kind}_environments")}
        return sorted(names) or [kind]

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


DATABASE_URI_SCHEMES = ("file:", "md:", "motherduck:")


def is_database_uri(path: Path | str) -> bool:
    """A warehouse location DuckDB opens as a URI (kept as written, not made relative to the config)."""
    return str(path).startswith(DATABASE_URI_SCHEMES)


def _resolve_paths(config: Config, base: Path) -> Config:
    def fix(p: Path) -> Path:
        return p if p.is_absolute() else (base / p)

    if not is_database_uri(config.warehouse.path):
        config.warehouse.path = fix(config.warehouse.path)
    config.warehouse.landing = fix(config.warehouse.landing)
    config.reports.out = fix(config.reports.out)
    config.exceptions.path = fix(config.exceptions.path)
    if config.reports.evidence_pack.signing_key_file:
        config.reports.evidence_pack.signing_key_file = fix(config.reports.evidence_pack.signing_key_file)
    if config.sources.sarif:
        config.sources.sarif.path = fix(config.sources.sarif.path)
    if config.sources.people:
        config.sources.people.path = fix(config.sources.people.path)
    for file_source in (config.sources.scanners, config.sources.deploylog):
        if file_source:
            file_source.path = fix(file_source.path)
    for folder_source in (config.sources.k8s_audit, config.sources.cloudtrail):
        if folder_source:
            folder_source.path = fix(folder_source.path)
    for src in (config.sources.github, config.sources.gitlab, config.sources.servicenow, config.sources.pagerduty,
                config.sources.jira):
        if src and src.base_url.startswith("file://") and not src.base_url.startswith("file:///"):
            src.base_url = "file://" + str(fix(Path(src.base_url[len("file://"):])))
    return config
