"""A new user's mistakes get one clear sentence naming the file, key or variable."""
from __future__ import annotations

from typer.testing import CliRunner

from flows.cli import app


def test_unknown_config_key_is_named(tmp_path):
    config = tmp_path / "changetrail.toml"
    config.write_text('[sources.github]\norg = "acme"\nperoid = 3\n')
    result = CliRunner().invoke(app, ["findings", "--config", str(config)])
    assert result.exit_code == 2
    assert "sources.github.peroid" in result.output and str(config) in result.output


def test_missing_credential_names_the_variable_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.delenv("CT_TEST_TOKEN", raising=False)
    config = tmp_path / "changetrail.toml"
    config.write_text('[sources.github]\norg = "acme"\nbase_url = "https://github.invalid/api/v3"\n'
                      'token_env = "CT_TEST_TOKEN"\n')
    result = CliRunner().invoke(app, ["extract", "--config", str(config)])
    assert result.exit_code == 1
    assert "CT_TEST_TOKEN is not set" in result.output
    assert "Traceback" not in result.output


def test_findings_without_a_warehouse_says_what_to_run(tmp_path):
    config = tmp_path / "changetrail.toml"
    config.write_text("[warehouse]\npath = \"nothing.duckdb\"\n")
    result = CliRunner().invoke(app, ["findings", "--config", str(config)])
    assert result.exit_code == 2 and "changetrail run" in result.output


def test_text_in_brackets_is_printed_not_read_as_markup(tmp_path):
    # "[bot]", "[red]" in names and messages come from source systems and configs: shown literally
    config = tmp_path / "changetrail.toml"
    config.write_text('[policy]\n"deploy[bot]" = 1\n"[red]x" = 2\n')
    result = CliRunner().invoke(app, ["findings", "--config", str(config)])
    assert result.exit_code == 2
    assert "policy.deploy[bot]" in result.output and "[red]x" in result.output
