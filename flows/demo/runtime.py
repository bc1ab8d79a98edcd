"""Runtime audit events of the demo's clusters (CM-07): Kubernetes audit logs.

The production cluster's API server audit log (``sample/k8s_audit/production/kube-apiserver-audit.log``,
one ``audit.k8s.io/v1`` Event per line) and a staging cluster's (``sample/k8s_audit/staging/...``).
Every event is drawn from its own RNG stream (``Random(f"runtime:{seed}")``), after the scenario, so the
records of every other source are unchanged by it. Each event carries the generator's intent
(``kind``, ``expect``); the ground truth (``truth_runtime.py``) never reads them, it evaluates the
written events against the deployments by the CM-07 rule of ``warehouse/README.md``.
"""
from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass

from flows.demo.clock import HOUR, MINUTE, Period, gh_time
from flows.demo.model import Org

PRODUCTION_CLUSTER = "production"
STAGING_CLUSTER = "staging"
ARGOCD = "system:serviceaccount:argocd:argocd-application-controller"
CONTROLLERS = ("system:serviceaccount:kube-system:deployment-controller", "system:kube-controller-manager",
               "system:serviceaccount:kube-system:horizontal-pod-autoscaler")
ROLLOUT_WATCHER = "system:serviceaccount:argo-rollouts:argo-rollouts"     # patches deployments/status
KUBECTL = "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350"


@dataclass(frozen=True, slots=True)
class AuditEvent:
    cluster: str
    event: dict         # the audit.k8s.io/v1 Event as written
    kind: str           # what the generator meant (pass_pipeline_deploy, fail_human_edit, ...)
    expect: str         # pass / fail / not_applicable; "" = not a CM-07 subject (not landed or outside the period)


def audit_log_path(cluster: str) -> str:
    return f"k8s_audit/{cluster}/kube-apiserver-audit.log"


def k8s_audit_config_toml() -> str:
    """The config section the demo appends (defaults otherwise: resources, identity patterns)."""
    return ('\n[sources.k8s_audit]\npath = "sample/k8s_audit"\n'
            f'production_clusters = ["{PRODUCTION_CLUSTER}"]\n')


