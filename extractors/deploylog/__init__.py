"""Deployments from any CD tool's JSON Lines or CSV log, through a configurable column mapping."""
from extractors.deploylog.extract import STREAMS, extract_deploylog

__all__ = ["STREAMS", "extract_deploylog"]
