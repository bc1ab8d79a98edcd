"""Phrase banks for titles, bodies, commit messages and change-request texts."""
from __future__ import annotations

import random

VERBS = ["Add", "Fix", "Refactor", "Improve", "Update", "Remove", "Handle", "Cache", "Validate",
         "Instrument", "Harden", "Simplify", "Migrate", "Retry", "Paginate", "Batch"]
OBJECTS = ["retry logic for webhook delivery", "idempotency keys on POST endpoints",
           "currency rounding in totals", "timeout handling in the HTTP client",
           "database connection pool sizing", "audit log fields", "rate limiter buckets",
           "feature flag evaluation", "pagination of list endpoints", "error mapping for 4xx",
           "metrics for queue depth", "schema migration for invoices", "token refresh flow",
           "tracing spans around DB calls", "input validation for addresses",
           "dead-letter queue handling", "cache invalidation on update", "health check endpoint",
           "structured logging", "bulk export job", "null handling in serializer",
           "locale fallback", "webhook signature verification", "CSV import edge cases",
           "background job scheduling", "graceful shutdown", "config loading order"]
DEP_BUMPS = ["github.com/aws/aws-sdk-go-v2", "golang.org/x/net", "requests", "urllib3", "react",
             "typescript", "com.fasterxml.jackson.core:jackson-databind", "org.postgresql:postgresql",
             "express", "pydantic", "grpc", "openssl", "eslint", "tokio", "serde"]
COMMIT_FOLLOWUPS = ["Address review comments", "Fix lint", "Add tests", "Rename variables",
                    "Update docs", "Handle edge case", "Fix flaky test", "Apply suggestion",
                    "Tidy imports", "Adjust log level"]
DIRECT_PUSH = ["Bump timeout in prod config", "Fix typo in README", "Hotfix: correct env var name",
               "Revert accidental debug flag", "Update CODEOWNERS", "Quick fix for nil pointer"]
INCIDENT_TITLES = ["Elevated 5xx error rate", "Latency p99 above SLO", "Error budget burn rate high",
                   "Queue backlog growing", "Health check failing", "Memory usage above 90%",
                   "Database connection errors", "Certificate expiry warning",
                   "Disk usage above threshold", "Synthetic check failing"]


def slug(text: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())[:40]


def pr_title(rng: random.Random, deps: bool = False, emergency: bool = False) -> str:
    if deps:
        return f"chore(deps): bump {rng.choice(DEP_BUMPS)} to {rng.randint(1, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 20)}"
    if emergency:
        return f"Hotfix: {rng.choice(['stop', 'guard against', 'roll forward fix for', 'patch'])} {rng.choice(OBJECTS)}"
    return f"{rng.choice(VERBS)} {rng.choice(OBJECTS)}"


def pr_body(rng: random.Random, title: str, ticket_line: str = "") -> str:
    parts = [
        "## Summary",
        f"{title}. This keeps behaviour backwards compatible for existing clients.",
        "",
        "## Changes",
        *(f"- {rng.choice(VERBS).lower()} {rng.choice(OBJECTS)}" for _ in range(rng.randint(1, 4))),
        "",
        "## Testing",
        rng.choice(["- unit tests added", "- integration tests pass locally",
                    "- verified on a staging tenant", "- covered by existing contract tests"]),
    ]
    if ticket_line:
        parts += ["", ticket_line]
    return "\r\n".join(parts)


def change_texts(rng: random.Random, title: str, service: str) -> dict[str, str]:
    return {
        "short_description": f"{service}: {title}"[:160],
        "description": f"Deploy {title.lower()} to {service} in production.",
        "justification": rng.choice(["Customer-reported defect", "Roadmap item", "Reliability improvement",
                                     "Security hardening", "Routine maintenance"]),
        "implementation_plan": f"1. Merge to main\r\n2. CI builds the image\r\n3. Deploy {service} via pipeline",
        "backout_plan": backout_plan(service),
        "test_plan": "Unit and integration tests in CI; smoke tests after deployment.",
        "risk_impact_analysis": rng.choice(["Low: behind a feature flag", "Medium: touches a hot path",
                                            "Low: internal only", "Medium: schema change, backwards compatible"]),
    }


def backout_plan(service: str, omit: str = "") -> str:
    """The five-part rollback plan of §4 (CM-12): trigger, steps, owner, verification, time
    estimate; ``omit`` one part (``owner`` or ``time_estimate``) for an injection. Without the
    estimate no line may mention time, minutes or hours."""
    trigger = "Trigger: error rate above 2%" + (" after the release." if omit == "time_estimate" else " for 5 minutes.")
    parts = {"trigger": trigger,
             "steps": f"Steps: redeploy the previous release of {service} with the rollback task.",
             "owner": "Owner: on-call engineer.", "verification": "Verify: dashboards back to baseline.",
             "time_estimate": "Estimate: 10 minutes."}
    return "\r\n".join(line for part, line in parts.items() if part != omit)
