"""CM-07 runtime events and the EV-02 coverage gap of the demo, in memory (no flow run):
double entry between the generator's intent and the independent ground truth."""
from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from flows.config import K8S_RESOURCES, Policy as ConfigPolicy
from flows.demo import truth_runtime
from flows.demo.clock import parse_period
from flows.demo.coverage import ev02_results, unlisted_repo
from flows.demo.report import config_toml
from flows.demo.runtime import runtime_events
from flows.demo.scenario import Scenario
from flows.demo.truth_runtime import cm07_results

PERIOD = parse_period("2026Q3")


@pytest.fixture(scope="module")
def org():
    org, _ = Scenario(3, PERIOD, 0.1).run()
    return org


def test_truth_uses_the_config_defaults():
    policy = ConfigPolicy()
    assert list(truth_runtime.PIPELINE_IDENTITIES) == policy.pipeline_identities
    assert list(truth_runtime.IGNORED_IDENTITIES) == policy.runtime_ignored_identities
    assert list(truth_runtime.EXCLUDED_RESOURCES) == policy.runtime_excluded_resources
    assert truth_runtime.WINDOW_MINUTES == policy.runtime_change_window_minutes
    assert list(truth_runtime.SELECTED_RESOURCES) == K8S_RESOURCES


def test_every_event_gets_the_status_it_was_generated_for(org):
    events = runtime_events(org, PERIOD, 3, 0.1)
    truth = {r.subject_id: r.status for r in cm07_results(events, org, PERIOD)}
    intended = {f"k8s_audit:{e.event['auditID']}": e.expect for e in events if e.expect}
    assert truth == intended
    kinds = Counter(e.kind for e in events)
    for kind in ("pass_pipeline_deploy", "fail_human_edit", "fail_human_edit_after_deploy",
                 "fail_pipeline_without_deployment", "fail_cluster_admin", "na_control_plane",
                 "na_excluded_status", "na_staging_cluster", "trap_read", "trap_forbidden_write",
                 "trap_lease", "trap_before_period"):
        assert kinds[kind] >= 1, kind
    assert Counter(truth.values()).keys() == {"pass", "fail", "not_applicable"}


def test_runtime_events_are_deterministic_and_leave_the_sample_alone(org):
    first = runtime_events(org, PERIOD, 3, 0.1)
    assert [e.event for e in first] == [e.event for e in runtime_events(org, PERIOD, 3, 0.1)]
    assert [e.event for e in first] != [e.event for e in runtime_events(org, PERIOD, 4, 0.1)]
    again, _ = Scenario(3, PERIOD, 0.1).run()     # drawing the events consumed none of the scenario's randomness
    assert [(d.id, d.sha, d.created_at) for d in again.deployments] == [(d.id, d.sha, d.created_at) for d in org.deployments]


def test_a_deployed_pipeline_change_fails_without_its_deployment(org):
    """Removing the deployments turns every pipeline pass into a fail (the window matters)."""
    events = [e for e in runtime_events(org, PERIOD, 3, 0.1) if e.expect == "pass"]
    assert events
    org_without = replace(org, deployments=[d for d in org.deployments if d.environment != "production"])
    assert {r.status for r in cm07_results(events, org_without, PERIOD)} == {"fail"}


def test_one_deploying_repository_is_left_out_of_the_config_and_fails_ev02(org):
    repo = unlisted_repo(org, PERIOD)
    assert repo is not None
    assert f'"{repo}" =' not in config_toml(org, repo) and f'"{repo}" =' in config_toml(org)
    results = ev02_results(org, PERIOD, {r.full_name for r in org.repos} - {repo})
    assert [(r.subject_id, r.status) for r in results if r.status == "fail"] == [(repo, "fail")]
    assert all(r.status != "fail" for r in ev02_results(org, PERIOD, {r.full_name for r in org.repos}))
