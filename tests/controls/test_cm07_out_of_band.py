"""CM-07 out-of-band change: given runtime change events and deployments, expect statuses."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from flows.config import Config, Policy
from tests.controls.harness import BASE, Org

ARGOCD = "system:serviceaccount:argocd:argocd-application-controller"
K8S = "stg_k8s_audit__runtime_changes"
CLOUDTRAIL = "stg_cloudtrail__runtime_changes"


def runtime(org: Org, event_id: str, at: datetime, actor: str, actor_kind: str = "human",
            service: str = "payments-api", table: str = K8S, environment: str = "production",
            action: str = "patch", resource_kind: str = "deployments", resource_name: str = "payments-api",
            namespace: str = "payments") -> str:
    org.add(table, event_id=event_id, observed_at=at, actor=actor, actor_kind=actor_kind, service=service,
            environment=environment, resource_kind=resource_kind, resource_name=resource_name,
            namespace=namespace, action=action, source_file="prod/audit.log", detail=json.dumps({"line": 1}))
    return ("k8s_audit:" if table == K8S else "cloudtrail:") + event_id


def test_pipeline_identity_with_matching_deployment_passes() -> None:
    org = Org()
    dep_id = org.deploy("acme/payments-api", "a" * 40, BASE)
    subject = runtime(org, "e1", BASE - timedelta(minutes=2), ARGOCD, "service")   # during the rollout
    status, reason = org.evaluate("CM-07")[subject]
    assert status == "pass"
    assert f"pipeline deployment acme/payments-api@{dep_id}" in reason


def test_human_kubectl_patch_in_production_fails() -> None:
    org = Org()
    org.deploy("acme/payments-api", "a" * 40, BASE - timedelta(days=1))
    subject = runtime(org, "e2", BASE, "alice@acme.com")
    assert org.evaluate("CM-07")[subject] == (
        "fail", "patch of deployments payments/payments-api by alice@acme.com (human) in production,"
                " no pipeline deployment of payments-api within 30 min")


def test_human_change_during_a_deployment_still_fails() -> None:
    org = Org()
    org.deploy("acme/payments-api", "a" * 40, BASE)
    subject = runtime(org, "e3", BASE + timedelta(minutes=10), "alice@acme.com")
    status, reason = org.evaluate("CM-07")[subject]
    assert status == "fail" and "not a sanctioned pipeline identity" in reason


def test_pipeline_identity_without_deployment_fails_and_window_is_configurable() -> None:
    org = Org()
    org.deploy("acme/payments-api", "a" * 40, BASE)
    org.deploy("acme/ledger", "b" * 40, BASE)                                        # another service
    late = runtime(org, "e4", BASE + timedelta(minutes=45), ARGOCD, "service")
    other = runtime(org, "e5", BASE, ARGOCD, "service", service="checkout", resource_name="checkout")
    results = org.evaluate("CM-07")
    assert results[late] == ("fail", "patch of deployments payments/payments-api by " + ARGOCD + " (service) in"
                                     " production: pipeline identity, but no production deployment of"
                                     " payments-api within 30 min")
    assert results[other][0] == "fail"
    wide = Config(policy=Policy(runtime_change_window_minutes=60))
    assert org.evaluate("CM-07", config=wide)[late][0] == "pass"


def test_staging_deployment_does_not_explain_a_production_change() -> None:
    org = Org()
    org.deploy("acme/payments-api", "a" * 40, BASE, env="staging")
    subject = runtime(org, "e6", BASE, ARGOCD, "service")
    assert org.evaluate("CM-07")[subject][0] == "fail"


def test_not_applicable_read_only_non_production_out_of_scope_and_control_plane() -> None:
    org = Org()
    cases = {
        runtime(org, "n1", BASE, "alice@acme.com", action="get"): "read-only action get",
        runtime(org, "n2", BASE, "alice@acme.com", environment="non-production"): "not a production change (non-production)",
        runtime(org, "n3", BASE, "system:kube-scheduler", "service", resource_kind="leases"): "resource leases not in scope",
        runtime(org, "n4", BASE, "system:serviceaccount:kube-system:deployment-controller", "service",
                resource_kind="replicasets"): "made by the cluster's own control plane",
        runtime(org, "n5", BASE, "arn:aws:iam::111122223333:user/alice", table=CLOUDTRAIL,
                action="ecs:DescribeServices", resource_kind="ecs.amazonaws.com"): "read-only action ecs:DescribeServices",
    }
    results = org.evaluate("CM-07")
    for subject, reason in cases.items():
        assert results[subject][0] == "not_applicable", subject
        assert results[subject][1].startswith(reason), results[subject]


def test_events_outside_the_period_are_not_subjects() -> None:
    org = Org()
    runtime(org, "old", datetime(2026, 6, 30, 23, 0, tzinfo=BASE.tzinfo), "alice@acme.com")
    assert "k8s_audit:old" not in org.evaluate("CM-07")


def test_cloudtrail_human_console_change_fails_and_pipeline_role_passes() -> None:
    org = Org()
    dep_id = org.deploy("acme/payments-api", "a" * 40, BASE)
    console = runtime(org, "c1", BASE + timedelta(hours=3), "arn:aws:iam::111122223333:user/alice", table=CLOUDTRAIL,
                      action="iam:PutRolePolicy", resource_kind="iam.amazonaws.com", resource_name="payments-task",
                      service="payments-task", namespace="111122223333/eu-west-1")
    pipeline = runtime(org, "c2", BASE - timedelta(minutes=1),
                       "arn:aws:sts::111122223333:assumed-role/github-deploy/gha-run-42", "service", table=CLOUDTRAIL,
                       action="ecs:UpdateService", resource_kind="ecs.amazonaws.com", namespace="111122223333/eu-west-1")
    results = org.evaluate("CM-07")
    assert results[console] == (
        "fail", "iam:PutRolePolicy of iam.amazonaws.com 111122223333/eu-west-1/payments-task by"
                " arn:aws:iam::111122223333:user/alice (human) in production, no pipeline deployment of"
                " payments-task within 30 min")
    assert results[pipeline] == ("pass", results[pipeline][1])
    assert f"acme/payments-api@{dep_id}" in results[pipeline][1]


def test_runtime_subjects_are_not_changes() -> None:
    org = Org()
    org.change()
    before = org.connect().execute("select count(*) from int_changes_in_period").fetchone()[0]
    runtime(org, "e7", BASE, "alice@acme.com")
    from warehouse.runner import load_controls

    control = next(c for c in load_controls() if c.control_id == "CM-07")
    assert control.subject_type == "runtime_change"          # change outcomes read subject_type 'change' only
    assert org.connect().execute("select count(*) from int_changes_in_period").fetchone()[0] == before
