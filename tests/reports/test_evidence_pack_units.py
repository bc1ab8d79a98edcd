"""The evidence pack's pure parts: the sample, the timeline flags, the signing key."""
from __future__ import annotations

import base64
from collections import Counter
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from reports.evidence_pack import sample as sampling
from reports.evidence_pack.pages import timeline
from reports.evidence_pack.signing import SigningKeyError, load_signing_key, write_key_file
from warehouse.explain import Explanation

UTC = timezone.utc
TIERS = [(251, 25), (53, 15), (13, 5), (5, 2), (1, 1)]


def population(n=900, emergencies=30, majors=60):
    months = ["2026-07", "2026-08", "2026-09"]
    return [sampling.Candidate(f"acme/svc@{i:05d}", months[i % 3] if i < 600 else "2026-09",
                               i < emergencies, emergencies <= i < emergencies + majors) for i in range(n)]


def test_same_seed_same_sample_and_another_seed_another():
    pop = population()
    first = sampling.draw(pop, 42, TIERS, 5, 5)
    again = sampling.draw(list(reversed(pop)), 42, TIERS, 5, 5)     # input order does not matter
    other = sampling.draw(pop, 43, TIERS, 5, 5)
    assert first == again
    assert [d.change_id for d in first] != [d.change_id for d in other]


def test_base_size_follows_the_table_and_months_get_proportional_shares():
    pop = population()
    drawn = sampling.draw(pop, 7, TIERS, 0, 0)
    assert len(drawn) == 25
    # months: 200, 200, 500 changes -> 25 split 5.56 / 5.56 / 13.9 -> 6 / 5 / 14 by largest remainder
    assert Counter(d.month for d in drawn) == {"2026-07": 6, "2026-08": 5, "2026-09": 14}
    assert len({d.change_id for d in drawn}) == 25
    assert sampling.base_size(100, TIERS) == 15 and sampling.base_size(3, TIERS) == 1
    assert sampling.base_size(0, TIERS) == 0


def test_emergency_and_major_changes_are_over_sampled():
    pop = population()
    drawn = sampling.draw(pop, 7, TIERS, 5, 4)
    by_id = {c.change_id: c for c in pop}
    extra_em = [d for d in drawn if d.reason == "emergency over-sample"]
    extra_major = [d for d in drawn if d.reason == "Major over-sample"]
    assert len(extra_em) == 5 and all(by_id[d.change_id].is_emergency for d in extra_em)
    assert len(extra_major) == 4 and all(by_id[d.change_id].is_major for d in extra_major)
    assert len(drawn) == 25 + 9 and len({d.change_id for d in drawn}) == 34


def test_small_population_is_sampled_whole_without_error():
    pop = population(n=3, emergencies=1, majors=0)
    drawn = sampling.draw(pop, 1, [(1, 25)], 5, 5)
    assert sorted(d.change_id for d in drawn) == sorted(c.change_id for c in pop)


def _t(hours: float) -> datetime:
    return datetime(2026, 8, 10, 12, tzinfo=UTC) + timedelta(hours=hours)


def test_timeline_marks_every_step_out_of_order():
    exp = Explanation(change={"deployed_at": _t(0), "deployment_id": "9", "is_emergency": False})
    exp.ticket = {"number": "CHG0000001", "created_at": _t(-30)}
    exp.approvals = [{"approver": "P1", "roles": "eng_lead", "state": "approved", "updated_at": _t(2)},
                     {"approver": "P2", "roles": "qa", "state": "approved", "updated_at": _t(-5)}]
    exp.pull_requests = [{"number": 5, "merged_at": _t(-10)}]
    exp.reviews = [{"pr_number": 5, "reviewer_login": "ann", "state": "APPROVED", "commit_id": "abc",
                    "submitted_at": _t(-8), "is_on_head": False, "is_before_merge": False},
                   {"pr_number": 5, "reviewer_login": "bob", "state": "APPROVED", "commit_id": "def",
                    "submitted_at": _t(-12), "is_on_head": True, "is_before_merge": True}]
    exp.checks = [{"name": "build", "conclusion": "success", "completed_at": _t(1)}]
    exp.scans = [{"tool_name": "Trivy", "scanned_at": _t(-9), "open_critical_high": 0}]
    exp.staging = [{"environment": "staging", "succeeded_at": _t(3)}]
    steps = timeline(exp)
    flagged = {(s.event, s.flag) for s in steps if s.flag}
    assert flagged == {
        ("Approval approved", "approved after deploy"),
        ("Review approved", "reviewed after merge; review not on the merged commit"),
        ("Check completed", "check completed after deploy"),
        ("Staging deployment", "staging after production"),
    }
    assert [s.when for s in steps] == sorted(s.when for s in steps)      # time order
    assert all(s.css == "flag" for s in steps if s.flag)


def test_timeline_of_an_orderly_change_has_no_flag():
    exp = Explanation(change={"deployed_at": _t(0), "deployment_id": "9"})
    exp.approvals = [{"approver": "P1", "roles": "eng_lead", "state": "approved", "updated_at": _t(-2)}]
    exp.pull_requests = [{"number": 5, "merged_at": _t(-1)}]
    exp.reviews = [{"pr_number": 5, "reviewer_login": "ann", "state": "APPROVED", "commit_id": "abc",
                    "submitted_at": _t(-3), "is_on_head": True, "is_before_merge": True}]
    assert not [s for s in timeline(exp) if s.flag]


def _settings(**kw):
    return SimpleNamespace(signing_key_env="CT_TEST_KEY", signing_key_file=None, **kw)


def test_signing_key_from_base64_pem_path_key_file_or_one_off(tmp_path):
    raw = bytes(range(32))
    key = load_signing_key(_settings(), {"CT_TEST_KEY": base64.b64encode(raw).decode()})
    assert key.source == "environment variable CT_TEST_KEY"
    assert key.fingerprint == load_signing_key(_settings(), {"CT_TEST_KEY": base64.b64encode(raw).decode()}).fingerprint
    pem = write_key_file(tmp_path / "k.pem")
    assert oct(pem.stat().st_mode & 0o777) == "0o600"
    from_path = load_signing_key(_settings(), {"CT_TEST_KEY": str(pem)})
    from_file = load_signing_key(SimpleNamespace(signing_key_env="CT_TEST_KEY", signing_key_file=pem), {})
    assert from_path.fingerprint == from_file.fingerprint
    assert "one-off" in load_signing_key(_settings(), {}).source


@pytest.mark.parametrize("value, words", [("bm90IGEga2V5", "32 bytes"), ("no such thing!", "neither base64"),
                                          ("-----BEGIN PRIVATE KEY-----", "in a file")])
def test_a_bad_signing_key_is_a_clear_error_naming_the_variable(value, words):
    with pytest.raises(SigningKeyError, match="CT_TEST_KEY") as info:
        load_signing_key(_settings(), {"CT_TEST_KEY": value})
    assert words in str(info.value)
