"""`changetrail` command line: `app` plus one module per command group (imported for their commands)."""
from flows.cli.app import app
from flows.cli import run_commands, read_commands, setup_commands, verify_commands  # noqa: F401,E402  (register commands, in help order)
from flows.cli import retention_commands  # noqa: F401,E402
from flows.cli import ops_commands  # noqa: F401,E402
from flows.cli import bench_commands  # noqa: F401,E402


def main() -> None:
    app()


__all__ = ["app", "main"]
