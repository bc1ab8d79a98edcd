"""Scanner reports (Trivy, Snyk, pip-audit, Checkov, Bandit, GitLab SAST) as scan findings."""
from extractors.scanners.extract import STREAMS, detect_format, extract_scanners

__all__ = ["STREAMS", "detect_format", "extract_scanners"]
