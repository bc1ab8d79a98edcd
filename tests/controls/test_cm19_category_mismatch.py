"""Given/expect cases for CM-19 category-mismatch (§1): the change's files set the lowest category
its ticket may carry (schema migrations at least Normal, authentication Major by default)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from flows.config import Config, ConfigError, load_config
from tests.controls.harness import Org
from tests.controls.test_evidence_quality import EVALUATED, GITHUB, SERVICENOW, _run


def test_migration_filed_as_standard_and_auth_change_filed_as_normal_fail():
    org = Org()
    migration = org.change(repo="acme/a", ticket="CHG0000001", ticket_type="standard")
    org.touch(migration, "db/migrations/0042_add_index.sql")
    auth = org.change(repo="acme/b", ticket="CHG0000002")
    org.touch(auth, "src/auth/session.go", "src/auth/token.go")
    got = org.evaluate("CM-19")
    assert got[migration["change_id"]] == (
        "fail", "CHG0000001 is filed as Standard but the change needs at least Normal: "
                "schema_migration: db/migrations/0042_add_index.sql")
    assert got[auth["change_id"]] == (
        "fail", "CHG0000002 is filed as Normal but the change needs at least Major: "
                "authentication: src/auth/session.go, authentication: src/auth/token.go")


def test_category_at_or_above_the_minimum_passes():
    org = Org()
    migration = org.change(repo="acme/a", ticket="CHG0000001")
    org.touch(migration, "db/migrations/0042_add_index.sql")
    both = org.change(repo="acme/b", ticket="CHG0000002", risk="1")          # Major
    org.touch(both, "db/migrations/0043.sql", "src/auth/session.go")
    got = org.evaluate("CM-19")
    assert got[migration["change_id"]] == ("pass", "Normal meets the required Normal (schema_migration: db/migrations/0042_add_index.sql)")
    assert got[both["change_id"]][0] == "pass"


def test_not_applicable_cases_and_unknown_files():
    org = Org()
    plain = org.change(repo="acme/a", ticket="CHG0000001", ticket_type="standard")
    org.touch(plain, "docs/runbook.md")
    emergency = org.change(repo="acme/b", ticket="CHG0000002", ticket_type="emergency")
    org.touch(emergency, "src/auth/session.go")
    unknown_type = org.change(repo="acme/c", ticket="CHG0000003", ticket_type="expedited")
    org.touch(unknown_type, "src/auth/session.go")
    no_ticket = org.change(repo="acme/d", ticket=None)
    org.touch(no_ticket, "src/auth/session.go")
    no_files = org.change(repo="acme/e", ticket="CHG0000005", ticket_type="standard")
    got = org.evaluate("CM-19")
    assert got[plain["change_id"]] == ("not_applicable", "no category rule matches the 1 changed file(s)")
    assert got[emergency["change_id"]] == ("not_applicable", "emergency change: category set by §5")
    assert got[unknown_type["change_id"]] == ("not_applicable", "ticket CHG0000003 has no recognizable category (see CM-10)")
    assert got[no_ticket["change_id"]] == ("not_applicable", "no change ticket (see CM-01)")
    assert got[no_files["change_id"]] == ("error", "changed files unknown: the compare lists no files")


def test_category_rules_are_configured():
    org = Org()
    ids = org.change(ticket="CHG0000001", ticket_type="standard")
    org.touch(ids, "charts/payments/values.yaml")
    assert org.evaluate("CM-19")[ids["change_id"]][0] == "not_applicable"
    helm = Config.model_validate({"policy": {"category_rules": {
        "helm_chart": {"paths": ["charts/**"], "min_category": "Normal"}}}})
    status, reason = org.evaluate("CM-19", config=helm)[ids["change_id"]]
    assert status == "fail" and reason.endswith("needs at least Normal: helm_chart: charts/payments/values.yaml")


def test_stale_code_host_turns_a_pass_into_an_error():
    org = Org()
    ok = org.change(ticket="CHG0000001")
    org.touch(ok, "db/migrations/0042.sql")
    org.manifests += [dict(system="github", finished_at=EVALUATED - timedelta(days=4)),
                      dict(system="servicenow", finished_at=EVALUATED - timedelta(hours=1))]
    cfg = Config.model_validate({"sources": {"github": GITHUB, "servicenow": SERVICENOW}})
    status, reason = _run(org, cfg, ("CM-19", "EV-01"))[("CM-19", ok["change_id"])]
    assert status == "error" and reason.startswith("evidence stale: github last extracted")


@pytest.mark.parametrize("body, message", [
    ('[policy.category_rules.x]\npaths = ["db/**"]\nmin_category = "Standard"\n', "policy.category_rules.x.min_category"),
    ('[policy.category_rules.x]\npaths = []\nmin_category = "Normal"\n', "policy.category_rules.x.paths"),
    ('[policy.category_rules.x]\npaths = [" db/**"]\nmin_category = "Normal"\n', "is not a path glob"),
    ('[policy.sensitive_paths]\nauth = [""]\n', "policy.sensitive_paths"),
])
def test_invalid_rules_are_errors_naming_the_key(tmp_path, body, message):
    path = tmp_path / "changetrail.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path)
