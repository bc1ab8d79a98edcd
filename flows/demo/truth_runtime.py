"""Ground truth of CM-07 (out-of-band change) from the written audit events alone.

Reads the audit.k8s.io/v1 Events as written (never the generator's intent) and the deployments,
and applies, independently of the SQL, (1) the extraction's selection (stage ResponseComplete,
verb create/update/patch/delete, a 2xx code, a resource of the default `resources`, an auditID) and
(2) the CM-07 rule of warehouse/README.md with the policy defaults below.
"""
from __future__ import annotations

from datetime import datetime
from fnmatch import fnmatchcase

from flows.demo.clock import MINUTE, Period
from flows.demo.model import Org
from flows.demo.runtime import PRODUCTION_CLUSTER, AuditEvent
from flows.demo.truth import Result

# the config defaults (flows/config.py; tests/demo/test_demo_runtime.py holds the two equal)
SELECTED_RESOURCES = ("deployments", "statefulsets", "daemonsets", "cronjobs", "jobs", "configmaps", "secrets",
                      "services", "ingresses", "roles", "rolebindings", "clusterroles", "clusterrolebindings")
PIPELINE_IDENTITIES = ("system:serviceaccount:argocd:*", "system:serviceaccount:flux-system:*",
                       "arn:aws:sts::*:assumed-role/*deploy*/*", "github-actions[bot]")
IGNORED_IDENTITIES = ("system:kube-controller-manager", "system:kube-scheduler", "system:apiserver",
                      "system:node:*", "system:serviceaccount:kube-system:*")
EXCLUDED_RESOURCES = ("leases", "events", "endpoints", "endpointslices", "*/status")
WINDOW_MINUTES = 30
PRODUCTION_ENVIRONMENTS = ("production",)


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def selected(event: dict) -> bool:
    """What the extractor lands: a completed, successful write to a selected resource."""
    code = (event.get("responseStatus") or {}).get("code")
    return (event.get("stage") == "ResponseComplete" and event.get("verb") in ("create", "update", "patch", "delete")
            and isinstance(code, int) and 200 <= code < 300 and bool(event.get("auditID"))
            and (event.get("objectRef") or {}).get("resource") in SELECTED_RESOURCES)


def _service(event: dict) -> str | None:
    """No `services` map in the demo config: the object's app.kubernetes.io/name or app label, else its name."""
    labels = ((event.get("requestObject") or {}).get("metadata") or {}).get("labels") or {}
    return labels.get("app.kubernetes.io/name") or labels.get("app") or (event.get("objectRef") or {}).get("name")


def cm07_results(events: list[AuditEvent], org: Org, period: Period) -> list[Result]:
    """One result per landed runtime change observed in the period, subject `k8s_audit:<auditID>`."""
    window = WINDOW_MINUTES * MINUTE
    deployments: dict[str, list[tuple[int, int, str]]] = {}
    for d in org.deployments:
        success = d.first_success()
        if d.environment in PRODUCTION_ENVIRONMENTS and success is not None:
            for key in (d.repo.lower(), d.repo.split("/", 1)[-1].lower()):
                deployments.setdefault(key, []).append((d.created_at, success, f"{d.repo}@{d.id}"))
    results = {}
    for e in events:
        event = e.event
        if not selected(event):
            continue
        at = _epoch(event.get("stageTimestamp") or event["requestReceivedTimestamp"])
        if not period.start <= at < period.end:
            continue
        ref = event.get("objectRef") or {}
        kind = ref.get("resource", "") + (f"/{ref['subresource']}" if ref.get("subresource") else "")
        actor = (event.get("user") or {}).get("username") or ""
        subject = f"k8s_audit:{event['auditID']}"
        if e.cluster != PRODUCTION_CLUSTER:
            results[subject] = Result("CM-07", subject, "not_applicable", f"not a production change ({e.cluster})")
        elif any(fnmatchcase(kind, p) for p in EXCLUDED_RESOURCES):
            results[subject] = Result("CM-07", subject, "not_applicable", f"resource {kind} not in scope")
        elif any(fnmatchcase(actor, p) for p in IGNORED_IDENTITIES):
            results[subject] = Result("CM-07", subject, "not_applicable", f"the cluster's control plane ({actor})")
        else:
            service = (_service(event) or "").lower()
            near = [ref_ for created, success, ref_ in deployments.get(service, [])
                    if created - window <= at <= success + window]
            pipeline = any(fnmatchcase(actor, p) for p in PIPELINE_IDENTITIES)
            if pipeline and near:
                results[subject] = Result("CM-07", subject, "pass", f"pipeline deployment {sorted(near)[0]}")
            elif pipeline:
                results[subject] = Result("CM-07", subject, "fail", f"pipeline identity, no deployment of {service}")
            else:
                results[subject] = Result("CM-07", subject, "fail", f"{event['verb']} of {kind} by {actor}")
    return [results[s] for s in sorted(results)]
