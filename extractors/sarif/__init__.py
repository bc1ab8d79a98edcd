"""SARIF 2.1.0 files (CodeQL, Semgrep, Trivy, Checkov, Bandit, ...): runs and results."""
from extractors.sarif.extract import STREAMS, extract_sarif, iter_sarif_files

__all__ = ["STREAMS", "extract_sarif", "iter_sarif_files"]
