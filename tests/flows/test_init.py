"""`changetrail init` writes a commented config that loads back to the SOC2-CHG-001 defaults."""
from __future__ import annotations

import re
import tomllib

from typer.testing import CliRunner

from flows.cli import app
from flows.config import Config, load_config
from flows.init_config import render_config


def test_init_writes_a_config_that_loads_to_the_defaults(tmp_path):
    path = tmp_path / "changetrail.toml"
    result = CliRunner().invoke(app, ["init", "--path", str(path)])
    assert result.exit_code == 0, result.output
    config = load_config(path)
    assert config.policy == Config().policy
    assert config.reports.organization == Config().reports.organization
    assert all(source is None for _, source in config.sources)  # sources are commented examples
    text = path.read_text()
    for section in ("[warehouse]", "[policy]", "[policy.approvers]", "[policy.categories.servicenow]",
                    "[policy.schedule]", "[policy.sensitive_paths]", "# [sources.github]", "# [sources.servicenow]",
                    "# [sources.people]"):
        assert section in text, section
    assert "# Major: Engineering Lead + CISO" in text  # field descriptions become comments


def test_init_refuses_to_overwrite_without_force(tmp_path):
    path = tmp_path / "changetrail.toml"
    path.write_text("# mine\n")
    result = CliRunner().invoke(app, ["init", "--path", str(path)])
    assert result.exit_code == 1 and "--force" in result.output
    assert path.read_text() == "# mine\n"
    assert CliRunner().invoke(app, ["init", "--path", str(path), "--force"]).exit_code == 0
    assert load_config(path).policy == Config().policy


def test_every_commented_source_example_is_valid_once_uncommented():
    lines = render_config().splitlines()
    start = lines.index("[sources]")
    end = lines.index("[policy]")
    key_or_table = re.compile(r'^# (\[[\w.]+\]$|[\w-]+ = )')
    uncommented = "\n".join(line[2:] for line in lines[start + 1:end]
                            if key_or_table.match(line) and "(not set)" not in line)
    data = tomllib.loads(uncommented)
    config = Config.model_validate({"sources": data["sources"]})
    assert all(source is not None for _, source in config.sources)


def test_a_typo_in_a_nested_policy_key_is_named(tmp_path):
    path = tmp_path / "changetrail.toml"
    path.write_text('[policy.approvers]\nnormal = ["eng_lead"]\nmajro = ["ciso"]\n')
    result = CliRunner().invoke(app, ["findings", "--config", str(path)])
    assert result.exit_code == 2
    assert "policy.approvers.majro" in result.output and str(path) in result.output
    path.write_text('[policy.categories.servicenow.types]\nnormal = "Regular"\n')
    result = CliRunner().invoke(app, ["findings", "--config", str(path)])
    assert result.exit_code == 2 and "policy.categories.servicenow.types.normal" in result.output
