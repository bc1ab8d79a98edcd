"""AWS CloudTrail log files: the successful write API calls of the accounts in scope.

CloudTrail delivers `{"Records": [...]}` JSON files (`.json.gz` in S3; plain `.json` when
copied or exported) under `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`. Digest files
(`CloudTrail-Digest/`) hold no records and are skipped.

The extraction *selects* (recorded in the manifest's query): `eventType` `AwsApiCall`,
`readOnly` not true, management events (`managementEvent` not false), no `errorCode`, and
`recipientAccountId`/`awsRegion` in the configured scope (empty = all). Each selected record
lands verbatim. A file that is not JSON, JSON without a `Records` array, or a record without
`eventID`, or whose `eventTime` has no time zone or lies in the future (core/timestamps.py), is
quarantined.

The envelope's context carries what the configuration says (never a judgment): `account`,
`region`, `environment` (`production`: the configured accounts are the production scope),
`actor_kind` and `service` (the repository the `services` map names for the resource).
"""
from __future__ import annotations

import fnmatch
import gzip
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from extractors.core import Extraction, ExtractionError, Stream, as_utc, utc_now_iso
from extractors.core.timestamps import extraction_time, time_problem
from flows.config import CloudTrailSource

SYSTEM = "cloudtrail"
SUFFIXES = (".json", ".json.gz")
EVENTS = Stream(system=SYSTEM, name="events", path="{file}", primary_key=("eventID",))
STREAMS: tuple[Stream, ...] = (EVENTS,)
# requestParameters keys that name the changed resource, most specific first
NAME_KEYS = ("service", "functionName", "bucketName", "roleName", "policyArn", "userName", "groupId",
             "dBInstanceIdentifier", "clusterName", "cluster", "name", "stackName", "keyId", "secretId",
             "repositoryName", "instanceId", "tableName", "autoScalingGroupName", "loadBalancerName")


def iter_trail_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name.lower().endswith(SUFFIXES) and "CloudTrail-Digest" not in path.parts:
            yield path


def actor_of(identity: dict[str, Any]) -> str | None:
    """The raw identity string: the ARN, else the user name, else the principal id."""
    return identity.get("arn") or identity.get("userName") or identity.get("principalId") or identity.get("invokedBy")


def classify_actor(identity: dict[str, Any], config: CloudTrailSource) -> str:
    """service/human/unknown: configured patterns first, then the identity's type."""
    actor = actor_of(identity) or ""
    if any(fnmatch.fnmatchcase(actor, p) for p in config.service_identity_patterns):
        return "service"
    if any(fnmatch.fnmatchcase(actor, p) for p in config.human_identity_patterns):
        return "human"
    kind = identity.get("type")
    if kind in ("AWSService", "AWSAccount") or identity.get("invokedBy"):
        return "service"
    if kind == "IAMUser":
        return "human"
    return "unknown"   # Root (a shared credential), assumed roles not named by a pattern, ...


def resource_name(record: dict[str, Any]) -> str | None:
    """The first listed resource's ARN, else a naming request parameter."""
    for res in record.get("resources") or ():
        if isinstance(res, dict) and res.get("ARN"):
            return res["ARN"]
    params = record.get("requestParameters")
    if isinstance(params, dict):
        for key in NAME_KEYS:
            if isinstance(params.get(key), str) and params[key]:
                return params[key]
    return None


def mapped_service(services: dict[str, str], name: str | None) -> str | None:
    """The repository configured for the resource ARN or its last path/colon segment."""
    if not name:
        return None
    short = name.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return services.get(name) or services.get(short)


def is_selected(record: dict[str, Any], config: CloudTrailSource) -> bool:
    if record.get("eventType") != "AwsApiCall" or record.get("errorCode"):
        return False
    if record.get("readOnly") is True or record.get("managementEvent") is False:
        return False
    account = record.get("recipientAccountId") or (record.get("userIdentity") or {}).get("accountId")
    if config.accounts and account not in config.accounts:
        return False
    return not config.regions or record.get("awsRegion") in config.regions


def extract_cloudtrail(
    config: CloudTrailSource, landing: Path, run_id: str, since: datetime | None = None,
) -> list[Path]:
    """The CloudTrail folder as one extraction unit; returns its manifest path in a list."""
    folder = Path(config.path).resolve()
    if not folder.is_dir():
        raise ExtractionError(SYSTEM, str(folder), None, "CloudTrail folder does not exist")
    since = as_utc(since)
    scope = (f" and recipientAccountId in ({','.join(config.accounts)})" if config.accounts else "") + (
        f" and awsRegion in ({','.join(config.regions)})" if config.regions else "")
    query = (f"read {folder.as_posix()}/**/*.json[.gz] Records where eventType=AwsApiCall and readOnly!=true"
             f" and managementEvent!=false and errorCode is absent{scope}")
    with Extraction(SYSTEM, folder.name or "cloudtrail", landing, run_id, base_url=folder.as_uri()) as ex:
        ex.writer.stream(EVENTS.name, query)
        newest = None
        for path in iter_trail_files(folder):
            mtime = path.stat().st_mtime
            if since is not None and mtime < since.timestamp():
                continue
            _land_file(ex, config, folder, path)
            newest = max(newest or mtime, mtime)
        if newest is not None:  # files modified since (minus the overlap) are read next time
            ex.writer.set_cursor(EVENTS.name, datetime.fromtimestamp(newest, timezone.utc).isoformat())
        return [ex.finish()]


def _land_file(ex: Extraction, config: CloudTrailSource, folder: Path, path: Path) -> None:
    writer = ex.writer
    writer.count_request(EVENTS.name)
    source_file = path.relative_to(folder).as_posix()
    try:
        raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        log = json.loads(raw)
    except (OSError, EOFError, ValueError) as exc:
        writer.quarantine(EVENTS.name, str(path), source_file, f"not a readable JSON file: {exc}",
                          path.read_bytes()[:10_000].decode("utf-8", errors="replace"))
        return
    records = log.get("Records") if isinstance(log, dict) else None
    if not isinstance(records, list):
        writer.quarantine(EVENTS.name, str(path), source_file, "not a CloudTrail log: no 'Records' array",
                          raw.decode("utf-8", errors="replace"))
        return
    extracted_at, now = utc_now_iso(), extraction_time()
    for index, record in enumerate(records):
        locator = f"{source_file}, record {index}"
        if not isinstance(record, dict):
            writer.quarantine(EVENTS.name, str(path), locator, "record is not a JSON object", record)
            continue
        if not is_selected(record, config):
            continue
        if not record.get("eventID"):
            writer.quarantine(EVENTS.name, str(path), locator, "missing required key 'eventID'", record)
            continue
        problem = time_problem(record, ("eventTime",), now)
        if problem:          # no zone, or from the future (core/timestamps.py)
            writer.quarantine(EVENTS.name, str(path), locator, problem, record)
            continue
        identity = record.get("userIdentity") if isinstance(record.get("userIdentity"), dict) else {}
        context = {
            "file": source_file, "record_index": index, "account": record.get("recipientAccountId"),
            "region": record.get("awsRegion"), "environment": "production",
            "actor_kind": classify_actor(identity, config),
            "service": mapped_service(config.services, resource_name(record)),
        }
        writer.write_record(EVENTS.name, record, context=context, source_url=path.as_uri(),
                            extracted_at=extracted_at)
