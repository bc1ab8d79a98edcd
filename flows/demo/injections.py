"""What the demo injects, where it may go, at which rate, and which controls it must make fail.

``expect`` is double-entry bookkeeping: the reference evaluation (truth.py) decides every status
from the data alone, and the tests assert that a change fails exactly the union of the
``expect`` sets of its injections. Kinds prefixed ``trap_`` expect nothing: they are shapes a
naive implementation gets wrong while the spec says pass.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str
    expect: frozenset[str]
    categories: frozenset[str]   # planned categories a kind may be applied to
    rate: float                  # share of forward (non-rollback) changes, at least one


def _k(name: str, expect: str, categories: str, rate: float) -> Kind:
    return Kind(name, frozenset(expect.split()), frozenset(categories.split()), rate)


NSM, NS, NM, N = "Normal Standard Major", "Normal Standard", "Normal Major", "Normal"

FORWARD = [
    # CM-01 undocumented change
    _k("no_ticket_reference", "CM-01", NS, 0.010),
    _k("ticket_key_not_found", "CM-01", NS, 0.006),
    _k("direct_push_only", "CM-01 CM-03", N, 0.003),
    # CM-02 unattributable change
    _k("shared_account", "CM-02", NSM, 0.005),
    _k("shared_account_with_trigger", "CM-02", NS, 0.001),
    _k("bot_without_trigger", "CM-02", NSM, 0.005),
    _k("bot_trigger_unknown", "CM-02", NS, 0.002),
    _k("unknown_login", "CM-02", NSM, 0.004),
    # CM-03 no code review
    _k("direct_push_extra", "CM-03", NSM, 0.006),
    _k("direct_push_closed_pr", "CM-03", NS, 0.003),
    _k("no_approval", "CM-03 CM-04", NS, 0.003),
    _k("approved_after_merge_only", "CM-03 CM-04", N, 0.002),
    # CM-04 insufficient review
    _k("one_approver", "CM-04", NSM, 0.008),
    _k("stale_approval", "CM-04", NSM, 0.005),
    _k("approval_after_merge", "CM-04", NM, 0.004),
    _k("dismissed_approval", "CM-04", NM, 0.004),
    _k("approval_then_changes_requested", "CM-04", N, 0.003),
    _k("no_senior_approver", "CM-04", NSM, 0.005),
    _k("reviewer_authored_commit", "CM-04", N, 0.003),
    _k("reviewer_committed", "CM-04", N, 0.002),
    _k("coauthor_approval", "CM-04", NM, 0.004),
    # CM-05 CI not passed
    _k("check_missing", "CM-05", NSM, 0.008),
    _k("check_failing", "CM-05", NSM, 0.008),
    _k("check_pending", "CM-05", NSM, 0.005),
    _k("check_completed_after_deploy", "CM-05", NSM, 0.003),
    _k("check_failed_rerun_after_deploy", "CM-05", NS, 0.002),
    # CM-08 security scan gate
    _k("scan_missing", "CM-08", NSM, 0.007),
    _k("scan_after_deploy", "CM-08", NSM, 0.004),
    _k("scan_open_high", "CM-08", NSM, 0.006),
    _k("scan_open_critical", "CM-08", NSM, 0.004),
    _k("scan_suppression_rejected", "CM-08", NS, 0.002),
    _k("scan_rule_default_error", "CM-08", NS, 0.002),
    # CM-09 staging validation
    _k("no_staging", "CM-09", NM, 0.010),
    _k("staging_failed", "CM-09", NM, 0.005),
    _k("staging_after_production", "CM-09", NM, 0.003),
    _k("staging_other_sha", "CM-09", NM, 0.002),
    # CM-10 approvals per category
    _k("only_eng_lead", "CM-10", N, 0.008),
    _k("approval_after_deploy", "CM-10", NM, 0.006),
    _k("major_without_ciso", "CM-10", "Major", 0.004),
    _k("major_lead_and_qa", "CM-10", "Major", 0.002),
    _k("approval_rejected", "CM-10", N, 0.003),
    _k("standard_not_approved", "CM-10", "Standard", 0.003),
    _k("dual_role_single_approver", "CM-10", N, 0.002),
    _k("unknown_change_type", "CM-10", N, 0.002),
    # CM-20 segregation of duties
    _k("requester_only_approver", "CM-20 CM-10", N, 0.004),
    _k("author_approver_deployer", "CM-20", NM, 0.004),
    _k("author_approver_bot_trigger", "CM-20", N, 0.002),
    # CM-11 incomplete change request, CM-12 incomplete rollback plan, CM-21 change not closed
    _k("ticket_missing_test_plan", "CM-11", NSM, 0.004),
    _k("ticket_missing_risk_assessment", "CM-11", NSM, 0.003),
    _k("ticket_empty_description", "CM-11", NS, 0.003),
    _k("ticket_missing_rollback_plan", "CM-11", N, 0.002),        # CM-12 then n/a
    _k("rollback_plan_missing_owner", "CM-12", NSM, 0.004),
    _k("rollback_plan_missing_estimate", "CM-12", NS, 0.003),
    _k("ticket_never_closed", "CM-21", NSM, 0.004),
    _k("ticket_closed_late", "CM-21", NSM, 0.003),
    # CM-06 pipeline bypass, CM-22 production credentials outside production (§6)
    _k("deployed_from_laptop", "CM-06", NSM, 0.004),
    _k("deployed_off_release_branch", "CM-06", NSM, 0.004),
    _k("secret_in_nonproduction_path", "CM-22", NSM, 0.005),
    _k("trap_suppressed_secret_in_tests", "", NSM, 0.004),
    # CM-13 scheduling (peak hours: flows/demo/content.py), CM-18 security review, CM-19 category mismatch
    _k("short_notice", "CM-13", NM, 0.004),
    _k("sensitive_change_no_security_review", "CM-18", N, 0.004),
    _k("migration_filed_as_standard", "CM-18 CM-19", "Standard", 0.003),
    _k("auth_change_filed_as_normal", "CM-18 CM-19", N, 0.003),
    _k("trap_encryption_change_ciso_approved", "", "Major", 0.004),
    # traps: the spec says pass
    _k("trap_changes_requested_then_approved", "", NSM, 0.020),
    _k("trap_reapproved_after_push", "", NSM, 0.010),
    _k("trap_comment_after_approval", "", NSM, 0.015),
    _k("trap_key_only_in_branch", "", NSM, 0.015),
    _k("trap_typo_key_plus_real", "", N, 0.003),
    _k("trap_decoy_ticket_in_body", "", N, 0.003),
    _k("trap_two_keys_same_place", "", N, 0.002),
    _k("trap_check_rerun_passed", "", NSM, 0.010),
    _k("trap_suppressed_critical", "", NSM, 0.010),
    _k("trap_word_severity_medium", "", NSM, 0.005),
    _k("trap_staging_failed_then_retried", "", NM, 0.005),
    _k("trap_failed_deploy_then_retry", "", NSM, 0.020),
    _k("trap_commit_pulls_missing", "", NSM, 0.010),
    _k("trap_coauthor_not_reviewer", "", NSM, 0.010),
]

# Emergency changes: every one carries exactly one of these. Emergencies merge with a single
# reviewer unless the kind says otherwise, so CM-04 fails and the outcome is an exception
# when CM-14..16 hold.
EMERGENCY = [
    _k("emergency_single_reviewer", "CM-04", "Emergency", 0.004),    # + documented_later, hotfix_label: 2 % in all
    _k("emergency_checks_pending", "CM-04 CM-05", "Emergency", 0.001),
    _k("emergency_no_scan", "CM-04 CM-08", "Emergency", 0.001),
    _k("emergency_approved_after_merge", "CM-03 CM-04", "Emergency", 0.001),
    _k("trap_emergency_verbal_eng_lead", "CM-04", "Emergency", 0.001),
    _k("trap_emergency_review_over_weekend", "CM-04", "Emergency", 0.001),
    _k("emergency_all_gates", "", "Emergency", 0.001),
    _k("emergency_late_documentation", "CM-04 CM-14", "Emergency", 0.001),
    _k("emergency_late_review", "CM-04 CM-15", "Emergency", 0.001),
    _k("emergency_no_review", "CM-04 CM-15", "Emergency", 0.001),
    _k("emergency_no_verbal_approval", "CM-04 CM-16", "Emergency", 0.001),
    _k("emergency_verbal_not_authorized", "CM-04 CM-16", "Emergency", 0.001),
    _k("emergency_verbal_after_deploy", "CM-04 CM-16", "Emergency", 0.001),
    _k("emergency_no_ciso_signoff", "CM-04 CM-16", "Emergency", 0.001),
    _k("emergency_shared_account", "CM-02 CM-04", "Emergency", 0.001),
    # §5 detection: no ticket key anywhere at deploy time; the Emergency ticket opened afterwards
    # names the deployed commit (its justification), so the change links to it and is an emergency
    _k("emergency_documented_later", "CM-04", "Emergency", 0.001),
    # §5 detection: the ticket is filed as a Normal change (type normal, risk 3), the PR carries the
    # label "hotfix" (policy.emergency_labels), so the change is an emergency: CM-09/10/13 n/a
    _k("emergency_hotfix_label", "CM-04", "Emergency", 0.001),
]
EMERGENCY_RATE = 0.02

# Rollbacks: every one carries exactly one of these.
ROLLBACK = [
    _k("rollback_with_incident", "", "any", 0.004),
    _k("trap_rollback_by_compare", "", "any", 0.002),
    _k("rollback_no_incident", "CM-17", "any", 0.001),
    _k("rollback_low_priority_incident", "CM-17", "any", 0.001),
    _k("rollback_incident_without_review", "CM-17", "any", 0.001),
    _k("rollback_incident_outside_window", "CM-17", "any", 0.001),
]
ROLLBACK_RATE = 0.01

# A few changes carry two independent failures (a second kind from another control).
PAIRABLE = ("one_approver", "check_failing", "scan_open_high", "no_staging", "bot_without_trigger")
PAIR_RATE = 0.002

BY_NAME = {k.name: k for k in FORWARD + EMERGENCY + ROLLBACK}
