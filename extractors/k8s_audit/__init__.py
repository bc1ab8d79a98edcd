"""Kubernetes audit logs (audit.k8s.io/v1 Events): successful writes to workloads and config."""
from extractors.k8s_audit.extract import STREAMS, classify_identity, extract_k8s_audit, iter_audit_files

__all__ = ["STREAMS", "classify_identity", "extract_k8s_audit", "iter_audit_files"]
