"""GitLab REST v4 as a code host and deployer: projects, deployments, merge requests with
approvals, notes and commits, pipelines and jobs, compares and commit->MR associations."""
from extractors.gitlab.extract import compare_pairs, extract_gitlab, extract_gitlab_project, gitlab_client
from extractors.gitlab.streams import STREAMS

__all__ = ["STREAMS", "compare_pairs", "extract_gitlab", "extract_gitlab_project", "gitlab_client"]
