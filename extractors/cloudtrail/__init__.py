"""AWS CloudTrail log files: successful write API calls (management events) in scope."""
from extractors.cloudtrail.extract import STREAMS, classify_actor, extract_cloudtrail, iter_trail_files

__all__ = ["STREAMS", "classify_actor", "extract_cloudtrail", "iter_trail_files"]
