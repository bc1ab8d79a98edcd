"""The evidence chain of one change, read from the warehouse (no Prefect, read-only).

Used by `changetrail explain` and by reports that show one change per page. Every evidence row
carries `record_sha256` (the raw record's `_record_id`: SHA-256 of the payload as loaded) and
`source_url` (the API URL it was read from) of the latest loaded record it came from; every
control result carries its rule (clause and description from the control's YAML), the evidence
JSON it wrote and the exceptions the run applied to it (id, justification, approver, approval
date, expiry, ticket).

`explain_many(con, change_ids)` returns the same Explanation per change for many changes at once
(the evidence pack's sample): each evidence query and each raw-record lookup runs once for all of
them. Raw records are found by one scan per source table whose JSON is parsed only for payloads whose
text contains a wanted key (`raw_records`), never one query per evidence row.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

import duckdb

from warehouse.runner import latest_run_id


@dataclass
class Explanation:
    change: dict
    commits: list[dict] = field(default_factory=list)
    pull_requests: list[dict] = field(default_factory=list)
    reviews: list[dict] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    ticket: dict | None = None
    approvals: list[dict] = field(default_factory=list)
    scans: list[dict] = field(default_factory=list)
    staging: list[dict] = field(default_factory=list)
    results: list[dict] = field(default_factory=list)
    production: list[dict] = field(default_factory=list)   # successful production deployments of the sha
    incidents: list[dict] = field(default_factory=list)    # incidents matched to it as a rollback (CM-17)


def _rows(con, sql: str, params: list | dict) -> list[dict]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


# where an evidence row's raw record lives: kind -> [(raw table, (key expression, *parameter expressions))]
_SN_SYS_ID = "coalesce(_payload->'sys_id'->>'value', _payload->>'sys_id')"
DEPLOYMENT_KEYS = {"github__deployments": "_payload->>'id'", "gitlab__deployments": "_payload->>'id'",
                   "deploylog__deployments": "json_extract_string(_payload, _context->>'$.paths.deployment_id')"}
_COMPARE = ("_context->>'head'", "_context->>'repo'", "_context->>'base'")   # key = head; parameters repo, base


@dataclass(frozen=True)
class Nested:
    """A raw record that holds many keyed items (a GraphQL pull-request node with its reviews, a
    commit node with its check runs): it is the record of every key at this JSON path."""
    path: str


RAW_KEYS: dict[str, list[tuple[str, tuple]]] = {
    "deployment": [(table, (key,)) for table, key in DEPLOYMENT_KEYS.items()],
    "pull_request": [("github__pull_requests", ("_payload->>'id'",)), ("gitlab__merge_requests", ("_payload->>'id'",)),
                     ("github__graphql_pull_requests", ("_payload->>'databaseId'",))],
    "review": [("github__reviews", ("_payload->>'id'",)),
               ("github__graphql_pull_requests", (Nested("$.reviews.nodes[*].databaseId"),))],
    "compare": [("github__compares", _COMPARE), ("gitlab__compares", _COMPARE)],
    "check_run": [("github__check_runs", ("_payload->>'id'",)),
                  ("github__graphql_commit_checks", (Nested("$.checkSuites.nodes[*].checkRuns.nodes[*].databaseId"),))],
    "ticket": [("servicenow__change_requests", (_SN_SYS_ID,)), ("jira__issues", ("_payload->>'id'",))],
    "approval": [("servicenow__approvals", (_SN_SYS_ID,))],
}
_PARAMS = {"compare": ("repo", "base")}   # raw_record's keyword parameters, in RAW_KEYS order after the key
NO_RECORD = {"record_sha256": None, "source_url": None}
_SAFE_KEY = re.compile(r"[A-Za-z0-9_.:-]+")


def raw_record(con: duckdb.DuckDBPyConnection, kind: str, key, **params) -> dict:
    """{record_sha256, source_url} of the latest loaded raw record of `kind` with this key (None when absent)."""
    parts = _key_tuple((key, *(params.get(p) for p in _PARAMS.get(kind, ()))))
    return raw_records(con, kind, [parts] if parts else []).get(parts, dict(NO_RECORD))


def _key_tuple(parts) -> tuple | None:
    return None if any(p is None for p in parts) else tuple(str(p) for p in parts)


def raw_records(con: duckdb.DuckDBPyConnection, kind: str, keys) -> dict[tuple, dict]:
    """{(key, *parameters) as strings: {record_sha256, source_url}} of the latest loaded raw record of
    `kind` (latest `_extracted_at`, then lowest `_record_id`; the first source table in RAW_KEYS that
    has it) for every key tuple at once: one scan per source table, whatever the number of keys.
    Tuples with a None part have no record and are left out."""
    wanted = {t for t in map(_key_tuple, keys) if t is not None}
    present = {r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'raw'").fetchall()}
    found: dict[tuple, dict] = {}
    for table, exprs in RAW_KEYS[kind]:
        todo = sorted(wanted - found.keys())
        if not todo or table not in present:
            continue
        nested = isinstance(exprs[0], Nested)
        key_sql = (f"unnest(json_extract_string(_payload, '{exprs[0].path}'))" if nested
                   else " || chr(0) || ".join(f"({e})" for e in exprs))
        where = ""
        if (nested or "_payload" in exprs[0]) and all(_SAFE_KEY.fullmatch(t[0]) for t in todo):
            # Cheap necessary condition before parsing the JSON: the key's text occurs in the payload text
            # (ids, sys_ids and shas are never JSON-escaped), so only candidate payloads are parsed.
            pattern = "|".join(re.escape(k) for k in sorted({t[0] for t in todo}))
            where = f"where regexp_matches(_payload::varchar, '{pattern}')"
        rows = con.execute(f"""select k, _record_id, _source_url from (select {key_sql} as k, _record_id, _source_url,
            _extracted_at from raw.{table} {where}) where k in (select unnest($keys))
            qualify row_number() over (partition by k order by _extracted_at desc, _record_id) = 1""",
                           {"keys": [chr(0).join(t) for t in todo]}).fetchall()
        found.update({tuple(k.split(chr(0))): {"record_sha256": rid, "source_url": url} for k, rid, url in rows})
    return found


def deployment_records_sql(con: duckdb.DuckDBPyConnection) -> str:
    """A query of (deployment_id, record_sha256, source_url): each deployment's latest raw record."""
    present = {r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'raw'").fetchall()}
    parts = [f"select {key} as deployment_id, _record_id, _source_url, _extracted_at from raw.{table}"
             for table, key in DEPLOYMENT_KEYS.items() if table in present]
    if not parts:
        return "select null::varchar as deployment_id, null::varchar as record_sha256, null::varchar as source_url limit 0"
    return (f"select deployment_id, arg_max(_record_id, _extracted_at) as record_sha256,"
            f" arg_max(_source_url, _extracted_at) as source_url from ({' union all '.join(parts)}) group by all")


def find_change(con: duckdb.DuckDBPyConnection, ref: str, run_id: str) -> str:
    """Accept a change id, a deployment id or a commit sha (prefix of 7+)."""
    hits = con.execute(
        """select change_id from change_outcomes where run_id = $run and
           (change_id = $ref or deployment_id::varchar = $ref or (length($ref) >= 7 and sha like $ref || '%'))
           order by deployed_at""", {"run": run_id, "ref": ref}).fetchall()
    if not hits:
        raise LookupError(f"no change matches {ref!r} in evaluation run {run_id}")
    if len(hits) > 1:
        raise LookupError(f"{ref!r} matches {len(hits)} changes: " + ", ".join(h[0] for h in hits[:5]))
    return hits[0][0]


def _grouped(con, sql: str, params: dict, *by: str) -> dict:
    """Rows of a batched query by their grouping columns (popped from each row), in query order."""
    out: dict = defaultdict(list)
    for row in _rows(con, sql, params):
        key = tuple(row.pop(b) for b in by)
        out[key[0] if len(by) == 1 else key].append(row)
    return out


def _attach(con, rows: list[dict], kind: str) -> None:
    """Replace each row's `_key` by the record_sha256 and source_url of its raw record (one lookup for all rows)."""
    records = raw_records(con, kind, [(row["_key"],) for row in rows])
    for row in rows:
        key = row.pop("_key")
        row.update(records.get(_key_tuple((key,)), NO_RECORD) if key is not None else NO_RECORD)


def _results(con, run_id: str, ids: dict) -> dict:
    """Per change and control: status and reason, the rule (clause, description), the evidence JSON it
    wrote, and the exceptions applied (the register entry's approval date and ticket when still loaded)."""
    results = _grouped(con, """select r.subject_id as _change, r.control_id, c.title, c.clause, r.status, r.reason,
        c.description as rule, r.evidence::varchar as evidence
        from run_results($run) r left join control_catalog c using (control_id)
        where r.subject_id in (select unnest($ids)) order by r.subject_id, r.control_id""",
                       dict(ids, run=run_id), "_change")
    applied = _grouped(con, """select x.subject_id as _change, x.control_id, x.exception_id, x.justification, x.approver,
        any_value(reg.approved_at) as approved_at, x.expires_at, any_value(reg.ticket) as ticket
        from result_exceptions x left join exceptions_register reg
            on reg.exception_id = x.exception_id and reg.file_sha256 = x.file_sha256
        where x.run_id = $run and x.subject_id in (select unnest($ids))
        group by all order by x.subject_id, x.control_id, x.exception_id""", dict(ids, run=run_id), "_change")
    for change_id, rows in results.items():
        for result in rows:
            result["exceptions"] = [{k: v for k, v in a.items() if k != "control_id"}
                                    for a in applied.get(change_id, []) if a["control_id"] == result["control_id"]]
    return results


def explain(con: duckdb.DuckDBPyConnection, ref: str, run_id: str | None = None) -> Explanation:
    """The evidence chain of the change `ref` (change id, deployment id or commit sha prefix)."""
    run_id = _run(con, run_id)
    change_id = find_change(con, ref, run_id)
    return explain_many(con, [change_id], run_id)[change_id]


def _run(con, run_id: str | None) -> str:
    run_id = run_id or latest_run_id(con)
    if run_id is None:
        raise LookupError("the warehouse has no evaluation run yet (run `changetrail run` first)")
    return run_id


def explain_many(con: duckdb.DuckDBPyConnection, change_ids, run_id: str | None = None) -> dict[str, Explanation]:
    """{change id: Explanation} for many changes at once, equal to explain() per change: every evidence
    query and every raw-record lookup runs once for all of them (`in (...)`), not once per change or row."""
    run_id = _run(con, run_id)
    ids = {"ids": list(dict.fromkeys(change_ids))}
    changes = {c["change_id"]: c for c in _rows(
        con, "select * from change_outcomes where run_id = $run and change_id in (select unnest($ids))", dict(ids, run=run_id))}
    missing = [c for c in ids["ids"] if c not in changes]
    if missing:
        raise LookupError(f"no change matches {missing[0]!r} in evaluation run {run_id}")
    deployments = raw_records(con, "deployment", [(c["deployment_id"],) for c in changes.values()])
    exps = {}
    for change_id in ids["ids"]:
        change = changes[change_id]
        change.update(deployments.get(_key_tuple((change["deployment_id"],)), NO_RECORD))
        exps[change_id] = Explanation(change=change)
    pairs = sorted({(c["repo"], c["sha"]) for c in changes.values() if c["repo"] is not None and c["sha"] is not None})
    at_sha = {"repos": [p[0] for p in pairs], "shas": [p[1] for p in pairs]}
    wanted_sha = "join (select unnest($repos) as w_repo, unnest($shas) as w_sha) w on w.w_repo = {} and w.w_sha = {}"
    results = _results(con, run_id, ids)
    # The models below are rebuilt per evaluation; they describe the latest one.
    previous = dict(con.execute("select change_id, previous_sha from int_changes_in_period"
                                " where change_id in (select unnest($ids))", ids).fetchall())
    compares = raw_records(con, "compare", [(c["sha"], c["repo"], previous.get(i)) for i, c in changes.items()])
    commits = _grouped(con, """select change_id as _change, left(sha, 12) as sha, pr_number, author_login,
        split_part(coalesce(message, ''), chr(10), 1) as message, html_url from int_change_commits_linked_to_prs
        where change_id in (select unnest($ids)) order by change_id, authored_at nulls first, sha""", ids, "_change")
    prs = _grouped(con, """select change_id as _change, pr_id as _key, number, title, author_login, head_ref,
        left(head_sha, 12) as head_sha, merged_at, html_url from int_changes_linked_to_prs
        where change_id in (select unnest($ids)) order by change_id, number""", ids, "_change")
    reviews = _grouped(con, """select p.change_id as _change, r.review_id as _key, r.pr_number, r.reviewer_login, r.state,
        left(r.commit_id, 12) as commit_id, r.submitted_at, r.is_on_head, r.is_before_merge, r.is_participant,
        r.is_latest_decision, r.html_url
        from int_reviews_evaluated r join int_changes_linked_to_prs p on p.repo = r.repo and p.number = r.pr_number
        where p.change_id in (select unnest($ids)) order by p.change_id, r.pr_number, r.submitted_at""", ids, "_change")
    checks = _grouped(con, f"""select repo as _repo, head_sha as _sha, check_run_id as _key, name, status, conclusion,
        completed_at, html_url from int_check_runs_unioned {wanted_sha.format('repo', 'head_sha')}
        order by repo, head_sha, name, completed_at""", at_sha, "_repo", "_sha")
    tickets = _grouped(con, """select l.change_id as _change, t.sys_id as _key, t.number, t.type, t.category, t.risk,
        t.state, t.short_description, t.created_at, t.review_date, t.ticket_url from int_changes_linked_to_tickets l
        join int_tickets_categorized t on t.sys_id = l.ticket_sys_id where l.change_id in (select unnest($ids))""",
                       ids, "_change")
    first_tickets = [rows[0] for rows in tickets.values()]
    # int_tickets_categorized (a table) has the rows of the int_change_requests_unioned view, one per change request
    approvals = _grouped(con, """select t.number as _number, a.sys_id as _key,
        coalesce(a.approver_person_id, a.approver_sys_id) as approver,
        array_to_string(a.approver_roles, ', ') as roles, a.state, a.updated_at
        from int_ticket_approvals_resolved a join int_tickets_categorized t on t.sys_id = a.change_sys_id
        where t.number in (select unnest($numbers)) order by t.number, a.updated_at""",
                         {"numbers": sorted({t["number"] for t in first_tickets if t["number"] is not None})}, "_number")
    scans = _grouped(con, f"""select s.repo as _repo, s.commit_sha as _sha, s.tool_name, s.scanned_at, s.count_results,
        count(r.rule_id) filter (where not r.is_suppressed and r.severity in ('critical', 'high')) as open_critical_high,
        s.scan_file
        from int_scans_unioned s {wanted_sha.format('s.repo', 's.commit_sha')}
        left join int_scan_findings_unioned r on r.scan_file = s.scan_file and r.run_index = s.run_index
        group by all order by s.repo, s.commit_sha, s.scanned_at""", at_sha, "_repo", "_sha")
    staging = _grouped(con, f"""select repo as _repo, sha as _sha, environment, succeeded_at from int_deployments_succeeded
        {wanted_sha.format('repo', 'sha')} where is_staging order by repo, sha, succeeded_at""", at_sha, "_repo", "_sha")
    production = _grouped(con, f"""select repo as _repo, sha as _sha, environment, deployment_id::varchar as deployment_id,
        creator_login, succeeded_at, deployment_url from int_deployments_succeeded {wanted_sha.format('repo', 'sha')}
        where is_production order by repo, sha, succeeded_at""", at_sha, "_repo", "_sha")
    incidents = _grouped(con, """select change_id as _change, incident_number, title, priority,
        incident_created_at as created_at, has_post_incident_review, html_url from int_rollbacks_matched_to_incidents
        where change_id in (select unnest($ids)) order by change_id, incident_created_at""", ids, "_change")
    for kind, groups in (("pull_request", prs), ("review", reviews), ("check_run", checks), ("approval", approvals)):
        _attach(con, [row for rows in groups.values() for row in rows], kind)
    _attach(con, first_tickets, "ticket")
    for change_id, exp in exps.items():
        c, at = exp.change, (exp.change["repo"], exp.change["sha"])
        compare = compares.get(_key_tuple((c["sha"], c["repo"], previous.get(change_id))), NO_RECORD)
        exp.results = results.get(change_id, [])
        exp.commits = [dict(row, **compare) for row in commits.get(change_id, [])]
        exp.pull_requests, exp.reviews = prs.get(change_id, []), reviews.get(change_id, [])
        # rows keyed by commit or ticket may belong to several changes: each Explanation gets its own copies
        exp.checks, exp.scans = [dict(r) for r in checks.get(at, [])], [dict(r) for r in scans.get(at, [])]
        exp.ticket = tickets[change_id][0] if change_id in tickets else None
        exp.approvals = [dict(r) for r in approvals.get(exp.ticket["number"], [])] if exp.ticket else []
        exp.staging = [dict(r) for r in staging.get(at, [])]
        exp.production = [dict(r) for r in production.get(at, [])]
        exp.incidents = incidents.get(change_id, [])
    return exps
