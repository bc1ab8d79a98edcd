"""CM-03/CM-04 and review systems that leave commit trailers: Gerrit (`Reviewed-on:` +
`Reviewed-by:`) and Phabricator (`Differential Revision:` + `Reviewed By:`). A commit outside any
PR with such a trailer naming an independent reviewer is reviewed (CM-03) and reported as such;
CM-04 counts its independent reviewers like PR approvals (two, one senior)."""
from __future__ import annotations

from tests.controls.harness import Org

GERRIT = "https://review.acme.test/c/payments/+/4711"
PHAB = "https://phab.acme.test/D815"


def pushed(org: Org, message: str, author: str = "alice") -> dict:
    """A change whose one commit came through no PR (direct push), with this commit message."""
    ids = org.change()
    org.drop("stg_github__commit_pulls", sha=ids["sha"])
    org.find("stg_github__pull_requests", number=ids["pr"])["merge_commit_sha"] = "other"
    commit = org.find("stg_github__compare_commits", sha=ids["sha"])
    commit.update(message=message, author_login=author, author_email=f"{author}@acme.test")
    return ids


def gerrit(*reviewers: str) -> str:
    lines = "".join(f"Reviewed-by: {r.title()} <{r}@acme.test>\n" for r in reviewers)
    return f"Fix rounding\n\nChange-Id: I0123456789abcdef\nReviewed-on: {GERRIT}\n{lines}"


def test_gerrit_trailer_with_independent_reviewers_passes_cm03_and_cm04():
    org = Org()
    ids = pushed(org, gerrit("bob", "carol"))
    cm03 = org.evaluate("CM-03")[ids["change_id"]]
    assert cm03 == ("pass", f"1 commits via 0 reviewed PRs and review trailers: "
                            f"{ids['sha'][:7]} reviewed in Gerrit {GERRIT} by Bob <bob@acme.test>, Carol <carol@acme.test>")
    cm04 = org.evaluate("CM-04")[ids["change_id"]]
    assert cm04[0] == "pass"
    assert f"reviewed in Gerrit {GERRIT} by Bob <bob@acme.test>, Carol <carol@acme.test>" in cm04[1]


def test_gerrit_review_by_the_author_only_is_a_direct_push():
    org = Org()
    ids = pushed(org, gerrit("alice"))
    status, reason = org.evaluate("CM-03")[ids["change_id"]]
    assert status == "fail" and reason == f"commits not from a merged PR: {ids['sha'][:7]}"
    assert org.evaluate("CM-04")[ids["change_id"]] == (
        "fail", f"Gerrit {GERRIT} has 0 valid approvals (minimum 2)")


def test_gerrit_review_needs_two_reviewers_and_a_senior_for_cm04():
    org = Org()
    one = pushed(org, gerrit("alice", "bob"))                 # the author's own line does not count
    assert org.evaluate("CM-03")[one["change_id"]][0] == "pass"
    assert org.evaluate("CM-04")[one["change_id"]] == ("fail", f"Gerrit {GERRIT} has 1 valid approval (minimum 2)")
    org2 = Org()
    juniors = pushed(org2, gerrit("quinn", "dave"))
    got = org2.evaluate("CM-04")[juniors["change_id"]]
    assert got == ("fail", f"no senior approver on Gerrit {GERRIT}")


def test_phabricator_trailer_resolves_user_names_through_the_code_host_logins():
    org = Org()
    ids = pushed(org, f"Fix rounding\n\nSummary: x\nReviewed By: bob, carol\nDifferential Revision: {PHAB}\n")
    status, reason = org.evaluate("CM-03")[ids["change_id"]]
    assert status == "pass" and reason.endswith(f"reviewed in Phabricator {PHAB} by bob, carol")
    assert org.evaluate("CM-04")[ids["change_id"]][0] == "pass"


def test_a_trailer_without_reviewers_or_a_review_url_is_not_a_review():
    org = Org()
    no_reviewer = pushed(org, f"Fix\n\nReviewed-on: {GERRIT}\n")
    assert org.evaluate("CM-03")[no_reviewer["change_id"]][0] == "fail"
    org2 = Org()
    no_url = pushed(org2, "Fix\n\nReviewed-by: Bob <bob@acme.test>\n")        # Linux-style sign-off, no review system
    assert org2.evaluate("CM-03")[no_url["change_id"]][0] == "fail"
    assert org2.evaluate("CM-04")[no_url["change_id"]][0] == "not_applicable"
