"""The 40 repositories (one service each) of the sample organization and their owning teams."""
from __future__ import annotations

import math
import random

from flows.demo.clock import DAY, Period
from flows.demo.model import Repo

# team -> (name, language, description, relative deployment frequency)
CATALOG: dict[str, list[tuple[str, str, str, float]]] = {
    "payments": [
        ("payments-api", "Go", "Public payments API: charges, refunds, payouts", 2.6),
        ("payment-gateway", "Go", "Card network and PSP adapters", 1.4),
        ("billing-service", "Kotlin", "Subscriptions, plans and invoices", 1.2),
        ("invoicing-worker", "Kotlin", "Asynchronous invoice rendering and delivery", 0.7),
        ("fraud-scoring", "Python", "Real-time fraud risk scoring", 0.8),
    ],
    "ledger": [
        ("ledger-service", "Go", "Double-entry ledger of record", 1.8),
        ("reconciliation-jobs", "Python", "Bank and PSP reconciliation batch jobs", 0.8),
        ("accounting-export", "Python", "Exports to the general ledger", 0.5),
        ("fx-rates", "Go", "Foreign-exchange rate cache and API", 0.6),
        ("settlement-service", "Java", "Merchant settlement and payouts scheduling", 1.0),
    ],
    "identity": [
        ("auth-service", "Go", "OAuth2 / OIDC authorization server", 1.9),
        ("user-profile", "TypeScript", "User profile and preferences API", 1.1),
        ("sso-bridge", "Java", "SAML SSO bridge for enterprise customers", 0.6),
        ("permissions-api", "Go", "Role-based access control decisions", 0.9),
        ("session-store", "Rust", "Session token store", 0.7),
    ],
    "web": [
        ("web-frontend", "TypeScript", "Customer dashboard single-page app", 3.0),
        ("admin-console", "TypeScript", "Internal admin console", 1.2),
        ("marketing-site", "TypeScript", "Public marketing website", 1.5),
        ("design-system", "TypeScript", "Shared UI components", 0.9),
        ("checkout-web", "TypeScript", "Hosted checkout pages", 1.0),
    ],
    "platform": [
        ("api-gateway", "Go", "Edge API gateway and rate limiting", 1.3),
        ("infra-terraform", "HCL", "Production infrastructure as code", 1.6),
        ("service-mesh", "Go", "Service mesh configuration and sidecars", 0.6),
        ("observability-stack", "Go", "Metrics, logs and tracing pipeline", 0.8),
        ("feature-flags", "Go", "Feature flag evaluation service", 1.0),
    ],
    "data": [
        ("data-pipeline", "Python", "Streaming ETL into the warehouse", 1.3),
        ("events-ingest", "Go", "Event ingestion endpoint", 1.0),
        ("warehouse-loader", "Python", "Batch loads into the analytics warehouse", 0.7),
        ("analytics-api", "Python", "Customer-facing analytics API", 0.9),
        ("ml-features", "Python", "Feature store for ML models", 0.8),
    ],
    "growth": [
        ("notifications-service", "Kotlin", "Notification routing and preferences", 1.2),
        ("email-sender", "Go", "Transactional e-mail delivery", 0.8),
        ("referral-service", "Kotlin", "Referral programme backend", 0.5),
        ("search-api", "Java", "Full-text search over customer data", 1.0),
        ("recommendations", "Python", "Product recommendations", 0.6),
    ],
    "mobile": [
        ("mobile-bff", "TypeScript", "Backend-for-frontend of the mobile apps", 1.7),
        ("push-gateway", "Go", "APNs / FCM push gateway", 0.7),
        ("ios-config-service", "Swift", "Remote configuration for iOS clients", 0.5),
        ("media-service", "Go", "Image and document uploads", 0.8),
        ("app-release-api", "TypeScript", "Mobile release channel API", 0.6),
    ],
}

# Repositories created during the period: their first production deployment is a baseline.
NEW_REPOS = ("fraud-scoring", "ml-features", "app-release-api")


# Above this scale the catalog is repeated (`payments-api-2`, ...), so that a repository's
# deployments stay hours apart at the benchmark's large profiles (flows/bench/profiles.py).
SCALE_PER_CATALOG = 4.0


def build_repos(rng: random.Random, org: str, period: Period, scale: float = 1.0) -> list[Repo]:
    copies = max(1, math.ceil(scale / SCALE_PER_CATALOG))
    repos = []
    for team, name, language, description, weight in (
            (team, f"{name}-{k}" if k > 1 else name, language, description, weight)
            for k in range(1, copies + 1) for team, entries in CATALOG.items()
            for name, language, description, weight in entries):
        if name in NEW_REPOS:
            created = period.start + rng.randint(2, 25) * DAY
        else:
            created = period.start - rng.randint(200, 2200) * DAY
        repos.append(Repo(
            name=name, full_name=f"{org}/{name}", id=rng.randint(300_000_000, 900_000_000),
            team=team, language=language, description=description, created_at=created,
            is_new=name in NEW_REPOS, weight=weight,
        ))
    return repos
