"""Runtime change sources: Kubernetes audit logs and CloudTrail files -> stg_*__runtime_changes.

Fixtures are small hand-written events in the exact public formats (audit.k8s.io/v1 Event JSON
lines as kube-apiserver's log backend writes them; CloudTrail `{"Records": [...]}` files as
delivered to S3) - there is no shared recording of these.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

from extractors.cloudtrail import extract_cloudtrail
from extractors.k8s_audit import extract_k8s_audit
from flows.config import CloudTrailSource, K8sAuditSource
from tests.extractors.conftest import read_manifest

RUNTIME_COLUMNS = ["event_id", "observed_at", "actor", "actor_kind", "service", "environment", "resource_kind",
                   "resource_name", "namespace", "action", "source_file", "detail"]


def k8s_event(audit_id: str, verb: str = "patch", user: str = "alice@acme.com", resource: str = "deployments",
              name: str | None = "payments-api", namespace: str = "payments", stage: str = "ResponseComplete",
              code: int = 200, **extra) -> dict:
    ref = {"resource": resource, "namespace": namespace, "apiGroup": "apps", "apiVersion": "v1"}
    if name:
        ref["name"] = name
    return {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse", "auditID": audit_id,
        "stage": stage, "requestURI": f"/apis/apps/v1/namespaces/{namespace}/{resource}/{name or ''}",
        "verb": verb, "user": {"username": user, "groups": ["system:authenticated"]},
        "sourceIPs": ["10.0.0.12"], "userAgent": "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350",
        "objectRef": ref, "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": "2026-08-04T14:10:00.120000Z", "stageTimestamp": "2026-08-04T14:10:00.180000Z",
        "annotations": {"authorization.k8s.io/decision": "allow"}, **extra,
    }


def _write_lines(path: Path, lines: list, gz: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())


def test_k8s_audit_selects_successful_writes_and_quarantines_bad_lines(tmp_path: Path, warehouse) -> None:
    folder = tmp_path / "audit"
    create = k8s_event("a-create", verb="create", user="system:serviceaccount:argocd:argocd-application-controller",
                       name=None, requestObject={
                           "kind": "Deployment", "metadata": {"name": "ledger", "labels": {"app.kubernetes.io/name": "ledger-svc"}},
                           "spec": {"template": {"spec": {"containers": [{"name": "ledger", "image": "ghcr.io/acme/ledger:1.4.2"}]}}}})
    _write_lines(folder / "prod-eu" / "kube-apiserver-audit.log", [
        k8s_event("a-patch"),                                               # kubectl patch by a human
        k8s_event("a-patch", stage="RequestReceived"),                      # same request, earlier stage
        k8s_event("a-get", verb="get"),                                     # read
        k8s_event("a-forbidden", code=403),                                 # denied
        k8s_event("a-lease", resource="leases", name="kube-scheduler", namespace="kube-system",
                  user="system:kube-scheduler"),                            # not a resource of interest
        '{"kind": "Event", "auditID": "broken',                             # truncated line
        create,
        k8s_event("a-secret", verb="update", user="kubernetes-admin", resource="secrets", name="db-creds"),
        k8s_event("", verb="delete"),                                       # no auditID
    ])
    _write_lines(folder / "staging" / "audit.log.1.gz", [k8s_event("s-patch", user="bob@acme.com")], gz=True)

    config = K8sAuditSource(path=folder, production_clusters=["prod-eu"], services={"payments": "acme/payments-api"})
    [manifest_path] = extract_k8s_audit(config, tmp_path / "landing", "r1")
    manifest = read_manifest(manifest_path)
    assert [(f["stream"], f["records"], f["requests"]) for f in manifest["files"]] == [("events", 4, 2)]
    assert "stage=ResponseComplete" in manifest["files"][0]["query"]
    reasons = {q["locator"]: q["reason"] for q in manifest["quarantined"]}
    assert reasons["prod-eu/kube-apiserver-audit.log line 6"].startswith("not valid JSON")
    assert reasons["prod-eu/kube-apiserver-audit.log line 9"] == "missing required key 'auditID'"

    con = warehouse(tmp_path / "landing")
    assert [d[0] for d in con.execute("describe stg_k8s_audit__runtime_changes").fetchall()] == RUNTIME_COLUMNS
    rows = {r[0]: r for r in con.execute(
        "select event_id, actor, actor_kind, service, environment, resource_kind, resource_name, namespace,"
        " action, source_file, strftime(observed_at, '%Y-%m-%d %H:%M:%S.%f') from stg_k8s_audit__runtime_changes").fetchall()}
    assert rows["a-patch"] == ("a-patch", "alice@acme.com", "human", "acme/payments-api", "production", "deployments",
                               "payments-api", "payments", "patch", "prod-eu/kube-apiserver-audit.log",
                               "2026-08-04 14:10:00.180000")
    assert rows["a-create"][1:8] == ("system:serviceaccount:argocd:argocd-application-controller", "service",
                                     "acme/payments-api", "production", "deployments", "ledger", "payments")
    assert rows["a-secret"][2] == "unknown"                       # a shared cluster-admin certificate
    assert rows["s-patch"][4] == "non-production"
    detail = json.loads(con.execute("select detail from stg_k8s_audit__runtime_changes where event_id = 'a-create'").fetchone()[0])
    assert detail["images"] == ["ghcr.io/acme/ledger:1.4.2"] and detail["cluster"] == "prod-eu"


def test_k8s_service_falls_back_to_label_then_object_name(tmp_path: Path, warehouse) -> None:
    folder = tmp_path / "audit"
    labelled = k8s_event("e1", verb="update", requestObject={"metadata": {"name": "web-7f9", "labels": {"app": "web"}}},
                         name="web-7f9")
    _write_lines(folder / "production" / "audit.jsonl", [labelled, k8s_event("e2", name="checkout")])
    extract_k8s_audit(K8sAuditSource(path=folder), tmp_path / "landing", "r1")
    con = warehouse(tmp_path / "landing")
    assert con.execute("select event_id, service from stg_k8s_audit__runtime_changes order by 1").fetchall() == [
        ("e1", "web"), ("e2", "checkout")]


def trail_record(event_id: str, name: str = "UpdateService", source: str = "ecs.amazonaws.com", **extra) -> dict:
    record = {
        "eventVersion": "1.09", "eventTime": "2026-08-04T14:20:31Z", "eventSource": source, "eventName": name,
        "awsRegion": "eu-west-1", "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2.17.0",
        "userIdentity": {
            "type": "AssumedRole", "principalId": "AROAEXAMPLE:gha-run-42",
            "arn": "arn:aws:sts::111122223333:assumed-role/github-deploy/gha-run-42", "accountId": "111122223333",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE",
                                                 "arn": "arn:aws:iam::111122223333:role/github-deploy",
                                                 "accountId": "111122223333", "userName": "github-deploy"},
                               "attributes": {"creationDate": "2026-08-04T14:19:00Z", "mfaAuthenticated": "false"}}},
        "requestParameters": {"cluster": "prod", "service": "payments-api", "taskDefinition": "payments-api:42"},
        "responseElements": {"service": {"serviceName": "payments-api"}},
        "requestID": "req-" + event_id, "eventID": event_id, "readOnly": False, "eventType": "AwsApiCall",
        "managementEvent": True, "recipientAccountId": "111122223333", "eventCategory": "Management",
    }
    record.update(extra)
    return record


def test_cloudtrail_selects_write_calls_in_scope(tmp_path: Path, warehouse) -> None:
    folder = tmp_path / "trail"
    base = folder / "AWSLogs" / "111122223333" / "CloudTrail" / "eu-west-1" / "2026" / "08" / "04"
    human = trail_record(
        "ct-human", name="PutRolePolicy", source="iam.amazonaws.com", sessionCredentialFromConsole="true",
        userIdentity={"type": "IAMUser", "principalId": "AIDAEXAMPLE", "accountId": "111122223333",
                      "arn": "arn:aws:iam::111122223333:user/alice", "userName": "alice"},
        requestParameters={"roleName": "payments-task", "policyName": "inline"})
    records = [
        trail_record("ct-deploy"),
        trail_record("ct-read", name="DescribeServices", readOnly=True),
        trail_record("ct-denied", errorCode="AccessDenied", errorMessage="not authorized"),
        trail_record("ct-data", name="PutObject", source="s3.amazonaws.com", managementEvent=False),
        trail_record("ct-other-account", recipientAccountId="999999999999"),
        trail_record("ct-signin", eventType="AwsConsoleSignIn"),
        human,
        trail_record("", name="UpdateService"),
    ]
    base.mkdir(parents=True)
    (base / "111122223333_CloudTrail_eu-west-1_20260804T1425Z_a1.json.gz").write_bytes(
        gzip.compress(json.dumps({"Records": records}).encode()))
    (base / "plain.json").write_text(json.dumps({"Records": [trail_record("ct-plain", name="UpdateFunctionCode20150331v2",
        source="lambda.amazonaws.com", requestParameters={"functionName": "ledger-sync"},
        resources=[{"ARN": "arn:aws:lambda:eu-west-1:111122223333:function:ledger-sync", "type": "AWS::Lambda::Function"}])]}))
    (base / "broken.json").write_text('{"Records": [')
    (base / "not-a-trail.json").write_text('{"hello": 1}')
    digest = folder / "AWSLogs" / "111122223333" / "CloudTrail-Digest" / "eu-west-1" / "d.json.gz"
    digest.parent.mkdir(parents=True)
    digest.write_bytes(gzip.compress(b'{"awsAccountId": "111122223333"}'))

    config = CloudTrailSource(path=folder, accounts=["111122223333"], services={"payments-api": "acme/payments-api"},
                              service_identity_patterns=["arn:aws:sts::*:assumed-role/github-deploy/*"])
    [manifest_path] = extract_cloudtrail(config, tmp_path / "landing", "r1")
    manifest = read_manifest(manifest_path)
    assert [(f["stream"], f["records"], f["requests"]) for f in manifest["files"]] == [("events", 3, 4)]
    reasons = sorted(q["reason"].split(":")[0] for q in manifest["quarantined"])
    assert reasons == ["missing required key 'eventID'", "not a CloudTrail log", "not a readable JSON file"]

    con = warehouse(tmp_path / "landing")
    assert [d[0] for d in con.execute("describe stg_cloudtrail__runtime_changes").fetchall()] == RUNTIME_COLUMNS
    rows = {r[0]: r[1:] for r in con.execute(
        "select event_id, actor, actor_kind, service, environment, resource_kind, resource_name, namespace, action"
        " from stg_cloudtrail__runtime_changes").fetchall()}
    assert rows["ct-deploy"] == ("arn:aws:sts::111122223333:assumed-role/github-deploy/gha-run-42", "service",
                                 "acme/payments-api", "production", "ecs.amazonaws.com", "payments-api",
                                 "111122223333/eu-west-1", "ecs:UpdateService")
    assert rows["ct-human"][:2] == ("arn:aws:iam::111122223333:user/alice", "human")
    assert rows["ct-human"][3:] == ("production", "iam.amazonaws.com", "payments-task", "111122223333/eu-west-1",
                                    "iam:PutRolePolicy")
    assert rows["ct-plain"][2] == "ledger-sync" and rows["ct-plain"][4] == "AWS::Lambda::Function"
    detail = json.loads(con.execute("select detail from stg_cloudtrail__runtime_changes where event_id = 'ct-human'").fetchone()[0])
    assert detail["console"] is True and detail["identity_type"] == "IAMUser"
    ts = con.execute("select observed_at from stg_cloudtrail__runtime_changes where event_id = 'ct-deploy'").fetchone()[0]
    assert ts.isoformat().startswith("2026-08-04T14:20:31")


def test_runtime_entity_unions_both_sources(tmp_path: Path, warehouse) -> None:
    _write_lines(tmp_path / "audit" / "production" / "audit.log", [k8s_event("k1")])
    (tmp_path / "trail").mkdir()
    (tmp_path / "trail" / "t.json").write_text(json.dumps({"Records": [trail_record("c1")]}))
    extract_k8s_audit(K8sAuditSource(path=tmp_path / "audit"), tmp_path / "landing", "r1")
    extract_cloudtrail(CloudTrailSource(path=tmp_path / "trail"), tmp_path / "landing", "r1")
    con = warehouse(tmp_path / "landing")
    from warehouse.models import entity_unions

    sql = entity_unions(["stg_k8s_audit__runtime_changes", "stg_cloudtrail__runtime_changes"])["int_runtime_changes_unioned"]
    assert sorted(con.execute(f"select source_system, event_id from ({sql})").fetchall()) == [
        ("cloudtrail", "c1"), ("k8s_audit", "k1")]


def test_incremental_reads_only_files_modified_since_and_records_a_cursor(tmp_path: Path) -> None:
    import os
    from datetime import datetime, timezone

    folder = tmp_path / "audit" / "production"
    _write_lines(folder / "old.log", [k8s_event("old")])
    _write_lines(folder / "new.log", [k8s_event("new")])
    os.utime(folder / "old.log", (1_700_000_000, 1_700_000_000))
    since = datetime(2024, 1, 1, tzinfo=timezone.utc)
    [path] = extract_k8s_audit(K8sAuditSource(path=tmp_path / "audit"), tmp_path / "landing", "r1", since=since)
    manifest = read_manifest(path)
    assert manifest["files"][0]["records"] == 1
    assert datetime.fromisoformat(manifest["cursors"]["events"]) > since
