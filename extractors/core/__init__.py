"""Extraction engine shared by every source: streams, paginators, HTTP client, landing files.

Sources declare `Stream`s and choose contexts; `Extraction` runs them through `ApiClient`
(retries, rate limits, credentials from the environment) into a `LandingWriter` (gzip JSON
Lines + manifest). `FolderTransport` serves a folder as an API for the demo and tests.
"""
from extractors.core.client import ApiClient, EnvCredentialAuth, folder_root
from extractors.core.engine import Extraction, Record, as_utc, parse_timestamp
from extractors.core.errors import ExtractionError, HttpStatusError, MissingCredentialError, raise_collected
from extractors.core.landing import LandingWriter, unit_slug, utc_now_iso
from extractors.core.paginators import HeaderLinkPaginator, OffsetMorePaginator, Paginator, SinglePage
from extractors.core.stream import Stream
from extractors.core.transport import Fault, FolderTransport

__all__ = [
    "ApiClient", "EnvCredentialAuth", "Extraction", "ExtractionError", "Fault", "FolderTransport",
    "HeaderLinkPaginator", "HttpStatusError", "LandingWriter", "MissingCredentialError",
    "OffsetMorePaginator", "Paginator", "Record", "SinglePage", "Stream", "as_utc", "folder_root",
    "parse_timestamp", "raise_collected", "unit_slug", "utc_now_iso",
]
