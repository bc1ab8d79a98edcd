"""When changetrail runs by itself: the `[schedules]` config section and the deployments built from it.

Three deployments (DESIGN "Interfaces users see"):

| deployment          | flow            | when (defaults, in `schedules.time_zone`)            |
|---------------------|-----------------|------------------------------------------------------|
| `daily-incremental` | `evidence-run`  | 02:00 every day: extract + load + reconcile the running quarter |
| `weekly-digest`     | `weekly-digest` | 07:00 on Mondays: the engineering leads' digest      |
| `quarter-close`     | `quarter-close` | 06:00 on the 17th of Jan/Apr/Jul/Oct: render the reports of the quarter just ended, then seal it |

`build_specs(config, config_path)` is pure (no Prefect, no server): `changetrail serve` turns the
specs into Prefect deployments and serves them; `render_prefect_yaml` writes the same specs as a
`prefect.yaml` for teams with a Prefect server and a work pool (the file at the repository root
is that output for the default config, and a test keeps them equal).
"""
from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from warehouse.policy_rules import iana_zone

if TYPE_CHECKING:
    from flows.config import Config

WORK_POOL = "changetrail"
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*,/?-]+$")


def _check_cron(value: str) -> str:
    fields = value.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise ValueError(f"{value!r} is not a 5-field cron expression (minute hour day month weekday)")
    return value


# -- the [schedules] config section (read by flows/config.py; no Prefect import here) -------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DailyRun(_Strict):
    """The daily incremental extract + reconcile of the running quarter (flow `evidence-run`)."""

    enabled: bool = True
    cron: str = Field("0 2 * * *", description="cron expression, in schedules.time_zone")
    render_reports: bool = Field(False, description="also render the running quarter's reports every day")
    _cron = field_validator("cron")(lambda cls, v: _check_cron(v))


class WeeklyDigest(_Strict):
    """The engineering leads' weekly digest (flow `weekly-digest`, flows/digest_run.py)."""

    enabled: bool = True
    cron: str = Field("0 7 * * 1", description="cron expression, in schedules.time_zone")
    _cron = field_validator("cron")(lambda cls, v: _check_cron(v))


class QuarterClose(_Strict):
    """Render every report of the quarter just ended, then seal it once sealing.grace_days have passed."""

    enabled: bool = True
    days_after_quarter_end: int = Field(16, ge=0, le=27, description=(
        "run this many days after the quarter's end; more than sealing.grace_days seals in the same run"))
    time: str = Field("06:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM in schedules.time_zone")


class Schedules(_Strict):
    """`changetrail serve` (flows/schedules.py): the deployments and when they run."""

    time_zone: str = Field("UTC", description="IANA time zone of every schedule below")
    extract_retries: int = Field(2, ge=0, description="retries of a failed source extraction (network steps only)")
    extract_retry_delay_seconds: list[int] = Field(default_factory=lambda: [10, 60, 300], min_length=1, description=(
        "back-off between extraction retries; the last value repeats"))
    task_runner: Literal["threads", "processes"] = Field("threads", description=(
        "how evidence-run runs its extraction tasks: threads of the flow's process, or worker processes "
        "(extraction parses JSON: processes use every core); README \"Scaling past one machine\""))
    task_workers: int | None = Field(None, ge=1, description="extraction tasks at once (unset: one per source)")
    daily: DailyRun = Field(default_factory=DailyRun)
    weekly_digest: WeeklyDigest = Field(default_factory=WeeklyDigest)
    quarter_close: QuarterClose = Field(default_factory=QuarterClose)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return iana_zone(value)

    def retry_delays(self) -> list[int]:
        """One delay per retry (Prefect's list form), the last configured value repeated."""
        delays = self.extract_retry_delay_seconds
        return [delays[min(i, len(delays) - 1)] for i in range(self.extract_retries)]


# -- deployment specs --------------------------------------------------------------------------
@dataclass(frozen=True)
class DeploymentSpec:
    name: str                      # deployment name: `<flow_name>/<name>` in Prefect
    flow_name: str
    entrypoint: str                # "flows/evidence_run.py:evidence_run", relative to the repository root
    cron: str
    timezone: str
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    tags: tuple[str, ...] = ("changetrail",)

    @property
    def module(self) -> str:
        return self.entrypoint.partition(":")[0].removesuffix(".py").replace("/", ".")

    @property
    def function(self) -> str:
        return self.entrypoint.partition(":")[2]


def quarter_close_cron(days_after_quarter_end: int, time: str) -> str:
    """A quarter ends at midnight starting the 1st of Jan/Apr/Jul/Oct: `d` days later is day d+1."""
    hour, minute = (int(x) for x in time.split(":"))
    return f"{minute} {hour} {days_after_quarter_end + 1} 1,4,7,10 *"


