"""CM-11 with the required change-request fields configured per category
(policy.required_ticket_fields): defaults are SOC2-CHG-001 §2's five fields."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from flows.config import Config
from tests.controls.harness import Org


def policy(fields: dict) -> Config:
    return Config.model_validate({"policy": {"required_ticket_fields": fields}})


def ticket(org: Org, number: str) -> dict:
    return org.find("stg_servicenow__change_requests", number=number)


def test_cm11_required_fields_per_category():
    org = Org()
    normal = org.change(ticket="CHG0000001")
    standard = org.change(repo="acme/std", ticket="CHG0000002", ticket_type="standard")
    for number in ("CHG0000001", "CHG0000002"):
        ticket(org, number)["test_plan"] = None
        ticket(org, number)["justification"] = ""
    # defaults: both lack the testing plan, justification is not required
    got = org.evaluate("CM-11")
    assert got[normal["change_id"]] == ("fail", "CHG0000001 lacks testing plan (test_plan)")
    assert got[standard["change_id"]] == ("fail", "CHG0000002 lacks testing plan (test_plan)")
    # Standard (pre-approved) needs only a description; Normal needs a justification as well as the defaults
    cfg = policy({"Standard": ["description"],
                  "Normal": ["description", "justification", "implementation_plan", "risk_impact_analysis",
                             "test_plan", "backout_plan"]})
    got = org.evaluate("CM-11", config=cfg)
    assert got[standard["change_id"]] == ("pass", "CHG0000002 has description")
    assert got[normal["change_id"]] == ("fail", "CHG0000001 lacks justification, testing plan (test_plan)")


def test_cm11_a_category_requiring_nothing_passes_and_says_so():
    org = Org()
    standard = org.change(ticket="CHG0000002", ticket_type="standard")
    ticket(org, "CHG0000002")["description"] = None
    got = org.evaluate("CM-11", config=policy({"Standard": []}))
    assert got[standard["change_id"]] == (
        "pass", "CHG0000002: the policy requires no fields of Standard tickets")


def test_cm11_unknown_field_or_category_is_a_config_error_naming_the_key():
    with pytest.raises(ValidationError, match=r"policy.required_ticket_fields.Normal.0"):
        policy({"Normal": ["rollback"]})
    with pytest.raises(ValidationError, match=r"policy.required_ticket_fields.Minor"):
        policy({"Minor": ["description"]})
