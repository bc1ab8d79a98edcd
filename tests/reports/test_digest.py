"""The engineering-lead digest (reports/digest) and the `weekly-digest` flow: per-team items
against the warehouse of a tiny generated organization, links, who can fix each, the trend, one
team only, empty teams, out-of-band changes and hostile text."""
from __future__ import annotations

import shutil
from datetime import date, datetime

import duckdb
import pytest
from evaluated_org import make_evaluated_org
from pypdf import PdfReader

from flows.digest_run import digest_period, weekly_digest
from reports.digest import build_digests, write_digests
from reports.digest.build import SECTIONS
from reports.registry import ReportRequest, get
from reports.render import render_string

KEYS = {key: controls for key, _, controls, _ in SECTIONS}
HOSTILE = "<script>alert(1)</script><a href='javascript:alert(2)'>x</a>"


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    return make_evaluated_org(tmp_path_factory.mktemp("digest") / "org")


@pytest.fixture(scope="module")
def con(org):
    c = duckdb.connect(str(org.warehouse.path), read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def built(con):
    return build_digests(con, "2026Q3", "Acme", as_of=date(2026, 9, 20), generated_at=datetime(2026, 12, 1))


@pytest.fixture
def copy(org, tmp_path):
    path = tmp_path / "copy.duckdb"
    shutil.copy(org.warehouse.path, path)
    c = duckdb.connect(str(path))
    yield c
    c.close()


def _digest(built, team):
    return next(d for d in built[1] if d.team == team)


def test_one_digest_per_team_with_its_changes(con, built):
    index, digests = built
    teams = dict(con.execute("select team, count(*) from change_outcomes group by team").fetchall())
    # out-of-band runtime changes on a service no team owns get a "(no team)" digest of their own
    unowned = [d for d in digests if d.team == "(no team)" and d.changes == 0]
    for digest in unowned:
        assert {s.key for s in digest.sections if s.total} <= {"out_of_band"}
    assert {d.team: d.changes for d in digests if d not in unowned} == teams
    assert [r.team for r in index.rows if r.team != "(no team)" or r.team in teams] == sorted(teams)


@pytest.mark.parametrize("key", ["undocumented", "unattributable", "unreviewed"])
def test_items_are_the_teams_failed_results(con, built, key):
    found = con.execute("""
        select c.team, r.subject_id from control_results r join change_outcomes c
          on c.run_id = r.run_id and c.change_id = r.subject_id
        where r.status in ('fail', 'error') and list_contains(?, r.control_id)""", [list(KEYS[key])]).fetchall()
    assert found
    shown = {(d.team, i.subject_id) for d in built[1] for s in d.sections if s.key == key for i in s.items}
    assert shown == set(found)
    index_counts = {r.team: getattr(r, key) for r in built[0].rows}
    assert sum(index_counts.values()) == len(set(found))


def test_links_to_deployment_pr_and_commit(con, built):
    items = [i for d in built[1] for s in d.sections for i in s.items if s.key != "out_of_band"]
    deployments = dict(con.execute("select change_id, deployment_url from change_outcomes").fetchall())
    prs = {}
    for change_id, number, url in con.execute("select change_id, number, html_url from int_changes_linked_to_prs").fetchall():
        prs.setdefault(change_id, set()).add((f"PR #{number}", url))
    shas = dict(con.execute("select change_id, sha from change_outcomes").fetchall())
    assert any(change_id in prs for change_id in {i.subject_id for i in items})
    for item in items:
        links = {(l.label, l.url) for l in item.links}
        assert ("deployment", deployments[item.subject_id]) in links
        assert prs.get(item.subject_id, set()) <= links
        commit = next(l for l in item.links if l.label.startswith("commit "))
        assert commit.url.startswith("https://") and shas[item.subject_id] in commit.url


def test_who_can_fix_each_item(con, built):
    leads = dict(con.execute("""select team, string_agg(name || ' (' || person_id || ')', ', ' order by person_id)
                                from int_people_unioned where list_contains(roles, 'eng_lead') group by team""").fetchall())
    authors = {}
    for change_id, number, name, kind in con.execute("""
            select p.change_id, p.number, u.name, u.kind from int_changes_linked_to_prs p
            join int_people_identities i on i.system = p.source_system and i.identifier = lower(p.author_login)
            join int_people_unioned u on u.person_id = i.person_id""").fetchall():
        authors[(change_id, number)] = (name, kind)
    by_author = 0
    for d in built[1]:
        for s in d.sections:
            for i in s.items:
                if s.key == "unattributable":
                    assert i.fixer == leads[d.team] and i.fixer_role == "team lead"
                if s.key == "unreviewed" and i.controls == "CM-04" and i.reason.startswith("#"):
                    number = int(i.reason[1:].split()[0])
                    name, kind = authors.get((i.subject_id, number), (None, None))
                    if kind == "human":       # the author asks for the missing review
                        assert i.fixer_role == "PR author" and name in i.fixer
                        by_author += 1
                    else:                     # a bot's PR (renovate): the deployer or the lead
                        assert i.fixer_role in ("deployer", "team lead")
                assert i.fixer and i.fixer_why
    assert by_author


def test_trend_per_month_adds_up(built):
    for d in built[1]:
        assert [t.label for t in d.trend] == sorted(t.label for t in d.trend)
        assert sum(t.changes for t in d.trend) == d.changes
        for key in ("undocumented", "unattributable", "unreviewed"):
            section = next(s for s in d.sections if s.key == key)
            assert sum(getattr(t, key) for t in d.trend) == section.total
        assert d.trend_note.startswith("No earlier data")


def test_new_this_week_counts_the_seven_days_before_as_of(con, built):
    d = built[1][0]
    deployed = dict(con.execute("select change_id, deployed_at from change_outcomes").fetchall())
    expected = sum(1 for s in d.sections for i in s.items if s.key != "out_of_band"
                   and date(2026, 9, 13) <= deployed[i.subject_id].date() < date(2026, 9, 20))
    assert d.new_this_week == expected


def test_one_team_files_and_index(con, tmp_path):
    team = con.execute("select team from change_outcomes order by team limit 1").fetchone()[0]
    paths = write_digests(con, "2026Q3", "Acme", tmp_path, team=team)
    names = sorted(p.name for p in paths)
    assert names == sorted([f"changetrail-2026Q3-digest-{team}.pdf", f"changetrail-2026Q3-digest-{team}.html",
                            "changetrail-2026Q3-digest-index.pdf", "changetrail-2026Q3-digest-index.html"])
    assert all(p.parent == tmp_path / "digest" for p in paths)
    assert len(PdfReader(tmp_path / "digest" / f"changetrail-2026Q3-digest-{team}.pdf").pages) >= 1
    with pytest.raises(ValueError, match="no team 'nobody' in 2026Q3; teams: .*" + team):
        build_digests(con, "2026Q3", "Acme", team="nobody")


def test_a_clean_team_says_so_in_words(copy):
    team = copy.execute("select team from change_outcomes order by team limit 1").fetchone()[0]
    copy.execute("""delete from control_results where status in ('fail', 'error') and subject_id in
                    (select change_id from change_outcomes where team = ?)""", [team])
    _, digests = build_digests(copy, "2026Q3", "Acme", team=team)
    html = render_string("digest/team.html", digests[0])
    for s in digests[0].sections:
        assert s.items == [] and s.empty_text in html


def test_out_of_band_changes_go_to_the_service_team(copy):
    repo, service, team = copy.execute("select repo, service, team from change_outcomes order by 1 limit 1").fetchone()
    copy.execute("""insert into control_results values ((select run_id from evaluation_runs limit 1), '2026Q3',
        'CM-07', 'runtime_change', 'k8s_audit:ev-1', 'fail', 'human change outside the pipeline',
        json_object('service', ?, 'actor', 'ops-robot', 'action', 'patch', 'resource_kind', 'deployment',
                    'resource_name', ?, 'observed_at', '2026-08-03 10:00:00+00'), now())""", [service, HOSTILE])
    _, digests = build_digests(copy, "2026Q3", "Acme", team=team)
    section = next(s for s in digests[0].sections if s.key == "out_of_band")
    assert [i.subject_id for i in section.items] == ["k8s_audit:ev-1"]
    assert section.items[0].fixer_role == "team lead" and "ops-robot" in section.items[0].fixer_why
    assert next(t for t in digests[0].trend if t.label == "2026-08").out_of_band == 1
    html = render_string("digest/team.html", digests[0])
    assert "<script>" not in html and "javascript:" not in html.replace("javascript:alert(2)&#39;", "")


def test_source_text_and_unsafe_urls_are_text(copy):
    change_id, team = copy.execute("""select c.change_id, c.team from control_results r join change_outcomes c
        on c.change_id = r.subject_id where r.control_id = 'CM-01' and r.status = 'fail' limit 1""").fetchone()
    copy.execute("update control_results set reason = ? where control_id = 'CM-01' and subject_id = ?", [HOSTILE, change_id])
    copy.execute("update change_outcomes set deployment_url = 'javascript:alert(3)' where change_id = ?", [change_id])
    _, digests = build_digests(copy, "2026Q3", "Acme", team=team)
    item = next(i for s in digests[0].sections for i in s.items if i.subject_id == change_id)
    assert item.links[0].url == "" and item.links[0].text == "javascript:alert(3)"
    html = render_string("digest/team.html", digests[0])
    assert "<script>" not in html and "&lt;script&gt;" in html and 'href="javascript:' not in html


def test_digest_period_is_the_running_quarter():
    assert digest_period(date(2026, 8, 10)) == "2026Q3"
    assert digest_period(date(2026, 10, 1)) == "2026Q3"     # the week ending 30 Sep
    assert digest_period(date(2026, 10, 8)) == "2026Q4"


def test_registered_and_rendered_through_the_registry(org, con, tmp_path):
    request = ReportRequest(con, org, "2026Q3", tmp_path, formats=("html",), options={"team": "web"})
    paths = get("digest").render(request)
    assert sorted(p.name for p in paths) == ["changetrail-2026Q3-digest-index.html", "changetrail-2026Q3-digest-web.html"]


def test_weekly_digest_flow(org, prefect_harness, tmp_path):
    paths = weekly_digest(config_path=org.warehouse.path.parent / "changetrail.toml", as_of=date(2026, 9, 21),
                          team="web", formats=("html",))
    assert sorted(p.name for p in paths) == ["changetrail-2026Q3-digest-index.html", "changetrail-2026Q3-digest-web.html"]
    assert "as of 2026-09-21" in paths[0].read_text(encoding="utf-8")