def build_specs(config: "Config", config_path: str, *, include_disabled: bool = False) -> list[DeploymentSpec]:
    """The deployments `changetrail serve` serves, from the config's `[schedules]` section.

    `config_path` is passed to every flow as a parameter (absolute for `serve`; relative to the
    worker's working directory in prefect.yaml)."""
    s = config.schedules
    specs = [
        (s.daily.enabled, DeploymentSpec(
            "daily-incremental", "evidence-run", "flows/evidence_run.py:evidence_run", s.daily.cron, s.time_zone,
            {"config_path": config_path, "render": s.daily.render_reports},
            "Incremental extract + load + reconcile of the running quarter")),
        (s.weekly_digest.enabled, DeploymentSpec(
            "weekly-digest", "weekly-digest", "flows/digest_run.py:weekly_digest", s.weekly_digest.cron, s.time_zone,
            {"config_path": config_path},
            "Engineering leads' digest: undocumented and unattributable changes per team")),
        (s.quarter_close.enabled, DeploymentSpec(
            "quarter-close", "quarter-close", "flows/quarter_close.py:quarter_close",
            quarter_close_cron(s.quarter_close.days_after_quarter_end, s.quarter_close.time), s.time_zone,
            {"config_path": config_path},
            f"Every report of the quarter just ended, then its seal (after {config.sealing.grace_days} grace days)")),
    ]
    return [spec for enabled, spec in specs if enabled or include_disabled]


# -- Prefect -----------------------------------------------------------------------------------
class FlowNotAvailable(RuntimeError):
    """A deployment's flow cannot be imported (e.g. the weekly digest before flows/digest_run.py exists)."""


def load_flow(spec: DeploymentSpec):
    """The Prefect flow object behind a spec; its parameters must accept the spec's."""
    try:
        module = importlib.import_module(spec.module)
        flow = getattr(module, spec.function)
    except (ImportError, AttributeError) as exc:
        raise FlowNotAvailable(f"deployment {spec.name}: flow {spec.entrypoint} is not available ({exc})") from None
    accepted = inspect.signature(flow.fn).parameters
    unknown = sorted(set(spec.parameters) - set(accepted))
    if unknown:
        raise FlowNotAvailable(f"deployment {spec.name}: flow {spec.entrypoint} takes no parameter(s) {', '.join(unknown)}")
    return flow


def to_deployments(specs: list[DeploymentSpec]) -> tuple[list, list[str]]:
    """Prefect RunnerDeployments for the specs whose flows exist; and a sentence per skipped one."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    deployments, skipped = [], []
    for spec in specs:
        try:
            flow = load_flow(spec)
        except FlowNotAvailable as exc:
            skipped.append(str(exc))
            continue
        deployments.append(flow.to_deployment(
            name=spec.name, schedules=[Cron(spec.cron, timezone=spec.timezone)], parameters=spec.parameters,
            description=spec.description, tags=list(spec.tags),
            entrypoint_type=EntrypointType.MODULE_PATH))  # runs from any directory
    return deployments, skipped


def serve(specs: list[DeploymentSpec]) -> None:  # pragma: no cover - blocks until interrupted
    """Register the deployments with the Prefect API and run their scheduled flows in this process."""
    from prefect import serve as prefect_serve

    deployments, skipped = to_deployments(specs)
    if not deployments:
        raise FlowNotAvailable("no deployment to serve: " + "; ".join(skipped))
    prefect_serve(*deployments)


# -- prefect.yaml ------------------------------------------------------------------------------
PREFECT_YAML_HEADER = """\
# prefect.yaml - changetrail's deployments for a Prefect server and a work pool.
# Generated from flows/schedules.py for the default [schedules] config:
#     changetrail deployments --prefect-yaml > prefect.yaml
# (a test keeps this file equal to that output). Deploy with `prefect deploy --all` from a
# checkout on the worker's machine; set CHANGETRAIL_HOME to that checkout and keep
# changetrail.toml there. Without a server, `changetrail serve` runs the same schedules.
"""


def prefect_yaml_data(specs: list[DeploymentSpec], work_pool: str = WORK_POOL) -> dict:
    import prefect

    return {
        "name": "changetrail",
        "prefect-version": prefect.__version__,
        "pull": [{"prefect.deployments.steps.set_working_directory": {"directory": "{{ $CHANGETRAIL_HOME }}"}}],
        "deployments": [{
            "name": spec.name,
            "entrypoint": spec.entrypoint,
            "description": spec.description,
            "tags": list(spec.tags),
            "parameters": dict(spec.parameters),
            "schedules": [{"cron": spec.cron, "timezone": spec.timezone}],
            "work_pool": {"name": work_pool, "work_queue_name": "default"},
        } for spec in specs],
    }


def render_prefect_yaml(specs: list[DeploymentSpec], work_pool: str = WORK_POOL) -> str:
    import yaml

    return PREFECT_YAML_HEADER + yaml.safe_dump(prefect_yaml_data(specs, work_pool), sort_keys=False, width=120)
