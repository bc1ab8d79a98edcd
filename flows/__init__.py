"""Prefect flows, the pipeline steps they run, schedules and the `changetrail` CLI."""
import os

# changetrail runs in audited environments: no usage telemetry from the embedded Prefect server.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
