"""The evidence pack's context, from one evaluation run of the warehouse (read-only).

Reuses the quarterly report's queries (reports/quarterly/sql.py) for the run, the control
statistics, the manifests' scope and the source-side deployment count of the tie-out.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone

from reports.quarterly import sql as q
from reports.document import (DocumentMeta, fmt_dt, fmt_int, outcome_label, parse_period, plural,
                              short_hash)
from reports.evidence_pack import sample as sampling
from reports.evidence_pack.model import EvidencePackContext, Row, SampleSection, SourceRecord, Table
from reports.evidence_pack.pages import change_pages
from reports.quarterly import POLICY
from reports.quarterly.model import LabelValue, TieOutLine
from reports.quarterly.sections import clip, control_sort_key, system_name

SHOWN = 2          # requests / hashes shown per stream; every one is in the C&A attachment
ROW_CAP = 300      # rows of a long list on pages; the attachments hold every row


def manifest_entries(con, run: dict) -> list[dict]:
    """Every landing file of the manifests the run evaluated, with its request, filters and hash."""
    where, params = q._manifest_cutoff(run)
    return q.rows(con, f"""
        with m as (
            select system, unit, run_id, base_url, coalesce(cursors::varchar, '{{}}') as cursors,
                   timezone('UTC', started_at) as started_at, timezone('UTC', finished_at) as finished_at,
                   unnest(from_json(coalesce(files, '[]'),
                          '[{{"stream": "VARCHAR", "path": "VARCHAR", "sha256": "VARCHAR",
                             "records": "BIGINT", "query": "VARCHAR"}}]')) as f
            from raw._manifests where {where}
        )
        select system, unit, run_id, base_url, cursors, started_at, finished_at, f.stream as stream,
               f.path as path, f.sha256 as sha256, coalesce(f.records, 0) as records, f.query as query
        from m order by system, stream, unit, finished_at, path""", params)


def source_records(entries: list[dict], quarantined: list[dict]) -> list[SourceRecord]:
    groups: dict[tuple[str, str], list[dict]] = {}
    for e in entries:
        groups.setdefault((e["system"], e["stream"]), []).append(e)
    q_counts = Counter()
    for r in quarantined:
        q_counts[(r["system"], r["stream"])] += int(r["n"])
    out = []
    for (system, stream), files in sorted(groups.items()):
        times = [t for e in files for t in (e["started_at"], e["finished_at"]) if t]
        queries = sorted({e["query"] or f"{e['base_url']} ({e['unit']})" for e in files})
        filters = sorted({f"{k} ≥ {v}" for e in files for k, v in json.loads(e["cursors"] or "{}").items()
                          if k == stream})
        out.append(SourceRecord(
            system=system_name(system), stream=stream,
            extracted=(f"{fmt_dt(min(times))} – {fmt_dt(max(times))}" if times else "—"),
            queries=[clip(x, 120) for x in queries[:1]],
            queries_more=f"+ {len(queries) - 1:,} more (one per unit)" if len(queries) > 1 else "",
            filters=(f"incremental from the unit's cursor ({len(filters):,} distinct)" if filters
                     else "full history (no cursor)"),
            units=len({e["unit"] for e in files}), files=len(files),
            records=sum(int(e["records"]) for e in files), quarantined=q_counts.get((system, stream), 0),
            hashes=[short_hash(e["sha256"], 16) for e in files[:SHOWN]],
            hashes_more=f"+ {len(files) - SHOWN:,} more" if len(files) > SHOWN else ""))
    return out


def excluded_deployments(con, period, environments: list[str], run_id: str) -> list[dict]:
    """Production deployments in the source with their first success in the period that are not
    changes of the run (same definition as the quarterly tie-out), and changes with no such deployment."""
    try:
        return q.rows(con, """
            with first_success as (
                select source_system, deployment_id, min(created_at) as succeeded_at
                from int_deployment_statuses_unioned where state = 'success' group by all
            ),
            source as (
                select d.source_system, d.deployment_id::varchar as deployment_id, d.repo,
                       timezone('UTC', f.succeeded_at) as succeeded_at
                from int_deployments_unioned d
                join first_success f on f.source_system = d.source_system and f.deployment_id = d.deployment_id
                where list_contains(?, d.environment)
                  and f.succeeded_at >= ?::timestamptz and f.succeeded_at < ?::timestamptz
            ),
            population as (select deployment_id, repo, change_id, timezone('UTC', deployed_at) as deployed_at
                           from change_outcomes where run_id = ?)
            select s.repo, s.deployment_id, s.succeeded_at as at,
                   'in the source, not in the population: not evaluated by this run' as reason
            from source s anti join population p on p.deployment_id = s.deployment_id and p.repo = s.repo
            union all
            select p.repo, p.deployment_id, p.deployed_at,
                   'in the population, not a production deployment of the source in the period'
            from population p anti join source s on p.deployment_id = s.deployment_id and p.repo = s.repo
            order by 3, 1, 2""", [environments, period.start, period.end, run_id])
    except Exception as exc:  # noqa: BLE001 - the staging views are absent in a bare warehouse
        if "Catalog" not in type(exc).__name__:
            raise
        return []


def sample_candidates(con, run_id: str, period) -> list[sampling.Candidate]:
    return [sampling.Candidate(r["change_id"], r["month"], bool(r["is_emergency"]), r["category"] == "Major")
            for r in q.rows(con, """
                select change_id, strftime(timezone('UTC', deployed_at), '%Y-%m') as month,
                       coalesce(is_emergency, false) as is_emergency, coalesce(category, '') as category
                from change_outcomes where run_id = ? and period = ?""", [run_id, period.key])]


def draw_sample(con, run_id: str, period, settings) -> tuple[int, str, list[sampling.Candidate], list[sampling.Drawn]]:
    seed = settings.sample_seed if settings.sample_seed is not None else sampling.default_seed(period.key)
    note = "configured (reports.evidence_pack.sample_seed)" if settings.sample_seed is not None \
        else f"derived from the period {period.key} (no sample_seed configured)"
    candidates = sample_candidates(con, run_id, period)
    drawn = sampling.draw(candidates, seed, [(t.min_population, t.size) for t in settings.sample_sizes],
                          settings.oversample_emergency, settings.oversample_major)
    return seed, note, candidates, drawn


def build_context(con, config, period: str, run_id: str | None, *, attachments: list[LabelValue],
                  signing: list[LabelValue], generated_at: datetime | None = None) -> EvidencePackContext:
    p = parse_period(period)
    run = q.evaluation_run(con, p, run_id)
    rid = run["run_id"]
    settings = config.reports.evidence_pack
    organization = config.reports.organization
    generated = fmt_dt(generated_at or datetime.now(timezone.utc))
    envs = config.environments("production")

    counts = q.outcome_counts(con, rid, p)
    population = sum(int(c["n"]) for c in counts)
    by_outcome = Counter()
    by_category = Counter()
    for c in counts:
        by_outcome[c["outcome"]] += int(c["n"])
        by_category[c["category"]] += int(c["n"])
    scope_counts = q.scope_counts(con, rid, p)
    systems = [system_name(s) for s in (q.manifest_scope(con, run)["systems"] or [])]

    entries = manifest_entries(con, run)
    sources = source_records(entries, q.quarantine_counts(con, run))
    source_count, why = q.production_deployments_in_period(con, p, envs)
    exclusions = excluded_deployments(con, p, envs, rid)
    excluded_in_source = sum(1 for e in exclusions if e["reason"].startswith("in the source"))
    tie_out = [
        TieOutLine(f"Production deployments ({', '.join(envs)}) in the source, first success in {p.short_label}",
                   fmt_int(source_count) if source_count is not None else why),
        TieOutLine("Changes in the population (change_outcomes)", fmt_int(population)),
        TieOutLine("Excluded (listed below with their reason)", fmt_int(len(exclusions))),
        TieOutLine("Population + excluded from the source", fmt_int(population + excluded_in_source),
                   "ok" if source_count == population + excluded_in_source else "bad"),
        TieOutLine("Evaluation run's own count (evaluation_runs.count_changes)", fmt_int(run["count_changes"]),
                   "ok" if run["count_changes"] in (None, population) else "bad"),
    ]
    tie_ok = source_count is not None and all(t.css != "bad" for t in tie_out)
    tie_label = (f"Ties out: {fmt_int(source_count)} production deployments in the source = {fmt_int(population)} "
                 f"changes in the population + {fmt_int(excluded_in_source)} excluded." if tie_ok else
                 f"Does NOT tie out: {why or 'see the lines above and the exclusions'}.")

    seed, seed_note, candidates, drawn = draw_sample(con, rid, p, settings)
    months = Counter(c.month for c in candidates)
    drawn_months = Counter(d.month for d in drawn)
    outcomes = {r["change_id"]: r for r in q.rows(con, """select change_id, outcome, category,
        timezone('UTC', deployed_at) as deployed_at from change_outcomes where run_id = ?""", [rid])}
    sample_rows = [Row([str(i), d.change_id, fmt_dt(outcomes[d.change_id]["deployed_at"]),
                        outcomes[d.change_id]["category"] or "unknown", outcome_label(outcomes[d.change_id]["outcome"]),
                        d.reason]) for i, d in enumerate(drawn, 1)]
    sample_section = SampleSection(
        seed=seed, seed_note=seed_note, method=sampling.METHOD,
        size_table=[LabelValue(f"≥ {t.min_population:,} changes", f"{t.size:,}")
                    for t in sorted(settings.sample_sizes, key=lambda t: -t.min_population)]
        + [LabelValue("Over-sample: emergency / Major", f"+{settings.oversample_emergency} / +{settings.oversample_major}")],
        base_size=sampling.base_size(population, [(t.min_population, t.size) for t in settings.sample_sizes]),
        population=population,
        strata=Table(["Month", "Changes", "Sampled"], [Row([m, fmt_int(n), fmt_int(drawn_months[m])])
                                                      for m, n in sorted(months.items())], "No change in the period."),
        rows=Table(["#", "Change", "Deployed", "Category", "Outcome", "Why sampled"], sample_rows,
                   "The population is empty: nothing to sample.", ["8mm", "", "34mm", "20mm", "20mm", "38mm"]))
    pages = evidence_pages(con, rid, drawn)

    stats = sorted(q.control_stats(con, rid, p), key=lambda r: control_sort_key(r["control_id"]))
    controls = Table(["Control", "Title", "Clause", "Pass", "Fail", "Error", "N/A"],
                     [Row([r["control_id"], r["title"], r["clause"], fmt_int(r["passes"]), fmt_int(r["fails"]),
                           fmt_int(r["errors"]), fmt_int(r["not_applicable"])], "bad" if r["fails"] or r["errors"] else "")
                      for r in stats], "No control results in this run.",
                     ["15mm", "", "44mm", "13mm", "13mm", "13mm", "13mm"])
    exc_rows = exceptions_register(con, rid)
    exceptions = Table(["Change", "Control", "Exception", "Justification", "Approver", "Expires"],
                       [Row([e["subject_id"], e["control_id"], e["exception_id"], clip(e["justification"], 300),
                             e["approver"] or "—", fmt_dt(e["expires_at"])]) for e in exc_rows[:ROW_CAP]]
                       + _more(len(exc_rows), 6, "exceptions-register.csv"),
                       "No failure in this run is covered by an approved exception.",
                       ["34mm", "14mm", "18mm", "", "20mm", "22mm"])
    unknown_rows = q.rows(con, """select r.control_id, coalesce(c.title, '') as title, r.subject_id, r.status, r.reason
        from run_results(?) r left join control_catalog c using (control_id)
        where r.control_id in ('EV-01', 'EV-02', 'EV-03') and r.status in ('fail', 'error')
        order by r.control_id, r.subject_id""", [rid])
    unknowns = Table(["Control", "What is unknown", "Subject", "Reason"],
                     [Row([u["control_id"], u["title"], u["subject_id"], clip(u["reason"], 300)], "bad") for u in unknown_rows]
                     + ([] if tie_ok else [Row(["tie-out", "Population completeness", p.key, tie_label], "bad")]),
                     "None: every source was fresh (EV-01), every deploying repository onboarded and fully read "
                     "(EV-02, including API truncation), nothing quarantined (EV-03), and the population ties out.",
                     ["15mm", "42mm", "40mm", ""])

    document = DocumentMeta(title="Auditor evidence pack", subtitle="SOC 2 CC8.1 · SOC2-CHG-001 v1.0",
                            organization=organization, period_label=p.label, generated_at=generated, run_id=rid,
                            footer_note=f"{organization} · {p.short_label} · evaluation run {rid}")
    return EvidencePackContext(
        document=document, period=p, run_id=rid,
        scope=[LabelValue("Organization", organization), LabelValue("Period", f"{p.label} ({p.key})"),
               LabelValue("Systems in scope", ", ".join(systems) or "none recorded"),
               LabelValue("Repositories / services / teams",
                          f"{plural(int(scope_counts['repos']), 'repository', 'repositories')} · "
                          f"{plural(int(scope_counts['services']), 'service')} · {plural(int(scope_counts['teams']), 'team')}"),
               LabelValue("Policy", POLICY), LabelValue("Control framework", "SOC 2 CC8.1 (change management)"),
               LabelValue("Evaluation run", f"{rid} (started {fmt_dt(run['started_at'])}, finished {fmt_dt(run['finished_at'])})"),
               LabelValue("Generated", generated)],
        configuration=[LabelValue("Configuration hash", run["config_hash"] or "—"),
                       LabelValue("Production environments", ", ".join(envs)),
                       LabelValue("Full configuration", "config.json (attached); credentials are never in it, "
                                  "only the names of the environment variables holding them")],
        signing=signing,
        population=[LabelValue("Changes in the population", fmt_int(population))]
        + [LabelValue(outcome_label(o), fmt_int(by_outcome[o])) for o in ("compliant", "exception", "violation")]
        + [LabelValue(f"Category {c}", fmt_int(n)) for c, n in sorted(by_category.items())],
        population_by_month=Table(["Month", "Changes"], [Row([m, fmt_int(n)]) for m, n in sorted(months.items())],
                                  "No change in the period."),
        sources=sources, sources_empty="No extraction manifest was loaded before this evaluation run.",
        tie_out=tie_out, tie_out_label=tie_label, tie_out_css="ok" if tie_ok else "bad",
        exclusions=Table(["Repository", "Deployment", "When (UTC)", "Reason"],
                         [Row([e["repo"], e["deployment_id"], fmt_dt(e["at"]), e["reason"]]) for e in exclusions[:ROW_CAP]]
                         + _more(len(exclusions), 4, "completeness-accuracy.json"),
                         "No exclusion: every production deployment in the source is a change of the population.",
                         ["45mm", "24mm", "34mm", ""]),
        sample=sample_section, pages=pages, controls=controls, exceptions=exceptions, unknowns=unknowns,
        attachments=attachments)


def evidence_pages(con, run_id: str, drawn: list[sampling.Drawn]) -> list:
    """One page per sampled change, in sample order; every evidence query runs once for the whole
    sample (warehouse/explain.py explain_many), not once per change."""
    return change_pages(con, run_id, [(d.change_id, d.reason) for d in drawn])


def _more(total: int, columns: int, attachment: str) -> list[Row]:
    if total <= ROW_CAP:
        return []
    return [Row([f"… and {total - ROW_CAP:,} more: every row is in {attachment}"] + [""] * (columns - 1))]


def exceptions_register(con, run_id: str) -> list[dict]:
    if not q.rows(con, "select 1 from duckdb_tables() where table_name = 'result_exceptions'"):
        return []
    return q.rows(con, """select subject_id, control_id, exception_id, justification, approver,
        timezone('UTC', expires_at) as expires_at from result_exceptions where run_id = ?
        order by subject_id, control_id, exception_id""", [run_id])
