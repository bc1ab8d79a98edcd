"""The CISO's emergency-change report (reports/emergency): content against the warehouse of a
tiny generated organization, open deadlines, earlier quarters, empty cases and hostile text."""
from __future__ import annotations

import csv
import shutil
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pytest
from evaluated_org import make_evaluated_org
from openpyxl import load_workbook
from pypdf import PdfReader

from reports.document import fmt_dt
from reports.emergency import TEMPLATE, build_context, write_emergency_report
from reports.registry import ReportRequest, get
from reports.render import AssetOnlyFetcher, render_pdf, render_string
from warehouse.runner import EMERGENCY_BYPASSABLE

HOSTILE = "<script>alert(1)</script><img src='http://evil.example/x.png'>"


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    return make_evaluated_org(tmp_path_factory.mktemp("emergency") / "org")


@pytest.fixture(scope="module")
def con(org):
    c = duckdb.connect(str(org.warehouse.path), read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def context(con):
    return build_context(con, "2026Q3", "Acme", generated_at=datetime(2026, 12, 1))


@pytest.fixture
def copy(org, tmp_path):
    """A writable copy of the warehouse, for tests that change rows."""
    path = tmp_path / "copy.duckdb"
    shutil.copy(org.warehouse.path, path)
    c = duckdb.connect(str(path))
    yield c
    c.close()


def _one(con, sql, params=()):
    return con.execute(sql, list(params)).fetchall()


def test_every_emergency_change_is_listed_with_its_outcome(con, context):
    expected = dict(_one(con, "select change_id, outcome from change_outcomes where is_emergency"))
    assert len(expected) >= 5
    assert {c.change_id: c.outcome.lower() for c in context.changes} == expected
    figures = {f.label: f.value for f in context.figures}
    assert figures["Emergency changes"] == len(expected)
    assert figures["Closed out under §5"] == sum(o in ("exception", "compliant") for o in expected.values())
    assert figures["Violations"] == sum(o == "violation" for o in expected.values())


def test_hours_to_documentation_and_verbal_approval_come_from_the_ticket(con, context):
    tickets = {r[0]: r[1:] for r in _one(con, """
        select c.change_id, t.created_at, t.verbal_approved_at, i.person_id, c.deployed_at
        from change_outcomes c join int_change_requests_unioned t on t.number = c.ticket_number
        left join int_people_identities i on i.system = t.source_system and i.identifier = t.verbal_approver_sys_id
        where c.is_emergency""")}
    for c in context.changes:
        created, verbal_at, verbal_person, deployed = tickets[c.change_id]
        hours = (created - deployed).total_seconds() / 3600
        assert c.hours_to_documentation == round(hours, 1)
        assert c.documentation_late == (hours > 24)
        assert (c.checks[0].label == "Fail") == c.documentation_late
        if verbal_person:
            assert f"({verbal_person}," in c.verbal_approver
            assert c.verbal_approved_at == fmt_dt(verbal_at)


def test_business_days_to_review_use_the_configured_holidays(org, con, context):
    holidays = [np.datetime64(d) for d in org.policy.holidays]
    reviews = {r[0]: (r[1], r[2]) for r in _one(con, """
        select c.change_id, c.deployed_at, t.review_date from change_outcomes c
        join int_change_requests_unioned t on t.number = c.ticket_number where c.is_emergency""")}
    checked = 0
    for c in context.changes:
        deployed, reviewed = reviews[c.change_id]
        if reviewed is None:
            assert c.business_days_to_review is None and c.review_label.startswith("not reviewed")
            continue
        expected = int(np.busday_count(deployed.date() + timedelta(days=1), reviewed.date() + timedelta(days=1),
                                       holidays=holidays))
        assert c.business_days_to_review == expected, c.change_id
        assert c.review_late == (expected > 5)
        checked += 1
    assert checked >= 3


def test_retroactive_signoff_names_who_and_when(con, context):
    signed = _one(con, """
        select c.change_id, a.approver_person_id, a.updated_at from change_outcomes c
        join int_change_requests_unioned t on t.number = c.ticket_number
        join int_ticket_approvals_resolved a on a.change_sys_id = t.sys_id
        where c.is_emergency and a.state = 'approved' and list_contains(a.approver_roles, 'ciso')""")
    assert signed
    by_id = {c.change_id: c for c in context.changes}
    for change_id, person, when in signed:
        assert person in by_id[change_id].signoff
        assert when.strftime("%Y-%m-%d %H:%M") in by_id[change_id].signoff


def test_bypassed_gates_are_the_failed_bypassable_results(con, context):
    failed = _one(con, """
        select r.subject_id, r.control_id from control_results r
        join change_outcomes c on c.change_id = r.subject_id and c.run_id = r.run_id
        where c.is_emergency and r.status = 'fail' and list_contains(?, r.control_id)""",
                  [list(EMERGENCY_BYPASSABLE)])
    assert failed
    shown = {(c.change_id, g.control_id) for c in context.changes for g in c.gates}
    assert shown == set(failed)
    for c in context.changes:
        assert all(g.excepted == (c.outcome == "Exception") for g in c.gates)


def test_incidents_are_pagerduty_incidents_on_the_service_within_24_hours(con, context):
    expected = set(_one(con, """
        select c.change_id, i.incident_number::varchar from change_outcomes c join int_incidents_unioned i
          on i.service_name = c.service and abs(epoch(i.created_at - c.deployed_at)) <= 24 * 3600
        where c.is_emergency"""))
    assert expected
    assert {(c.change_id, i.number) for c in context.changes for i in c.incidents} == expected


def test_open_emergencies_show_the_deadline_and_time_left(copy):
    change_id = copy.execute("select change_id from change_outcomes where is_emergency order by 1 limit 1").fetchone()[0]
    copy.execute("""update control_results set status = 'not_applicable', reason = 'review deadline not reached',
                      evidence = json_object('review_date', null, 'deadline', '2026-12-01'),
                      evaluated_at = '2026-11-27 12:00:00+00'
                    where control_id = 'CM-15' and subject_id = ?""", [change_id])
    context = build_context(copy, "2026Q3", "Acme")
    assert [o.change_id for o in context.open_changes] == [change_id]
    opened = context.open_changes[0]
    assert opened.deadline == date(2026, 12, 1)
    assert opened.hours_left == 4 * 24 + 12      # to the end of 1 Dec UTC
    assert opened.time_left_label == "4 days 12 h"
    html = render_string(TEMPLATE, context)
    assert "2026-12-01 (end of day UTC)" in html and "4 days 12 h" in html


def test_quarter_count_against_earlier_quarters(copy, context):
    assert len(context.quarters) == 1 and context.quarters_note.startswith("No earlier data")
    copy.execute("""insert into evaluation_runs (run_id, period, started_at, finished_at)
                    values ('run-q2', '2026Q2', '2026-07-02', '2026-07-02 00:10')""")
    copy.execute("""insert into change_outcomes (run_id, period, change_id, is_emergency, outcome)
                    values ('run-q2', '2026Q2', 'a@1', true, 'violation'), ('run-q2', '2026Q2', 'a@2', false, 'compliant'),
                           ('run-q2', '2026Q2', 'a@3', true, 'exception')""")
    later = build_context(copy, "2026Q3", "Acme")
    assert later.quarters_note == ""
    q2, q3 = later.quarters
    assert (q2.period, q2.changes, q2.emergencies, q2.exceptions, q2.violations) == ("2026 Q2", 3, 2, 1, 1)
    assert q3.is_current and q3.emergencies == len(context.changes)
    assert "Earlier quarters: 2026 Q2 2" in later.statements[-1]


def test_files_pdf_html_csv_xlsx(con, context, tmp_path):
    paths = write_emergency_report(con, "2026Q3", "Acme", tmp_path)
    names = sorted(p.name for p in paths)
    assert names == sorted(f"changetrail-2026Q3-emergency.{x}" for x in ("pdf", "html", "csv", "xlsx"))
    assert len(PdfReader(tmp_path / "changetrail-2026Q3-emergency.pdf").pages) >= 2
    with (tmp_path / context.csv_name).open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["change_id"] for r in rows) == sorted(c.change_id for c in context.changes)
    sheet = load_workbook(tmp_path / context.xlsx_name).active
    assert sheet.max_row == len(context.changes) + 1