class RuntimeEvents:
    def __init__(self, org: Org, period: Period, seed: int, scale: float):
        self.org, self.period, self.scale = org, period, scale
        self.rng = random.Random(f"runtime:{seed}")
        self.events: list[AuditEvent] = []
        self.humans = sorted(p.email for p in org.people if p.kind == "human" and p.email)
        self.prod = sorted((d for d in org.deployments if d.environment == "production" and d.first_success() is not None),
                           key=lambda d: (d.first_success(), d.id))
        self.spans: dict[str, list[tuple[int, int]]] = {}
        for d in self.prod:
            self.spans.setdefault(d.repo, []).append((d.created_at, d.first_success()))

    def n(self, per_scale_1: int, minimum: int) -> int:
        return max(minimum, round(per_scale_1 * self.scale))

    def run(self) -> list[AuditEvent]:
        start, end = self.period.start, self.period.end
        in_period = [d for d in self.prod if start <= d.first_success() < end - HOUR]
        names = sorted(r.name for r in self.org.repos)
        # pass: the pipeline rolls out the service's Deployment right after its production deployment
        for d in sorted(self.rng.sample(in_period, min(len(in_period), self.n(150, 4))), key=lambda d: d.id):
            at = d.first_success() + self.rng.randint(5, 15 * MINUTE)
            name = d.repo.split("/", 1)[1]
            canary = self.rng.random() < 0.1      # object named otherwise; its app.kubernetes.io/name label names the service
            self.add(PRODUCTION_CLUSTER, at, ARGOCD, self.rng.choice(["patch", "update"]), "deployments", name,
                     f"{name}-canary" if canary else name, image=f"ghcr.io/{d.repo}:{d.sha[:12]}",
                     kind="pass_pipeline_label" if canary else "pass_pipeline_deploy", expect="pass",
                     agent="argocd-application-controller/v2.11.3")
            if self.rng.random() < 0.4:        # the same request's RequestReceived stage: not selected
                self.add(PRODUCTION_CLUSTER, at, ARGOCD, "patch", "deployments", name, name, kind="trap_request_received",
                         expect="", stage="RequestReceived", audit_id=self.events[-1].event["auditID"])
        # fail: a person edits a production Deployment by hand (half of them right after a deployment)
        for i in range(self.n(6, 2)):
            if i % 2 and in_period:        # a deployment nearby does not explain a manual change
                d = self.rng.choice(in_period)
                name, at = d.repo.split("/", 1)[1], d.first_success() + self.rng.randint(2, 20) * MINUTE
                kind = "fail_human_edit_after_deploy"
            else:
                (name, at), kind = self.quiet(names), "fail_human_edit"
            self.add(PRODUCTION_CLUSTER, at, self.rng.choice(self.humans), "patch", "deployments", name, name,
                     kind=kind, expect="fail", agent=KUBECTL)
        # fail: the pipeline's identity changes a service no deployment of which ran near that time
        for _ in range(self.n(4, 2)):
            name, at = self.quiet(names)
            self.add(PRODUCTION_CLUSTER, at, ARGOCD, "update", "deployments", name, name,
                     kind="fail_pipeline_without_deployment", expect="fail", agent="argocd-application-controller/v2.11.3")
        # fail: the cluster-admin certificate (an unknown, shared identity) changes a Secret
        name, at = self.quiet(names)
        self.add(PRODUCTION_CLUSTER, at, "kubernetes-admin", "update", "secrets", name, f"{name}-db",
                 kind="fail_cluster_admin", expect="fail", agent=KUBECTL, group="")
        # n/a: the cluster's own controllers, deployments/status, the staging cluster
        for _ in range(self.n(60, 5)):
            name = self.rng.choice(names)
            actor = self.rng.choice(CONTROLLERS)
            sub = "scale" if actor.endswith("autoscaler") else None
            self.add(PRODUCTION_CLUSTER, self.anytime(), actor, "update", "deployments", name, name,
                     kind="na_control_plane", expect="not_applicable", subresource=sub)
        for _ in range(self.n(20, 2)):
            name = self.rng.choice(names)
            self.add(PRODUCTION_CLUSTER, self.anytime(), ROLLOUT_WATCHER, "patch", "deployments", name, name,
                     kind="na_excluded_status", expect="not_applicable", subresource="status")
        for _ in range(self.n(40, 3)):
            name = self.rng.choice(names)
            human = self.rng.random() < 0.5
            self.add(STAGING_CLUSTER, self.anytime(), self.rng.choice(self.humans) if human else ARGOCD,
                     "patch", "deployments", name, name, kind="na_staging_cluster", expect="not_applicable",
                     agent=KUBECTL if human else "argocd-application-controller/v2.11.3")
        # not subjects: reads, a forbidden write, leases (not a selected resource), before the period
        for _ in range(self.n(60, 5)):
            name = self.rng.choice(names)
            human = self.rng.random() < 0.5
            self.add(PRODUCTION_CLUSTER, self.anytime(), self.rng.choice(self.humans) if human else ARGOCD,
                     self.rng.choice(["get", "list", "watch"]), "deployments", name, name, kind="trap_read", expect="",
                     agent=KUBECTL if human else None)
        name, at = self.quiet(names)
        self.add(PRODUCTION_CLUSTER, at, self.rng.choice(self.humans), "delete", "deployments", name, name,
                 kind="trap_forbidden_write", expect="", code=403, agent=KUBECTL)
        for _ in range(self.n(20, 2)):
            self.add(PRODUCTION_CLUSTER, self.anytime(), "system:kube-controller-manager", "update", "leases",
                     "kube-system", "kube-controller-manager", kind="trap_lease", expect="", group="coordination.k8s.io")
        name = self.rng.choice(names)
        self.add(PRODUCTION_CLUSTER, start - self.rng.randint(2, 48) * HOUR, self.rng.choice(self.humans), "patch",
                 "deployments", name, name, kind="trap_before_period", expect="", agent=KUBECTL)
        return sorted(self.events, key=lambda e: (e.cluster, e.event["stageTimestamp"], e.event["auditID"]))

    def anytime(self) -> int:
        return self.rng.randrange(self.period.start + HOUR, self.period.end - HOUR)

    def quiet(self, names: list[str]) -> tuple[str, int]:
        """A service and a time at least 3 h away from any of its production deployments."""
        while True:
            name, at = self.rng.choice(names), self.anytime()
            spans = self.spans.get(f"{self.org.org}/{name}", [])
            if all(at < created - 3 * HOUR or at > success + 3 * HOUR for created, success in spans):
                return name, at

    def add(self, cluster: str, at: int, user: str, verb: str, resource: str, namespace: str, name: str, *,
            kind: str, expect: str, image: str | None = None, subresource: str | None = None, code: int = 200,
            stage: str = "ResponseComplete", group: str = "apps", agent: str | None = None,
            audit_id: str | None = None) -> None:
        audit_id = audit_id or str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        ref = {"resource": resource, "namespace": namespace, "name": name, "apiVersion": "v1"}
        if group:
            ref["apiGroup"] = group
        if subresource:
            ref["subresource"] = subresource
        path = (f"/apis/{group}/v1" if group else "/api/v1") + f"/namespaces/{namespace}/{resource}/{name}" \
            + (f"/{subresource}" if subresource else "")
        event = {
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse", "auditID": audit_id,
            "stage": stage, "requestURI": path, "verb": verb,
            "user": {"username": user, "groups": ["system:authenticated"]},
            "sourceIPs": [f"10.20.{self.rng.randint(0, 15)}.{self.rng.randint(2, 250)}"],
            "userAgent": agent or "kube-controller-manager/v1.30.2 (linux/amd64) kubernetes/3968350",
            "objectRef": ref, "responseStatus": {"metadata": {}, "code": code},
            "requestReceivedTimestamp": _ts(at, 0), "stageTimestamp": _ts(at, 1 if stage == "ResponseComplete" else 0),
            "annotations": {"authorization.k8s.io/decision": "allow" if code < 400 else "forbid"},
        }
        if verb in ("patch", "update") and resource == "deployments" and not subresource:
            service = name.removesuffix("-canary")
            spec = {"template": {"spec": {"containers": [{"name": service, "image": image or f"ghcr.io/{self.org.org}/{service}:hotfix"}]}}}
            event["requestObject"] = {"kind": "Deployment", "apiVersion": "apps/v1",
                                      "metadata": {"name": name, "namespace": namespace,
                                                   "labels": {"app.kubernetes.io/name": service}}, "spec": spec}
        self.events.append(AuditEvent(cluster, event, kind, expect))


def _ts(at: int, micro_step: int) -> str:
    """RFC 3339 with microseconds, as the API server writes it; `micro_step` * 60 ms after `at`."""
    return gh_time(at).replace("Z", f".{micro_step * 60000:06d}Z")


def runtime_events(org: Org, period: Period, seed: int, scale: float) -> list[AuditEvent]:
    return RuntimeEvents(org, period, seed, scale).run()


def write_runtime(files, events: list[AuditEvent]) -> None:
    """One audit log file per cluster, one JSON Event per line, in time order."""
    lines: dict[str, list[str]] = {}
    for e in events:
        lines.setdefault(e.cluster, []).append(json.dumps(e.event, separators=(",", ":")))
    for cluster, text in sorted(lines.items()):
        files.put(audit_log_path(cluster), "\n".join(text) + "\n")


__all__ = ["AuditEvent", "k8s_audit_config_toml", "runtime_events", "write_runtime"]
