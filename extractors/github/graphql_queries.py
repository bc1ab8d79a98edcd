"""The GitHub GraphQL documents changetrail sends (POST /graphql), and the endpoint's address.

Two shapes, both documented public schema (docs.github.com/graphql/reference):

* `PULL_REQUESTS`: one page of a repository's pull requests, newest update first, each with its
  labels, reviews and commits (with the git author/committer and the GitHub user GitHub matched).
  Variables: owner, name, first (PRs per page, 1-100), after (the previous page's endCursor),
  inner (reviews / commits per PR, 1-100). Node count for first=50, inner=100: 50 + 50*100*2 +
  50*100 labels = 15,050, far below the 500,000 limit.
* `commit_checks_query(shas)`: the check suites and check runs (filterBy ALL: every run, not only
  the latest per name, like REST `filter=all`) of up to 50 commits of one repository, one aliased
  `cN: object(oid: "<sha>")` per commit. Variables: owner, name, suites (1-100), runs (1-100).
* `commit_pulls_query(shas)`: `associatedPullRequests { number }` of up to 50 commits, aliased the
  same way. Variables: owner, name, first (1-100).

`FolderTransport` answers both from the REST folders (extractors/github/folder_graphql.py).
"""
from __future__ import annotations

import re

CHECK_BATCH = 50       # commits per checks query
_SHA = re.compile(r"[0-9a-f]{40}")

_ACTOR = "{ __typename login }"
_GIT_ACTOR = "{ name email date user { login } }"

PULL_REQUESTS = f"""query PullRequests($owner: String!, $name: String!, $first: Int!, $after: String, $inner: Int!) {{
  repository(owner: $owner, name: $name) {{
    pullRequests(first: $first, after: $after, orderBy: {{field: UPDATED_AT, direction: DESC}}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        databaseId number title body state isDraft url createdAt updatedAt mergedAt closedAt
        author {_ACTOR}
        headRefName headRefOid baseRefName
        mergeCommit {{ oid }} potentialMergeCommit {{ oid }}
        labels(first: 100) {{ totalCount nodes {{ name }} }}
        reviews(first: $inner) {{
          totalCount pageInfo {{ hasNextPage endCursor }}
          nodes {{ databaseId state submittedAt url author {_ACTOR} commit {{ oid }} }}
        }}
        commits(first: $inner) {{
          totalCount pageInfo {{ hasNextPage endCursor }}
          nodes {{ commit {{ oid message author {_GIT_ACTOR} committer {_GIT_ACTOR} }} }}
        }}
      }}
    }}
  }}
  rateLimit {{ cost remaining resetAt }}
}}"""

_COMMIT_CHECKS = """fragment CommitChecks on Commit {
  oid
  checkSuites(first: $suites) {
    pageInfo { hasNextPage endCursor }
    nodes {
      app { slug }
      checkRuns(first: $runs, filterBy: {checkType: ALL}) {
        pageInfo { hasNextPage endCursor }
        nodes { databaseId name status conclusion startedAt completedAt url }
      }
    }
  }
}"""


_COMMIT_PULLS = """fragment CommitPulls on Commit {
  oid
  associatedPullRequests(first: $first) {
    pageInfo { hasNextPage endCursor }
    nodes { number }
  }
}"""


def commit_checks_query(shas: list[str]) -> str:
    """The checks document for `shas` (full 40-hex object ids, at most CHECK_BATCH)."""
    return _per_commit(shas, "CommitChecks", "$suites: Int!, $runs: Int!", _COMMIT_CHECKS)


def commit_pulls_query(shas: list[str]) -> str:
    """The commit -> pull request association (REST `commits/{sha}/pulls`: the merged PR that
    introduced the commit, and open PRs holding it) of `shas`; variables owner, name, first."""
    return _per_commit(shas, "CommitPulls", "$first: Int!", _COMMIT_PULLS)


def _per_commit(shas: list[str], fragment: str, variables: str, text: str) -> str:
    if not shas or len(shas) > CHECK_BATCH:
        raise ValueError(f"1 to {CHECK_BATCH} shas per {fragment} query, not {len(shas)}")
    bad = [s for s in shas if not is_full_sha(s)]
    if bad:
        raise ValueError(f"not a full commit sha: {bad[0]!r}")
    aliases = "\n".join(f'    c{i}: object(oid: "{sha}") {{ ...{fragment} }}' for i, sha in enumerate(shas))
    return (
        f"query {fragment}($owner: String!, $name: String!, {variables}) {{\n"
        f"  repository(owner: $owner, name: $name) {{\n{aliases}\n  }}\n"
        "  rateLimit { cost remaining resetAt }\n}\n" + text
    )


def is_full_sha(value: str) -> bool:
    return bool(_SHA.fullmatch(value))


def graphql_endpoint(base_url: str) -> str:
    """POST target: api.github.com -> /graphql; GHES .../api/v3 -> .../api/graphql; a folder -> <root>/graphql."""
    base = base_url.rstrip("/")
    if base.endswith("/api/v3"):
        return base[: -len("/v3")] + "/graphql"
    return base + "/graphql"
