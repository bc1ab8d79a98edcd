"""GitHub REST v3 (and GraphQL for pull requests, check runs and commit->PR associations when
`api = "graphql"`): repositories, deployments and statuses, pull requests with reviews and
commits, check runs, compares and commit->PR associations."""
from extractors.github.extract import (
    compare_pairs, extract_github, extract_github_org, extract_github_repo, github_client,
)
from extractors.github.streams import STREAMS

__all__ = ["STREAMS", "compare_pairs", "extract_github", "extract_github_org", "extract_github_repo",
           "github_client"]