def test_no_emergency_says_so_in_words(copy):
    copy.execute("update change_outcomes set is_emergency = false")
    context = build_context(copy, "2026Q3", "Acme")
    assert context.changes == [] and context.open_changes == []
    html = render_string(TEMPLATE, context)
    assert context.changes_empty in html and context.open_empty in html


def test_source_text_is_shown_as_text(copy, tmp_path):
    copy.execute("update control_results set reason = ? where control_id in ('CM-16', 'CM-04')", [HOSTILE])
    copy.execute("update change_outcomes set team = ?, ticket_number = ? where is_emergency", [HOSTILE, HOSTILE])
    context = build_context(copy, "2026Q3", "Acme")
    html = render_string(TEMPLATE, context)
    assert "<script>" not in html and "<img" not in html and "&lt;script&gt;" in html
    fetcher = AssetOnlyFetcher()
    render_pdf(TEMPLATE, context, tmp_path / "e.pdf", fetcher=fetcher)
    assert fetcher.refused == [] and fetcher.served


def test_registered_and_rendered_through_the_registry(org, con, tmp_path):
    paths = get("emergency").render(ReportRequest(con, org, "2026Q3", tmp_path, formats=("html",)))
    assert [p.name for p in paths] == ["changetrail-2026Q3-emergency.html"]
